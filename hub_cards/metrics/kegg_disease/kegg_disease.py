"""KEGG disease prediction metric for BioReason: accuracy and macro P/R/F1 under a strict and a paper-lenient rule.

A thin `evaluate` wrapper over `modeling_bioreason.evaluation.kegg_metrics` (install `modeling-bioreason`).
"""

import evaluate

from modeling_bioreason.evaluation import kegg_metrics
from modeling_bioreason.evaluation.evaluate_modules import metric_info

_DESCRIPTION = """
Scores generated answers to KEGG disease-pathway questions against gold disease names.

* strict: the text after the last `Answer:` outside the `<think>` block, normalised and mapped to the closed label
  set; anything that maps to no label or to several is "unparseable" and counts as wrong.
* paper_lenient: BioReason's rule, correct when the cleaned gold name is a substring of the text after the last
  `Answer:` anywhere in the generation.

Macro precision/recall/F1 average over the gold classes only (scikit-learn with `labels=` and `zero_division=0`).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): generated texts, e.g. "<think>...</think>\\n\\nAnswer: parkinson's disease".
    references (list of str): gold disease names.
    labels (list of str, optional): the closed label set (default: the distinct references).
Returns:
    accuracy, macro_precision, macro_recall, macro_f1, unparseable (strict rule), the same keys prefixed with
    "paper_lenient_", and per_class / confusion_matrix details under "strict_details" and "paper_lenient_details".
Examples:
    >>> metric = evaluate.load("hub_cards/metrics/kegg_disease")
    >>> metric.compute(predictions=["Answer: melanoma"], references=["melanoma"])["accuracy"]
    1.0
"""



@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class KeggDisease(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, labels=None):
        result = kegg_metrics(predictions, references, labels)
        strict, lenient = result["strict"], result["paper_lenient"]
        keys = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "unparseable")
        return {
            **{key: strict[key] for key in keys},
            **{f"paper_lenient_{key}": lenient[key] for key in keys},
            "strict_details": {"per_class": strict["per_class"], "confusion_matrix": strict["confusion_matrix"]},
            "paper_lenient_details": {"per_class": lenient["per_class"]},
        }
