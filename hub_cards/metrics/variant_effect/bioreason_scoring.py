"""BioReason answer parsing and scoring: the one source of truth, shared by the library and the Hub metric modules.

SEALED: this file imports only the Python standard library. `hub_cards/metrics/*/bioreason_scoring.py` are byte
copies of it (written by `modeling_bioreason.tasks.sync_metric_modules()`, checked by tests/test_metrics.py), so
`evaluate.load(...)` on a metric folder runs where `modeling_bioreason` is not installed and returns the library's
numbers.

Rules
-----
* **Thinking / answer split** (`split_reasoning`): the text inside `<think>...</think>` and what follows the first
  `</think>` (the same rule as `processing_bioreason.split_reasoning`). `extract_answer` takes the text after the
  last `Answer:` of the answer part; a `<think>` that is never closed has no answer.
* **The answer marker** is matched in any case (`Answer:`, `ANSWER:`, `answer:`) by every rule of ours: the strict
  parse of both tasks, the answer slot of the ranking score and the format reward. Only the paper-lenient KEGG rule
  keeps BioReason's case-sensitive `Answer:` (its code, reproduced as written).
* **strict** (ours): the answer span is normalised and mapped to the task's closed label set. Negations ("not
  pathogenic", "non-pathogenic") map to the other label of a binary task and make a multi-class answer unparseable;
  hedges ("uncertain", "either", "benign or pathogenic") are unparseable. Unparseable is counted and always wrong:
  never a true positive or a true negative. A KEGG answer that names a disease outside the label set is a
  well-formed wrong answer (`other`), not unparseable.
* **paper_lenient** (BioReason's): KEGG counts a prediction correct when the cleaned gold answer is a substring of
  the text after the last `Answer:` anywhere; variant effect counts the gold label occurring anywhere in the text.
* **ranking** (variant effect): AUROC and AUPRC of a per-row score (higher = more pathogenic) over the rows that
  have one; rows whose gold label is excluded (e.g. BRCA1 "intermediate") are left out and counted.

Every function here is linear in the length of its input (no backtracking regular expressions).
"""

from __future__ import annotations

import math
import numbers
import re

UNPARSEABLE = "unparseable"
OTHER = "other"  # a well-formed answer naming no label of the closed set (KEGG)
ANSWER_MARKER = "Answer:"
_MARKER = re.compile(re.escape(ANSWER_MARKER), re.IGNORECASE)  # ours: any case; the paper's rule: exact
PATHOGENIC, BENIGN = "pathogenic", "benign"
VARIANT_EFFECT_LABELS = (PATHOGENIC, BENIGN)
EXCLUDED_VARIANT_EFFECT_LABELS = ("intermediate",)  # kept in a dataset, left out of every metric (counted)

