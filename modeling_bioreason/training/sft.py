"""Supervised fine-tuning (paper §3): TRL's SFTTrainer fed by the processor's labels, LoRA via PEFT.

    bioreason train sft --config kegg_sft_qwen3_4b        # or a path to a recipe YAML

Checkpoints (adapter + projector + DNA-token rows, with optimizer state) go to `training.output_dir`; `--resume`
continues from the last one. At the end the adapter is saved alone (`adapter/`) and merged into a Hub-format folder
(`final/`) that loads with `AutoModelForCausalLM.from_pretrained(..., trust_remote_code=True)`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..hub import save_bioreason
from .collator import BioReasonSFTCollator
from .lora import make_lora_config
from .models import load_model
from .recipe import Recipe

logger = logging.getLogger(__name__)


def load_rows(recipe: Recipe, split: str | None, limit: int | None):
    from ..data.tasks import load_split

    if split is None:
        return None
    dataset = load_split(recipe.data.dataset, recipe.data.config, split)
    return dataset.select(range(min(limit, len(dataset)))) if limit else dataset


def last_checkpoint(output_dir: str) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None


def export(model, processor, recipe: Recipe, folder: Path, **card) -> str:
    """Merge a PEFT model (if it is one) and save a Hub-format folder with a filled-in card."""
    merged = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    merged.eval()
    return save_bioreason(
        merged, processor, folder,
        training=card.pop("training", f"`{recipe.name}` ({recipe.kind}): {recipe.description}"),
        datasets=[recipe.data.dataset], model_name=card.pop("model_name", recipe.name), **card,
    )


def run_sft(recipe: Recipe, resume: bool = False) -> str:
    """Train with `recipe` and return the exported Hub-format folder."""
    from trl import SFTConfig

    from .sft_trainer import BioReasonSFTTrainer

    if recipe.kind != "sft":
        raise ValueError(f"run_sft needs an SFT recipe, got kind={recipe.kind!r}.")
    if recipe.model.architecture != "bioreason":
        from .baselines import run_baseline

        checkpoint = last_checkpoint(recipe.training["output_dir"]) if resume else None
        return run_baseline(recipe, load_rows(recipe, recipe.data.train_split, recipe.data.limit), checkpoint)
    args = SFTConfig(
        **{"report_to": "none", "save_strategy": "steps", **recipe.training},
        remove_unused_columns=False,  # the collator needs the raw task columns
        dataset_kwargs={"skip_prepare_dataset": True},  # the collator tokenizes, with DNA, on the fly
    )
    model, processor = load_model(recipe.model, seed=args.seed)
    processor.max_dna_tokens = recipe.data.max_dna_tokens
    train = load_rows(recipe, recipe.data.train_split, recipe.data.limit)
    evaluation = load_rows(recipe, recipe.data.eval_split, recipe.data.eval_limit) if args.eval_strategy != "no" else None
    peft_config = make_lora_config(model, recipe.lora) if recipe.lora.enabled else None
    if not recipe.lora.enabled:
        model.model.dna_encoder.requires_grad_(False)

    trainer = BioReasonSFTTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=processor,
        data_collator=BioReasonSFTCollator(processor, recipe.data.trim_per_side,
                                           reasoning_lines=recipe.data.reasoning_lines),
        peft_config=peft_config,
    )
    checkpoint = last_checkpoint(args.output_dir) if resume else None
    if resume and checkpoint is None:
        logger.warning("--resume: no checkpoint in %s, starting from scratch.", args.output_dir)
    result = trainer.train(resume_from_checkpoint=checkpoint)

    return finish(trainer, recipe, result, summary=f"BioReason fine-tuned with the `{recipe.name}` recipe (SFT).")


def finish(trainer, recipe: Recipe, result, summary: str) -> str:
    """On the main process: save the adapter alone, the run's metrics, and the merged Hub-format folder."""
    output_dir = Path(trainer.args.output_dir)
    folder = output_dir / "final"
    if trainer.is_world_process_zero():
        if recipe.lora.enabled:
            trainer.model.save_pretrained(output_dir / "adapter")  # LoRA + projector + DNA-token embeddings
        metrics = {**result.metrics, "global_step": result.global_step, "trim_per_side": recipe.data.trim_per_side}
        (output_dir / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
        export(trainer.model, trainer.processing_class, recipe, folder, summary=summary)
    trainer.accelerator.wait_for_everyone()
    return str(folder)
