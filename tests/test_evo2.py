"""Evo 2 against goldens written by the upstream code (tests/fixtures/evo2_golden, provenance in its README), through
the doors a user takes: `bioreason convert-evo2` (released .pt with FP8 extra state and .partN shards, .safetensors,
YAML/JSON configs, Hub ids), Auto classes by repo id from a Hub cache with this package not importable, bf16 loading,
the tokenizer, and `bioreason evaluate` zero-shot scoring on ClinVar and BRCA1."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from conftest import FIXTURES
from entry_points import make_hub_cache
from modeling_bioreason import Evo2Config, Evo2ForCausalLM, Evo2Model, Evo2Tokenizer
from modeling_bioreason.cli import main

GOLDEN = FIXTURES / "evo2_golden"
ROOT = Path(__file__).parent.parent
DATASETS = ROOT / "hub_cards" / "datasets"
HIDDEN = {"atol": 1e-5, "rtol": 1e-5}  # the golden's README: blocks and l3 taps; logits relative to their scale
LOGITS = {"atol": 2e-5, "rtol": 1e-5}


def _convert(argv: list[str]) -> None:
    assert main(["convert-evo2", *argv]) == 0


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The shipped golden converted from a released-style .pt: FP8 `_extra_state` BytesIO entries, split into
    .pt.partN shards, with the JSON config."""
    root = tmp_path_factory.mktemp("evo2")
    state = dict(load_file(GOLDEN / "weights.safetensors"))
    for key in [k for k in state if k.endswith("projections.weight")]:
        state[key.replace(".weight", "._extra_state")] = io.BytesIO(b"fp8 scaling metadata")
    torch.save(state, root / "evo2_tiny.pt")
    data = (root / "evo2_tiny.pt").read_bytes()
    cut = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    for index in range(3):
        (root / f"evo2_tiny.pt.part{index}").write_bytes(data[cut[index]:cut[index + 1]])
    (root / "evo2_tiny.pt").unlink()
    _convert(["--checkpoint", str(root / "evo2_tiny.pt"), "--config", str(GOLDEN / "config.json"),
              "--output", str(root / "converted"), "--base-model", "arcinstitute/evo2_1b_base"])
    return root / "converted"


@pytest.fixture(scope="module")
def model(folder) -> Evo2ForCausalLM:
    return Evo2ForCausalLM.from_pretrained(folder).eval()


@pytest.fixture(scope="module")
def outputs() -> dict:
    return load_file(GOLDEN / "outputs.safetensors")


def _run_with_taps(model, input_ids, **kwargs):
    """(output, {block: MLP-branch output}) with a forward hook on each `blocks.N.mlp.l3`."""
    taps, hooks = {}, []
    for index in range(model.config.num_hidden_layers):
        hook = (lambda i: lambda module, args, out: taps.__setitem__(i, out))(index)
        hooks.append(model.model.get_submodule(f"blocks.{index}.mlp.l3").register_forward_hook(hook))
    try:
        with torch.no_grad():
            return model(input_ids, output_hidden_states=True, **kwargs), taps
    finally:
        for hook in hooks:
            hook.remove()


def _assert_matches_golden(model, golden: dict, prefix: str = "") -> None:
    out, taps = _run_with_taps(model, golden[prefix + "input_ids"])
    compared = 0
    for index in range(model.config.num_hidden_layers):
        if prefix + f"blocks.{index}" in golden:
            torch.testing.assert_close(out.hidden_states[index + 1], golden[prefix + f"blocks.{index}"], **HIDDEN)
            compared += 1
        if prefix + f"blocks.{index}.mlp.l3" in golden:
            torch.testing.assert_close(taps[index], golden[prefix + f"blocks.{index}.mlp.l3"], **HIDDEN)
            compared += 1
    torch.testing.assert_close(out.logits, golden[prefix + "logits"], **LOGITS)
    assert compared >= 2


