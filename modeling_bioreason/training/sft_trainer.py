"""`BioReasonSFTTrainer`: TRL's SFTTrainer, computing only what its loss reads.

Two changes, both invisible in the numbers it logs (loss, entropy, mean_token_accuracy):

* on devices without TRL's Triton kernel (CPU), the LM head and its log-softmax run only over the supervised columns
  (the assistant turns), not over the ~700 DNA placeholder positions of each prompt, and a padded batch runs row by
  row without its padding (see `scored_head`) when its rows are long (`UNPAD_MIN_TOKENS`: below that, the per-row
  calls cost more than the padding they skip);
* the frozen DNA encoder runs in eval mode (`Trainer` puts the whole model in train mode every step); the model
  already encodes it without autograd when none of its parameters trains.
"""

from __future__ import annotations

import torch

from .scored_head import compact_head_applies, supervised_log_probs

try:
    from trl import SFTTrainer
except ImportError:  # the `train` extra is not installed
    SFTTrainer = object

# Row-by-row pays where attention dominates (BioReason prompts: hundreds of DNA placeholders). Short rows run batched:
# 16 rows of 82 tokens (the LLM-only baseline on dna_substitution) took 0.23-0.28 s a step row by row, 0.09-0.12 s
# padded.
UNPAD_MIN_TOKENS = 256


class WithoutDraftCard:
    """
    TRL writes a draft model card into `output_dir` at every checkpoint ("a fine-tuned version of None"). A BioReason
    run's card is `final/README.md`, written at its end from the recipe and the model: no draft goes beside it.
    """

    def create_model_card(self, *args, **kwargs) -> None:
        return None


class BioReasonSFTTrainer(WithoutDraftCard, SFTTrainer):
    """
    `trl.SFTTrainer` for BioReason batches (`BioReasonDataCollator` or any collator giving `labels` with -100).

    Example:

    ```python
    >>> trainer = BioReasonSFTTrainer(model=model, args=SFTConfig(output_dir="runs/sft", remove_unused_columns=False,
    ...                               dataset_kwargs={"skip_prepare_dataset": True}), train_dataset=rows,
    ...                               data_collator=BioReasonDataCollator(processor), processing_class=processor)  # doctest: +SKIP
    >>> trainer.train()  # doctest: +SKIP
    ```
    """

    def _frozen_encoder_to_eval(self, model) -> None:
        if not hasattr(self, "_frozen_encoder"):
            encoders = [m.dna_encoder for m in model.modules() if isinstance(getattr(m, "dna_encoder", None),
                                                                            torch.nn.Module)]
            frozen = encoders and not any(p.requires_grad for p in encoders[0].parameters())
            self._frozen_encoder = encoders[0] if frozen else None
        if self._frozen_encoder is not None:
            self._frozen_encoder.eval()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        self._frozen_encoder_to_eval(model)
        labels = inputs.get("labels")
        plain_nll = (self.compute_loss_func is None and self.label_smoother is None and self.args.loss_type == "nll"
                     and not self.aux_loss_enabled and not return_outputs)
        if labels is None or not plain_nll or not compact_head_applies(labels.device):
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        mode = "train" if self.model.training else "eval"
        model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        # Row by row is one forward per row before one backward: not under a distributed wrapper.
        unpad = self.accelerator.num_processes == 1 and labels.shape[1] >= UNPAD_MIN_TOKENS
        scored = supervised_log_probs(model, model_inputs, labels, unpad_rows=unpad)
        num_scored = torch.tensor(scored["log_probs"].numel(), device=labels.device)
        num_tokens = num_scored if num_items_in_batch is None else num_items_in_batch
        loss = -scored["log_probs"].sum() / torch.as_tensor(num_tokens).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())

        num_valid = self.accelerator.gather_for_metrics(num_scored).sum()
        entropy_sum = self.accelerator.gather_for_metrics(scored["entropy"].sum()).sum()
        num_correct = self.accelerator.gather_for_metrics(scored["is_top1"].sum()).sum()
        self._metrics[mode]["entropy"].append((entropy_sum / num_valid).item() if num_valid > 0 else 0.0)
        self._metrics[mode]["mean_token_accuracy"].append((num_correct / num_valid).item() if num_valid > 0 else 0.0)
        if mode == "train" and "attention_mask" in inputs:
            num_tokens_in_batch = self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
            self._total_train_tokens += num_tokens_in_batch // self._tp_size
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
        return loss
