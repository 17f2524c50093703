"""KEGG disease prediction: which of 37 diseases does the variant, in its pathway context, contribute to?"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from . import scoring
from .base import Task

LABEL_MAP = Path(__file__).with_name("kegg_disease_label_map.json")


def kegg_labels(path: Path = LABEL_MAP) -> tuple:
    """The 37 canonical KEGG diseases, lower-cased: the values of BioReason's raw → canonical label map."""
    mapping = json.loads(Path(path).read_text(encoding="utf-8"))["raw_to_canonical"]
    return tuple(sorted({name.strip().lower() for name in mapping.values()}))


class KeggDiseaseTask(Task):
    """
    KEGG disease task. The label set is the shipped `kegg_disease_label_map.json` (37 diseases), so a well-formed
    wrong disease maps to its label (a wrong answer), and a disease outside the set is `other`, not unparseable.

    >>> task = KeggDiseaseTask()
    >>> len(task.labels), task.parse("Answer: Parkinson's disease"), task.parse("Answer: gout")
    (37, "parkinson's disease", 'other')
    """

    name = "kegg_disease"
    description = "KEGG disease prediction (37 diseases)"
    report_columns = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "unparseable", "other")

    @cached_property
    def labels(self) -> tuple:  # type: ignore[override]
        return kegg_labels()

    def gold_label(self, answer: str) -> str:
        label = scoring.kegg_gold(answer)
        if label not in self.labels:
            raise ValueError(f"{answer!r} is not one of the {len(self.labels)} KEGG diseases.")
        return label

    def paper_lenient_gold(self, answer: str) -> str:
        return scoring.paper_clean_gold(answer)  # BioReason's rule compares the cleaned answer

    def parse(self, generation: str) -> str:
        return scoring.map_to_label(scoring.extract_answer(generation), self.labels)

    def metrics(self, predictions, references, scores=None) -> dict:
        return scoring.kegg_scores(predictions, references, self.labels)
