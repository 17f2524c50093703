"""The `bioreason` command as a user types it: the README's example, plain one-line errors, --version, recipes."""

import subprocess
import sys

import pytest

from conftest import FIXTURES
from modeling_bioreason.cli import main

ROOT = FIXTURES.parent.parent


def test_example_command_with_defaults_from_any_directory(tmp_path):
    """`bioreason example` with no arguments (its default output folder is relative to the user's directory)."""
    result = subprocess.run([sys.executable, "-m", "modeling_bioreason.cli", "example", "--max-new-tokens", "4"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "UNTRAINED" in result.stdout
    assert "DNA placeholders:   1344" in result.stdout
    assert "transformers_modules." in result.stdout
    assert (tmp_path / "runs" / "example" / "tiny-bioreason" / "README.md").exists()


@pytest.mark.parametrize("argv, message", [
    (["train", "sft", "--config", "no-such-recipe"], "No recipe 'no-such-recipe'"),
    (["train", "sft", "--config", "cpu-smoke-sft", "--set", "nokey=1"], "Unknown --set key 'nokey'"),
    (["train", "sft", "--config", "cpu-smoke-sft", "--set", "nokey"], "must look like key.sub=value"),
    (["train", "sft", "--config", "cpu-smoke-sft", "--set", "training.nokey=1"], "SFTConfig has no field 'nokey'"),
    (["train", "sft", "--config", "cpu-smoke-sft", "--set", "training.max_steps=abc"], "training.max_steps=abc"),
    (["train", "sft", "--config", "cpu-smoke-sft", "--set", "lora.enabled=\"false\""], "expected true or false"),
    (["train", "sft", "--config", "cpu-smoke-sft", "--set", "data.dataset=/no/such/folder"], "does not exist"),
    (["train", "sft", "--config", "cpu-smoke-sft", "--set", "data.train_split=nope"], "Unknown split \"nope\""),
    (["train", "grpo", "--config", "cpu-smoke-sft"], "run it with `bioreason train sft`"),
    (["train", "grpo", "--config", "cpu-smoke-grpo", "--set", "model.model=/no/such/model"], "/no/such/model"),
])
def test_user_errors_are_one_line_with_status_2(argv, message, capsys, tmp_path):
    if argv[1] == "grpo" and "cpu-smoke-grpo" in argv:
        argv = [*argv, f"training.output_dir={tmp_path}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "error:" in line]
    assert message in line and "Traceback" not in err, err
    assert line.endswith("(--debug shows the traceback)")


def test_debug_shows_the_traceback():
    with pytest.raises(FileNotFoundError):
        main(["--debug", "train", "sft", "--config", "no-such-recipe"])


def test_version_and_recipe_list(capsys):
    from modeling_bioreason import __version__

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"bioreason {__version__}"
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    recipes = {line.split()[0]: line for line in lines[:-1]}
    assert "cpu-smoke-sft" in recipes and "CPU smoke test of the SFT pipeline" in recipes["cpu-smoke-sft"]
    assert "Evo 2-1B (blocks.20.mlp.l3, 2,048 DNA tokens) + Qwen3-4B" in recipes["kegg_sft_evo2_qwen3_4b"]
    assert "Evo 2-1B frozen at blocks.20.mlp.l3" in recipes["kegg_dna_only_evo2_1b"]
    assert len(recipes) == len(list((ROOT / "modeling_bioreason/training/recipes").glob("*.yaml")))


def test_evaluate_defaults_to_the_leak_free_kegg_config_and_says_so(tmp_path, capsys):
    dataset = str(ROOT / "hub_cards" / "datasets" / "kegg")
    assert main(["evaluate", "--model", "lookup", "--dataset", dataset, "--limit", "3",
                 "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "config 'leak_free', split 'test'" in out.splitlines()[0]
    assert "config 'leak_free'" in out.splitlines()[-1]


KEGG = str(ROOT / "hub_cards" / "datasets" / "kegg")
CLINVAR = str(ROOT / "hub_cards" / "datasets" / "variant_effect_clinvar")
SFT = ["train", "sft", "--config", "cpu-smoke-sft", "--set"]
LOOKUP = ["evaluate", "--model", "lookup", "--dataset", KEGG, "--limit", "2"]


@pytest.mark.parametrize("argv, message", [
    ([*SFT, "data.limit=0"], "data.limit=0: must be >= 1 (or null for no limit)"),
    ([*SFT, "data.eval_limit=-2"], "data.eval_limit=-2: must be >= 1"),
    ([*SFT, "data.reasoning_lines=-1"], "data.reasoning_lines=-1: must be >= 0"),
    ([*SFT, "data.trim_per_side=-3"], "data.trim_per_side=-3: must be >= 0"),
    ([*SFT, "data.max_dna_tokens=0"], "data.max_dna_tokens=0: must be >= 1"),
    ([*SFT, "training.max_steps=-1", "training.num_train_epochs=0"],
     "training.num_train_epochs=0.0 with max_steps=-1 trains nothing"),
    ([*SFT, "training.max_steps=0", "training.num_train_epochs=0"], "training.max_steps=0: must be >= 1, or -1"),
    ([*SFT, "training.output_dir="], "training.output_dir is required"),
    ([*SFT, "training.output_dir=  "], "training.output_dir is required"),
    ([*SFT, "training.learning_rate=0"], "training.learning_rate=0.0: must be > 0"),
    ([*SFT, "training.learning_rate=-1e-4"], "training.learning_rate=-0.0001: must be > 0"),
    ([*SFT, "training.gradient_accumulation_steps=0"], "training.gradient_accumulation_steps=0: must be >= 1"),
    ([*SFT, "training.per_device_train_batch_size=0"], "training.per_device_train_batch_size=0: must be >= 1"),
    ([*SFT, "training.save_steps=0"], "training.save_steps=0"),
    ([*SFT, "model.dna_model=random-nt-v2:0x0"], "model.dna_model='random-nt-v2:0x0': a random NT-v2 is"),
    ([*SFT, "model.dna_model=random-nt-v2:64x0"], "model.dna_model='random-nt-v2:64x0'"),
    ([*SFT, "model.dna_model=random-nt-v2:big"], "model.dna_model='random-nt-v2:big'"),
    (["train", "grpo", "--config", "cpu-smoke-grpo", "--set", "training.num_generations=1"],
     "training.num_generations=1: must be >= 2"),
    (["train", "grpo", "--config", "cpu-smoke-grpo", "--set", "training.temperature=0"],
     "training.temperature=0.0: must be > 0"),
    ([*LOOKUP, "--baseline-split", "nope"], "--baseline-split 'nope': "),
    ([*LOOKUP, "--zero-shot-baseline", "/nonexistent"], "--zero-shot-baseline scores variant-effect rows"),
    (["evaluate", "--model", "lookup", "--dataset", CLINVAR, "--limit", "2", "--zero-shot-baseline", "/nonexistent"],
     "--zero-shot-baseline /nonexistent: no such folder"),
    (["evaluate", "--model", "lookup", "--dataset", CLINVAR, "--limit", "2", "--zero-shot-baseline", KEGG],
     "not an NT-v2 masked LM or Evo 2 folder"),
    ([*LOOKUP, "--top-p", "2"], "--top-p 2.0: must be in (0, 1]"),
    ([*LOOKUP, "--top-p", "0"], "--top-p 0.0: must be in (0, 1]"),
    ([*LOOKUP, "--top-k", "-1"], "--top-k -1: must be >= 0"),
    ([*LOOKUP, "--temperature", "0"], "--temperature 0.0: must be > 0"),
    ([*LOOKUP, "--max-new-tokens", "0"], "--max-new-tokens 0: must be >= 1"),
    ([*LOOKUP, "--batch-size", "-4"], "--batch-size -4: must be >= 1"),
    ([*LOOKUP, "--trim-per-side", "-1"], "--trim-per-side -1: must be >= 0"),
    ([*LOOKUP, "--device", "tpu"], "--device tpu: expected auto, cpu, cuda or cuda:N"),
    ([*LOOKUP, "--top-p", "abc"], "argument --top_p/--top-p: invalid float value: 'abc'"),
    (["ask", "--model", "m", "--reference", "A", "--variant", "C", "--question", "q", "--max-new-tokens", "0"],
     "argument --max-new-tokens: 0 must be > 0"),
    (["example", "--row", "9"], "argument --row: invalid choice: 9"),
    (["convert", "--checkpoint", "c", "--dna-model", "d", "--output", "o", "--lora-alpha", "-1"],
     "argument --lora-alpha: -1 must be > 0"),
])
def test_bad_values_are_refused_naming_the_value(argv, message, capsys, tmp_path, monkeypatch):
    """Values each of which used to run and report something other than what was asked (issue 21, item 7)."""
    monkeypatch.chdir(tmp_path)
    if argv[0] == "evaluate":
        argv = [*argv, "--output-dir", str(tmp_path / "evaluate")]
    elif argv[0] == "train" and not any(a.startswith("training.output_dir=") for a in argv):
        argv = [*argv, f"training.output_dir={tmp_path / 'run'}"]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own type and choice errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    [line] = err.strip().splitlines()
    assert line.startswith(f"bioreason {argv[0]}") and message in line, line
    assert not (tmp_path / "run").exists() and not (tmp_path / "evaluate" / "predictions.jsonl").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_a_gpu_is_one_line(capsys, tmp_path):
    assert main([*LOOKUP, "--device", "cuda", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--device cuda: this machine has 0 visible CUDA GPU(s)" in err and "Traceback" not in err


def test_an_empty_training_split_is_one_line(tmp_path, capsys):
    import pandas as pd

    columns = ["question", "answer", "reasoning", "reference_sequence", "variant_sequence"]
    for suffix in ("parquet", "jsonl"):  # raw ArrowInvalid / StopIteration from `datasets`
        folder = tmp_path / f"empty_{suffix}"
        folder.mkdir()
        frame = pd.DataFrame({name: pd.Series([], dtype="string") for name in columns})
        if suffix == "parquet":
            frame.to_parquet(folder / "train.parquet")
        else:
            (folder / "train.jsonl").write_text("")
        assert main([*SFT, f"data.dataset={folder}", f"training.output_dir={tmp_path / 'run'}"]) == 2
        err = capsys.readouterr().err  # `datasets` logs its own progress lines besides ours
        [line] = [line for line in err.splitlines() if "bioreason train: error:" in line]
        assert f"empty_{suffix}' (default): a data file has no rows: the split is empty" in line, err
        # (a `datasets` log handler bound to an earlier test's closed capture prints "--- Logging error ---")
        assert "Traceback" not in err or "--- Logging error ---" in err, err


def test_damaged_safetensors_and_a_full_disk_are_one_line(tmp_path, capsys, monkeypatch):
    """SafetensorError names no file and a full disk surfaces as OSError, torch's RuntimeError or SafetensorError:
    each is one line naming the file (issue 21, item 13)."""
    import os
    import struct

    from entry_points import saved_folder

    folder = saved_folder(tmp_path)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(struct.pack("<Q", 2**40) + data[8:])  # a header length past the end of the file
    ask = ["ask", "--model", str(folder), "--reference", "ACGTAC", "--variant", "ACGTTC", "--question", "q"]
    assert main(ask) == 2
    err = capsys.readouterr().err
    assert f"error: {weights} is damaged (Error while deserializing header: header too large); re-download" in err
    assert "Traceback" not in err

    out = tmp_path / "evaluate"
    out.mkdir()
    os.symlink("/dev/full", out / "report.json")  # writes to /dev/full fail with ENOSPC
    assert main([*LOOKUP, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: could not write {out}: no space left on device ([Errno 28]" in err and "Traceback" not in err

    import torch

    def full_disk(obj, f, *args, **kwargs):  # what torch's zip writer raises when the disk fills up mid-file
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")

    monkeypatch.setattr(torch, "save", full_disk)
    run = tmp_path / "run"
    assert main([*SFT, "training.max_steps=1", "training.save_steps=1", "data.limit=2",
                 "training.per_device_train_batch_size=2", f"training.output_dir={run}"]) == 2
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "error:" in line]
    assert f"could not write {run}: no space left on device ([enforce fail" in line and "Traceback" not in err


@pytest.mark.parametrize("template, message", [
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "its chat template did not finish rendering within 1 s (a looping template?)"),
    ("{{ 'x' * 10000000000 }}", "its chat template needs more than 2 GiB to render one prompt"),
])
def test_a_looping_or_exploding_chat_template_does_not_hang_ask(template, message, tmp_path, capsys, monkeypatch):
    """A model folder's chat_template.jinja runs in a worker that is killed after BIOREASON_TEMPLATE_SECONDS and
    capped in memory (issue 21, item 12)."""
    import time

    from entry_points import saved_folder

    folder = saved_folder(tmp_path)
    (folder / "chat_template.jinja").write_text(template)
    monkeypatch.setenv("BIOREASON_TEMPLATE_SECONDS", "1")
    started = time.monotonic()
    assert main(["ask", "--model", str(folder), "--reference", "ACGTAC", "--variant", "ACGTTC", "--question", "q",
                 "--max-new-tokens", "1"]) == 2
    err = capsys.readouterr().err
    assert f"bioreason ask: error: {folder}: {message}" in err and "Traceback" not in err, err
    assert time.monotonic() - started < 30
