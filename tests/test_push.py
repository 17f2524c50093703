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


def _fake_api(sent: dict):
    """`huggingface_hub.HfApi` as a push sees it, recording what would reach the Hub."""
    class FakeApi:
        def __init__(self, token=None):
            sent["variables"] = {}

        def create_repo(self, *args, **kwargs):
            sent["repo"] = kwargs

        def add_space_variable(self, repo_id, key, value, description=None):
            sent["variables"][key] = value

        def create_branch(self, *args, **kwargs):
            sent["branch"] = kwargs

        def create_commit(self, repo_id, operations, **kwargs):
            sent["files"] = {op.path_in_repo: Path(op.path_or_fileobj).read_bytes() for op in operations}
            return "commit-url"

    return FakeApi


def _served_card(space: Path, model: str) -> str:
    """The Space card as pushed: the folder's, with `models:` naming the model it serves."""
    import yaml

    from modeling_bioreason.hub import front_matter

    text = (space / "README.md").read_text()
    header = {**front_matter(space / "README.md"), "models": [model]}
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120) + "---" + text[
        text.index("\n---", 4) + 4:]


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
    result = _cli("space", str(space), "--repo-id", "me/space", "--dry-run", "--model", "me/bioreason")
    assert result.returncode == 0, result.stderr[-2000:]
    listed = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    expected = plan_upload("space", space)["files"]
    sizes = {p: p.stat().st_size for p in expected}
    sizes[space / "README.md"] = len(_served_card(space, "me/bioreason").encode())  # the pushed card names its model
    assert listed == [f"{p.relative_to(space).as_posix()}  ({sizes[p]:,} bytes)" for p in expected]
    assert f"would upload {len(expected)} files" in result.stdout
    assert "left out: notes_link.txt (link to" in result.stdout and "left out: .env (hidden file" in result.stdout
    assert "warning: run.bin" in result.stdout


def test_upload_sends_exactly_the_planned_files(space, monkeypatch):
    import huggingface_hub

    sent = {}

    monkeypatch.setattr(huggingface_hub, "HfApi", _fake_api(sent))
    result = push("space", space, "me/space", model="me/bioreason", model_revision="abc123")
    assert set(sent["files"]) == {item["path"] for item in result["files"]}
    assert b"secret" not in b"".join(sent["files"].values()) and ".env" not in sent["files"]
    assert sent["files"]["examples_link.json"] == (space / "examples" / "examples.json").read_bytes()
    assert sent["repo"]["space_sdk"] == "gradio"
    assert sent["variables"] == {"BIOREASON_MODEL": "me/bioreason", "BIOREASON_MODEL_REVISION": "abc123"}
    assert sent["files"]["README.md"].decode() == _served_card(space, "me/bioreason")


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
        push("space", space, "me/space", dry_run=True, model="me/bioreason")


def test_cli_refusal_is_one_line_with_exit_status_2(space):
    (space / "helper.py").write_text("import modeling_bioreason\n")
    result = _cli("space", str(space), "--repo-id", "me/space", "--dry-run", "--model", "me/bioreason")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("bioreason push: error:") and "helper.py:1 imports modeling_bioreason" in result.stderr


def test_optional_imports_are_allowed(space):
    (space / "helper.py").write_text("try:\n    import sklearn\nexcept ImportError:\n    sklearn = None\n")
    push("space", space, "me/space", dry_run=True, model="me/bioreason")


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


# ----------------------------------------------------------------------------------- what must never go up or run
def test_a_space_push_names_its_model_and_bad_repo_ids_are_refused(space, capsys):
    from modeling_bioreason.cli import main

    with pytest.raises(ValueError, match=r"pass --model <owner/name>.*BIOREASON_MODEL"):
        push("space", space, "me/space", dry_run=True)
    with pytest.raises(ValueError, match="is a local folder, which a Space cannot read"):
        push("space", space, "me/space", dry_run=True, model=str(space))
    result = push("space", space, "me/space", dry_run=True, model="me/bioreason")
    assert any("BIOREASON_MODEL=me/bioreason" in check for check in result["checks"])
    for repo_id in ("hub_cards/datasets/kegg", "me/bad--name", "me/x."):
        assert main(["push", "space", str(space), "--repo-id", repo_id, "--dry-run", "--model", "me/m"]) == 2
        assert f"--repo-id {repo_id!r} is not a Hub repo id" in capsys.readouterr().err