def test_converted_golden_matches_upstream_blocks_taps_logits_and_short_case(folder, model, outputs):
    assert len(outputs["input_ids"][0]) > 128 > len(outputs["short.input_ids"][0])  # full and truncated medium filter
    _assert_matches_golden(model, outputs)
    _assert_matches_golden(model, outputs, "short.")
    # the base model loads from the causal-LM folder: same blocks, final norm as last_hidden_state
    base = Evo2Model.from_pretrained(folder).eval()
    with torch.no_grad():
        hidden = base(outputs["input_ids"], output_hidden_states=True)
    torch.testing.assert_close(hidden.hidden_states[7], outputs["blocks.6"], **HIDDEN)
    torch.testing.assert_close(hidden.last_hidden_state, model.model.norm(hidden.hidden_states[7]), **HIDDEN)
    assert base.get_parameter("blocks.2.filter.log_poles").shape == (40, 16, 1)


@pytest.mark.parametrize("name", ["variant_b", "options"])
def test_other_goldens_shapes_block_orders_and_upstream_switches(name, tmp_path):
    """variant_b: attention first, three hcl blocks, other widths/heads/groups/state/taps, a 2-token case shorter than
    every short filter, and right padding through the upstream padding_mask (every position compared). options: every
    implemented upstream switch flipped. Converted from .safetensors with a YAML config."""
    source = GOLDEN / name
    (tmp_path / "config.yml").write_text(yaml.safe_dump(json.loads((source / "config.json").read_text())))
    _convert(["--checkpoint", str(source / "weights.safetensors"), "--config", str(tmp_path / "config.yml"),
              "--output", str(tmp_path / "out")])
    model = Evo2ForCausalLM.from_pretrained(tmp_path / "out").eval()
    golden = load_file(source / "outputs.safetensors")
    for prefix in ("", "short.", "tiny."):
        _assert_matches_golden(model, golden, prefix)
    if name == "variant_b":
        assert model.config.block_types == ["attn", "hcl", "hcl", "hcm", "hcs", "attn", "hcl"]
        with torch.no_grad():
            padded = model(golden["padded.input_ids"], attention_mask=golden["padded.attention_mask"],
                           output_hidden_states=True)
        torch.testing.assert_close(padded.logits[1], golden["padded.row1.logits"], **LOGITS)
        torch.testing.assert_close(padded.hidden_states[7][1], golden["padded.row1.blocks.6"], **HIDDEN)
    else:
        assert model.config.qkv_proj_bias and model.model.blocks[2].inner_mha_cls.Wqkv.bias is not None


def test_batch_equals_one_at_a_time_and_right_padding_changes_no_real_position(model, outputs):
    ids = outputs["input_ids"]
    with torch.no_grad():
        batch = model(ids, output_hidden_states=True)
        for row in range(2):
            alone = model(ids[row:row + 1], output_hidden_states=True)
            torch.testing.assert_close(alone.logits[0], batch.logits[row], **LOGITS)
            torch.testing.assert_close(alone.hidden_states[-1][0], batch.hidden_states[-1][row], **HIDDEN)
        short = model(ids[1:, :100], output_hidden_states=True)
        padded_ids = ids.clone()
        padded_ids[1, 100:] = 1
        mask = torch.ones_like(ids)
        mask[1, 100:] = 0
        padded = model(padded_ids, attention_mask=mask, output_hidden_states=True)
    torch.testing.assert_close(padded.logits[1, :100], short.logits[0], **LOGITS)
    for state, expected in zip(padded.hidden_states, short.hidden_states):
        torch.testing.assert_close(state[1, :100], expected[0], **HIDDEN)
    torch.testing.assert_close(padded.logits[0], batch.logits[0], **LOGITS)  # the full row of the batch
    for bad in ([[0, 1, 1, 1], [1, 1, 1, 1]], [[1, 0, 1, 1], [1, 1, 1, 1]]):  # left padding, a hole
        with pytest.raises(ValueError, match="right-padded batches only: row 0 .*Pad on the right"):
            model(ids[:, :4], attention_mask=torch.tensor(bad))


