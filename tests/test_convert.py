"""Converting checkpoints of the original BioReason code (key layouts from its Lightning, GRPO and HF savers)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import AutoModelForCausalLM, Qwen3Config, Qwen3ForCausalLM

from conftest import ENCODER_KINDS, FIXTURES
from modeling_bioreason import NucleotideTransformerConfig
from modeling_bioreason.convert_bioreason_checkpoint import convert_checkpoint
from modeling_bioreason.example import tiny_tokenizer

GOLDEN_NT = FIXTURES / "nt_v2_golden"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class DNALLMModel(nn.Module):
    """The original code's module tree: text_model (PEFT-wrapped Qwen3), dna_model (the DNA encoder as that code held
    it, e.g. NT's masked LM), dna_projection."""

    def __init__(self, vocab_size, dna_model):
        super().__init__()
        torch.manual_seed(0)
        self.text_model = Qwen3ForCausalLM(Qwen3Config(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, vocab_size=vocab_size, tie_word_embeddings=True))
        self.dna_model = dna_model
        self.dna_projection = nn.Linear(dna_model.config.hidden_size, 64)


@pytest.fixture(scope="module")
def dna_folder(encoder_kind):
    """The DNA encoder a converted run used, as its publisher lays it out (`--dna-model`)."""
    return ENCODER_KINDS[encoder_kind]["published_folder"]


@pytest.fixture(scope="module")
def original(tmp_path_factory, encoder_kind, dna_folder):
    folder = tmp_path_factory.mktemp("original")
    tokenizer = tiny_tokenizer()
    tokenizer.add_special_tokens({"extra_special_tokens": ["<|dna_start|>", "<|dna_pad|>", "<|dna_end|>"]})
    module = DNALLMModel(len(tokenizer), ENCODER_KINDS[encoder_kind]["original_dna_model"](dna_folder))
    module.text_model.config.save_pretrained(folder / "text")
    tokenizer.save_pretrained(folder / "text")
    module.text_model = get_peft_model(module.text_model, LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS))
    for name, param in module.text_model.named_parameters():
        if "lora_B" in name:
            nn.init.normal_(param, std=0.05)  # trained adapters are not zero
    state = module.state_dict()
    return folder, module, state


def _expected_merged(module):
    import copy

    return copy.deepcopy(module.text_model).merge_and_unload().state_dict()


def test_lightning_deepspeed_module_dict_with_aliases(original, dna_folder, tmp_path):
    folder, module, state = original
    # Lightning: every tensor twice (model.* and the alias paths), bf16 under DeepSpeed.
    aliased = {**{f"model.{k}": v.to(torch.bfloat16) for k, v in state.items()},
               **{k: v.to(torch.bfloat16) for k, v in state.items()}}
    torch.save({"module": aliased, "epoch": 3}, tmp_path / "mp_rank_00_model_states.pt")
    model, processor = convert_checkpoint(tmp_path / "mp_rank_00_model_states.pt", dna_folder, folder / "text")
    merged = _expected_merged(module)
    converted = model.model.language_model.state_dict()
    for key, value in merged.items():
        if key.startswith("model."):
            # bf16 inputs: the merge runs on the up-cast bf16 tensors, so compare at bf16 precision
            torch.testing.assert_close(converted[key.removeprefix("model.")], value, atol=2e-3, rtol=1e-2)
    torch.testing.assert_close(model.model.dna_projector.linear_1.weight,
                               module.dna_projection.weight.to(torch.bfloat16).float())
    converted_encoder = model.model.dna_encoder.state_dict()  # every encoder weight from the checkpoint (bf16 there)
    for key, value in module.dna_model.base_model.state_dict().items():
        torch.testing.assert_close(converted_encoder[key], value.to(torch.bfloat16).float())
    assert processor.tokenizer.convert_tokens_to_ids("<|dna_pad|>") == model.config.dna_token_id


