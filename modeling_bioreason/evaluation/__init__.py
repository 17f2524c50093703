"""Evaluation: answer parsing, metrics (strict and paper-lenient), the lookup baseline and the batched runner."""

from .answers import UNPARSEABLE, extract_answer, map_to_label, normalize_answer
from .config import EvaluationConfig

__all__ = [
    "UNPARSEABLE",
    "EvaluationConfig",
    "extract_answer",
    "kegg_metrics",
    "map_to_label",
    "normalize_answer",
    "variant_effect_metrics",
]


def __getattr__(name: str):
    # Metrics need scikit-learn (the `eval` extra); import them only when asked for.
    if name in ("kegg_metrics", "variant_effect_metrics"):
        from . import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
