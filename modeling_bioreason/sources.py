"""What a run reads, checked and fingerprinted: model folders and datasets named on the command line.

A resumed run (training `--resume`, a rerun of `bioreason evaluate`) must continue *the same* run, so it records
what it read and compares on the next start:

* `model_fingerprint`: a model folder's files, cheaply. Small files are hashed whole; a large safetensors file by its
  header (every tensor's name, dtype, shape and offsets) plus a few kilobytes from the start, the end and the middle
  of every tensor (a retrained tensor differs almost everywhere); other large files by size and evenly spaced
  chunks. A file in a Hub cache is named by its content hash already. A few megabytes are read per model, never the
  gigabytes of its weights. A Hub id is its cached commit.
* `rows_fingerprint`: the rows a run uses (after `limit`), whatever file or cache they came from.
* `files_fingerprint`: data files by size and content hash (what the `datasets` cache is checked against).

`require_model` / `require_dataset` turn a typo into "does not exist" instead of a Hub id format error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from collections.abc import Iterable
from pathlib import Path

FULL_HASH_LIMIT = 64 * 2**20  # files up to this size are hashed whole
CHUNK = 4096  # bytes read per probe of a large file
PROBES = 8  # probes spread over each large tensor (besides its first and last bytes), or over a large file
CARD_FILES = ("bioreason_card.json", "LICENSE", "NOTICE")  # with *.md: a card edit changes nothing a model computes
_BLOB = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
# (path, inode, size, mtime_ns, ctime_ns) -> digest: a file version is hashed once per process (ctime changes on every
# write and cannot be set back, unlike mtime)
_DIGESTS: dict[tuple, str] = {}


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """The sha256 of a file's content (memoised per file version within a process)."""
    path = os.path.realpath(path)
    stat = os.stat(path)
    key = (path, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _DIGESTS:
        with open(path, "rb") as handle:
            _DIGESTS[key] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _DIGESTS[key]


def files_fingerprint(paths: Iterable[str | os.PathLike]) -> str:
    """One digest of data files: each file's name, size and content hash."""
    entries = [(os.path.basename(p), os.path.getsize(p), file_digest(p)) for p in sorted(map(os.fspath, paths))]
    return _sha256(json.dumps(entries).encode())[:32]


def rows_fingerprint(dataset, columns: Iterable[str] | None = None) -> str:
    """One digest of a `datasets.Dataset`'s rows (the given columns, in order)."""
    columns = [c for c in (columns or dataset.column_names) if c in dataset.column_names]
    digest = hashlib.sha256(json.dumps([len(dataset), columns]).encode())
    for batch in dataset.select_columns(columns).iter(batch_size=512):
        digest.update(json.dumps([batch[c] for c in columns], ensure_ascii=False, default=str).encode())
    return digest.hexdigest()[:32]


def _probes(handle, start: int, length: int, count: int = PROBES) -> bytes:
    """The first and last CHUNK bytes of [start, start + length) and `count` chunks spread between (or all of it)."""
    if length <= (count + 2) * CHUNK:
        handle.seek(start)
        return handle.read(length)
    offsets = [start] + [start + (length - CHUNK) * (k + 1) // (count + 1) for k in range(count)] + [
        start + length - CHUNK]
    data = b""
    for offset in offsets:
        handle.seek(offset)
        data += handle.read(CHUNK)
    return data


def _large_file_digest(path: str) -> str:
    """A cheap digest of a large file: a safetensors header and probes of every tensor, else evenly spaced probes."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if path.endswith(".safetensors"):
            (header_size,) = struct.unpack("<Q", handle.read(8))
            if header_size < size:
                header = handle.read(header_size)
                try:
                    tensors = json.loads(header)
                except ValueError:
                    tensors = None
                if isinstance(tensors, dict):
                    base = 8 + header_size
                    parts = [header]
                    for name in sorted(k for k in tensors if k != "__metadata__"):
                        begin, end = tensors[name].get("data_offsets", (0, 0))
                        parts.append(_probes(handle, base + begin, max(0, end - begin)))
                    return "tensors:" + _sha256(*parts)
        return f"probes:{size}:" + _sha256(_probes(handle, 0, size, count=64))


def model_files(folder: str | os.PathLike) -> dict[str, str]:
    """Every file of a model folder (recursively; hidden files, caches and the card left out) -> its digest."""
    root = Path(folder)
    digests = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
                or path.name.startswith(CARD_FILES) or path.suffix == ".md" or not path.is_file()):
            continue
        real = os.path.realpath(path)
        if path.is_symlink() and _BLOB.match(os.path.basename(real)) and os.path.basename(
                os.path.dirname(real)) == "blobs":
            digests[relative.as_posix()] = "blob:" + os.path.basename(real)  # a Hub cache: named by its content
        elif os.path.getsize(real) <= FULL_HASH_LIMIT:
            digests[relative.as_posix()] = file_digest(real)
        else:
            digests[relative.as_posix()] = _large_file_digest(real)
    return digests


def _cached_hub_commit(repo_id: str) -> str | None:
    """The commit of a Hub model in the local cache (what `from_pretrained` would load offline), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - not a repo id, or no cache: nothing to pin
        return None
    if not isinstance(path, str):
        return None
    return Path(path).parent.name  # .../snapshots/<commit>/config.json


def model_fingerprint(source: str | os.PathLike | None) -> str | None:
    """
    A digest of what a model name loads: a local folder's files (see `model_files`), `hub:<id>@<commit>` for a
    cached Hub model, None when there is nothing to pin (a built-in name such as `tiny-random-qwen3`, an uncached id).

    >>> model_fingerprint(None) is None
    True
    """
    if source is None:
        return None
    source = os.fspath(source)
    if os.path.isdir(source):
        return _sha256(json.dumps(model_files(source), sort_keys=True).encode())[:32]
    commit = _cached_hub_commit(source)
    return f"hub:{source}@{commit}" if commit else None


def module_fingerprint(model) -> str:
    """A digest of an in-memory `torch.nn.Module`: every parameter's and buffer's name, shape, dtype and a sample."""
    import torch

    digest = hashlib.sha256()
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            flat = tensor.detach().reshape(-1)
            step = max(1, flat.numel() // 256)
            sample = flat[::step][:256].float().cpu().numpy().tobytes()
            digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode() + sample)
    return "module:" + digest.hexdigest()[:32]


def _is_repo_id(name: str) -> bool:
    try:
        from huggingface_hub.utils import validate_repo_id

        validate_repo_id(name)
    except Exception:  # noqa: BLE001 - HFValidationError: not an id
        return False
    return not name.startswith((".", "~"))


def hub_snapshot(repo_id: str, patterns: list[str] | None = None) -> Path:
    """The local snapshot folder of a Hub repo (its files matching `patterns`, all without), through `huggingface_hub`
    (offline: the local cache); an error names the repo and what was asked."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as error:  # noqa: BLE001 - offline without a cached copy, unknown repo, no access, ...
        asked = f"{patterns} from " if patterns else ""
        raise ValueError(f"Could not fetch {asked}the Hub repo {repo_id!r}: {error}") from error


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def require_model(name: str) -> None:
    """
    Refuse a model name that is neither a local folder nor a possible Hub id (`--model ./typo` is "does not exist",
    not a repo-id format error); offline, a Hub id must be in the local cache.
    """
    if os.path.exists(name):
        if not os.path.isdir(name):
            raise ValueError(f"Model {name!r} is a file; pass the model folder (the one holding config.json).")
        return
    if not _is_repo_id(name):
        raise FileNotFoundError(f"Model folder {name!r} does not exist (and it is not a Hub model id either).")
    if _offline() and _cached_hub_commit(name) is None:
        raise FileNotFoundError(f"Model {name!r} is not a local folder, and as a Hub id it is not in the local Hub "
                                "cache (HF_HUB_OFFLINE is set). Check the path, or download the model first.")


def require_dataset(name: str) -> None:
    """Refuse a dataset name that is neither a local folder nor a possible Hub id, naming it as missing."""
    if not os.path.exists(name) and not _is_repo_id(name):
        raise FileNotFoundError(f"Dataset folder {name!r} does not exist (and it is not a Hub dataset id either).")
