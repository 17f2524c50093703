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
  rows that have a score (`n_scored`).
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
                                        "references": datasets.Value("string")}),
            reference_urls=["https://arxiv.org/abs/2505.23579"],
        )

    def _compute(self, predictions, references, scores=None):
        result = variant_effect_scores(predictions, references, scores)
        output = {**{key: result["strict"][key] for key in _KEYS},
                  **{f"paper_lenient_{key}": result["paper_lenient"][key] for key in _KEYS},
                  "n": result["n"], "excluded": result["excluded"]}
        if "ranking" in result:
            output.update({key: result["ranking"][key] for key in ("auroc", "auprc", "n_scored")})
        return output
