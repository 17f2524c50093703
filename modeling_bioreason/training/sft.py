"""Supervised fine-tuning (paper §3): TRL's SFTTrainer with `BioReasonDataCollator`, LoRA via PEFT.

    bioreason train sft --config kegg_sft_qwen3_4b        # or a path to a recipe YAML

The recipe's task rows become conversational rows (`messages`, DNA blocks in the user turn) and train through the
same collator a plain-TRL user passes to `SFTTrainer` (see `collator.py`). Checkpoints (adapter + projector + DNA-token
rows, with optimizer state) go to `training.output_dir`; `--resume` continues this run from its last complete one
(`checkpoints.py`). At the end the adapter is saved alone (`adapter/`) and merged into a Hub-format folder (`final/`).
"""

from __future__ import annotations

from .collator import BioReasonDataCollator, task_row_to_conversation
from .lora import make_lora_config
from .models import load_model, set_dna_budget
from .checkpoints import plan_run
from .export import finish
from .recipe import Recipe, trainer_arguments
from .rows import load_rows


def conversations(rows, recipe: Recipe):
    """Task rows -> a `messages` column (flank trim and reasoning truncation applied here, once)."""
    if rows is None:
        return None
    return rows.map(task_row_to_conversation, remove_columns=rows.column_names,
                    fn_kwargs={"trim_per_side": recipe.data.trim_per_side,
                               "reasoning_lines": recipe.data.reasoning_lines})


def run_sft(recipe: Recipe, resume: bool = False) -> str:
    """Train with `recipe` and return the exported Hub-format folder."""
    from trl import SFTConfig

    from .sft_trainer import BioReasonSFTTrainer

    if recipe.kind != "sft" or recipe.model.architecture != "bioreason":
        raise ValueError(f"run_sft trains BioReason SFT recipes; got kind={recipe.kind!r}, architecture="
                         f"{recipe.model.architecture!r} (train any recipe with training.run.run).")
    args = SFTConfig(
        **trainer_arguments(SFTConfig, {"report_to": "none", "save_strategy": "steps", **recipe.training}),
        remove_unused_columns=False,  # the collator needs the `messages` column
        dataset_kwargs={"skip_prepare_dataset": True},  # the collator tokenizes, with DNA, on the fly
    )
    rows = load_rows(recipe, recipe.data.train_split, recipe.data.limit, need_reasoning=True)
    plan = plan_run(recipe, rows, resume)  # refuses resuming another run before any model is loaded
    train = conversations(rows, recipe)
    evaluation = conversations(load_rows(recipe, recipe.data.eval_split, recipe.data.eval_limit, need_reasoning=True),
                               recipe) if args.eval_strategy != "no" else None
    model, processor = load_model(recipe.model, seed=args.seed)
    set_dna_budget(processor, model, recipe.data)
    peft_config = make_lora_config(model, recipe.lora) if recipe.lora.enabled else None
    if not recipe.lora.enabled:  # full fine-tuning of the LM and projector; the encoder only if the recipe says so
        model.model.dna_encoder.requires_grad_(not model.config.freeze_dna_encoder)

    trainer = BioReasonSFTTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=evaluation, processing_class=processor,
        data_collator=BioReasonDataCollator(processor), peft_config=peft_config,
    )
    result = trainer.train(resume_from_checkpoint=plan.apply(trainer))
    return finish(trainer, recipe, result, summary=f"BioReason fine-tuned with the `{recipe.name}` recipe (SFT).")
