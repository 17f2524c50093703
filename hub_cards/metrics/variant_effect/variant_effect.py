"""Variant-effect (pathogenic vs benign) metric for BioReason: strict and paper-lenient rules, AUROC/AUPRC of scores.

Sealed: imports only `evaluate`, `datasets` and the byte copy `bioreason_scoring.py` of the library's
`modeling_bioreason/tasks/scoring.py` (one source of truth; `modeling_bioreason.tasks.sync_metric_modules()` writes
it and the library's tests check the copy), so it runs where `modeling_bioreason` is not installed.
"""

import datasets
import evaluate

from .bioreason_scoring import variant_effect_scores

_CITATION = """
@article{fallahpour2025bioreason,
  title={BioReason: Incentivizing Multimodal Biological Reasoning within a DNA-LLM Model},
  author={Fallahpour, Adibvafa and Magnuson, Andrew and Gupta, Purav and Ma, Shihao and Naimer, Jack and Shah, Arnav and Duan, Haonan and Ibrahim, Omar and Goodarzi, Hani and Maddison, Chris J. and Wang, Bo},
  journal={arXiv preprint arXiv:2505.23579},
  year={2025}
}
"""

_DESCRIPTION = """
Scores generated answers to variant-effect questions against gold labels ("Pathogenic; <disease>" or "Benign").
Pathogenic is the positive class.

* strict: the text after the last `Answer:` outside the `<think>` block must name exactly one of pathogenic/benign
  ("likely benign" is benign; "not pathogenic" / "non-pathogenic" are benign; "benign or pathogenic" and
  "uncertain" are unparseable). Unparseable answers are wrong and never a TP/TN: tp + fp + tn + fn + unparseable = n.
* paper_lenient: BioReason's rule, the gold label counts as predicted when it occurs anywhere in the generation,
  thinking block included.
* with `scores` (one float per row, higher = more pathogenic, None where a row has none): AUROC and AUPRC over the
  rows that have a score (`n_scored`). Scores are an input like predictions: `add_batch(predictions=...,
  references=..., scores=...)` accumulates them batch by batch; a batch given without scores has none.
Gold "Intermediate" rows (BRCA1 INT) are left out of every number and counted in `excluded`.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): generated texts.
    references (list of str): gold answers; the label is the part before any ";" (pathogenic or benign).
    scores (list of float or None, optional): per-row scores, higher = more pathogenic.
Returns:
    accuracy, precision, recall, f1, tp, fp, tn, fn, unparseable (strict rule), the same keys prefixed with
    "paper_lenient_", n, excluded, and with scores auroc, auprc, n_scored.
Examples:
    >>> metric = evaluate.load("hub_cards/metrics/variant_effect")
    >>> metric.compute(predictions=["Answer: Pathogenic"], references=["Pathogenic; cystic fibrosis"])["f1"]
    1.0
    >>> for preds, refs, scores in [(["Answer: benign"], ["Benign"], [-1.5]),
    ...                             (["Answer: pathogenic"], ["Pathogenic"], [2.0])]:
    ...     metric.add_batch(predictions=preds, references=refs, scores=scores)
    >>> metric.compute()["auroc"]
    1.0
"""

_KEYS = ("accuracy", "precision", "recall", "f1", "tp", "fp", "tn", "fn", "unparseable")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class VariantEffect(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string"),
                                        "scores": datasets.Value("float64")}),
            reference_urls=["https://arxiv.org/abs/2505.23579"],
        )

    # `scores` is optional: a call without it gives each row no score (None), so predictions alone still work.
    def add_batch(self, *, predictions=None, references=None, scores=None, **kwargs):
        """Add a batch of predictions, references and (optional) scores."""
        if scores is None and predictions is not None:
            scores = [None] * len(predictions)
        return super().add_batch(predictions=predictions, references=references, scores=scores, **kwargs)

    def add(self, *, prediction=None, reference=None, score=None, scores=None, **kwargs):
        """Add one prediction, reference and (optional) score."""
        return super().add(prediction=prediction, reference=reference, scores=score if scores is None else scores,
                           **kwargs)

    def compute(self, *, predictions=None, references=None, scores=None, **kwargs):
        """Compute the metrics over the rows given here and those added with `add_batch` / `add`."""
        if predictions is not None or references is not None:
            if scores is None:
                scores = [None] * len(predictions if predictions is not None else references)
            return super().compute(predictions=predictions, references=references, scores=scores, **kwargs)
        return super().compute(**kwargs)

    def _compute(self, predictions, references, scores=None):
        if scores is not None and all(score is None for score in scores):
            scores = None  # no row has a score: no ranking metrics
        result = variant_effect_scores(predictions, references, scores)
        output = {**{key: result["strict"][key] for key in _KEYS},
                  **{f"paper_lenient_{key}": result["paper_lenient"][key] for key in _KEYS},
                  "n": result["n"], "excluded": result["excluded"]}
        if "ranking" in result:
            output.update({key: result["ranking"][key] for key in ("auroc", "auprc", "n_scored")})
        return output
