"""GRPO (paper §3) from a recipe: model, LoRA, dataset, weighted rewards, then `DNAGRPOTrainer` (grpo_trainer.py).

    bioreason train grpo --config kegg_grpo_paper_v1

GRPO trains LoRA only: the trainer reuses the projected DNA features across passes, so the projector (trained by
SFT) stays frozen.
"""

from __future__ import annotations

from ..data.tasks import row_to_messages
from ..tasks import Task
from .checkpoints import plan_run
from .export import finish
from .grpo_trainer import DNAGRPOTrainer
from .lora import make_lora_config
from .models import load_model, set_dna_budget
from .recipe import Recipe, trainer_arguments
from .rows import load_rows, recipe_task


def _text(completion) -> str:
    return completion[-1]["content"] if isinstance(completion, list) else completion


def _bigrams(text: str) -> set[str]:
    text = " ".join(text.lower().split())
    return {text[i:i + 2] for i in range(len(text) - 1)}


def answer_similarity_reward(completions, answer, **kwargs) -> list[float]:
    """
    A dense shaping reward in [0, 1]: the Dice overlap of character bigrams between the completion's answer (the
    text after its last `Answer:`, else the whole completion) and the gold answer. Exact rewards are 0 for every
    sample of an untrained model, so a group has no spread and GRPO no gradient; this one separates near misses.
    Linear time in the completion length.
    """
    rewards = []
    for completion, gold in zip(completions, answer):
        text = _text(completion)
        cut = text.lower().rfind("answer:")
        ours, theirs = _bigrams(text[cut + 7:] if cut >= 0 else text), _bigrams(str(gold))
        rewards.append(2 * len(ours & theirs) / (len(ours) + len(theirs)) if ours or theirs else 0.0)
    return rewards


# Rewards a recipe may name besides its task's own (`Task.rewards()`: correctness, format, concise).
TRAINING_REWARDS = {"answer_similarity": answer_similarity_reward}


def reward_functions(recipe: Recipe, task: Task) -> tuple[list, list[float]]:
    """The recipe's named rewards and weights: the task's rewards (bound to its label set and parser) and ours."""
    available = {**task.rewards(), **TRAINING_REWARDS}
    functions, weights = [], []
    for name, weight in recipe.rewards.items():
        if name not in available:
            raise ValueError(f"Unknown reward {name!r}; available: {sorted(available)}.")
        function = available[name]
        functions.append(function)
        weights.append(float(weight))
    return functions, weights


def grpo_dataset(recipe: Recipe, rows):
    """Task rows -> a `prompt` column (the user turn, flanks trimmed) beside `answer`."""
    trim = recipe.data.trim_per_side
    return rows.map(lambda row: {"prompt": row_to_messages(row, trim_per_side=trim)},
                    remove_columns=[c for c in rows.column_names if c != "answer"])


def check_grpo_recipe(recipe: Recipe) -> None:
    if recipe.kind != "grpo":
        raise ValueError(f"GRPO needs a GRPO recipe, got kind={recipe.kind!r}.")
    if recipe.lora.enabled and recipe.lora.train_projector:
        raise ValueError("GRPO reuses projected DNA features across passes, so the projector must stay frozen: "
                         "set lora.train_projector: false.")


def make_grpo_trainer(recipe: Recipe, trainer_class: type = DNAGRPOTrainer, rows=None) -> DNAGRPOTrainer:
    """A ready-to-train GRPO trainer for a recipe: model, LoRA, dataset (`rows`, else the recipe's training rows),
    weighted rewards, DNA tokens suppressed."""
    from trl import GRPOConfig

    check_grpo_recipe(recipe)
    args = GRPOConfig(**trainer_arguments(GRPOConfig, {"report_to": "none", **recipe.training}),
                      remove_unused_columns=False)
    rows = load_rows(recipe, recipe.data.train_split, recipe.data.limit) if rows is None else rows
    model, processor = load_model(recipe.model, seed=args.seed)
    set_dna_budget(processor, model, recipe.data)
    # A sampled DNA token would desynchronise placeholders and DNA features: never generate them.
    dna_token_ids = [model.config.dna_start_token_id, model.config.dna_token_id, model.config.dna_end_token_id]
    args.generation_kwargs = {"suppress_tokens": dna_token_ids, **(args.generation_kwargs or {})}
    functions, args.reward_weights = reward_functions(recipe, recipe_task(recipe))
    if not recipe.lora.enabled:
        model.model.dna_projector.requires_grad_(False)
    return trainer_class(
        model=model, reward_funcs=functions, args=args, processing_class=processor,
        train_dataset=grpo_dataset(recipe, rows),
        peft_config=make_lora_config(model, recipe.lora) if recipe.lora.enabled else None,
    )


def run_grpo(recipe: Recipe, resume: bool = False) -> str:
    """Train with a GRPO recipe (starting from an SFT checkpoint folder) and return the exported folder."""
    check_grpo_recipe(recipe)
    rows = load_rows(recipe, recipe.data.train_split, recipe.data.limit)
    plan = plan_run(recipe, rows, resume)  # refuses resuming another run before any model is loaded
    trainer = make_grpo_trainer(recipe, rows=rows)
    result = trainer.train(resume_from_checkpoint=plan.apply(trainer))
    return finish(trainer, recipe, result, summary=f"BioReason trained with the `{recipe.name}` recipe (GRPO).")
