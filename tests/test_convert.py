"""Converting checkpoints of the original BioReason code (key layouts from its Lightning, GRPO and HF savers)."""

import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, Qwen3Config, Qwen3ForCausalLM

from conftest import ENCODER_KINDS, FIXTURES, RUNNER_MECHANICS
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
def dna_folder(published_encoder):
    """The DNA encoder a converted run used, as its publisher's checkpoint becomes a folder (`--dna-model`)."""
    return published_encoder


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
    # Every encoder weight from the checkpoint (bf16 there), or, for an Evo 2 run, which stored none, --dna-model's.
    stored = any(key.startswith("dna_model.") for key in state)
    converted_encoder = model.model.dna_encoder.state_dict()
    for key, value in module.dna_model.base_model.state_dict().items():
        torch.testing.assert_close(converted_encoder[key], value.to(torch.bfloat16).float() if stored else value)
    assert processor.tokenizer.convert_tokens_to_ids("<|dna_pad|>") == model.config.dna_token_id


def test_grpo_pytorch_model_bin_and_cli(original, dna_folder, tmp_path):
    folder, module, state = original
    torch.save(state, tmp_path / "pytorch_model.bin")
    out = tmp_path / "converted"
    from modeling_bioreason.cli import main

    assert main(["convert", "--checkpoint", str(tmp_path / "pytorch_model.bin"), "--dna-model", str(dna_folder),
                 "--text-model", str(folder / "text"), "--output", str(out)]) == 0
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


