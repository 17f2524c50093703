"""Variant-effect (pathogenic vs benign) metric for BioReason, under a strict and a paper-lenient rule.

A thin `evaluate` wrapper over `modeling_bioreason.evaluation.variant_effect_metrics` (install `modeling-bioreason`).
"""

import evaluate

from modeling_bioreason.evaluation import variant_effect_metrics
from modeling_bioreason.evaluation.evaluate_modules import metric_info

_DESCRIPTION = """
Scores generated answers to variant-effect questions against gold labels ("Pathogenic; <disease>" or "Benign").
Pathogenic is the positive class.

* strict: the text after the last `Answer:` outside the `<think>` block must name exactly one of pathogenic/benign
  (e.g. "likely benign" is benign; "benign or pathogenic" is unparseable and wrong).
* paper_lenient: BioReason's rule, the gold label counts as predicted when it occurs anywhere in the generation,
  thinking block included.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): generated texts.
    references (list of str): gold answers; the label is the part before any ";" (pathogenic or benign).
Returns:
    accuracy, precision, recall, f1, tp, fp, tn, fn, unparseable (strict rule), and the same keys prefixed with
    "paper_lenient_".
Examples:
    >>> metric = evaluate.load("hub_cards/metrics/variant_effect")
    >>> metric.compute(predictions=["Answer: Pathogenic"], references=["Pathogenic; cystic fibrosis"])["f1"]
    1.0
"""



@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class VariantEffect(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references):
        result = variant_effect_metrics(predictions, references)
        keys = ("accuracy", "precision", "recall", "f1", "tp", "fp", "tn", "fn", "unparseable")
        return {**{key: result["strict"][key] for key in keys},
                **{f"paper_lenient_{key}": result["paper_lenient"][key] for key in keys}}
