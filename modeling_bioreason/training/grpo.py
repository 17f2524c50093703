"""GRPO (paper §3) from a recipe: model, LoRA, dataset, weighted rewards, then `DNAGRPOTrainer` (grpo_trainer.py).

    bioreason train grpo --config kegg_grpo_paper_v1

GRPO trains LoRA only: the trainer reuses the projected DNA features across passes, so the projector (trained by
SFT) stays frozen.
"""

from __future__ import annotations

from ..data.tasks import VEP_ANSWERS, infer_task, row_to_messages
from .grpo_trainer import DNAGRPOTrainer
from .lora import make_lora_config
from .models import load_model
from .recipe import Recipe
from .rewards import REWARD_FUNCTIONS, correctness_reward
from .sft import finish, last_checkpoint, load_rows


def reward_functions(recipe: Recipe, labels: list[str]) -> tuple[list, list[float]]:
    """The recipe's named rewards and weights; correctness maps answers onto the task's closed label set."""
    functions, weights = [], []
    for name, weight in recipe.rewards.items():
        if name not in REWARD_FUNCTIONS:
            raise ValueError(f"Unknown reward {name!r}; available: {sorted(REWARD_FUNCTIONS)}.")
        function = REWARD_FUNCTIONS[name]
        if function is correctness_reward:
            def correctness(completions, answer, **kwargs):
                return correctness_reward(completions, answer, labels=labels, **kwargs)
            function = correctness
        functions.append(function)
        weights.append(float(weight))
    return functions, weights


def grpo_dataset(recipe: Recipe, split: str, limit: int | None):
    rows = load_rows(recipe, split, limit)
    trim = recipe.data.trim_per_side
    return rows.map(lambda row: {"prompt": row_to_messages(row, trim_per_side=trim)},
                    remove_columns=[c for c in rows.column_names if c != "answer"])


def make_grpo_trainer(recipe: Recipe, trainer_class: type = DNAGRPOTrainer) -> DNAGRPOTrainer:
    """A ready-to-train GRPO trainer for a recipe: model, LoRA, dataset, weighted rewards, DNA tokens suppressed."""
    from trl import GRPOConfig

    if recipe.kind != "grpo":
        raise ValueError(f"GRPO needs a GRPO recipe, got kind={recipe.kind!r}.")
    if recipe.lora.enabled and recipe.lora.train_projector:
        raise ValueError("GRPO reuses projected DNA features across passes, so the projector must stay frozen: "
                         "set lora.train_projector: false.")
    args = GRPOConfig(**{"report_to": "none", **recipe.training}, remove_unused_columns=False)
    model, processor = load_model(recipe.model, seed=args.seed)
    processor.max_dna_tokens = recipe.data.max_dna_tokens
    # A sampled DNA token would desynchronise placeholders and DNA features: never generate them.
    dna_token_ids = [model.config.dna_start_token_id, model.config.dna_token_id, model.config.dna_end_token_id]
    args.generation_kwargs = {"suppress_tokens": dna_token_ids, **(args.generation_kwargs or {})}
    answers = load_rows(recipe, recipe.data.train_split, None)["answer"]
    labels = list(VEP_ANSWERS) if infer_task(answers) == "variant_effect" else sorted({a.lower() for a in answers})
    functions, args.reward_weights = reward_functions(recipe, labels)
    if not recipe.lora.enabled:
        model.model.dna_projector.requires_grad_(False)
    return trainer_class(
        model=model, reward_funcs=functions, args=args, processing_class=processor,
        train_dataset=grpo_dataset(recipe, recipe.data.train_split, recipe.data.limit),
        peft_config=make_lora_config(model, recipe.lora) if recipe.lora.enabled else None,
    )


def run_grpo(recipe: Recipe, resume: bool = False) -> str:
    """Train with a GRPO recipe (starting from an SFT checkpoint folder) and return the exported folder."""
    trainer = make_grpo_trainer(recipe)
    result = trainer.train(resume_from_checkpoint=last_checkpoint(trainer.args.output_dir) if resume else None)
    return finish(trainer, recipe, result, summary=f"BioReason trained with the `{recipe.name}` recipe (GRPO).")