def test_stop_after_layer_runs_only_the_blocks_it_needs(model, outputs):
    ids = outputs["input_ids"][:1]
    called = []
    hooks = [block.register_forward_hook((lambda i: lambda *a: called.append(i))(i))
             for i, block in enumerate(model.model.blocks)]
    norm_calls = []
    hooks.append(model.model.norm.register_forward_hook(lambda *a: norm_calls.append(1)))
    try:
        with torch.no_grad():
            full = model.model(ids, output_hidden_states=True)
            called.clear(), norm_calls.clear()
            partial = model.model(ids, output_hidden_states=True, stop_after_layer=3)
    finally:
        for hook in hooks:
            hook.remove()
    assert called == [0, 1, 2, 3] and not norm_calls
    assert len(partial.hidden_states) == 5
    for state, expected in zip(partial.hidden_states, full.hidden_states):
        assert torch.equal(state, expected)
    assert torch.equal(partial.last_hidden_state, full.hidden_states[4])
    with pytest.raises(ValueError, match="stop_after_layer=7 is outside"):
        model.model(ids, stop_after_layer=7)


def test_bf16_load_keeps_fp32_parameters_and_matches_upstream_bf16(folder, model, outputs):
    bf16 = Evo2ForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).eval()
    dtypes = {name: p.dtype for name, p in bf16.named_parameters()}
    kept = {name for name in dtypes if name.endswith(("log_poles", "residues"))}
    assert kept and all(dtypes[name] == torch.float32 for name in kept)
    assert {dtypes[name] for name in dtypes if name not in kept} == {torch.bfloat16}
    assert bf16.model.blocks[3].inner_mha_cls.rotary_emb.inv_freq.dtype == torch.float32
    upstream = load_file(GOLDEN / "bf16" / "outputs.safetensors")  # the upstream code run as its bf16 loader leaves it
    out, taps = _run_with_taps(bf16, upstream["input_ids"])
    assert out.logits.dtype == torch.bfloat16
    for got, key in ((out.logits, "logits"), (out.hidden_states[7], "blocks.6"), (taps[6], "blocks.6.mlp.l3"),
                     (taps[2], "blocks.2.mlp.l3")):
        torch.testing.assert_close(got.float(), upstream[key].float(), atol=1e-2, rtol=1e-2)
    # fp32 weights under bf16 autocast: runs, stays near fp32, and the filters' fp32 parameters are untouched
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(outputs["input_ids"]).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()
    assert (logits.float() - outputs["logits"]).abs().max() < 0.15 * outputs["logits"].abs().max()
    assert model.model.blocks[2].filter.log_poles.dtype == torch.float32


