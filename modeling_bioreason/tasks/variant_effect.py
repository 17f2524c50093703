"""Variant effect: is the variant pathogenic or benign? (ClinVar coding variants; BRCA1 saturation genome editing.)"""

from __future__ import annotations

from . import scoring
from .base import Task, completion_text


class VariantEffectTask(Task):
    """
    Binary variant-effect task, pathogenic = positive. The gold label is the part of `answer` before any `;`
    (`"Pathogenic; Cystic fibrosis"` → pathogenic); rows labelled "intermediate" (BRCA1 INT) stay in the data and
    are left out of every metric (counted as `excluded`).

    Per-row score (higher = more pathogenic): a model's log P(" pathogenic") − log P(" benign") at its answer slot
    after its own reasoning (`answer_prefix`); the DNA-only baseline's classifier log-odds; the zero-shot DNA
    baseline's masked-marginal log-likelihood ratio. Reports give AUROC/AUPRC over the rows with a score.

    >>> task = VariantEffectTask()
    >>> [task.parse(f"Answer: {a}") for a in ["Not pathogenic", "non-pathogenic", "benign or pathogenic"]]
    ['benign', 'benign', 'unparseable']
    """

    name = "variant_effect"
    description = "variant effect (pathogenic vs benign)"
    labels = scoring.VARIANT_EFFECT_LABELS
    positive = scoring.PATHOGENIC
    report_columns = ("accuracy", "f1", "precision", "recall", "tp", "fp", "tn", "fn", "unparseable")
    has_score = True
    # What a model is asked to continue its answer slot with, one per label (same order as `labels`).
    continuations = (" pathogenic", " benign")

    def gold_label(self, answer: str):
        return scoring.variant_effect_gold(answer)

    def parse(self, generation: str) -> str:
        complement = {scoring.PATHOGENIC: scoring.BENIGN, scoring.BENIGN: scoring.PATHOGENIC}
        return scoring.map_to_label(scoring.extract_answer(generation), self.labels, complement)

    def metrics(self, predictions, references, scores=None) -> dict:
        return scoring.variant_effect_scores(predictions, references, scores)

    def correctness_reward(self, completions, answer, **kwargs) -> list[float]:
        if len(answer) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(answer)} answers.")
        rewards = []
        for completion, gold in zip(completions, answer):
            label = self.gold_label(gold)
            rewards.append(0.0 if label is None else float(self.parse(completion_text(completion)) == label))
        return rewards

