"""A training run's rows: loaded through the shared split loader and checked before any work starts."""

from __future__ import annotations

from ..data.windows import sequence_problem
from .recipe import Recipe

SEQUENCE_COLUMNS = ("reference_sequence", "variant_sequence")


def validate_rows(dataset, where: str, need_reasoning: bool = False, need_answer: bool = True,
                  trim_per_side: int = 0, iupac_ok: bool = False) -> None:
    """
    Refuse, before any work starts, rows a run would silently mis-train on: a missing column, a `None` or non-string
    question/answer/sequence/reasoning, an empty sequence, a character in a sequence that is not a base (a line
    break or a FASTA header in a flank that `trim_per_side` removes would shift the kept window; a bad base in the
    middle would fail only at the training step that reaches it). The message names the dataset row index.
    """
    if len(dataset) == 0:
        raise ValueError(f"{where} has no rows: nothing to train or evaluate on (check data.dataset, config and "
                         "split).")
    required = ("question", *SEQUENCE_COLUMNS) + (("answer",) if need_answer else ()) + (
        ("reasoning",) if need_reasoning else ())
    missing = [name for name in required if name not in dataset.column_names]
    if missing:
        hint = " (SFT trains on the reasoning trace; a dataset without one needs a `reasoning` column, even empty)" \
            if "reasoning" in missing else ""
        raise ValueError(f"{where} lacks column(s) {missing}{hint}; it has {sorted(dataset.column_names)}.")
    for name in required:
        for index, value in enumerate(dataset[name]):
            if not isinstance(value, str):
                raise ValueError(f"{where} row {index}: `{name}` is {value!r} ({type(value).__name__}); every row "
                                 f"needs a string. Fix or drop that row.")
            if not value.strip() and name != "reasoning":
                raise ValueError(f"{where} row {index}: `{name}` is empty. Fix or drop that row.")
            if name in SEQUENCE_COLUMNS and (problem := sequence_problem(value, trim_per_side, iupac_ok)):
                raise ValueError(f"{where} row {index}: `{name}` {problem}. Fix or drop that row.")


def recipe_task(recipe: Recipe):
    """The recipe's task object: `data.task`, else the dataset card's declaration (never guessed from answers)."""
    from ..tasks import task_of_dataset

    return task_of_dataset(recipe.data.dataset, recipe.data.config, recipe.data.task)


def load_rows(recipe: Recipe, split: str | None, limit: int | None, need_reasoning: bool = False):
    """The recipe dataset's `split` (first `limit` rows), validated; None when `split` is None."""
    from ..data.tasks import load_split

    if split is None:
        return None
    dataset = load_split(recipe.data.dataset, recipe.data.config, split)
    dataset = dataset.select(range(min(limit, len(dataset)))) if limit else dataset
    # Only BioReason's processor refuses IUPAC codes; the baselines read them as N (DNA-only) or as text (LLM-only).
    validate_rows(dataset, f"Dataset {recipe.data.dataset!r} ({recipe.data.config}/{split})", need_reasoning,
                  trim_per_side=recipe.data.trim_per_side, iupac_ok=recipe.model.architecture != "bioreason")
    return dataset