def test_tokenizer_is_one_token_per_byte_with_nothing_added(tmp_path):
    inputs = json.loads((GOLDEN / "inputs.json").read_text())
    tokenizer = Evo2Tokenizer()
    assert tokenizer(inputs["sequences"])["input_ids"] == inputs["input_ids"]  # holds N and a lowercase a
    assert tokenizer(inputs["short.sequences"])["input_ids"] == inputs["short.input_ids"]
    assert tokenizer("ACGTNacgtn")["input_ids"] == [65, 67, 71, 84, 78, 97, 99, 103, 116, 110]
    assert tokenizer("é")["input_ids"] == [195, 169]  # UTF-8 bytes
    assert (tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.vocab_size) == (0, 1, 512)
    batch = tokenizer(["ACGT", "AC"], padding=True, return_tensors="pt")
    assert batch["input_ids"].tolist() == [[65, 67, 71, 84], [65, 67, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    tokenizer.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(tmp_path, trust_remote_code=True)
    assert reloaded("GATTACA")["input_ids"] == list(b"GATTACA")
    assert reloaded.decode([71, 65, 0, 1], skip_special_tokens=True) == "GA"


USER_SCRIPT = r'''
import json, sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "modeling_bioreason":
            raise ModuleNotFoundError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Blocker())
import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer
repo, folder, out = sys.argv[1:4]
config = AutoConfig.from_pretrained(repo, trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained(repo, trust_remote_code=True)
model = AutoModelForCausalLM.from_pretrained(repo, trust_remote_code=True).eval()
base = AutoModel.from_pretrained(repo, trust_remote_code=True).eval()
local = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
batch = tokenizer(["ACGTNacgtGATTACA", "GATTACA"], padding=True, return_tensors="pt")
taps = {}
base.get_submodule("blocks.6.mlp.l3").register_forward_hook(lambda m, i, o: taps.update(l3=o))
with torch.no_grad():
    logits = model(**batch).logits
    local_logits = local(**batch).logits
    hidden = base(**batch, stop_after_layer=6).last_hidden_state
save_file({"logits": logits, "local": local_logits, "hidden": hidden, "l3": taps["l3"], **batch}, out)
print(json.dumps({"config": type(config).__name__, "model": type(model).__module__, "base": type(base).__name__,
                  "tokenizer": type(tokenizer).__name__, "blocks": config.block_types,
                  "package_loaded": any(n.split(".")[0] == "modeling_bioreason" for n in sys.modules)}))
'''


def test_converted_folder_loads_as_pure_remote_code_by_repo_id_from_a_hub_cache(folder, model, tmp_path, monkeypatch):
    files = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer_config.json", "README.md", "configuration_evo2.py",
            "modeling_evo2.py", "tokenization_evo2.py"} <= files
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "configuration_evo2.Evo2Config", "AutoModel": "modeling_evo2.Evo2Model",
                                  "AutoModelForCausalLM": "modeling_evo2.Evo2ForCausalLM"}
    assert config["use_fp8_input_projections"] is False and config["model_type"] == "evo2"
    from huggingface_hub import ModelCard

    card = ModelCard.load(folder / "README.md")
    assert card.data.license == "apache-2.0" and card.data.base_model == "arcinstitute/evo2_1b_base"
    assert "Not reproduced: the FP8 (Transformer Engine) input projections" in card.text.replace("\n", " ")

    repo = "bioreason-test/evo2-tiny"
    make_hub_cache(folder, tmp_path / "cache", repo)
    import huggingface_hub.constants
    from transformers import AutoModel, AutoTokenizer

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    assert type(AutoModel.from_pretrained(repo)) is Evo2Model  # this package importable: no remote code needed
    assert type(AutoTokenizer.from_pretrained(repo)) is Evo2Tokenizer
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "HF_HOME": str(tmp_path / "home"), "HF_HUB_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", USER_SCRIPT, repo, str(folder), str(tmp_path / "out.safetensors")],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["model"].startswith("transformers_modules.") and not info["package_loaded"]
    assert (info["config"], info["base"], info["tokenizer"]) == ("Evo2Config", "Evo2Model", "Evo2Tokenizer")
    assert info["blocks"] == model.config.block_types
    remote = load_file(tmp_path / "out.safetensors")
    assert remote["input_ids"][0].tolist() == list(b"ACGTNacgtGATTACA") and remote["input_ids"][1, 7:].eq(1).all()
    taps = {}
    model.model.get_submodule("blocks.6.mlp.l3").register_forward_hook(lambda m, i, o: taps.update(l3=o))
    with torch.no_grad():
        expected = model(remote["input_ids"], attention_mask=remote["attention_mask"], output_hidden_states=True)
    # Same math in both processes; only the thread count may differ (the child runs 1 thread), which reorders sums.
    close = dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(remote["logits"], expected.logits, **close)
    torch.testing.assert_close(remote["local"], expected.logits, **close)
    torch.testing.assert_close(remote["hidden"], expected.hidden_states[7], **close)
    torch.testing.assert_close(remote["l3"], taps["l3"], **close)


