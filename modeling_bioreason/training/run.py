"""`bioreason train`: any recipe, dispatched once on its kind and architecture.

The layers below it do not import it: `rows.py` (a run's rows, checked up front), `checkpoints.py` (which run a
folder holds, what `--resume` continues) and `export.py` (the end of a run) serve `sft.py`, `grpo.py` and
`baselines.py`, which this module dispatches to.
"""

from __future__ import annotations

from .baselines import run_baseline
from .grpo import run_grpo
from .recipe import Recipe
from .sft import run_sft


def run(recipe: Recipe, resume: bool = False) -> str:
    """Train any recipe (BioReason SFT / GRPO, or a baseline) and return the exported Hub-format folder."""
    if recipe.model.architecture != "bioreason":
        if recipe.kind != "sft":
            raise ValueError(f"The {recipe.model.architecture} baseline trains with SFT only (kind: sft).")
        return run_baseline(recipe, resume)
    if recipe.kind == "grpo":
        return run_grpo(recipe, resume)
    return run_sft(recipe, resume)
