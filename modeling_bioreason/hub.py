"""Saving Hub-format BioReason folders with a filled-in model card.

The card template is `hub_cards/model_card.md` in the repository, installed as the `bioreason_hub_cards` package
data so that an installed package can render it too.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from pathlib import Path
from typing import Any

import jinja2

DEFAULT_CARD = {
    "license": "apache-2.0",
    "base_models": [],
    "datasets": [],
    "repo_id": "path/to/this/folder",
    "summary": "A BioReason model.",
    "training": "Not documented for this checkpoint.",
    "evaluation": "Not evaluated yet.",
    "limitations": [],
}


def card_template() -> str:
    """The model card template (Jinja) from `hub_cards/model_card.md`."""
    return importlib.resources.files("bioreason_hub_cards").joinpath("model_card.md").read_text(encoding="utf-8")


def describe_model(model) -> dict[str, str]:
    """Architecture lines of the card, read from the model's config (a model or a `BioReasonConfig`)."""
    config = getattr(model, "config", model)
    if not hasattr(config, "text_config") or not hasattr(config, "dna_config"):  # a baseline: the caller describes it
        return {"dna_encoder": "none", "projector": "none", "text_model": "none"}
    text, dna = config.text_config, config.dna_config
    return {
        "dna_encoder": (
            f"Nucleotide Transformer v2 ({dna.num_hidden_layers} layers, hidden {dna.hidden_size}), frozen"
            if config.freeze_dna_encoder else f"Nucleotide Transformer v2 ({dna.num_hidden_layers} layers)"
        ),
        "projector": f"{config.projector_type} ({dna.hidden_size} → {text.hidden_size}), encoder layer "
        f"{config.dna_feature_layer}",
        "text_model": f"{text.model_type} ({text.num_hidden_layers} layers, hidden {text.hidden_size}, "
        f"vocab {text.vocab_size})",
    }


def render_model_card(model, **metadata: Any) -> str:
    """Render the model card for `model` (or its config); `metadata` fills `summary`, `training`, `evaluation`..."""
    values = {**DEFAULT_CARD, **describe_model(model), **metadata}
    values.setdefault("model_name", "BioReason")
    return jinja2.Template(card_template(), keep_trailing_newline=True).render(**values)


def write_model_card(folder: str | os.PathLike, config, **card_metadata: Any) -> None:
    """(Re)write `README.md` of a saved folder; metadata given earlier (`bioreason_card.json`) is kept and updated."""
    folder = os.fspath(folder)
    record = os.path.join(folder, "bioreason_card.json")
    previous = json.load(open(record, encoding="utf-8")) if os.path.exists(record) else {}
    card_metadata = {**previous, **card_metadata}
    card_metadata.setdefault("model_name", os.path.basename(os.path.abspath(folder)))
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(render_model_card(config, **card_metadata))
    with open(record, "w", encoding="utf-8") as handle:
        json.dump(card_metadata, handle, indent=2, default=str)


