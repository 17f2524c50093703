"""The compact LM head (logits only where a loss reads them) gives TRL's numbers: loss, gradients, log-probs, metrics."""

import pytest
import torch
from datasets import Dataset

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

    class _Accelerator:
        @staticmethod
        def autocast():
            return torch.autocast("cpu", enabled=False)

    trainer.accelerator = _Accelerator()
    ids, mask = inputs["input_ids"], inputs["attention_mask"].clone()
    mask[0, -2:] = 0  # a completion that ended early
    keep = 6
    compact = trainer._get_per_token_logps_and_entropies(model, ids, mask, keep, batch_size=2, compute_entropy=True)
    monkeypatch.setattr(grpo_trainer, "compact_head_applies", lambda device: False)
    fused = trainer._get_per_token_logps_and_entropies(model, ids, mask, keep, batch_size=2, compute_entropy=True)
    torch.testing.assert_close(compact[0], fused[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(compact[1], fused[1], atol=1e-5, rtol=1e-5)
    assert (compact[0][0, -2:] == 0).all()
