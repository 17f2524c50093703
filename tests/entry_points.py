"""Shared helpers for the entry-point tests: a small BioReason (4k-token vocabulary, fast on CPU), a saved Hub folder,
and a Hugging Face Hub cache laid out exactly as `huggingface_hub` writes it."""

import functools
import hashlib
import os
import shutil
from pathlib import Path

import torch

REVISION = "0123456789abcdef0123456789abcdef01234567"  # a commit hash, as snapshot folders are named


@functools.lru_cache(maxsize=None)
def small_bioreason(kind: str = "nt-v2"):
    """(model, processor): a tiny random BioReason over a 4,096-token byte-level BPE, with the DNA encoder of `kind`
    (see conftest.ENCODER_KINDS). Do not mutate."""
    from conftest import ENCODER_KINDS
    from modeling_bioreason.example import tiny_bioreason, tiny_tokenizer

    model, processor = tiny_bioreason(tiny_tokenizer(), seed=0, dna_encoder=kind, **ENCODER_KINDS[kind]["tiny"])
    return model.eval(), processor


def saved_folder(root: Path, kind: str = "nt-v2") -> Path:
    """`small_bioreason(kind)` exported with `save_bioreason` (card included) under `root/small-bioreason-<kind>`."""
    from modeling_bioreason.hub import save_bioreason

    folder = Path(root) / f"small-bioreason-{kind}"
    if not folder.exists():
        save_bioreason(*small_bioreason(kind), folder, summary="A small test model.", datasets=["wanglab/kegg"])
    return folder


def make_hub_cache(folder: Path, cache: Path, repo_id: str, revision: str = REVISION) -> Path:
    """
    Lay `folder` out as a downloaded Hub repo in `cache` (HF_HUB_CACHE): content-addressed `blobs/`, a
    `snapshots/<revision>/` tree of relative symlinks to them, and `refs/main` holding the revision. Returns the
    snapshot folder.
    """
    repo = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    snapshot = repo / "snapshots" / revision
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / path.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    return snapshot


def short_chat(dna: list[str], question: str = "Which disease does this variant contribute to?") -> list[dict]:
    return [{"role": "user", "content": [{"type": "dna", "sequence": s} for s in dna]
             + [{"type": "text", "text": question}]}]


def chat_inputs(processor, conversations):
    return processor.apply_chat_template(conversations, add_generation_prompt=True, tokenize=True, return_dict=True,
                                         return_tensors="pt")


def copy_without(folder: Path, target: Path, *names: str) -> Path:
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns(*names))
    return target


def param_snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def rewrite_in_place(parquet: Path, row: int, column: str, value) -> None:
    """Set one cell of a Parquet file and keep the file's old timestamp (as `cp -p`, `tar x` or `rsync -t` do)."""
    import pandas as pd

    stat = Path(parquet).stat()
    frame = pd.read_parquet(parquet)
    frame.loc[row, column] = value
    frame.to_parquet(parquet)
    os.utime(parquet, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def kill_at_batch(monkeypatch, runner, batch: int):
    """Make `runner._generate` raise KeyboardInterrupt (as if killed) at its `batch`-th call; returns the real one."""
    calls, real = [], runner._generate

    def killed(*args, **kwargs):
        calls.append(1)
        if len(calls) == batch:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "_generate", killed)
    return real
