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


def resolve_dataset_path(path: str | os.PathLike, *bases: str | os.PathLike, setting: str = "--dataset") -> str:
    """
    A dataset folder or Hub id, usable from any working directory: an existing path as given (absolute or from the
    current directory), else relative to each of `bases` (e.g. a recipe's folder), else relative to the source tree
    that holds this package (where `hub_cards/datasets/...` lives), else a Hub id (`owner/name`) left to `datasets`.
    A path found nowhere is an error naming where it was looked for, and `setting` (what sets it).
    """
    from importlib.resources import files

    path = os.fspath(path)
    if os.path.exists(path):
        return path
    if os.path.isabs(path):
        raise FileNotFoundError(f"Dataset folder {path!r} does not exist; set {setting} to a folder or a Hub id.")
    package_root = Path(str(files("modeling_bioreason"))).parent
    for base in (*[Path(b).resolve() for b in bases], package_root):
        if (base / path).exists():
            return str(base / path)
    if path.count("/") == 1 and not path.startswith("."):
        return path  # a Hub dataset id
    looked = ", ".join(["the current directory", *[str(b) for b in bases], str(package_root)])
    raise FileNotFoundError(f"Dataset folder {path!r} not found (looked in {looked}); set {setting} to a folder or a "
                            "Hub id (owner/name).")


# The Hub's name for the validation split; the name this project used before still loads it.
SPLIT_ALIASES = {"val": "validation", "validation": "val"}


def resolve_split(path: str | os.PathLike, config: str, split: str) -> str:
    """`split` as the dataset names it: `val` loads a dataset's `validation` split (and the reverse) when the
    dataset has no split of that exact name, also inside `datasets`' split expressions (`val+test`, `val[:10]`)."""
    parts = [part.partition("[") for part in split.split("+")]
    if not any(name.strip() in SPLIT_ALIASES for name, _, _ in parts):
        return split
    import datasets

    try:
        names = datasets.get_dataset_split_names(os.fspath(path), config)
    except Exception:  # noqa: BLE001 - an unreadable dataset fails in load_dataset with its own message
        return split
    renamed = []
    for name, bracket, rest in parts:
        alias = SPLIT_ALIASES.get(name.strip())
        renamed.append((alias if alias and name.strip() not in names and alias in names else name) + bracket + rest)
    return "+".join(renamed)


def _card_header(folder: Path) -> dict:
    import yaml

    card = folder / "README.md"
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    if not text.startswith("---"):
        return {}
    header = yaml.safe_load(text.split("---", 2)[1]) or {}
    return header if isinstance(header, dict) else {}


def _data_file_patterns(config: dict) -> list[str]:
    """Every path pattern a card config reads: `data_dir` and `data_files` (a string, a list, `{split, path}`
    entries or a split -> path mapping, each path a string or a list)."""
    found = [config["data_dir"]] if isinstance(config.get("data_dir"), str) else []
    entries = config.get("data_files") or []
    if isinstance(entries, (str, dict)):
        entries = [entries]
    for entry in entries:
        if isinstance(entry, dict):
            paths = entry.get("path", []) if "path" in entry else list(entry.values())
        else:
            paths = entry
        for item in paths if isinstance(paths, list) else [paths]:
            found += item if isinstance(item, list) else [item]
    return [str(item) for item in found]


def check_data_files_inside(folder: str | os.PathLike, config: str | None = None) -> None:
    """
    Refuse a dataset folder whose card reads files outside it (an absolute path, `..`, a URL, or a link out of it),
    for `config` or, when None, every config: `evaluate` would score rows the folder does not hold, and a pushed copy
    would silently lack that split.
    """
    import glob

    folder = Path(folder)
    root = folder.resolve()
    for entry in _card_header(folder).get("configs") or []:
        if not isinstance(entry, dict) or (config is not None and entry.get("config_name") != config):
            continue
        for pattern in _data_file_patterns(entry):
            where = f"{folder}/README.md: config {entry.get('config_name')!r} reads {pattern!r}"
            if "://" in pattern or os.path.isabs(pattern) or not Path(os.path.normpath(root / pattern)).is_relative_to(
                    root):
                raise ValueError(f"{where}, outside the dataset folder; data files must live inside it (copy them in "
                                 "and give their path relative to the folder).")
            for match in glob.glob(str(folder / pattern), recursive=True):
                if not Path(match).resolve().is_relative_to(root):
                    raise ValueError(f"{where}: {os.path.relpath(match, folder)} is a link to "
                                     f"{Path(match).resolve()}, outside the dataset folder; copy the file in.")


def _local_data_files(builder) -> list[str]:
    files = [str(f) for split_files in (builder.config.data_files or {}).values() for f in split_files]
    return [f for f in files if os.path.isfile(f)]


def load_split(path: str | os.PathLike, config: str = "default", split: str = "test"):
    """
    Load one split of a Hub-layout dataset folder (or Hub id) with `datasets`, checking its columns. `val` and
    `validation` name the same split; a folder's data files must lie inside it (`check_data_files_inside`).

    The `datasets` cache keys local files by path and modification time only, so a file rewritten in place with an
    old timestamp (`cp -p`, `tar x`, `rsync -t`) would be served from the cache with its old rows. The cache built
    here is marked with the size and content hash of the files it was read from; when they differ it is rebuilt.
    """
    import datasets

    from ..sources import files_fingerprint

    if os.path.isdir(path):
        check_data_files_inside(path, config)
    split = resolve_split(path, config, split)
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
