"""Task rows to chat messages, and loading the Hub-layout datasets.

Both tasks share one row schema: `question`, `answer`, `reference_sequence`, `variant_sequence` (+ `reasoning` for
KEGG). A prompt holds two DNA blocks, reference then variant, and the question; the SFT target is the reasoning in the
thinking block followed by `Answer: {answer}`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .windows import trim_flanks

REQUIRED_COLUMNS = ("question", "answer", "reference_sequence", "variant_sequence")


def check_columns(columns, where: str = "dataset") -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ValueError(f"The {where} lacks required column(s) {missing}; it has {sorted(columns)}.")


def user_message(row: Mapping, trim_per_side: int = 0, dna_as_text: bool = False) -> dict:
    """
    The user turn: reference DNA, variant DNA, question. `trim_per_side` > 0 applies BioReason's flank trim.
    `dna_as_text=True` writes the sequences into the text (the LLM-only baseline: no DNA encoder at all).
    """
    reference = trim_flanks(row["reference_sequence"], trim_per_side)
    variant = trim_flanks(row["variant_sequence"], trim_per_side)
    if dna_as_text:
        text = f"Reference sequence:\n{reference}\n\nVariant sequence:\n{variant}\n\n{row['question']}"
        return {"role": "user", "content": [{"type": "text", "text": text}]}
    return {"role": "user", "content": [
        {"type": "dna", "sequence": reference},
        {"type": "dna", "sequence": variant},
        {"type": "text", "text": row["question"]},
    ]}


def assistant_message(row: Mapping, reasoning_lines: int | None = None) -> dict:
    """The SFT target: reasoning in the thinking block (optionally its first `reasoning_lines` lines), then
    `Answer: {answer}`."""
    reasoning = (row.get("reasoning") or "").strip()
    if reasoning_lines is not None:
        reasoning = "\n".join(reasoning.splitlines()[:reasoning_lines])
    return {"role": "assistant", "reasoning_content": reasoning, "content": f"Answer: {row['answer']}"}


def row_to_messages(
    row: Mapping,
    with_answer: bool = False,
    trim_per_side: int = 0,
    reasoning_lines: int | None = None,
    dna_as_text: bool = False,
) -> list[dict]:
    """
    Chat messages for one task row: the user turn only (RL and evaluation), or with the assistant target (SFT).

    >>> row = {"question": "Which disease?", "answer": "melanoma", "reasoning": "Step 1: ...",
    ...        "reference_sequence": "ACGT", "variant_sequence": "ACTT"}
    >>> [m["role"] for m in row_to_messages(row, with_answer=True)]
    ['user', 'assistant']
    """
    messages = [user_message(row, trim_per_side, dna_as_text)]
    if with_answer:
        messages.append(assistant_message(row, reasoning_lines))
    return messages

def load_split(path: str | os.PathLike, config: str = "default", split: str = "test"):
    """Load one split of a Hub-layout dataset folder (or Hub id) with `datasets`, checking its columns."""
    import datasets

    try:
        dataset = datasets.load_dataset(os.fspath(path), config, split=split)
    except ValueError as error:
        raise ValueError(f"Could not load {path!r} config {config!r} split {split!r}: {error}") from error
    except (datasets.exceptions.DatasetGenerationError, StopIteration) as error:  # data files it cannot read
        cause = error.__cause__ or error
        empty = isinstance(error, StopIteration) or "BatchSize must be greater than 0" in str(cause)
        reason = "a data file has no rows: the split is empty" if empty else str(cause)
        raise ValueError(f"Could not read split {split!r} of {path!r} ({config}): {reason}.") from error
    check_columns(dataset.column_names, f"dataset {path!r} ({config}/{split})")
    return dataset