def test_merged_lm_repo_by_hub_id_converts_through_the_cli_and_answers_in_pipeline_and_the_space(
        original, encoder_kind, dna_folder, tmp_path, monkeypatch, capsys):
    """bio-posttrain's layout (a merged LM with BioReason's tokenizer, `dna_projection.pt`, an Apache-2.0 card) by repo
    id from a Hub cache, read at a named tap: `bioreason convert` writes a folder whose card credits the source, its
    licence and base models, and which answers through `pipeline()` and the Space."""
    import huggingface_hub
    from huggingface_hub import ModelCard
    from transformers import AutoTokenizer, pipeline

    from entry_points import make_hub_cache
    from modeling_bioreason.cli import main

    folder, module, _ = original
    source = tmp_path / "bio-posttrain"
    merged_lm = Qwen3ForCausalLM(module.text_model.get_base_model().config)
    merged_lm.load_state_dict(_expected_merged(module))
    merged_lm.save_pretrained(source)
    AutoTokenizer.from_pretrained(folder / "text").save_pretrained(source)
    torch.save(module.dna_projection.state_dict(), source / "dna_projection.pt")
    (source / "README.md").write_text("---\nlicense: apache-2.0\nbase_model: Qwen/Qwen3-1.7B\n---\n# A DNA SFT model\n")
    repo_id = "mims-harvard/bio-posttrain-tiny-dna-sft"
    make_hub_cache(source, tmp_path / "cache", repo_id)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))  # as HF_HUB_CACHE= does
    tap, out = ENCODER_KINDS[encoder_kind]["inner_tap"], tmp_path / "converted"
    assert main(["convert", "--checkpoint", repo_id, "--dna-model", str(dna_folder), "--dna-feature-layer", tap,
                 "--output", str(out)]) == 0, capsys.readouterr().err

    model = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=True).eval()
    evo2 = encoder_kind == "evo2"
    assert model.config.dna_feature_layer == tap
    assert model.config.dna_config.model_type == ("evo2" if evo2 else "nucleotide_transformer")
    torch.testing.assert_close(model.model.dna_projector.linear_1.weight, module.dna_projection.weight)
    card = ModelCard.load(out / "README.md")  # the Hub's own parser
    assert card.data.license == ("apache-2.0" if evo2 else "cc-by-nc-sa-4.0")  # Evo 2 + the source's Apache-2.0
    assert card.data.base_model == ([repo_id, "arcinstitute/evo2_1b_base"] if evo2 else [repo_id])
    assert f"[`{repo_id}`](https://huggingface.co/{repo_id}), released under apache-2.0" in card.text
    assert f"read at `dna_feature_layer={tap!r}`" in card.text

    messages = [{"role": "user", "content": [{"type": "dna", "sequence": "ACGTACGTTTGACAGATTACA"},
                                             {"type": "dna", "sequence": "ACGTACGTTTGACAGGTTACA"},
                                             {"type": "text", "text": "Which disease?"}]}]
    answered = pipeline(model=str(out), trust_remote_code=True)(messages, max_new_tokens=4, do_sample=False)[0]
    assert answered["generated_text"][-1]["role"] == "assistant" and set(answered) >= {"reasoning", "answer"}
    capsys.readouterr()
    assert main(["ask", "--model", str(out), "--reference", "ACGTACGTTTGACAGATTACA", "--variant",
                 "ACGTACGTTTGACAGGTTACA", "--question", "Which disease?", "--max-new-tokens", "4"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"reasoning", "answer"}
    app = pytest.importorskip("spaces_app.app")
    monkeypatch.setattr(app, "MAX_NEW_TOKENS", 4)
    *_, (chat, shown) = app.BioReasonDemo(str(out)).respond("Paste sequences", "ACGTACGTTTGACAGATTACA",
                                                            "ACGTACGTTTGACAGGTTACA", None, "", None, 0,
                                                            "Which disease?", 0)
    assert chat[-1]["role"] == "assistant" and shown.startswith("### ")


def test_bad_checkpoints_are_named(original, encoder_kind, tmp_path_factory, tmp_path, capsys):
    """A run converted with another encoder than it used, or read at a tap the encoder lacks: each error names both
    sides (the checkpoint's and the encoder's)."""
    folder, _, state = original
    torch.save(state, tmp_path / "run.bin")
    other = next(kind for kind in ENCODER_KINDS if kind != encoder_kind)
    other_folder = ENCODER_KINDS[other]["published_folder"](tmp_path_factory.getbasetemp())
    if any(key.startswith("dna_model.") for key in state):  # NT-v2 weights stored, an Evo 2 given
        message = (r"dna_model\.\* weights do not fit the DNA encoder --dna-model .* \(Evo2Model\): it lacks "
                   r"\['blocks\.0\..*; the checkpoint has \['esm\.")
    else:  # an Evo 2 run (no encoder stored, projection 40 -> 64), NT-v2 (hidden 64) given
        message = (r"holds \{'weight': \(64, 40\), 'bias': \(64,\)\}, but this model's projector is \{'weight': "
                   r"\(64, 64\).*the DNA encoder \(nucleotide_transformer, 2 blocks\) gives 64 features per token at "
                   r"dna_feature_layer=-1 and the language model \(qwen3\) has hidden size 64")
    with pytest.raises(ValueError, match=message):
        convert_checkpoint(tmp_path / "run.bin", other_folder, folder / "text")
    dna_folder = ENCODER_KINDS[encoder_kind]["published_folder"](tmp_path_factory.getbasetemp())
    blocks = AutoConfig.from_pretrained(dna_folder) if encoder_kind == "evo2" else NucleotideTransformerConfig\
        .from_pretrained(dna_folder)
    layers = blocks.layers_module
    capsys.readouterr()  # what the conversion above logged
    line = _one_line_error(["convert", "--checkpoint", str(tmp_path / "run.bin"), "--dna-model", str(dna_folder),
                            "--text-model", str(folder / "text"), "--dna-feature-layer", f"{layers}.99.mlp",
                            "--output", str(tmp_path / "out")], capsys)
    assert (f"dna_feature_layer='{layers}.99.mlp' names block 99 of a {blocks.model_type} encoder with "
            f"{blocks.num_hidden_layers} blocks ({layers}.0 .. {layers}.{blocks.num_hidden_layers - 1})") in line
    with pytest.raises(ValueError, match="needs --text-model"):
        convert_checkpoint(tmp_path / "run.bin", dna_folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="without dna_projection.pt"):
        convert_checkpoint(tmp_path / "empty", dna_folder)


def _one_line_error(argv, capsys) -> str:
    from modeling_bioreason.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.strip().splitlines() if "it/s]" not in line]  # progress bars of loading aside
    assert "Traceback" not in err and line.startswith("bioreason convert: error: "), err
    return line


@RUNNER_MECHANICS
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
