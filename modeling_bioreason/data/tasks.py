"""Task rows to chat messages, and loading the Hub-layout datasets.

Both tasks share one row schema: `question`, `answer`, `reference_sequence`, `variant_sequence` (+ `reasoning` for
KEGG). A prompt holds two DNA blocks, reference then variant, and the question; the SFT target is the reasoning in the
thinking block followed by `Answer: {answer}`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from .windows import trim_flanks

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("question", "answer", "reference_sequence", "variant_sequence")
SOURCE_MARK = "bioreason_source.json"  # in a `datasets` cache folder: the content of the files it was built from


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


def _local_data_files(builder) -> list[str]:
    files = [str(f) for split_files in (builder.config.data_files or {}).values() for f in split_files]
    return [f for f in files if os.path.isfile(f)]


def load_split(path: str | os.PathLike, config: str = "default", split: str = "test"):
    """
    Load one split of a Hub-layout dataset folder (or Hub id) with `datasets`, checking its columns.

    The `datasets` cache keys local files by path and modification time only, so a file rewritten in place with an
    old timestamp (`cp -p`, `tar x`, `rsync -t`) would be served from the cache with its old rows. The cache built
    here is marked with the size and content hash of the files it was read from; when they differ it is rebuilt.
    """
    import datasets

    from ..sources import files_fingerprint

    try:
        builder = datasets.load_dataset_builder(os.fspath(path), config)
        local = _local_data_files(builder)
        fingerprint = files_fingerprint(local) if local else None
        mark = Path(builder.cache_dir) / SOURCE_MARK
        stale = fingerprint is not None and Path(builder.cache_dir).is_dir() and _read_mark(mark) != fingerprint
        if stale:
            logger.info("Rebuilding the datasets cache of %s (%s): its files changed since it was built.", path, config)
        builder.download_and_prepare(download_mode="force_redownload" if stale else None)
        dataset = builder.as_dataset(split=split)
    except ValueError as error:
        raise ValueError(f"Could not load {path!r} config {config!r} split {split!r}: {error}") from error
    except (datasets.exceptions.DatasetGenerationError, StopIteration) as error:  # data files it cannot read
        cause = error.__cause__ or error
        empty = isinstance(error, StopIteration) or "BatchSize must be greater than 0" in str(cause)
        reason = "a data file has no rows: the split is empty" if empty else str(cause)
        raise ValueError(f"Could not read split {split!r} of {path!r} ({config}): {reason}.") from error
    if fingerprint is not None and _read_mark(mark) != fingerprint:
        try:
            mark.write_text(json.dumps({"files": fingerprint}))
        except OSError:  # a read-only cache: checked (and rebuilt if needed) again next time
            pass
    check_columns(dataset.column_names, f"dataset {path!r} ({config}/{split})")
    return dataset


def _read_mark(mark: Path) -> str | None:
    try:
        return json.loads(mark.read_text()).get("files")
    except (OSError, ValueError, AttributeError):
        return None
