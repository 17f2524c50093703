"""The baselines BioReason is compared against, trained with `bioreason train sft` and scored by `bioreason evaluate`.

* **LLM-only** (`model.architecture: llm_only`): the language model alone, with the reference and variant sequences
  written into the prompt as text and no DNA encoder at all (BioReason's own "LLM-only" baseline still passed two
  projected CLS embeddings). LoRA SFT on the same targets (or full SFT with `lora.enabled: false`), with TRL's
  SFTTrainer (`BioReasonSFTTrainer`: the same loss, the LM head run on the answer tokens only on CPU); exported as a
  plain causal-LM folder.
* **DNA-only** (`model.architecture: dna_only`): the frozen DNA encoder (NT-v2 or Evo 2, read at `dna_feature_layer`)
  on reference and variant, attention pooling over tokens, and an MLP on the concatenated pair of pooled vectors; a
  37-way (KEGG) or binary (VEP) classifier.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..data.tasks import row_to_messages
from ..dna_encoders import encoder_kind
from ..dna_only import DNAOnlyClassifier, DNAOnlyConfig, DNAPairCollator
from ..hub import write_model_card
from ..processing_bioreason import CHAT_TEMPLATE
from .checkpoints import plan_run
from .recipe import Recipe, trainer_arguments
from .rows import load_rows, recipe_task

__all__ = ["DNAOnlyClassifier", "DNAOnlyConfig", "DNAPairCollator", "run_baseline"]  # the model: ..dna_only


# ------------------------------------------------------------------------------------------------------- DNA-only
def _dna_only_trainer(recipe: Recipe, train) -> tuple:
    from transformers import Trainer, TrainingArguments

    from ..build import load_dna_encoder
    from .models import load_dna_model

    task = recipe_task(recipe)
    labels = sorted({task.gold_label(a) for a in train["answer"]})
    encoder = load_dna_model(recipe.model.dna_model)
    source = encoder if isinstance(encoder, str) else None
    if source is not None:
        encoder = load_dna_encoder(source)
    kind = encoder_kind(encoder.config.model_type)
    config = DNAOnlyConfig(dna_config=encoder.config, dna_feature_layer=recipe.model.dna_feature_layer,
                           dna_truncation=recipe.data.dna_truncation, id2label=dict(enumerate(labels)),
                           label2id={label: i for i, label in enumerate(labels)})
    model = DNAOnlyClassifier(config)
    model.dna_encoder.load_state_dict(encoder.state_dict())
    tokenizer = kind.tokenizer(source)
    collator = DNAPairCollator(tokenizer, config.label2id, task, recipe.data.trim_per_side,
                               recipe.data.max_dna_tokens or kind.dna_tokens, recipe.data.dna_truncation)
    args = TrainingArguments(**trainer_arguments(TrainingArguments, {"report_to": "none", **recipe.training}),
                             remove_unused_columns=False)
    return Trainer(model=model, args=args, train_dataset=train, data_collator=collator), tokenizer


# ------------------------------------------------------------------------------------------------------- LLM-only
class TextSFTCollator:
    """Rows with the sequences written as text -> tokenizer inputs with labels on the assistant turn."""

    def __init__(self, tokenizer, trim_per_side: int, reasoning_lines: int | None):
        self.tokenizer, self.trim_per_side, self.reasoning_lines = tokenizer, trim_per_side, reasoning_lines

    def __call__(self, rows: list[dict]) -> dict:
        conversations = [row_to_messages(row, with_answer=True, trim_per_side=self.trim_per_side,
                                         reasoning_lines=self.reasoning_lines, dna_as_text=True) for row in rows]
        self.tokenizer.padding_side = "right"
        batch = self.tokenizer.apply_chat_template(conversations, tokenize=True, return_dict=True,
                                                   return_tensors="pt", padding=True, return_assistant_tokens_mask=True)
        masks = batch.pop("assistant_masks").bool()
        batch["labels"] = torch.where(masks & batch["attention_mask"].bool(), batch["input_ids"], -100)
        return dict(batch)


def prepare_text_tokenizer(model, tokenizer) -> None:
    """BioReason's chat template and a pad token distinct from EOS (added and embedded if needed)."""
    tokenizer.chat_template = CHAT_TEMPLATE
    if tokenizer.pad_token is None or tokenizer.pad_token == tokenizer.eos_token:
        if "<|endoftext|>" in tokenizer.get_vocab() and tokenizer.eos_token != "<|endoftext|>":
            tokenizer.pad_token = "<|endoftext|>"
        else:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.eos_token_id = list(dict.fromkeys([end_of_turn, tokenizer.eos_token_id]))
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def _llm_only_trainer(recipe: Recipe, train) -> tuple:
    from peft import LoraConfig
    from trl import SFTConfig

    from .models import load_text_model
    from .sft_trainer import BioReasonSFTTrainer  # TRL's SFTTrainer; on CPU the LM head runs on the answer tokens only

    model, tokenizer = load_text_model(recipe.model.text_model, recipe.model.trust_remote_code)
    prepare_text_tokenizer(model, tokenizer)
    args = SFTConfig(**trainer_arguments(SFTConfig, {"report_to": "none", **recipe.training}),
                     remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": True})
    lora = LoraConfig(r=recipe.lora.r, lora_alpha=recipe.lora.alpha, lora_dropout=recipe.lora.dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM") if recipe.lora.enabled else None
    trainer = BioReasonSFTTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer,
                                  peft_config=lora, data_collator=TextSFTCollator(
                                      tokenizer, recipe.data.trim_per_side, recipe.data.reasoning_lines))
    return trainer, tokenizer


def run_baseline(recipe: Recipe, resume: bool = False) -> str:
    """Train the recipe's baseline architecture and export a folder that `bioreason evaluate` scores."""
    architecture = recipe.model.architecture
    train = load_rows(recipe, recipe.data.train_split, recipe.data.limit, need_reasoning=architecture == "llm_only")
    plan = plan_run(recipe, train, resume)  # refuses resuming another run before any model is loaded
    trainer, tokenizer = (_llm_only_trainer if architecture == "llm_only" else _dna_only_trainer)(recipe, train)
    result = trainer.train(resume_from_checkpoint=plan.apply(trainer))
    output_dir = Path(trainer.args.output_dir)
    folder = output_dir / "final"
    if trainer.is_world_process_zero():
        model = trainer.model.merge_and_unload() if hasattr(trainer.model, "merge_and_unload") else trainer.model
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        (output_dir / "train_metrics.json").write_text(json.dumps({**result.metrics, "global_step": result.global_step,
                                                                   "architecture": architecture}, indent=2))
        if architecture == "llm_only":
            write_model_card(folder, None, model_name=recipe.name, summary="LLM-only baseline: the sequences are "
                             "written into the prompt; there is no DNA encoder.", text_model=recipe.model.text_model,
                             training=recipe.description, datasets=[recipe.data.dataset])
        else:
            dna = model.config.dna_config
            write_model_card(folder, None, model_name=recipe.name, summary=f"DNA-only baseline: a frozen "
                             f"{encoder_kind(dna.model_type).short_name} encoder on reference and variant, read at "
                             f"`{model.config.dna_feature_layer}`, attention pooling, MLP classifier.",
                             dna_encoder=recipe.model.dna_model, projector="attention pooling + MLP",
                             training=recipe.description, datasets=[recipe.data.dataset])
    trainer.accelerator.wait_for_everyone()
    return str(folder)
