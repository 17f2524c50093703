"""Metrics over whole splits, under two labelled scoring rules.

* `strict` (ours): the answer after the last `Answer:` outside the thinking block, mapped to the closed label set;
  unparseable answers count as wrong. Macro averages run over the gold classes only (`labels=`), so the
  "unparseable" column never enters the average.
* `paper_lenient` (BioReason's): KEGG counts a prediction correct when the cleaned gold answer is a substring of the
  text after the last `Answer:` anywhere; VEP counts the gold label occurring anywhere in the generation.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from .answers import (
    UNPARSEABLE,
    extract_answer,
    map_to_label,
    paper_clean_gold,
    paper_kegg_answer,
    paper_vep_contains,
)

VEP_LABELS = ("pathogenic", "benign")


def _check_inputs(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references.")
    if not references:
        raise ValueError("No references: nothing to score.")
    for name, values in (("predictions", predictions), ("references", references)):
        bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
        if bad:
            raise TypeError(f"{name}[{bad[0]}] is {type(values[bad[0]]).__name__}, expected str.")


def _classification(gold: list[str], predicted: list[str], classes: list[str]) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=classes, average=None, zero_division=0
    )
    macro = precision_recall_fscore_support(gold, predicted, labels=classes, average="macro", zero_division=0)
    columns = classes + sorted({p for p in predicted if p not in classes})
    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "unparseable": sum(p == UNPARSEABLE for p in predicted),
        "per_class": [
            {"label": c, "support": int(s), "precision": float(p), "recall": float(r), "f1": float(f)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support)
        ],
        "confusion_matrix": {
            "rows": classes,
            "columns": columns,
            "counts": confusion_matrix(gold, predicted, labels=columns)[: len(classes)].tolist(),
        },
    }


def kegg_metrics(predictions: Sequence[str], references: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    """
    KEGG disease prediction under both rules.

    Args:
        predictions: generated texts (thinking block and `Answer: ...`).
        references: gold disease names.
        labels: the closed label set (default: the distinct references). Every reference must belong to it.
    """
    _check_inputs(predictions, references)
    gold = [r.strip().lower() for r in references]
    label_set = sorted(set(gold)) if labels is None else [l.strip().lower() for l in labels]
    unknown = sorted(set(gold) - set(label_set))
    if unknown:
        raise ValueError(f"References not in the label set: {unknown[:5]} ({len(unknown)} in all).")
    classes = sorted(set(gold))
    strict_pred = [map_to_label(extract_answer(p), label_set) for p in predictions]
    strict = _classification(gold, strict_pred, classes)

    # BioReason's notebook: a prediction names class d if the cleaned gold is in it, else the first gold class (in
    # order of first appearance) that it contains, else "no".
    clean_gold = [paper_clean_gold(r) for r in references]
    order = list(dict.fromkeys(clean_gold))
    lenient_pred = []
    for text, g in zip(predictions, clean_gold):
        answer = paper_kegg_answer(text)
        lenient_pred.append(g if g in answer else next((d for d in order if d in answer), "no"))
    lenient = _classification(clean_gold, lenient_pred, sorted(set(clean_gold)))
    lenient["accuracy"] = sum(g in paper_kegg_answer(p) for p, g in zip(predictions, clean_gold)) / len(gold)
    lenient["unparseable"] = sum(p == "no" for p in lenient_pred)
    return {"n": len(gold), "strict": strict, "paper_lenient": lenient,
            "strict_predictions": strict_pred, "paper_lenient_predictions": lenient_pred}


def _binary(gold: list[str], predicted: list[str]) -> dict:
    precision, recall, f1, _ = precision_recall_fscore_support(
        gold, predicted, labels=["pathogenic"], average=None, zero_division=0
    )
    tp = sum(g == "pathogenic" and p == "pathogenic" for g, p in zip(gold, predicted))
    fp = sum(g != "pathogenic" and p == "pathogenic" for g, p in zip(gold, predicted))
    fn = sum(g == "pathogenic" and p != "pathogenic" for g, p in zip(gold, predicted))
    tn = len(gold) - tp - fp - fn
    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "precision": float(precision[0]),
        "recall": float(recall[0]),
        "f1": float(f1[0]),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "unparseable": sum(p == UNPARSEABLE for p in predicted),
    }


def vep_gold_label(answer: str) -> str:
    """`"Pathogenic; Cystic fibrosis"` -> `"pathogenic"`; raises on anything but pathogenic/benign."""
    label = answer.split(";")[0].strip().lower()
    if label not in VEP_LABELS:
        raise ValueError(f"Unknown variant-effect label {answer!r}: expected 'pathogenic' or 'benign' (before any ';').")
    return label


def variant_effect_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict:
    """Pathogenic-vs-benign accuracy and binary P/R/F1 (pathogenic positive) under both rules."""
    _check_inputs(predictions, references)
    gold = [vep_gold_label(r) for r in references]
    strict_pred = [map_to_label(extract_answer(p), VEP_LABELS) for p in predictions]
    # BioReason's rule: "contains the gold label anywhere" is the prediction "gold", otherwise "the other label".
    other = {"pathogenic": "benign", "benign": "pathogenic"}
    lenient_pred = [g if paper_vep_contains(p, g) else other[g] for p, g in zip(predictions, gold)]
    return {"n": len(gold), "strict": _binary(gold, strict_pred), "paper_lenient": _binary(gold, lenient_pred),
            "strict_predictions": strict_pred, "paper_lenient_predictions": lenient_pred}
