"""KEGG disease prediction metric for BioReason: accuracy and macro P/R/F1 under a strict and a paper-lenient rule.

Sealed: imports only `evaluate`, `datasets` and the byte copy `bioreason_scoring.py` of the library's
`modeling_bioreason/tasks/scoring.py` (one source of truth; `modeling_bioreason.tasks.sync_metric_modules()` writes
it and the library's tests check the copy), so it runs where `modeling_bioreason` is not installed.
"""

import datasets
import evaluate

from .bioreason_scoring import kegg_scores

_CITATION = """
@article{fallahpour2025bioreason,
  title={BioReason: Incentivizing Multimodal Biological Reasoning within a DNA-LLM Model},
  author={Fallahpour, Adibvafa and Magnuson, Andrew and Gupta, Purav and Ma, Shihao and Naimer, Jack and Shah, Arnav and Duan, Haonan and Ibrahim, Omar and Goodarzi, Hani and Maddison, Chris J. and Wang, Bo},
  journal={arXiv preprint arXiv:2505.23579},
  year={2025}
}
"""

# The 37 canonical KEGG diseases (lower-cased values of BioReason's kegg_disease_label_map.json; the library's tests
# check this list against that file).
KEGG_DISEASES = [
    "acute myeloid leukemia", "adenine phosphoribosyltransferase deficiency", "alzheimer's disease",
    "amyotrophic lateral sclerosis", "basal cell carcinoma", "chronic myeloid leukemia",
    "clear cell renal cell carcinoma", "colorectal cancer", "creutzfeldt-jakob disease", "cushing syndrome",
    "gastric cancer", "gaucher disease", "glioblastoma multiforme", "hepatocellular carcinoma",
    "huntington's disease", "lesch-nyhan syndrome", "melanoma", "methylmalonic aciduria and homocystinuria",
    "multiple endocrine neoplasia type 1", "n-acetylglutamate synthase deficiency", "non-small cell lung cancer",
    "pancreatic ductal adenocarcinoma", "papillary renal cell carcinoma", "papillary thyroid carcinoma",
    "parkinson's disease", "pituitary adenoma", "primary aldosteronism", "prion disease", "prostate cancer",
    "renal cell carcinoma", "robinow syndrome", "sphingolipidoses", "spinocerebellar ataxia", "thyroid cancer",
    "thyroid dyshormonogenesis", "urothelial carcinoma", "von hippel-lindau syndrome",
]

_DESCRIPTION = """
Scores generated answers to KEGG disease-pathway questions against gold disease names.

* strict: the text after the last `Answer:` outside the `<think>` block, normalised and mapped to the closed label
  set (default: the 37 KEGG diseases); an answer that names several labels, a negated label or a hedge is
  "unparseable", one that names no label of the set is "other"; both count as wrong.
* paper_lenient: BioReason's rule, correct when the cleaned gold name is a substring of the text after the last
  `Answer:` anywhere in the generation.

Macro precision/recall/F1 average over the gold classes only (zero where undefined).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): generated texts, e.g. "<think>...</think>\\n\\nAnswer: parkinson's disease".
    references (list of str): gold disease names.
    labels (list of str, optional): the closed label set (default: the 37 KEGG diseases).
Returns:
    accuracy, macro_precision, macro_recall, macro_f1, unparseable, other (strict rule), the same keys prefixed
    with "paper_lenient_" (where "paper_lenient_unparseable" counts answers naming no gold disease of the
    references), and per_class / confusion_matrix details under "strict_details" and "paper_lenient_details".
Examples:
    >>> metric = evaluate.load("hub_cards/metrics/kegg_disease")
    >>> metric.compute(predictions=["Answer: melanoma"], references=["melanoma"])["accuracy"]
    1.0
"""

_KEYS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "unparseable", "other")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class KeggDisease(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}),
            reference_urls=["https://arxiv.org/abs/2505.23579"],
        )

    def _compute(self, predictions, references, labels=None):
        result = kegg_scores(predictions, references, KEGG_DISEASES if labels is None else labels)
        strict, lenient = result["strict"], result["paper_lenient"]
        return {
            **{key: strict[key] for key in _KEYS},
            **{f"paper_lenient_{key}": lenient[key] for key in _KEYS},
            "strict_details": {"per_class": strict["per_class"], "confusion_matrix": strict["confusion_matrix"]},
            "paper_lenient_details": {"per_class": lenient["per_class"]},
        }