def test_grpo_pytorch_model_bin_and_cli(original, dna_folder, tmp_path):
    folder, module, state = original
    torch.save(state, tmp_path / "pytorch_model.bin")
    out = tmp_path / "converted"
    result = subprocess.run([sys.executable, "-m", "modeling_bioreason.cli", "convert", "--checkpoint",
                             str(tmp_path / "pytorch_model.bin"), "--dna-model", str(dna_folder), "--text-model",
                             str(folder / "text"), "--output", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    model = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=True)
    merged = _expected_merged(module)
    torch.testing.assert_close(model.model.language_model.layers[0].mlp.down_proj.weight,
                               merged["model.layers.0.mlp.down_proj.weight"])
    assert (out / "README.md").read_text().count("Converted from the original BioReason checkpoint") == 1


def test_hf_directory_with_dna_projection(original, dna_folder, tmp_path):
    folder, module, state = original
    from transformers import AutoTokenizer

    merged_lm = Qwen3ForCausalLM(module.text_model.get_base_model().config)
    merged_lm.load_state_dict(_expected_merged(module))
    merged_lm.save_pretrained(tmp_path / "hf")
    AutoTokenizer.from_pretrained(folder / "text").save_pretrained(tmp_path / "hf")
    torch.save(module.dna_projection.state_dict(), tmp_path / "hf" / "dna_projection.pt")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "evil_code.EvilModel", "AutoConfig": "evil_code.EvilConfig"}
    (tmp_path / "hf" / "config.json").write_text(json.dumps(config))  # a checkpoint folder with foreign remote code
    model, processor = convert_checkpoint(tmp_path / "hf", dna_folder)
    torch.testing.assert_close(model.model.dna_projector.linear_1.bias, module.dna_projection.bias)
    torch.testing.assert_close(model.lm_head.weight, merged_lm.lm_head.weight)
    from modeling_bioreason.hub import save_bioreason

    saved = json.loads((Path(save_bioreason(model, processor, tmp_path / "out")) / "config.json").read_text())
    assert "evil_code" not in json.dumps(saved)
    maps = [saved.get("auto_map", {}), saved["text_config"].get("auto_map") or {},
            saved["dna_config"].get("auto_map") or {}]
    assert maps[1] == maps[2] == {} and maps[0]["AutoModelForCausalLM"] == (
        "modeling_bioreason.BioReasonForConditionalGeneration")
    assert all(v.split(".")[0] in {"configuration_bioreason", "modeling_bioreason", "processing_bioreason"}
               for v in maps[0].values())


def test_bad_checkpoints_are_named(original, tmp_path):
    folder, _, state = original
    torch.save({k: v for k, v in state.items() if not k.startswith("dna_model.")}, tmp_path / "evo2.bin")
    with pytest.raises(ValueError, match="Evo2 run"):
        convert_checkpoint(tmp_path / "evo2.bin", GOLDEN_NT, folder / "text")
    with pytest.raises(ValueError, match="needs --text-model"):
        convert_checkpoint(tmp_path / "evo2.bin", GOLDEN_NT)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="without dna_projection.pt"):
        convert_checkpoint(tmp_path / "empty", GOLDEN_NT)
    wrong = NucleotideTransformerConfig.from_pretrained(GOLDEN_NT)
    assert wrong.hidden_size == 64


def _one_line_error(argv, capsys) -> str:
    from modeling_bioreason.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert "Traceback" not in err and line.startswith("bioreason convert: error: "), err
    return line


def test_bombs_pickles_and_damaged_files_are_refused_by_name(original, tmp_path, capsys):
    import pickle
    import zipfile

    folder, _, state = original
    argv = ["convert", "--dna-model", str(GOLDEN_NT), "--text-model", str(folder / "text"), "--output",
            str(tmp_path / "out"), "--checkpoint"]
    bomb = tmp_path / "last.ckpt"  # 100 MiB of zeros deflated into a ~100 KB zip, as a torch archive would look
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"state_dict": {}}))
        with archive.open("archive/data/0", "w") as handle:
            for _ in range(100):
                handle.write(bytes(2**20))
    line = _one_line_error([*argv, str(bomb)], capsys)
    assert f"last.ckpt ({bomb.stat().st_size:,} bytes) declares 104,857,6" in line
    assert "over the limit of 67,108,864" in line
    torch.save({"state_dict": state, "hyper_parameters": {"lr": 1e-4, "config": Path("x")}}, tmp_path / "hp.ckpt")
    assert "holds objects besides tensors" in _one_line_error([*argv, str(tmp_path / "hp.ckpt")], capsys)
    (tmp_path / "noise.pt").write_bytes(bytes(range(256)) * 8)
    assert "noise.pt is not a PyTorch checkpoint in torch.save's zip format" in _one_line_error(
        [*argv, str(tmp_path / "noise.pt")], capsys)
    torch.save(state, tmp_path / "damaged.bin")
    damaged = bytearray((tmp_path / "damaged.bin").read_bytes())
    start = damaged.find(b"data.pkl") + 100  # inside the pickled index: the zip directory still reads
    damaged[start:start + 64] = b"\xff" * 64
    (tmp_path / "damaged.bin").write_bytes(bytes(damaged))
    assert "damaged.bin is damaged" in _one_line_error([*argv, str(tmp_path / "damaged.bin")], capsys)
    assert "missing.pt does not exist" in _one_line_error([*argv, str(tmp_path / "missing.pt")], capsys)
