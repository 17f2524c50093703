"""Hub-format BioReason folders with a filled-in model card, and validated pushes.

The card template is package data (`modeling_bioreason/templates/model_card.md`). Its YAML header is built as
`huggingface_hub.ModelCardData` (so the Hub's own parser accepts it): `base_model` (the language model and the DNA
encoder), `datasets` as Hub ids, and a licence that is true for the weights in the folder.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import jinja2

logger = logging.getLogger(__name__)

DEFAULT_CARD = {
    "base_models": [],
    "datasets": [],
    "repo_id": "path/to/this/folder",
    "summary": "A BioReason model.",
    "training": "Not documented for this checkpoint.",
    "evaluation": "Not evaluated yet.",
    "limitations": [],
}
TAGS = ["custom_code", "biology", "genomics", "dna", "bioreason"]
# This project's dataset folders (hub_cards/datasets/<name>) and the Hub datasets they hold. A folder without a Hub
# id (e.g. the ClinVar windows built here) is named in the card text, never in the metadata.
DATASET_HUB_IDS = {"kegg": "wanglab/kegg"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
NT_V2_LICENSE = {
    "license": "other",
    "license_name": "cc-by-nc-sa-4.0",
    "license_link": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
}
# Licences of language models this project builds on, for the card's licence sentence.
TEXT_MODEL_LICENSES = {"Qwen/Qwen3": "Apache-2.0", "HuggingFaceTB/SmolLM2": "Apache-2.0"}


def card_template() -> str:
    """The model card template (Jinja), package data of `modeling_bioreason`."""
    return importlib.resources.files("modeling_bioreason").joinpath("templates", "model_card.md").read_text(
        encoding="utf-8"
    )


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


def is_hub_id(name: str) -> bool:
    """`owner/name` that is not an existing local path."""
    return bool(HUB_ID.match(str(name))) and not os.path.exists(str(name))


def hub_dataset_ids(datasets: list[str]) -> tuple[list[str], list[str]]:
    """`(hub_ids, local_names)`: Hub ids as given, known local folders mapped to their Hub id, the rest by name."""
    hub_ids, local = [], []
    for name in datasets or []:
        name = str(name)
        folder = os.path.basename(os.path.normpath(name))
        if is_hub_id(name) and folder not in DATASET_HUB_IDS:
            hub_ids.append(name)
        elif folder in DATASET_HUB_IDS:
            hub_ids.append(DATASET_HUB_IDS[folder])
        else:
            logger.warning("Dataset %r has no Hub id: the card names it in its text, not in `datasets:`.", name)
            local.append(folder)
    return list(dict.fromkeys(hub_ids)), list(dict.fromkeys(local))


def base_models_of(model, explicit: list[str] | None = None) -> list[str]:
    """The Hub ids the model was built from: `explicit` first, then those recorded by `build_bioreason`."""
    config = getattr(model, "config", model)
    recorded = list(getattr(config, "base_model_ids", None) or [])
    names = [str(name) for name in [*(explicit or []), *recorded] if name]
    for name in names:
        if not is_hub_id(name):
            logger.warning("Base model %r is not a Hub id (owner/name): left out of the card's `base_model`.", name)
    return list(dict.fromkeys(name for name in names if is_hub_id(name)))


def license_metadata(model, base_models: list[str], license: str | None = None,
                     has_dna_encoder: bool | None = None) -> tuple[dict, str]:
    """
    `(metadata, sentence)`: the card's licence fields and the sentence naming each component's licence. A folder with
    a DNA encoder is treated as holding NT-v2 weights (InstaDeep, CC BY-NC-SA 4.0) unless `license` says otherwise.
    """
    config = getattr(model, "config", model)
    text_ids = [name for name in base_models if "nucleotide-transformer" not in name.lower()]
    text_license = next((lic for prefix, lic in TEXT_MODEL_LICENSES.items() for name in text_ids
                         if name.startswith(prefix)), None)
    named = f" ({', '.join(text_ids)})" if text_ids else ""
    text_part = f"The language model{named} is " + (
        f"{text_license}." if text_license else "under its own licence (see its model card).")
    if license is not None:
        return {"license": license}, f"Released under {license}. {text_part}"
    if has_dna_encoder is None:
        has_dna_encoder = hasattr(config, "dna_config")
    if not has_dna_encoder:
        return {"license": "apache-2.0"}, f"The code and these weights are Apache-2.0. {text_part}"
    sentence = (
        "This folder holds the weights of an NT-v2 DNA encoder (InstaDeep's Nucleotide Transformer v2, CC BY-NC-SA 4.0: "
        f"non-commercial use, attribution, share-alike) and of a language model. {text_part} The combined weights are "
        "therefore released under CC BY-NC-SA 4.0; the code is Apache-2.0."
    )
    return dict(NT_V2_LICENSE), sentence


def card_metadata(model, values: dict, extra_metadata: dict | None = None):
    """The YAML header as `huggingface_hub.ModelCardData`. `extra_metadata` is merged last (e.g. `model-index`
    entries from an evaluation, or `eval_results` / `model_name` as `ModelCardData` takes them)."""
    from huggingface_hub import ModelCardData

    # Baselines describe their parts by name: a Hub id there is a base model too.
    parts = [values.get(key) for key in ("text_model", "dna_encoder") if is_hub_id(values.get(key) or "")]
    base_models = base_models_of(model, [*(values.get("base_models") or []), *parts])
    datasets, local = hub_dataset_ids(values.get("datasets"))
    has_dna = hasattr(getattr(model, "config", model), "dna_config") or values.get("dna_encoder") not in (None, "none")
    license_fields, sentence = license_metadata(model, base_models, values.get("license"), has_dna)
    data = ModelCardData(
        library_name="transformers", pipeline_tag="text-generation", **license_fields,
        base_model=base_models or None, datasets=datasets or None, tags=list(TAGS),
        **(extra_metadata or {}),
    )
    return data, {"license_text": sentence, "local_datasets": local}


def render_model_card(model, extra_metadata: dict | None = None, **metadata: Any) -> str:
    """
    Render the model card for `model` (or its config). `metadata` fills `summary`, `training`, `evaluation`,
    `base_models` (Hub ids), `datasets` (Hub ids or this project's dataset folders), `license` (overrides the
    derived one), `repo_id`...; `extra_metadata` adds YAML header fields (see `card_metadata`).
    """
    values = {**DEFAULT_CARD, **describe_model(model), **metadata}
    values.setdefault("model_name", "BioReason")
    data, derived = card_metadata(model, values, extra_metadata)
    values.update(derived)
    return jinja2.Template(card_template(), keep_trailing_newline=True).render(card_data=data.to_yaml(), **values)


def write_model_card(folder: str | os.PathLike, config, extra_metadata: dict | None = None,
                     **card_metadata: Any) -> None:
    """(Re)write `README.md` of a saved folder; metadata given earlier (`bioreason_card.json`) is kept and updated."""
    folder = os.fspath(folder)
    record = os.path.join(folder, "bioreason_card.json")
    previous = {}
    if os.path.exists(record):
        with open(record, encoding="utf-8") as handle:
            previous = json.load(handle)
    card_metadata = {**previous, **card_metadata}
    card_metadata.setdefault("model_name", os.path.basename(os.path.abspath(folder)))
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(render_model_card(config, extra_metadata=extra_metadata, **card_metadata))
    with open(record, "w", encoding="utf-8") as handle:
        json.dump(card_metadata, handle, indent=2, default=str)


def card_for_push(model) -> str:
    """The card `model.push_to_hub` uploads: rendered from the model, with the metadata recorded in the folder it was
    loaded from (`bioreason_card.json`), if any."""
    source = getattr(model.config, "_name_or_path", "") or ""
    record = os.path.join(source, "bioreason_card.json")
    metadata = {}
    if os.path.isfile(record):
        with open(record, encoding="utf-8") as handle:
            metadata = json.load(handle)
    return render_model_card(model, **metadata)


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
