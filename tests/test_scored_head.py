"""The compact LM head (logits only where a loss reads them) gives TRL's numbers: loss, gradients, log-probs, metrics."""

import pytest
import torch
from datasets import Dataset

from conftest import decoder_passes
from modeling_bioreason.training import scored_head
from modeling_bioreason.training.collator import BioReasonDataCollator, task_row_to_conversation


@pytest.fixture()
def lora_model():
    from peft import get_peft_model

    from modeling_bioreason.training.lora import make_lora_config
    from modeling_bioreason.training.models import load_model
    from modeling_bioreason.training.recipe import LoraSettings, ModelSource

    # a small vocabulary: TRL's fused head (the reference here) projects every position in tiles on CPU
    model, processor = load_model(ModelSource(text_model="tiny-random-qwen3", dna_model="random-nt-v2"), seed=0)
    torch.manual_seed(0)
    peft = get_peft_model(model, make_lora_config(model, LoraSettings(r=4, alpha=8, dropout=0.0)))
    for name, param in peft.named_parameters():  # non-zero LoRA B so the adapter changes the output
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.05)
    return peft, processor


class _OneCpuProcess:
    """The parts of an `accelerate.Accelerator` the log-prob method reads, for one CPU process."""

    num_processes = 1

    @staticmethod
    def autocast():
        return torch.autocast("cpu", enabled=False)

    @staticmethod
    def unwrap_model(model):
        return model


def _grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_sft_trainer_matches_trl_loss_gradients_and_metrics(lora_model, kegg_rows, tmp_path):
    from trl import SFTConfig, SFTTrainer

    from modeling_bioreason.training.sft_trainer import BioReasonSFTTrainer

    model, processor = lora_model
    rows = [task_row_to_conversation(r, trim_per_side=1900, reasoning_lines=2) for r in kegg_rows[:3]]
    collate = BioReasonDataCollator(processor)
    batch = collate(rows)  # uneven rows: right padding inside the batch
    assert (batch["attention_mask"] == 0).any()
    args = SFTConfig(output_dir=str(tmp_path), remove_unused_columns=False, report_to="none", use_cpu=True,
                     dataset_kwargs={"skip_prepare_dataset": True})
    results = {}
    for cls in (SFTTrainer, BioReasonSFTTrainer):
        trainer = cls(model=model, args=args, train_dataset=Dataset.from_list(rows), data_collator=collate,
                      processing_class=processor)
        trainer.model.train()
        trainer.model.zero_grad()
        loss = trainer.compute_loss(trainer.model, dict(batch), num_items_in_batch=None)
        loss.backward()
        results[cls] = (loss.detach(), _grads(trainer.model), {k: v[-1] for k, v in trainer._metrics["train"].items()})
    (loss_trl, grads_trl, metrics_trl), (loss_ours, grads_ours, metrics_ours) = results.values()
    torch.testing.assert_close(loss_ours, loss_trl, atol=1e-5, rtol=1e-5)
    assert grads_ours.keys() == grads_trl.keys() and grads_ours
    for name in grads_trl:
        torch.testing.assert_close(grads_ours[name], grads_trl[name], atol=1e-6, rtol=1e-4)
    for key in ("entropy", "mean_token_accuracy", "num_tokens"):
        assert metrics_ours[key] == pytest.approx(metrics_trl[key], rel=1e-4), key
    # the frozen encoder ran in eval mode although Trainer switched the model to train mode
    assert not trainer.model.get_base_model().model.dna_encoder.training


def test_sft_head_runs_only_over_supervised_columns(lora_model, kegg_rows):
    model, processor = lora_model
    batch = BioReasonDataCollator(processor)(
        [task_row_to_conversation(r, trim_per_side=1800, reasoning_lines=2) for r in kegg_rows[:2]])
    seen = []
    hook = model.get_base_model().lm_head.register_forward_hook(lambda m, a, o: seen.append(a[0].shape[1]))
    try:
        scored_head.supervised_log_probs(model, {k: v for k, v in batch.items() if k != "labels"}, batch["labels"])
    finally:
        hook.remove()
    supervised_columns = int((batch["labels"][:, 1:] != -100).any(0).sum())
    # the DNA prompt (2 x 68 placeholders) and the question are not projected through the head
    assert seen == [supervised_columns] and supervised_columns < batch["input_ids"].shape[1] - 136


