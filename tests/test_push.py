"""`bioreason push`: only what belongs is uploaded (no link followed out of the folder, no dotfiles or credentials
unless named, warnings on files the repo type does not use), and deployables that would not install or import on the
Hub are refused naming the file, line and import."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modeling_bioreason.hub import plan_upload, push

ROOT = Path(__file__).parent.parent


def _cli(*args, cwd=ROOT):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "modeling_bioreason.cli", "push", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


@pytest.fixture()
def space(tmp_path):
    """A copy of the shipped Space with what a careless user leaves around it."""
    folder = tmp_path / "space"
    shutil.copytree(ROOT / "spaces_app", folder, ignore=shutil.ignore_patterns("__pycache__"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private_notes.txt").write_text("secret")
    (folder / "notes_link.txt").symlink_to(outside / "private_notes.txt")
    (folder / "outside_dir").symlink_to(outside, target_is_directory=True)
    (folder / "examples_link.json").symlink_to(folder / "examples" / "examples.json")  # inside: uploaded
    (folder / ".env").write_text("HF_TOKEN=hf_xxx\n")
    (folder / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "state.json").write_text("{}")
    (folder / "run.bin").write_bytes(b"\0" * 4096)
    return folder


def test_plan_leaves_out_links_out_of_the_folder_hidden_and_credential_files(space):
    plan = plan_upload("space", space)
    files = {p.relative_to(space).as_posix() for p in plan["files"]}
    skipped = dict(plan["skipped"])
    assert {"app.py", "genome.py", "requirements.txt", "examples/examples.json", "examples_link.json"} <= files
    assert not files & {"notes_link.txt", ".env", "id_rsa", ".cache/state.json"}
    assert not any(f.startswith("outside_dir") for f in files)
    assert "outside the folder (not followed)" in skipped["notes_link.txt"]
    assert "not followed" in skipped["outside_dir"]
    assert "hidden file" in skipped[".env"] and "credentials" in skipped["id_rsa"] and ".cache/state.json" in skipped
    assert any(w.startswith("run.bin (4,096 bytes): not a file a space repo uses") for w in plan["warnings"])
    named = plan_upload("space", space, include=[".env"])
    assert ".env" in {p.relative_to(space).as_posix() for p in named["files"]}


def test_cli_dry_run_prints_exactly_the_upload_with_sizes(space):
    result = _cli("space", str(space), "--repo-id", "me/space", "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    listed = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    expected = plan_upload("space", space)["files"]
    assert listed == [f"{p.relative_to(space).as_posix()}  ({p.stat().st_size:,} bytes)" for p in expected]
    assert f"would upload {len(expected)} files" in result.stdout
    assert "left out: notes_link.txt (link to" in result.stdout and "left out: .env (hidden file" in result.stdout
    assert "warning: run.bin" in result.stdout


def test_upload_sends_exactly_the_planned_files(space, monkeypatch):
    import huggingface_hub

    sent = {}

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, *args, **kwargs):
            sent["repo"] = kwargs

        def create_commit(self, repo_id, operations, **kwargs):
            sent["files"] = {op.path_in_repo: Path(op.path_or_fileobj).read_bytes() for op in operations}
            return "commit-url"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    result = push("space", space, "me/space")
    assert set(sent["files"]) == {item["path"] for item in result["files"]}
    assert b"secret" not in b"".join(sent["files"].values()) and ".env" not in sent["files"]
    assert sent["files"]["examples_link.json"] == (space / "examples" / "examples.json").read_bytes()
    assert sent["repo"]["space_sdk"] == "gradio"


@pytest.mark.parametrize("change, message", [
    (lambda f: (f / "helper.py").write_text("import os\nfrom modeling_bioreason.data import genome\n"),
     r"helper.py:2 imports modeling_bioreason, which the Hub does not install"),
    (lambda f: (f / "requirements.txt").write_text("modeling-bioreason[eval]\ngradio\n"),
     r"requirements.txt:1 \('modeling-bioreason\[eval\]'\): modeling-bioreason is not on any public package index"),
    (lambda f: (f / "requirements.txt").write_text("-e ../modeling_bioreason\n"), "installs from a local path"),
    (lambda f: (f / "helper.py").write_text("import sklearn\n"),
     r"helper.py:1 imports sklearn, which .*requirements.txt \(gradio, torch, transformers, pysam\) does not install; "
     r"add scikit-learn"),
    (lambda f: (f / "requirements.txt").unlink(), "has no requirements.txt"),
])
def test_a_deployable_that_would_not_install_or_import_on_the_hub_is_refused(space, change, message):
    change(space)
    with pytest.raises(ValueError, match=message):
        push("space", space, "me/space", dry_run=True)


def test_cli_refusal_is_one_line_with_exit_status_2(space):
    (space / "helper.py").write_text("import modeling_bioreason\n")
    result = _cli("space", str(space), "--repo-id", "me/space", "--dry-run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("bioreason push: error:") and "helper.py:1 imports modeling_bioreason" in result.stderr


def test_optional_imports_are_allowed(space):
    (space / "helper.py").write_text("try:\n    import sklearn\nexcept ImportError:\n    sklearn = None\n")
    push("space", space, "me/space", dry_run=True)


def test_model_folder_with_eval_results_and_a_stray_import(tiny, tmp_path):
    from modeling_bioreason.hub import save_bioreason

    folder = Path(save_bioreason(*tiny, tmp_path / "model"))
    (folder / ".eval_results").mkdir()
    (folder / ".eval_results" / "kegg.yaml").write_text("- dataset: {id: me/kegg, task_id: default}\n  value: 0.5\n")
    files = {p.relative_to(folder).as_posix() for p in plan_upload("model", folder)["files"]}
    assert ".eval_results/kegg.yaml" in files and "modeling_bioreason.py" in files
    (folder / "modeling_extra.py").write_text("import pysam\n")
    with pytest.raises(ValueError, match="modeling_extra.py:1 imports pysam, which torch and transformers"):
        push("model", folder, "me/model", dry_run=True)
