"""Metrics over whole splits, under two labelled scoring rules (and, for variant effect, a ranking of scores).

The rules and their code live in `modeling_bioreason.tasks.scoring` (the sealed file the Hub metric modules carry);
these are the library's entry points with the tasks' label sets as defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..tasks import KeggDiseaseTask
from ..tasks.scoring import VARIANT_EFFECT_LABELS, kegg_scores, variant_effect_gold, variant_effect_scores

VEP_LABELS = VARIANT_EFFECT_LABELS
vep_gold_label = variant_effect_gold


def kegg_metrics(predictions: Sequence[str], references: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    """
    KEGG disease prediction under both rules.

    Args:
        predictions: generated texts (thinking block and `Answer: ...`).
        references: gold disease names.
        labels: the closed label set (default: the task's 37 diseases from `kegg_disease_label_map.json`).
    """
    return kegg_scores(predictions, references, KeggDiseaseTask().labels if labels is None else labels)


def variant_effect_metrics(predictions: Sequence[str], references: Sequence[str], scores=None) -> dict:
    """Pathogenic-vs-benign accuracy and binary P/R/F1 (pathogenic positive) under both rules; AUROC/AUPRC of
    `scores` (higher = more pathogenic; None for a row without one) under `ranking`."""
    return variant_effect_scores(predictions, references, scores)