_APOSTROPHES = re.compile(r"['’‘`]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_CLAUSE_PUNCTUATION = re.compile(r"[,;.!?()\[\]]")
_NON_WORD_KEEP_CLAUSES = re.compile(r"[^0-9a-z|]+")
_PAPER_STRIP = str.maketrans("", "", ".,!?\"'")
_NEGATORS = frozenset({"not", "non", "no", "never", "nor", "neither", "isnt", "isn", "without", "nonpathogenic"})
_CLAUSE_BREAKS = frozenset({"|", "but", "and", "or", "rather", "instead", "so", "therefore", "thus", "hence", "while"})
_HEDGES = frozenset({"uncertain", "unclear", "unknown", "undetermined", "indeterminate", "inconclusive", "vus",
                     "conflicting", "cannot", "unsure", "ambiguous", "either", "undecided"})


# --------------------------------------------------------------------------------------------------------- parsing
def split_reasoning(text: str) -> dict:
    """
    `{"reasoning": ..., "answer": ...}`: the text inside `<think>...</think>` and what follows it.

    >>> split_reasoning("<think>\\nStep 1\\n</think>\\n\\nAnswer: melanoma")
    {'reasoning': 'Step 1', 'answer': 'Answer: melanoma'}
    >>> split_reasoning("<think>\\nStep 1, cut off by max_new_tokens")  # unfinished thinking: no answer yet
    {'reasoning': 'Step 1, cut off by max_new_tokens', 'answer': ''}
    """
    reasoning, answer = "", text
    if "</think>" in text:
        reasoning, answer = text.split("</think>", 1)
        reasoning = reasoning.split("<think>", 1)[-1]
    elif "<think>" in text:
        reasoning, answer = text.split("<think>", 1)[1], ""
    return {"reasoning": reasoning.strip(), "answer": answer.strip()}


def _last_marker(text: str):
    """The (start, end) of the last answer marker in `text`, in any case; None if there is none."""
    last = None
    for last in _MARKER.finditer(text):
        pass
    return None if last is None else last.span()


def extract_answer(generation: str):
    """
    The raw text after the last `Answer:` (in any case) outside the thinking block (None if there is none).

    >>> extract_answer("<think>\\nAnswer: melanoma?\\n</think>\\n\\nAnswer: Prion disease.")
    'Prion disease.'
    >>> extract_answer("<think>\\nI think the Answer: melanoma") is None
    True
    >>> extract_answer("<think>\\nx\\n</think>\\n\\nANSWER: Benign")
    'Benign'
    """
    if not isinstance(generation, str):
        raise TypeError(f"generation must be a str, got {type(generation).__name__}.")
    answer = split_reasoning(generation)["answer"]
    if "<think>" in answer:  # a thinking block opened and never closed: no answer yet
        return None
    marker = _last_marker(answer)
    return None if marker is None else answer[marker[1]:].strip()


def answer_prefix(generation: str) -> str:
    """
    The generation cut just after its answer marker: where the label continuation is scored. Without a marker the
    thinking block is closed (if open) and `Answer:` appended.

    >>> answer_prefix("<think>\\nx\\n</think>\\n\\nAnswer: benign")
    '<think>\\nx\\n</think>\\n\\nAnswer:'
    >>> answer_prefix("<think>\\nx")
    '<think>\\nx\\n</think>\\n\\nAnswer:'
    """
    head, sep, tail = generation.partition("</think>")
    if not sep:
        if "<think>" in generation:
            return generation.rstrip() + "\n</think>\n\nAnswer:"
        head, sep, tail = "", "", generation
    marker = _last_marker(tail)
    if marker is not None:
        return head + sep + tail[:marker[1]]
    return (head + sep + tail).rstrip() + "\n\nAnswer:"


def normalize_answer(text: str) -> str:
    """
    Lower case, apostrophes dropped, other punctuation and whitespace collapsed to single spaces.

    >>> normalize_answer("  Alzheimer’s Disease (early-onset). ")
    'alzheimers disease early onset'
    """
    text = _APOSTROPHES.sub("", text.lower())
    return _NON_WORD.sub(" ", text).strip()


def _occurrences(padded: str, phrase: str):
    needle, start = f" {phrase} ", 0
    while True:
        found = padded.find(needle, start)
        if found < 0:
            return
        yield found + 1  # position of the phrase's first character
        start = found + 1


def _negated(words: list, index: int) -> bool:
    """Whether one of the (up to) three words before `words[index]`, in the same clause, is a negation."""
    for word in reversed(words[max(0, index - 3):index]):
        if word in _CLAUSE_BREAKS:
            return False
        if word in _NEGATORS:
            return True
    return False


def map_to_label(answer, labels, complement=None) -> str:
    """
    Map an extracted answer to one label of the closed set, `UNPARSEABLE`, or (`complement is None`, multi-class)
    `OTHER` for a well-formed answer naming no label.

    An exact match (after normalisation) wins. Otherwise every occurrence of a label as a whole phrase is collected;
    labels contained in a longer matched label are dropped; an occurrence preceded by a negation ("not", "non", ...,
    within the same clause) becomes `complement[label]` in a binary task and makes a multi-class answer unparseable;
    hedges ("uncertain", "either", ...) are unparseable. The answer maps only if exactly one label remains.

    >>> map_to_label("Amyotrophic lateral sclerosis (ALS)", ["amyotrophic lateral sclerosis", "melanoma"])
    'amyotrophic lateral sclerosis'
    >>> map_to_label("not melanoma; more likely prion disease", ["melanoma", "prion disease"])
    'unparseable'
    >>> binary = {"pathogenic": "benign", "benign": "pathogenic"}
    >>> [map_to_label(a, ["pathogenic", "benign"], binary) for a in ["Not pathogenic", "non-pathogenic",
    ...                                                               "benign or pathogenic", "Likely benign"]]
    ['benign', 'benign', 'unparseable', 'benign']
    """
    if answer is None:
        return UNPARSEABLE
    normalized = normalize_answer(answer)
    if not normalized:
        return UNPARSEABLE
    by_normal = {normalize_answer(label): label for label in labels}
    if normalized in by_normal:
        return by_normal[normalized]
    if any(word in _HEDGES for word in normalized.split(" ")):
        return UNPARSEABLE
    # the same normalisation, with clause punctuation kept as "|" so that a negation never crosses a comma
    clauses = _APOSTROPHES.sub("", answer.lower())
    clauses = _NON_WORD_KEEP_CLAUSES.sub(" ", _CLAUSE_PUNCTUATION.sub(" | ", clauses)).strip()
    words = clauses.split(" ")
    padded = f" {clauses} "
    # word index of each character offset that starts a word
    word_at, offset = {}, 0
    for index, word in enumerate(words):
        word_at[offset] = index
        offset += len(word) + 1
    fused_words = {}  # "nonpathogenic" -> word indices
    for index, word in enumerate(words):
        if word.startswith("non") and len(word) > 3:
            fused_words.setdefault(word, []).append(index)
    found = {}  # label norm -> list of (word index, negated)
    for norm in by_normal:
        hits = [(word_at[p - 1], _negated(words, word_at[p - 1])) for p in _occurrences(padded, norm)]
        fused = [(i, True) for i in fused_words.get("non" + norm.replace(" ", ""), ())]
        if hits or fused:
            found[norm] = hits + fused
    found = {norm: hits for norm, hits in found.items()
             if not any(norm != other and f" {norm} " in f" {other} " for other in found)}
    if not found:
        return UNPARSEABLE if complement is not None else OTHER
    resolved = set()
    for norm, hits in found.items():
        for _, negated in hits:
            if not negated:
                resolved.add(by_normal[norm])
            elif complement is not None and by_normal[norm] in complement:
                resolved.add(complement[by_normal[norm]])
            else:
                return UNPARSEABLE
    return resolved.pop() if len(resolved) == 1 else UNPARSEABLE


def label_part(answer: str) -> str:
    """The variant-effect gold rule's text: the part of an answer before any `;`, stripped and lower-cased."""
    return answer.split(";", 1)[0].strip().lower()


def variant_effect_gold(answer: str):
    """
    The variant-effect gold label of an `answer` cell: the part before any `;`, lower-cased. `None` for a label
    that is kept in the data but left out of every metric ("intermediate"); anything else is an error.

    >>> variant_effect_gold("Pathogenic; Cystic fibrosis"), variant_effect_gold("Intermediate") is None
    ('pathogenic', True)
    """
    if not isinstance(answer, str):
        raise TypeError(f"A variant-effect answer must be a str, got {type(answer).__name__}.")
    label = label_part(answer)
    if label in VARIANT_EFFECT_LABELS:
        return label
    if label in EXCLUDED_VARIANT_EFFECT_LABELS:
        return None
    raise ValueError(f"Unknown variant-effect label {answer!r}: expected 'pathogenic' or 'benign' (before any ';').")


def kegg_gold(answer: str) -> str:
    if not isinstance(answer, str):
        raise TypeError(f"A KEGG answer must be a str, got {type(answer).__name__}.")
    return answer.strip().lower()


def paper_kegg_answer(generation: str) -> str:
    """BioReason's KEGG parse: text after the last `Answer:` anywhere (case-sensitive, as in its code), lower-cased,
    `.,!?"'` removed ('' if none)."""
    position = generation.rfind(ANSWER_MARKER)
    if position < 0:
        return ""
    return generation[position + len(ANSWER_MARKER):].strip().lower().translate(_PAPER_STRIP)


def paper_clean_gold(answer: str) -> str:
    return answer.strip().lower().translate(_PAPER_STRIP)


def paper_vep_contains(generation: str, gold: str) -> bool:
    """BioReason's VEP rule: the gold label (before any `;`) occurs anywhere in the generation, think block included."""
    return label_part(gold) in generation.lower()


# --------------------------------------------------------------------------------------------------------- metrics
def check_inputs(predictions, references, scores=None) -> None:
    """Lists of str of one length (a bare str would be scored character by character) and, if given, one score per
    row: a real number (NaN, like None, marks a row without one), never a bool or a numeric string."""
    for name, values in (("predictions", predictions), ("references", references), ("scores", scores)):
        if (values is not None or name != "scores") and not isinstance(values, (list, tuple)):
            raise TypeError(f"{name} must be a list (one entry per row), got {type(values).__name__}.")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references.")
    if not references:
        raise ValueError("No references: nothing to score.")
    for name, values in (("predictions", predictions), ("references", references)):
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise TypeError(f"{name}[{i}] is {type(value).__name__}, expected str.")
    if scores is not None and len(scores) != len(references):
        raise ValueError(f"{len(scores)} scores but {len(references)} references.")
    for i, score in enumerate(scores or ()):
        if score is not None and (isinstance(score, bool) or not isinstance(score, numbers.Real)):
            raise TypeError(f"scores[{i}] is {type(score).__name__} {score!r:.40}, expected a number or None.")


def classification(gold: list, predicted: list, classes: list) -> dict:
    """Accuracy over all rows, per-class and macro P/R/F1 over `classes` (zero when undefined), confusion counts."""
    per_class, totals = [], [0.0, 0.0, 0.0]
    for label in classes:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted))
        support = sum(g == label for g in gold)
        predicted_as = sum(p == label for p in predicted)
        precision = tp / predicted_as if predicted_as else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * tp / (support + predicted_as) if support + predicted_as else 0.0
        per_class.append({"label": label, "support": support, "precision": precision, "recall": recall, "f1": f1})
        totals = [totals[0] + precision, totals[1] + recall, totals[2] + f1]
    columns = list(classes) + sorted({p for p in predicted if p not in classes})
    column_of = {c: i for i, c in enumerate(columns)}
    counts = [[0] * len(columns) for _ in classes]
    row_of = {c: i for i, c in enumerate(classes)}
    for g, p in zip(gold, predicted):
        if g in row_of:
            counts[row_of[g]][column_of[p]] += 1
    k = max(1, len(classes))
    return {
        "accuracy": sum(g == p for g, p in zip(gold, predicted)) / len(gold),
        "macro_precision": totals[0] / k, "macro_recall": totals[1] / k, "macro_f1": totals[2] / k,
        "unparseable": sum(p == UNPARSEABLE for p in predicted),
        "other": sum(p == OTHER for p in predicted),
        "per_class": per_class,
        "confusion_matrix": {"rows": list(classes), "columns": columns, "counts": counts},
    }


