"""Substituted base: which base does the variant window carry where it differs from the reference?

A synthetic task that only the DNA can answer (`hub_cards/datasets/dna_substitution`, built by
`modeling_bioreason.data.build_substitution_dataset`): every row asks the same question, so the answer is in the
DNA windows and nowhere else. It proves, end to end, that information reaches the answer through the DNA path.
"""

from __future__ import annotations

import re

from . import scoring
from .base import Task

BASES = ("A", "C", "G", "T")
BASE_NAMES = {"adenine": "A", "cytosine": "C", "guanine": "G", "thymine": "T"}
_WORD = re.compile(r"[a-z]+")


class SubstitutedBaseTask(Task):
    """
    Four classes, A/C/G/T (macro F1 over them). `strict` maps the answer span to one base (a letter or its name;
    anything naming two bases, or a negated one, is unparseable). `paper_lenient`, in the spirit of BioReason's
    substring rule, counts a row correct when the gold base is named as a whole word (letter or name) anywhere in the
    text after the last `Answer:` (a single letter is a substring of almost any word, so whole words only).

    >>> task = SubstitutedBaseTask()
    >>> [task.parse(f"Answer: {a}") for a in ["G", "guanine.", "not G", "A or G"]]
    ['G', 'G', 'unparseable', 'unparseable']
    """

    name = "substituted_base"
    description = "the base a single-nucleotide substitution introduces (A/C/G/T; DNA-only synthetic task)"
    labels = BASES
    report_columns = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "unparseable", "other")

    def gold_label(self, answer: str) -> str:
        if not isinstance(answer, str) or answer.strip().upper() not in self.labels:
            raise ValueError(f"{answer!r} is not one of the bases {list(self.labels)}.")
        return answer.strip().upper()

    def parse(self, generation: str) -> str:
        answer = scoring.extract_answer(generation)
        if answer is not None:
            answer = " ".join(BASE_NAMES.get(word, word) for word in _WORD.findall(answer.lower()))
        return scoring.map_to_label(answer, self.labels)

    @staticmethod
    def named_bases(generation: str) -> list[str]:
        """The bases named as whole words (letters or names) after the last `Answer:`, in order."""
        words = _WORD.findall(scoring.paper_kegg_answer(generation))
        return [BASE_NAMES.get(word, word.upper()) for word in words if word.upper() in BASES or word in BASE_NAMES]

    def metrics(self, predictions, references, scores=None) -> dict:
        scoring.check_inputs(predictions, references)
        gold = [self.gold_label(r) for r in references]
        strict_pred = [self.parse(p) for p in predictions]
        named = [self.named_bases(p) for p in predictions]
        lenient_pred = [g if g in bases else (bases[0] if bases else "no") for bases, g in zip(named, gold)]
        lenient = scoring.classification(gold, lenient_pred, list(self.labels))
        lenient["unparseable"], lenient["other"] = sum(p == "no" for p in lenient_pred), 0
        return {"n": len(gold), "strict": scoring.classification(gold, strict_pred, list(self.labels)),
                "paper_lenient": lenient, "strict_predictions": strict_pred, "paper_lenient_predictions": lenient_pred}
