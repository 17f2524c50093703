"""The vendored NT-v2 encoder and tokenizer against the upstream golden oracle (tests/fixtures/nt_v2_golden)."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import FIXTURES
from modeling_bioreason import (
    NucleotideTransformerConfig,
    NucleotideTransformerForMaskedLM,
    NucleotideTransformerModel,
    NucleotideTransformerTokenizer,
)
from modeling_bioreason.tokenization_nucleotide_transformer import nt_v2_vocabulary

GOLDEN = FIXTURES / "nt_v2_golden"


@pytest.fixture(scope="module")
def golden_outputs():
    return load_file(GOLDEN / "outputs.safetensors")


def _valid(tensor, mask):
    return tensor[..., mask.bool(), :] if tensor.dim() == 4 else tensor[mask.bool()]


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_masked_lm_matches_upstream_outputs(golden_outputs, attn):
    model, info = NucleotideTransformerForMaskedLM.from_pretrained(
        GOLDEN, output_loading_info=True, attn_implementation=attn
    )
    assert not info["missing_keys"] and not info["mismatched_keys"]
    mask = golden_outputs["attention_mask"]
    with torch.no_grad():
        out = model.eval()(golden_outputs["input_ids"], attention_mask=mask, output_hidden_states=True)
    hidden = torch.stack(out.hidden_states)
    assert hidden.shape == golden_outputs["hidden_states"].shape
    torch.testing.assert_close(_valid(hidden, mask), _valid(golden_outputs["hidden_states"], mask), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(_valid(out.logits, mask), _valid(golden_outputs["logits"], mask), atol=1e-5, rtol=1e-5)
    # Secondary: a faithful port also matches at padded positions (pad-zeroed embeddings, key-only masking).
    torch.testing.assert_close(hidden, golden_outputs["hidden_states"], atol=1e-4, rtol=1e-4)


def test_bare_encoder_loads_masked_lm_checkpoint(golden_outputs):
    encoder, info = NucleotideTransformerModel.from_pretrained(GOLDEN, output_loading_info=True)
    assert not info["missing_keys"]
    mask = golden_outputs["attention_mask"]
    with torch.no_grad():
        last = encoder.eval()(golden_outputs["input_ids"], attention_mask=mask).last_hidden_state
    torch.testing.assert_close(_valid(last, mask), _valid(golden_outputs["last_hidden_state"], mask), atol=1e-5, rtol=1e-5)


def test_published_config_and_extra_upstream_keys_load(tmp_path, golden_outputs):
    """The published config.json has no model_type and an auto_map to remote code; real files may carry inv_freq
    buffers and the contact head. All load, and a key the forward needs is never silently dropped."""
    config = json.loads((GOLDEN / "config.json").read_text())
    assert "model_type" not in config and "auto_map" in config
    loaded = NucleotideTransformerConfig.from_pretrained(GOLDEN)
    assert (loaded.hidden_size, loaded.num_hidden_layers, loaded.add_bias_fnn) == (64, 2, False)

    folder = tmp_path / "nt"
    shutil.copytree(GOLDEN, folder)
    weights = load_file(folder / "model.safetensors")
    d = loaded.head_dim
    for i in range(loaded.num_hidden_layers):
        weights[f"esm.encoder.layer.{i}.attention.self.rotary_embeddings.inv_freq"] = 1.0 / (
            10000 ** (torch.arange(0, d, 2).float() / d))
    weights["esm.contact_head.regression.weight"] = torch.zeros(1, loaded.num_hidden_layers * 4)
    weights["esm.contact_head.regression.bias"] = torch.zeros(1)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    model, info = NucleotideTransformerForMaskedLM.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"]

    del weights["esm.encoder.layer.1.intermediate.dense.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    _, info = NucleotideTransformerForMaskedLM.from_pretrained(folder, output_loading_info=True)
    assert "esm.encoder.layer.1.intermediate.dense.weight" in info["missing_keys"]


def test_unsupported_configuration_is_refused():
    with pytest.raises(ValueError, match="position_embedding_type"):
        NucleotideTransformerConfig(position_embedding_type="absolute")


def test_generated_vocabulary_is_the_published_file():
    assert (GOLDEN / "vocab.txt").read_text() == "\n".join(nt_v2_vocabulary())
    tokenizer = NucleotideTransformerTokenizer()
    assert tokenizer.convert_tokens_to_ids(["AAAAAA", "ATTCCG", "TAAAAA", "GGGGGG", "N"]) == [6, 369, 1030, 4101, 4106]


@pytest.mark.parametrize("from_file", [True, False])
def test_tokenizer_reproduces_golden_ids(from_file):
    golden = json.loads((GOLDEN / "inputs.json").read_text())
    tokenizer = NucleotideTransformerTokenizer(vocab_file=str(GOLDEN / "vocab.txt") if from_file else None)
    batch = tokenizer(golden["sequences"], padding=True)
    assert batch["input_ids"] == golden["input_ids"]
    assert batch["attention_mask"] == golden["attention_mask"]
    assert tokenizer(golden["sequences"], add_special_tokens=False)["input_ids"] == golden[
        "input_ids_add_special_tokens_false"]
    assert [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(golden["sequences"])["input_ids"]] == golden["tokens"]


@pytest.mark.parametrize(
    "sequence, tokens",
    [
        ("AAAAAAT", ["AAAAAA", "T"]),
        ("TAAAAAA", ["TAAAAA", "A"]),
        ("GGNACGT", ["G", "G", "N", "A", "C", "G", "T"]),
        ("ACGTNNACGTACGTA", ["A", "C", "G", "T", "N", "N", "ACGTAC", "G", "T", "A"]),
        ("acgtac", ["ACGTAC"]),
    ],
)
def test_tokenizer_splitting_rule(sequence, tokens):
    assert NucleotideTransformerTokenizer().tokenize(sequence) == tokens


def test_tokenizer_specials_padding_and_round_trip(tmp_path):
    tokenizer = NucleotideTransformerTokenizer()
    assert tokenizer("")["input_ids"] == [3]
    assert tokenizer.eos_token is None and tokenizer.pad_token_id == 1 and tokenizer.padding_side == "right"
    assert tokenizer("ACGTACGTACGT")["input_ids"][-1] != 4  # no <eos>
    no_cls = NucleotideTransformerTokenizer(add_cls_token=False)
    assert no_cls("ATTCCG")["input_ids"] == [369]
    no_cls.save_pretrained(tmp_path)
    reloaded = NucleotideTransformerTokenizer.from_pretrained(tmp_path)
    assert reloaded("ATTCCG")["input_ids"] == [369] and reloaded.vocab_size == 4107
    assert reloaded.decode(tokenizer("ATTCCGAC")["input_ids"], skip_special_tokens=True) == "ATTCCGAC"


@torch.no_grad()
def test_stop_after_layer_runs_the_first_blocks_exactly(golden_outputs):
    """`stop_after_layer=k` (BioReason's taps inside the stack): the full run's hidden states up to block k, from only
    blocks 0..k; the final LayerNorm only after the last block."""
    encoder = NucleotideTransformerModel.from_pretrained(GOLDEN).eval()
    ids, mask = golden_outputs["input_ids"], golden_outputs["attention_mask"]
    full = encoder(ids, attention_mask=mask, output_hidden_states=True)
    num_layers = encoder.config.num_hidden_layers
    for k in range(num_layers):
        ran = []
        hooks = [layer.register_forward_hook(lambda m, a, o, i=i: ran.append(i))
                 for i, layer in enumerate(encoder.encoder.layer)]
        stopped = encoder(ids, attention_mask=mask, output_hidden_states=True, stop_after_layer=k)
        for hook in hooks:
            hook.remove()
        assert ran == list(range(k + 1)) and len(stopped.hidden_states) == k + 2
        for mine, reference in zip(stopped.hidden_states, full.hidden_states[: k + 2]):
            torch.testing.assert_close(mine, reference, atol=0, rtol=0)
        torch.testing.assert_close(stopped.last_hidden_state, stopped.hidden_states[-1], atol=0, rtol=0)
    torch.testing.assert_close(stopped.last_hidden_state, full.last_hidden_state, atol=0, rtol=0)  # k = last block
    with pytest.raises(ValueError, match=r"stop_after_layer=2 must index a block \(0..1\)"):
        encoder(ids, attention_mask=mask, stop_after_layer=num_layers)