def test_convert_resolves_hub_ids_for_checkpoint_and_config(tmp_path, monkeypatch, outputs):
    import huggingface_hub.constants

    repo = tmp_path / "repo"
    repo.mkdir()
    torch.save(dict(load_file(GOLDEN / "weights.safetensors")), repo / "evo2_tiny.pt")  # <name>.pt, as Arc names it
    (repo / "config.json").write_text((GOLDEN / "config.json").read_text())
    make_hub_cache(repo, tmp_path / "cache", "arc-test/evo2_tiny")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    _convert(["--checkpoint", "arc-test/evo2_tiny", "--config", "arc-test/evo2_tiny", "--output",
              str(tmp_path / "out"), "--dtype", "bfloat16"])
    model = Evo2ForCausalLM.from_pretrained(tmp_path / "out", dtype="auto")
    assert model.dtype == torch.bfloat16 and model.model.blocks[2].filter.residues.dtype == torch.float32
    assert "base_model: arc-test/evo2_tiny" in (tmp_path / "out" / "README.md").read_text()
    with torch.no_grad():
        logits = model(outputs["input_ids"]).logits.float()
    assert (logits - outputs["logits"]).abs().max() < 0.15 * outputs["logits"].abs().max()


def _config_with(tmp_path, **changes) -> str:
    config = {**json.loads((GOLDEN / "config.json").read_text()), **changes}
    for key in [k for k, v in changes.items() if v is None]:
        del config[key]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize("change, message", [
    ({"use_fp8_input_projections": True}, "use_fp8_input_projections=True is not supported: FP8"),
    ({"use_interpolated_rotary_pos_emb": True}, "use_interpolated_rotary_pos_emb=True is not supported"),
    ({"proj_groups": 5}, "proj_groups=5 is not supported: grouped"),
    ({"column_split": False}, "column_split=False is not supported"),
    ({"state_size": None}, "missing keys ['state_size']"),
    ({"hidden_sise": 40}, "unknown keys ['hidden_sise']"),
    ({"state_size": 8}, "wrong shapes ['blocks.2.filter.log_poles: (40, 16, 1) != (40, 8, 1)'"),
    ({"attn_layer_idxs": [], "hcs_layer_idxs": [0, 3, 4]}, "missing ['blocks.3.filter.h'"),
])
def test_refused_options_and_wrong_keys_are_one_line_errors(change, message, tmp_path, capsys):
    argv = ["convert-evo2", "--checkpoint", str(GOLDEN / "weights.safetensors"), "--config",
            _config_with(tmp_path, **change), "--output", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "error:" in line]
    assert line.startswith("bioreason convert-evo2: error:") and message in line and "Traceback" not in err, err


def test_released_1b_config_needs_without_fp8_and_builds_the_1b_shapes(tmp_path, capsys):
    yml = str(GOLDEN / "evo2-1b-8k.yml")  # the upstream file, as shipped in the evo2 package
    upstream = yaml.safe_load(Path(yml).read_text())
    assert main(["convert-evo2", "--checkpoint", str(GOLDEN / "weights.safetensors"), "--config", yml,
                 "--output", str(tmp_path)]) == 2
    assert "use_fp8_input_projections=True is not supported" in capsys.readouterr().err
    assert main(["convert-evo2", "--checkpoint", str(GOLDEN / "weights.safetensors"), "--config", yml, "--without-fp8",
                 "--output", str(tmp_path)]) == 2  # the config is accepted; the tiny weights do not fit it
    assert "wrong shapes ['blocks.0.filter.h: (10, 1, 7) != (128, 1, 7)'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="upstream .vortex. config keys: build the config with Evo2Config.from_up"):
        Evo2Config(**upstream)  # never a default-shaped model from upstream keys
    config = Evo2Config.from_upstream(upstream, without_fp8=True)
    with torch.device("meta"):
        evo2_1b = Evo2ForCausalLM(config)
    assert abs(evo2_1b.num_parameters() - 1.108e9) < 0.005e9
    assert config.block_types[20] == "hcl" and config.attn_layer_idxs == [3, 10, 17, 24]
    tap = evo2_1b.model.get_submodule("blocks.20.mlp.l3")
    assert (tap.in_features, tap.out_features) == (5120, 1920)


