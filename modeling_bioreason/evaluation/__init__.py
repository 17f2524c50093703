"""Evaluation: metrics (strict and paper-lenient, AUROC/AUPRC), the lookup and zero-shot baselines, the runner."""

from .answers import UNPARSEABLE, extract_answer, map_to_label, normalize_answer
from .config import EvaluationConfig
from .metrics import kegg_metrics, variant_effect_metrics

__all__ = [
    "UNPARSEABLE",
    "EvaluationConfig",
    "extract_answer",
    "kegg_metrics",
    "map_to_label",
    "normalize_answer",
    "variant_effect_metrics",
]