def binary(gold: list, predicted: list, positive: str = PATHOGENIC) -> dict:
    """
    Binary counts with `positive` as the positive class. Unparseable rows are their own count (never TP/TN/FP/FN)
    and always wrong: tp + fp + tn + fn + unparseable == n; recall's denominator is every positive row.
    """
    parsed = [(g, p) for g, p in zip(gold, predicted) if p != UNPARSEABLE]
    tp = sum(g == positive and p == positive for g, p in parsed)
    fp = sum(g != positive and p == positive for g, p in parsed)
    tn = sum(g != positive and p != positive for g, p in parsed)
    fn = sum(g == positive and p != positive for g, p in parsed)
    positives = sum(g == positive for g in gold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": (tp + tn) / len(gold), "precision": precision, "recall": recall, "f1": f1,
            "tp": tp, "fp": fp, "tn": tn, "fn": fn, "unparseable": len(gold) - len(parsed)}


def auroc(labels: list, scores: list):
    """Area under the ROC curve (ties count one half); None unless both classes occur. `labels`: 1 = positive."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1
        rank_sum += average_rank * sum(labels[order[t]] for t in range(i, j + 1))
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def auprc(labels: list, scores: list):
    """Average precision (scikit-learn's definition: sum over thresholds of recall steps times precision)."""
    positives = sum(labels)
    if not positives or positives == len(labels):
        return None
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    tp = fp = 0
    previous_recall, total, i = 0.0, 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for t in range(i, j + 1):
            tp += labels[order[t]]
            fp += 1 - labels[order[t]]
        recall = tp / positives
        total += (recall - previous_recall) * (tp / (tp + fp))
        previous_recall = recall
        i = j + 1
    return total


def ranking(gold: list, scores: list, positive: str = PATHOGENIC) -> dict:
    """AUROC/AUPRC over the rows with a finite score; `n_scored` says how many that was."""
    pairs = [(int(g == positive), float(s)) for g, s in zip(gold, scores)
             if s is not None and not (isinstance(s, float) and math.isnan(s))]
    labels = [p[0] for p in pairs]
    values = [p[1] for p in pairs]
    return {"auroc": auroc(labels, values), "auprc": auprc(labels, values), "n_scored": len(pairs),
            "n_positive": sum(labels), "n_negative": len(labels) - sum(labels)}


def kegg_scores(predictions, references, labels) -> dict:
    """
    KEGG disease prediction under both rules.

    Args:
        predictions: generated texts (thinking block and `Answer: ...`).
        references: gold disease names.
        labels: the closed label set (the task's 37 diseases). Every reference must belong to it.
    """
    check_inputs(predictions, references)
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise TypeError("labels must be a list of label names (str).")
    gold = [kegg_gold(r) for r in references]
    label_set = [label.strip().lower() for label in labels]
    unknown = sorted(set(gold) - set(label_set))
    if unknown:
        raise ValueError(f"References not in the label set: {unknown[:5]} ({len(unknown)} in all).")
    classes = sorted(set(gold))
    strict_pred = [map_to_label(extract_answer(p), label_set) for p in predictions]
    strict = classification(gold, strict_pred, classes)

    # BioReason's notebook: a prediction names class d if the cleaned gold is in it, else the first gold class (in
    # order of first appearance) that it contains, else "no".
    clean_gold = [paper_clean_gold(r) for r in references]
    order = list(dict.fromkeys(clean_gold))
    answers = [paper_kegg_answer(p) for p in predictions]
    lenient_pred = [g if g in a else next((d for d in order if d in a), "no") for a, g in zip(answers, clean_gold)]
    lenient = classification(clean_gold, lenient_pred, sorted(set(clean_gold)))
    lenient["accuracy"] = sum(g in a for a, g in zip(answers, clean_gold)) / len(gold)
    lenient["unparseable"] = sum(p == "no" for p in lenient_pred)
    lenient["other"] = 0
    return {"n": len(gold), "strict": strict, "paper_lenient": lenient,
            "strict_predictions": strict_pred, "paper_lenient_predictions": lenient_pred}


def variant_effect_scores(predictions, references, scores=None) -> dict:
    """
    Pathogenic-vs-benign accuracy, binary P/R/F1 (pathogenic positive) under both rules, and (with `scores`,
    higher = more pathogenic, None where a row has none) AUROC/AUPRC. Rows whose gold label is excluded
    ("intermediate") are left out of everything and counted in `excluded`.
    """
    check_inputs(predictions, references, scores)
    gold_all = [variant_effect_gold(r) for r in references]
    keep = [i for i, g in enumerate(gold_all) if g is not None]
    if not keep:
        raise ValueError("Every reference is excluded from the metrics (e.g. all 'intermediate'): nothing to score.")
    gold = [gold_all[i] for i in keep]
    texts = [predictions[i] for i in keep]
    complement = {PATHOGENIC: BENIGN, BENIGN: PATHOGENIC}
    strict_pred = [map_to_label(extract_answer(p), VARIANT_EFFECT_LABELS, complement) for p in texts]
    lenient_pred = [g if paper_vep_contains(p, g) else complement[g] for p, g in zip(texts, gold)]
    result = {"n": len(gold), "excluded": len(references) - len(gold),
              "strict": binary(gold, strict_pred), "paper_lenient": binary(gold, lenient_pred),
              "strict_predictions": strict_pred, "paper_lenient_predictions": lenient_pred}
    if scores is not None:
        result["ranking"] = ranking(gold, [scores[i] for i in keep])
    return result


# --------------------------------------------------------------------------------------------------------- rewards
def format_ok(text: str) -> bool:
    """
    A closed thinking block at the start, then an `Answer:` (any case) followed by some text (linear time).

    >>> format_ok("<think>\\nx\\n</think>\\n\\nAnswer: melanoma"), format_ok("Answer: melanoma")
    (True, False)
    """
    stripped = text.lstrip()
    if not stripped.startswith("<think>"):
        return False
    close = stripped.find("</think>", len("<think>"))
    if close < 0:
        return False
    rest = stripped[close + len("</think>"):]
    marker = _MARKER.search(rest)
    return marker is not None and bool(rest[marker.end():].strip())