def test_sft_rows_without_padding_give_the_batch_numbers(lora_model, kegg_rows):
    """unpad_rows: each right-padded row runs alone at its own length, with the padded batch's log-probs."""
    model, processor = lora_model
    batch = BioReasonDataCollator(processor)(
        [task_row_to_conversation(r, trim_per_side=1800, reasoning_lines=n) for n, r in zip((1, 3), kegg_rows[:2])])
    lengths = batch["attention_mask"].sum(-1).tolist()
    assert lengths[0] != lengths[1]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    padded = scored_head.supervised_log_probs(model, inputs, batch["labels"])
    with decoder_passes(model.get_base_model().model.language_model, with_mask=True) as shapes:
        alone = scored_head.supervised_log_probs(model, inputs, batch["labels"], unpad_rows=True)
    assert shapes == [((1, lengths[0]), None), ((1, lengths[1]), None)]
    assert alone["log_probs"].shape == padded["log_probs"].shape == ((batch["labels"][:, 1:] != -100).sum(),)
    torch.testing.assert_close(alone["log_probs"], padded["log_probs"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone["entropy"], padded["entropy"], atol=1e-4, rtol=1e-4)
    assert torch.equal(alone["is_top1"], padded["is_top1"])


def test_grpo_compact_log_probs_equal_the_fused_head(lora_model, kegg_rows, monkeypatch):
    from trl.trainer.utils import add_fused_lm_head

    from modeling_bioreason.training import grpo_trainer
    from modeling_bioreason.training.grpo_trainer import DNAGRPOTrainer

    model, processor = lora_model
    add_fused_lm_head(model.get_base_model(), temperature=0.7, outputs=("log_probs", "entropy"))
    inputs = processor.apply_chat_template(
        [[{"role": "user", "content": [{"type": "dna", "sequence": r["reference_sequence"][1900:2101]},
                                       {"type": "text", "text": r["question"]}]},
          {"role": "assistant", "content": r["answer"]}] for r in kegg_rows[:3]],
        tokenize=True, return_dict=True, return_tensors="pt", padding_side="left")
    dna = model.get_base_model().get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"])
    trainer = object.__new__(DNAGRPOTrainer)  # only the log-prob method is exercised
    trainer._dna = {"dna_embeds": dna, "dna_attention_mask": inputs["dna_attention_mask"]}
    trainer.temperature = 0.7

    trainer.accelerator = _OneCpuProcess()
    ids, mask = inputs["input_ids"], inputs["attention_mask"].clone()
    mask[0, -2:] = 0  # a completion that ended early
    keep = 6
    compact = trainer._get_per_token_logps_and_entropies(model, ids, mask, keep, batch_size=2, compute_entropy=True)
    monkeypatch.setattr(grpo_trainer, "compact_head_applies", lambda device: False)
    fused = trainer._get_per_token_logps_and_entropies(model, ids, mask, keep, batch_size=2, compute_entropy=True)
    torch.testing.assert_close(compact[0], fused[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(compact[1], fused[1], atol=1e-5, rtol=1e-5)
    assert (compact[0][0, -2:] == 0).all()


def test_grpo_shared_prompts_give_the_same_log_probs_and_gradients(lora_model, kegg_rows):
    """G completions of a prompt: the prompt runs once, with the numbers of one full pass per completion."""
    from modeling_bioreason.training.grpo_trainer import DNAGRPOTrainer

    model, processor = lora_model
    rows = [kegg_rows[0]] * 3 + [kegg_rows[1]]  # a group of 3 completions of one prompt, and one other prompt
    prompts = processor.apply_chat_template(
        [[{"role": "user", "content": [{"type": "dna", "sequence": r["reference_sequence"][1900:2101]},
                                       {"type": "text", "text": r["question"]}]}] for r in rows],
        add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt", padding_side="left")
    assert (prompts["attention_mask"] == 0).any()  # the two prompts differ in length: left padding
    torch.manual_seed(1)
    completions = torch.randint(0, 500, (4, 7))
    completion_mask = torch.ones_like(completions)
    completion_mask[1, -3:] = 0  # completions that ended early are right-padded
    completion_mask[3, -1:] = 0
    ids = torch.cat([prompts["input_ids"], completions], 1)
    mask = torch.cat([prompts["attention_mask"], completion_mask], 1)
    with torch.no_grad():  # as DNAGRPOTrainer encodes them
        dna = model.get_base_model().get_dna_features(prompts["dna_input_ids"], prompts["dna_attention_mask"])

    trainer = object.__new__(DNAGRPOTrainer)
    trainer.temperature = 0.9

    trainer.accelerator = _OneCpuProcess()
    language_model = model.get_base_model().model.language_model
    results = {}
    with decoder_passes(language_model) as embedded_rows:
        for share in (True, False):
            trainer._dna = {"dna_embeds": dna, "dna_attention_mask": prompts["dna_attention_mask"]}
            model.zero_grad()
            embedded_rows.clear()
            if not share:  # the full pass, as under gradient checkpointing
                model.get_base_model().activation_checkpointing_enable()
            logps, entropy, _ = trainer._get_per_token_logps_and_entropies(model, ids, mask, 7, compute_entropy=True)
            (logps * completion_mask).sum().backward()
            model.get_base_model().activation_checkpointing_disable()
            results[share] = (logps.detach(), entropy, _grads(model), list(embedded_rows))
    (shared, shared_entropy, shared_grads, shared_passes), (full, full_entropy, full_grads, full_passes) = \
        results[True], results[False]
    prompt_length = prompts["input_ids"].shape[1]
    assert full_passes == [(4, prompt_length + 7)]
    assert shared_passes == [(2, prompt_length), (4, 6)]  # two distinct prompts once, then the completions
    torch.testing.assert_close(shared, full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(shared_entropy, full_entropy, atol=1e-4, rtol=1e-4)
    assert (shared[1, -3:] == 0).all()
    assert shared_grads.keys() == full_grads.keys() and any("lora_A" in name for name in shared_grads)
    for name in full_grads:
        torch.testing.assert_close(shared_grads[name], full_grads[name], atol=1e-5, rtol=1e-4)

    # without gradients (the reference and old-policy passes) the prompt is shared under checkpointing too
    model.get_base_model().activation_checkpointing_enable()
    try:
        with decoder_passes(language_model) as embedded_rows, torch.no_grad():
            trainer._dna = {"dna_embeds": dna, "dna_attention_mask": prompts["dna_attention_mask"]}
            logps, _, _ = trainer._get_per_token_logps_and_entropies(model, ids, mask, 7)
    finally:
        model.get_base_model().activation_checkpointing_disable()
    assert embedded_rows == [(2, prompt_length), (4, 6)]
    torch.testing.assert_close(logps, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_lora_merged_for_sampling_is_the_adapted_model_and_restores_weights_exactly(lora_model, kegg_rows, dtype):
    """GRPO samples with the adapter merged (fp32): the adapted model's logits, no LoRA matmuls, base weights
    bit-identical afterwards. bf16 weights stay unmerged (rounding W + BA to bf16 would lose small updates)."""
    from modeling_bioreason.training.lora import lora_merged_for_sampling

    model, processor = lora_model
    model = model.to(dtype).eval()
    assert model.peft_config["default"].modules_to_save  # the projector's copy must stay the one in use
    inputs = processor.apply_chat_template(
        [[{"role": "user", "content": [{"type": "dna", "sequence": kegg_rows[0]["reference_sequence"][1900:2101]},
                                       {"type": "text", "text": kegg_rows[0]["question"]}]}]],
        add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt")
    bases = {name: p for name, p in model.named_parameters() if "base_layer" in name}
    saved = {name: (p.data_ptr(), p.detach().clone()) for name, p in bases.items()}
    lora_calls = []
    lora_a = next(m for name, m in model.named_modules() if name.endswith("lora_A.default"))
    hook = lora_a.register_forward_hook(lambda *a: lora_calls.append(1))
    try:
        with torch.no_grad():
            adapted = model(**inputs).logits.float()
            assert lora_calls
            lora_calls.clear()
            with lora_merged_for_sampling(model):
                merged = model(**inputs).logits.float()
            assert bool(lora_calls) == (dtype == torch.bfloat16)
            after = model(**inputs).logits.float()
    finally:
        hook.remove()
    if dtype == torch.float32:
        torch.testing.assert_close(merged, adapted, atol=1e-4, rtol=1e-4)
    else:
        assert torch.equal(merged, adapted)
    assert torch.equal(after, adapted) and lora_calls
    for name, param in bases.items():
        assert param.data_ptr() == saved[name][0] and torch.equal(param, saved[name][1]), name
