"""Answer extraction and normalisation, shared by the metrics and the GRPO rewards.

Strict rule (ours): take the text after the last `Answer:` that lies outside the thinking block, normalise it, and map
it to the closed label set; anything that does not map to exactly one label is `UNPARSEABLE` (counted, never dropped).
Paper-lenient rules (BioReason's): see `paper_kegg_prediction` and `paper_vep_contains`.
"""

from __future__ import annotations

import re

UNPARSEABLE = "unparseable"
ANSWER_MARKER = "Answer:"
_APOSTROPHES = re.compile(r"['’‘`]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_PAPER_STRIP = str.maketrans("", "", ".,!?\"'")


def final_text(generation: str) -> str | None:
    """The part of a generation after its thinking block; None when a `<think>` block is opened and never closed."""
    if "</think>" in generation:
        return generation.rsplit("</think>", 1)[1]
    if "<think>" in generation:
        return None
    return generation


def extract_answer(generation: str) -> str | None:
    """
    The raw text after the last `Answer:` outside the thinking block (None if there is none).

    >>> extract_answer("<think>\\nAnswer: melanoma?\\n</think>\\n\\nAnswer: Prion disease.")
    'Prion disease.'
    >>> extract_answer("<think>\\nI think the Answer: melanoma") is None
    True
    """
    if not isinstance(generation, str):
        raise TypeError(f"generation must be a str, got {type(generation).__name__}.")
    text = final_text(generation)
    if text is None or ANSWER_MARKER not in text:
        return None
    return text.rsplit(ANSWER_MARKER, 1)[1].strip()


def normalize_answer(text: str) -> str:
    """
    Lower case, apostrophes dropped, other punctuation and whitespace collapsed to single spaces.

    >>> normalize_answer("  Alzheimer’s Disease (early-onset). ")
    'alzheimers disease early onset'
    """
    text = _APOSTROPHES.sub("", text.lower())
    return _NON_WORD.sub(" ", text).strip()


def map_to_label(answer: str | None, labels: list[str] | tuple[str, ...]) -> str:
    """
    Map an extracted answer to one label of the closed set, or `UNPARSEABLE`.

    An exact match (after normalisation) wins; otherwise the labels occurring as whole phrases in the answer are
    collected, labels contained in a longer matched label are dropped (so "clear cell renal cell carcinoma" is not
    also "renal cell carcinoma"), and the answer maps only if exactly one remains.

    >>> map_to_label("Amyotrophic lateral sclerosis (ALS)", ["amyotrophic lateral sclerosis", "melanoma"])
    'amyotrophic lateral sclerosis'
    >>> map_to_label("not melanoma; more likely prion disease", ["melanoma", "prion disease"])
    'unparseable'
    """
    if answer is None:
        return UNPARSEABLE
    normalized = normalize_answer(answer)
    if not normalized:
        return UNPARSEABLE
    by_normal = {normalize_answer(label): label for label in labels}
    if normalized in by_normal:
        return by_normal[normalized]
    padded = f" {normalized} "
    found = [norm for norm in by_normal if f" {norm} " in padded]
    found = [norm for norm in found if not any(norm != other and f" {norm} " in f" {other} " for other in found)]
    return by_normal[found[0]] if len(found) == 1 else UNPARSEABLE


def paper_kegg_answer(generation: str) -> str:
    """BioReason's KEGG parse: text after the last `Answer:` anywhere, lower-cased, `.,!?"'` removed ('' if none)."""
    if ANSWER_MARKER not in generation:
        return ""
    return generation.split(ANSWER_MARKER)[-1].strip().lower().translate(_PAPER_STRIP)


def paper_clean_gold(answer: str) -> str:
    return answer.strip().lower().translate(_PAPER_STRIP)


def paper_vep_contains(generation: str, gold: str) -> bool:
    """BioReason's VEP rule: the gold label (before any `;`) occurs anywhere in the generation, think block included."""
    return gold.split(";")[0].strip().lower() in generation.lower()