def evaluation_section(report: dict) -> str:
    """Markdown for the card's evaluation section, from an evaluation `report.json`."""
    kegg = report["task"] in ("kegg", "kegg_disease")  # the task's name (modeling_bioreason.tasks) or its old alias
    columns = ["accuracy", "macro_f1"] if kegg else ["accuracy", "f1"]
    lines = [f"`{report['dataset']}` config `{report['config']}`, split `{report['split']}`, {report['rows']} rows, "
             f"greedy decoding, {report['settings']['max_new_tokens']} new tokens.", "",
             "| system | rule | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for system, metrics in (("this model", report["metrics"]), ("lookup baseline", report["lookup_baseline"])):
        for rule in (r for r in ("strict", "paper_lenient") if r in metrics):
            lines.append(f"| {system} | {rule.replace('_', '-')} | "
                         + " | ".join(f"{metrics[rule][c]:.3f}" for c in columns) + " |")
    return "\n".join(lines)


def save_bioreason(model, processor, folder: str | os.PathLike, **card_metadata: Any) -> str:
    """Save model, processor and a filled-in `README.md` model card into a Hub-format folder; returns the folder."""
    folder = os.fspath(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    write_model_card(folder, model.config, **card_metadata)
    return folder


# --------------------------------------------------------------------------------------------------- pushing
PUSH_KINDS = {"model": "model", "dataset": "dataset", "metric": "space", "space": "space"}
NEVER_UPLOADED = ("__pycache__", ".pyc", ".git", ".ipynb_checkpoints", ".DS_Store", ".fai")


def front_matter(readme: Path) -> dict:
    """The YAML header of a card (`---` ... `---`); an error names the file when it is missing or malformed."""
    import yaml

    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if not text.startswith("---\n") or "\n---" not in text[4:]:
        raise ValueError(f"{readme} needs a YAML header between '---' lines.")
    try:
        header = yaml.safe_load(text[4:text.index("\n---", 4)])
    except yaml.YAMLError as error:
        raise ValueError(f"{readme}: the YAML header does not parse: {error}") from error
    if not isinstance(header, dict):
        raise ValueError(f"{readme}: the YAML header must be a mapping.")
    return header


def files_to_push(folder: Path) -> list[Path]:
    """The files an upload of `folder` sends (caches, notebooks' checkpoints and pyfaidx indexes are left out)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part in NEVER_UPLOADED or part.endswith(NEVER_UPLOADED) for part in p.parts))


def validate_for_push(kind: str, folder: Path) -> list[str]:
    """Check that `folder` works as a Hub repo of `kind`; returns what was checked, raises on the first failure."""
    if kind not in PUSH_KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {sorted(PUSH_KINDS)}.")
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder.")
    header = front_matter(folder / "README.md")
    checks = ["README.md YAML header parses"]
    if kind == "model":
        from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor

        for key in ("library_name", "pipeline_tag", "license", "tags"):
            if key not in header:
                raise ValueError(f"{folder}/README.md: the model card lacks `{key}`.")
        AutoConfig.from_pretrained(folder, trust_remote_code=True)
        model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
        AutoProcessor.from_pretrained(folder, trust_remote_code=True)
        checks.append(f"loads with AutoModelForCausalLM / AutoProcessor ({type(model).__name__})")
    elif kind == "dataset":
        import datasets

        configs = header.get("configs") or []
        if not configs:
            raise ValueError(f"{folder}/README.md: a dataset card needs `configs:` with data_files.")
        for config in configs:
            loaded = datasets.load_dataset(str(folder), config["config_name"])
            checks.append(f"config {config['config_name']!r} loads: "
                          + ", ".join(f"{split} {len(rows)}" for split, rows in loaded.items()))
    elif kind == "metric":
        import evaluate

        evaluate.load(str(folder))
        checks.append("loads with evaluate.load")
    if kind in ("metric", "space"):
        for key in ("sdk", "app_file"):
            if key not in header:
                raise ValueError(f"{folder}/README.md: a Space needs `{key}` in its YAML header.")
        if not (folder / header["app_file"]).exists():
            raise ValueError(f"{folder}: app_file {header['app_file']!r} does not exist.")
        checks.append(f"Space: sdk {header['sdk']}, app_file {header['app_file']} present")
    return checks


def push(kind: str, folder: str | os.PathLike, repo_id: str, private: bool = False, revision: str | None = None,
         dry_run: bool = False, token: str | None = None) -> dict:
    """
    Validate a model folder, dataset folder, metric module or Space, then upload it with `huggingface_hub`
    (`create_repo` + `upload_folder`). With `dry_run=True` nothing is sent: the result lists the files and checks.
    """
    folder = Path(folder)
    checks = validate_for_push(kind, folder)
    files = files_to_push(folder)
    result = {"kind": kind, "repo_id": repo_id, "repo_type": PUSH_KINDS[kind], "private": private,
              "revision": revision, "checks": checks,
              "files": [{"path": str(p.relative_to(folder)), "bytes": p.stat().st_size} for p in files]}
    if dry_run:
        return result
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo_type = PUSH_KINDS[kind]
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True,
                    **({"space_sdk": front_matter(folder / "README.md")["sdk"]} if repo_type == "space" else {}))
    if revision is not None:
        api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
    commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, revision=revision,
                               allow_patterns=[item["path"] for item in result["files"]],
                               commit_message=f"Upload {kind} with bioreason push")
    result["commit"] = str(commit)
    return result
