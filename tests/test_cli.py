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
    (["example", "--row", "99"], "--row 99: the example has KEGG test rows 0-5"),
    (["example", "--row", "-1"], "--row -1: the example has KEGG test rows 0-5"),
])
def test_user_errors_are_one_line_with_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `example` writes its output folder where it runs
    if argv[0] == "train" and argv[1] == "grpo" and "cpu-smoke-grpo" in argv:
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
    assert len(recipes) == len(list((ROOT / "modeling_bioreason/training/recipes").glob("*.yaml")))


def test_evaluate_defaults_to_the_leak_free_kegg_config_and_says_so(tmp_path, capsys):
    dataset = str(ROOT / "hub_cards" / "datasets" / "kegg")
    assert main(["evaluate", "--model", "lookup", "--dataset", dataset, "--limit", "3",
                 "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "config 'leak_free', split 'test'" in out.splitlines()[0]
    assert "config 'leak_free'" in out.splitlines()[-1]