CREDENTIAL_FILES = ["token.txt", "hf_token.txt", "api_key.txt", "secrets.yml", "credentials.yml", "aws_credentials",
                    "kubeconfig", "wandb_api_key", "my-private-key.json", "db_password.txt"]


def test_credentials_never_go_up_by_name_content_or_hard_link(space, tmp_path):
    for name in CREDENTIAL_FILES:
        (space / name).write_text("x\n")
    (space / "special_tokens_map.json").write_text("{}")  # a tokenizer file, not a credential
    outside = tmp_path / "outside" / "hf_cache_token"
    outside.write_text("hf_" + "a1B2" * 9 + "\n")
    os.link(outside, space / "notes.txt")  # the same file under a name inside the folder
    plan = plan_upload("space", space)
    skipped, files = dict(plan["skipped"]), {p.relative_to(space).as_posix() for p in plan["files"]}
    assert all("may hold credentials" in skipped[name] for name in CREDENTIAL_FILES), skipped
    assert "special_tokens_map.json" in files and "notes.txt" not in files and "hard link" in skipped["notes.txt"]
    (space / "examples" / "config.md").write_text("Setup\n\nHF_TOKEN = hf_" + "Zx9" * 12 + "\n")
    with pytest.raises(ValueError, match=r"examples/config.md:3 holds what looks like a Hugging Face token"):
        push("space", space, "me/space", dry_run=True, model="me/m")
    (space / "examples" / "config.md").write_text("ghp_" + "q" * 36 + "\n-----BEGIN OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match="holds what looks like a GitHub token"):
        push("space", space, "me/space", dry_run=True, model="me/m")
    result = push("space", space, "me/space", dry_run=True, model="me/m", include=["examples/config.md"])
    assert "examples/config.md" in {item["path"] for item in result["files"]}


def test_the_uploaded_bytes_are_the_checked_bytes(space, tmp_path, monkeypatch):
    """A file swapped for a link to outside bytes before the copy is refused; after it, the copy goes up."""
    import huggingface_hub

    from modeling_bioreason import hub

    outside = tmp_path / "outside" / "stolen.py"
    outside.write_text("STOLEN = True\n")
    original = (space / "genome.py").read_bytes()

    def swap(*_):
        (space / "genome.py").unlink()
        (space / "genome.py").symlink_to(outside)

    real_plan, real_validate = hub.plan_upload, hub.validate_for_push
    monkeypatch.setattr(hub, "plan_upload", lambda *a, **k: (real_plan(*a, **k), swap())[0])
    with pytest.raises(ValueError, match="genome.py was replaced after it was checked"):
        push("space", space, "me/space", model="me/m")
    monkeypatch.setattr(hub, "plan_upload", real_plan)
    (space / "genome.py").unlink()
    (space / "genome.py").write_bytes(original)
    sent = {}
    monkeypatch.setattr(huggingface_hub, "HfApi", _fake_api(sent))
    monkeypatch.setattr(hub, "validate_for_push", lambda *a, **k: (swap(), real_validate(*a, **k))[1])
    push("space", space, "me/space", model="me/m")
    assert sent["files"]["genome.py"] == original and b"STOLEN" not in b"".join(sent["files"].values())


MARKER_CODE = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from entry_points import saved_folder

    return saved_folder(tmp_path_factory.mktemp("push_model"))


@pytest.mark.parametrize("plant", ["foreign_auto_map", "processor_auto_map", "edited_hub_file", "custom_generate"])
def test_push_dry_run_never_runs_folder_code_without_trust_remote_code(small_model, tmp_path, plant):
    import json

    folder = shutil.copytree(small_model, tmp_path / "model")
    marker = tmp_path / "code_ran"
    code = MARKER_CODE.format(marker=str(marker))
    if plant == "foreign_auto_map":
        (folder / "evil_modeling.py").write_text(code + "from transformers import PreTrainedModel as Evil\n")
        config = json.loads((folder / "config.json").read_text())
        config["auto_map"]["AutoModelForCausalLM"] = "evil_modeling.Evil"
        (folder / "config.json").write_text(json.dumps(config))
    elif plant == "processor_auto_map":
        (folder / "evil_processing.py").write_text(code + "from transformers import ProcessorMixin as P\n")
        config = json.loads((folder / "processor_config.json").read_text())
        config["auto_map"] = {"AutoProcessor": "evil_processing.P"}
        (folder / "processor_config.json").write_text(json.dumps(config))
    elif plant == "edited_hub_file":
        with open(folder / "modeling_bioreason.py", "a") as handle:
            handle.write("\n" + code)
    else:
        (folder / "custom_generate").mkdir()
        (folder / "custom_generate" / "generate.py").write_text(code + "def generate(model, **kwargs):\n    pass\n")
    with pytest.raises(ValueError, match="--trust-remote-code"):
        push("model", folder, "me/model", dry_run=True)
    assert not marker.exists(), "validation ran code stored in the folder"
    if plant == "custom_generate":  # asked for: the folder's code runs, and the push validates
        push("model", folder, "me/model", dry_run=True, trust_remote_code=True)
        assert marker.read_text() == "ran"


def test_model_card_ids_are_checked_with_huggingface_hub_validators(small_model, tmp_path):
    folder = shutil.copytree(small_model, tmp_path / "model")
    readme = (folder / "README.md").read_text()
    bad_index = ("model-index:\n- name: m\n  results:\n  - task: {type: text-generation}\n    dataset: {name: kegg, "
                 "type: hub_cards/datasets/kegg}\n    metrics:\n    - {type: accuracy, value: 0.5}\n")
    (folder / "README.md").write_text(readme.replace("---\n", "---\n" + bad_index, 1))
    with pytest.raises(ValueError, match=r"model-index dataset.type 'hub_cards/datasets/kegg' is not a Hub repo id"):
        push("model", folder, "me/model", dry_run=True)
    (folder / "README.md").write_text(readme)
    (folder / ".eval_results").mkdir()
    (folder / ".eval_results" / "kegg.yaml").write_text(
        "- dataset: {id: runs/x/data, task_id: default}\n  value: 0.5\n")
    with pytest.raises(ValueError, match=r"kegg.yaml dataset.id 'runs/x/data' is not a Hub repo id"):
        push("model", folder, "me/model", dry_run=True)


def test_dataset_files_outside_the_folder_are_refused_by_push_and_evaluate(tmp_path):
    import pandas as pd

    from modeling_bioreason.evaluation.runner import EvaluationConfig, evaluate

    rows = pd.DataFrame({"question": ["q"], "answer": ["melanoma"], "reference_sequence": ["ACGT"],
                         "variant_sequence": ["ACTT"]})
    (tmp_path / "outside").mkdir()
    rows.to_parquet(tmp_path / "outside" / "test.parquet")
    folder = tmp_path / "ds"
    (folder / "data").mkdir(parents=True)
    card = "---\nbioreason_task: kegg_disease\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n    " \
           "path: {path}\n---\n# rows\n"
    for path, message in (("../outside/test.parquet", "reads '../outside/test.parquet', outside the dataset folder"),
                          (str(tmp_path / "outside" / "test.parquet"), "outside the dataset folder"),
                          ("data/test.parquet", r"data/test.parquet is a link to .*outside the dataset folder")):
        (folder / "README.md").write_text(card.format(path=path))
        if path.startswith("data/"):
            (folder / "data" / "test.parquet").symlink_to(tmp_path / "outside" / "test.parquet")
        with pytest.raises(ValueError, match=message):
            push("dataset", folder, "me/ds", dry_run=True)
        with pytest.raises(ValueError, match=message):
            evaluate(EvaluationConfig(model="lookup", dataset=str(folder), output_dir=str(tmp_path / "e"),
                                      baseline_split="test"), progress=False)
    (folder / "data" / "test.parquet").unlink()
    rows.to_parquet(folder / "data" / "test.parquet")
    result = push("dataset", folder, "me/ds", dry_run=True)
    assert any("bioreason_hub_id: me/ds" in check for check in result["checks"])