def test_generate_continues_greedily_and_refuses_left_padding(model):
    prompt = torch.tensor([list(b"ACGTACGGATTACAGATTACA")])
    generated = model.generate(prompt, max_new_tokens=6, do_sample=False)
    expected = prompt
    with torch.no_grad():
        for _ in range(6):
            expected = torch.cat([expected, model(expected).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(generated, expected)
    with pytest.raises(ValueError, match="right-padded batches only"):
        model.generate(torch.tensor([[1, 65, 67], [65, 67, 71]]), attention_mask=torch.tensor([[0, 1, 1], [1, 1, 1]]),
                       max_new_tokens=2, do_sample=False)


def _window_log_p(model, window: str) -> float:
    ids = torch.tensor([list(window.encode())])
    with torch.no_grad():
        log_probs = model(ids).logits[0, :-1].log_softmax(-1)
    return float(log_probs.gather(1, ids[0, 1:, None]).sum())


def test_zero_shot_evaluate_reports_auroc_on_clinvar_and_brca1(folder, model, tmp_path):
    clinvar = tmp_path / "clinvar"
    assert main(["evaluate", "--model", str(folder), "--dataset", str(DATASETS / "variant_effect_clinvar"),
                 "--split", "test", "--limit", "12", "--trim-per-side", "448", "--batch-size", "4",
                 "--output-dir", str(clinvar)]) == 0
    report = json.loads((clinvar / "report.json").read_text())
    assert report["kind"] == "zero_shot_dna" and report["scoring_rule"].startswith("Evo 2 log P(reference")
    ranking = report["metrics"]["ranking"]
    assert ranking["n_scored"] == 12 and 0.0 <= ranking["auroc"] <= 1.0 and ranking["auprc"] is not None
    rows = [json.loads(line) for line in (clinvar / "predictions.jsonl").read_text().splitlines()]
    import datasets

    first = datasets.load_dataset(str(DATASETS / "variant_effect_clinvar"), split="test")[rows[0]["index"]]
    reference, variant = first["reference_sequence"][448:-448], first["variant_sequence"][448:-448]
    assert rows[0]["score"] == pytest.approx(_window_log_p(model, reference) - _window_log_p(model, variant), abs=1e-3)

    brca1 = tmp_path / "brca1"
    assert main(["evaluate", "--model", str(folder), "--dataset", str(DATASETS / "brca1_sge"), "--limit", "70",
                 "--trim-per-side", "448", "--batch-size", "8", "--output-dir", str(brca1)]) == 0
    report = json.loads((brca1 / "report.json").read_text())
    excluded = report["excluded_from_metrics"]  # intermediate SGE function classes
    assert excluded >= 1 and report["metrics"]["ranking"]["n_scored"] == 70 - excluded
    assert 0.0 <= report["metrics"]["ranking"]["auroc"] <= 1.0

    # beside another model's report: the --zero-shot-baseline row
    baseline = tmp_path / "baseline"
    assert main(["evaluate", "--model", "lookup", "--dataset", str(DATASETS / "variant_effect_clinvar"), "--split",
                 "test", "--limit", "12", "--trim-per-side", "448", "--zero-shot-baseline", str(folder),
                 "--output-dir", str(baseline)]) == 0
    zero_shot = json.loads((baseline / "report.json").read_text())["zero_shot_baseline"]
    assert zero_shot["ranking"] == ranking and zero_shot["rule"].startswith("Evo 2")
    assert f"zero-shot DNA baseline (`{folder}`)" in (baseline / "report.md").read_text()
