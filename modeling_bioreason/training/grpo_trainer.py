"""`DNAGRPOTrainer`: TRL's GRPOTrainer with the DNA carried through every pass.

bioreason train grpo --config kegg_grpo_paper_v1

TRL passes a processor's extra outputs to `generate`, but drops unknown fields when it computes the old, reference
and policy log-probabilities. `DNAGRPOTrainer` overrides the smallest set of methods that fixes this:

* `_tokenize_prompts` encodes each generation batch's DNA **once** (identical prompts in a group share the encoder
  work) and keeps the projected features (`dna_embeds`) with their mask;
* `_generate_and_score_completions` stores them in the batch dict, so TRL's shuffling and splitting keep them aligned
  with their completions;
* `_get_per_token_logps_and_entropies` feeds the matching rows of `dna_embeds` to every forward (old policy,
  reference = the LoRA adapter disabled, and the loss).

Because the projected features are reused across passes, GRPO trains LoRA only: the projector (trained by SFT) stays
frozen. BioReason's own GRPO deep-copied the whole model as reference and re-ran the encoder in every pass.
"""

from __future__ import annotations

import torch

from .scored_head import compact_head_applies, completion_log_probs

try:
    from trl import GRPOTrainer
except ImportError:  # the `train` extra is not installed
    GRPOTrainer = object


class DNAGRPOTrainer(GRPOTrainer):
    """
    `trl.GRPOTrainer` for BioReason: prompts are chat messages whose user turn holds DNA blocks; the DNA is encoded
    once per generation batch and its projected features follow the completions through every log-prob pass.

    Example:

    ```python
    >>> trainer = DNAGRPOTrainer(model=model, processing_class=processor, reward_funcs=[correctness_reward],
    ...                          args=GRPOConfig(output_dir="runs/grpo", num_generations=4),
    ...                          train_dataset=dataset)  # doctest: +SKIP
    >>> trainer.train()  # doctest: +SKIP
    ```
    """

    _dna_keys = ("dna_embeds", "dna_attention_mask")

    def __init__(self, *args, **kwargs):
        self._dna: dict[str, torch.Tensor] | None = None
        super().__init__(*args, **kwargs)

    def _tokenize_prompts(self, prompts: list):
        batch = self.processing_class.apply_chat_template(
            prompts, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
            **self.chat_template_kwargs,
        )
        prompt_ids = [ids[mask.bool()].tolist() for ids, mask in zip(batch["input_ids"], batch["attention_mask"])]
        device = self.accelerator.device
        model = self.accelerator.unwrap_model(self.model)
        with torch.no_grad():
            dna_embeds = model.get_dna_features(batch["dna_input_ids"].to(device),
                                                batch["dna_attention_mask"].to(device))
        self._dna = {"dna_embeds": dna_embeds, "dna_attention_mask": batch["dna_attention_mask"].to(device)}
        return prompt_ids, None, dict(self._dna)

    def _generate_single_turn(self, *args, **kwargs):
        # Sample from the policy itself: in train mode every decoding step would draw LoRA dropout masks (~10% of a
        # CPU step) and sample from dropout-perturbed copies of the model.
        was_training = self.model.training
        self.model.eval()
        try:
            return super()._generate_single_turn(*args, **kwargs)
        finally:
            self.model.train(was_training)

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        output.update(self._dna)
        self._dna = None
        return output

    def _compute_loss(self, model, inputs):
        self._dna = {key: inputs[key] for key in self._dna_keys}
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self._dna = None

    def _get_per_token_logps_and_entropies(
        self, model, input_ids, attention_mask, logits_to_keep, batch_size=None, compute_entropy=False,
        compute_aux_loss=False, **multimodal_fields,
    ):
        if self._dna is None:
            raise RuntimeError("DNA features of this batch are missing: BioReason completions need their DNA.")
        batch_size = batch_size or input_ids.size(0)
        # Without TRL's Triton kernel (CPU) its fused head would project every prompt position (mostly DNA
        # placeholders); ask the model for the completion's logits only.
        compact = compact_head_applies(input_ids.device)
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            end = min(start + batch_size, input_ids.size(0))
            ids, mask = input_ids[start:end], attention_mask[start:end]
            inputs = {"input_ids": ids, "attention_mask": mask,
                      **{key: value[start:end] for key, value in self._dna.items()}}
            with self.accelerator.autocast():
                if compact:
                    completion_mask = mask[:, -logits_to_keep:]
                    chunk_logps, entropy = completion_log_probs(model, inputs, ids[:, -logits_to_keep:],
                                                                self.temperature, compute_entropy)
                    logps.append(chunk_logps * completion_mask)
                    entropies.append(entropy * completion_mask if compute_entropy else None)
                    continue
                labels = ids.masked_fill(mask == 0, -100)
                labels[:, :-logits_to_keep] = -100  # only the completion tokens are scored
                outputs = model(**inputs, labels=labels, fused_lm_head=True)
            logps.append(outputs.log_probs[:, -logits_to_keep:])
            if compute_entropy:
                entropies.append(outputs.entropy[:, -logits_to_keep:])
        return torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None
