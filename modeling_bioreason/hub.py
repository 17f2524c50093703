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

from .dna_encoders import DNA_ENCODERS, RANDOM_SPEC, DNAEncoderKind, encoder_kind_of_config, encoder_kind_of_hub_id

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
# Hub licence ids of language models this project builds on, for the card's licence (DNA encoders: dna_encoders.py).
TEXT_MODEL_LICENSES = {"Qwen/Qwen3": "apache-2.0", "HuggingFaceTB/SmolLM2": "apache-2.0"}
LICENSE_NAMES = {"apache-2.0": "Apache-2.0", "mit": "MIT"}
PERMISSIVE_LICENSES = ("apache-2.0", "mit")  # combined with another licence, that one governs the weights


def card_template() -> str:
    """The model card template (Jinja), package data of `modeling_bioreason`."""
    return importlib.resources.files("modeling_bioreason").joinpath("templates", "model_card.md").read_text(
        encoding="utf-8"
    )


def describe_model(model) -> dict[str, str]:
    """Architecture lines of the card, read from the model's config (a model or a `BioReasonConfig`)."""
    config = getattr(model, "config", model)
    if not hasattr(config, "text_config") or not hasattr(config, "dna_config"):  # a baseline: the caller describes it
        return {"dna_encoder": "none", "projector": "none", "text_model": "none", "dna_tokens": ""}
    text, dna = config.text_config, config.dna_config
    kind = DNA_ENCODERS.get(dna.model_type)
    layer = config.dna_feature_layer
    return {
        "dna_encoder": f"{kind.name if kind else dna.model_type} ({dna.num_hidden_layers} layers, hidden "
        f"{dna.hidden_size})" + ("" if getattr(config, "dna_encoder_pretrained", True) else ", random weights")
        + (", frozen" if config.freeze_dna_encoder else ""),
        "projector": f"{config.projector_type} ({dna.hidden_size} → {text.hidden_size}), "
        + (f"encoder layer {layer}" if isinstance(layer, int) else f"encoder output `{layer}`"),
        "text_model": f"{text.model_type} ({text.num_hidden_layers} layers, hidden {text.hidden_size}, "
        f"vocab {text.vocab_size})",
        "dna_tokens": kind.tokens_per_sequence if kind else "one per DNA-tokenizer token",
    }


def dna_encoder_weights(model, named: str | None = None) -> tuple[DNAEncoderKind | None, bool] | None:
    """
    `(kind, pretrained)` of the DNA encoder whose weights a card describes, or None without one. A BioReason config
    says both (`dna_config`, `dna_encoder_pretrained`); a baseline names its encoder (`named`): a Hub id, a folder, or
    a `random-<kind>` spec. `kind` is None for an encoder this package does not ship.
    """
    config = getattr(model, "config", model)
    if hasattr(config, "dna_config") and hasattr(config, "text_config"):
        return DNA_ENCODERS.get(config.dna_config.model_type), bool(getattr(config, "dna_encoder_pretrained", True))
    if named in (None, "none"):
        return None
    named = str(named)
    match = RANDOM_SPEC.match(named)
    if match:
        return next((kind for kind in DNA_ENCODERS.values() if kind.spec_name == match["name"]), None), False
    if os.path.isfile(os.path.join(named, "config.json")):
        with open(os.path.join(named, "config.json"), encoding="utf-8") as handle:
            return encoder_kind_of_config(json.load(handle)), True
    return encoder_kind_of_hub_id(named), True


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
                     encoder: tuple[DNAEncoderKind | None, bool] | None = None,
                     text_license: str | None = None) -> tuple[dict, str]:
    """
    `(metadata, sentence)`: the card's licence fields and the sentence naming each component's licence. Licences follow
    the weights inside: a pretrained DNA encoder's (`encoder`, see `dna_encoder_weights`) and the language model's
    (`text_license` when its source declares one, e.g. a converted checkpoint's card; else known for the base
    models this project builds on); a randomly initialised encoder carries nobody's. Permissive licences combine into
    the other one; the code is Apache-2.0. `license` overrides the result.
    """
    text_ids = [name for name in base_models if encoder_kind_of_hub_id(name) is None]
    text_license = text_license or next((lic for prefix, lic in TEXT_MODEL_LICENSES.items() for name in text_ids
                                         if name.startswith(prefix)), None)
    named = f" ({', '.join(text_ids)})" if text_ids else ""
    text_part = f"The language model{named} is " + (
        f"{LICENSE_NAMES.get(text_license, text_license)}." if text_license else
        "under its own licence (see its model card).")
    if license is not None:
        return {"license": license}, f"Released under {license}. {text_part}"
    kind, pretrained = encoder if encoder is not None else (None, False)
    licenses, names = [text_license] if text_license else [], dict(LICENSE_NAMES)
    if encoder is None:
        encoder_part = ""
    elif not pretrained:
        architecture = f"has the {kind.name} architecture and " if kind else ""
        encoder_part = (f"The DNA encoder {architecture}was randomly initialised: this folder holds no pretrained "
                        "DNA-encoder weights. ")
    elif kind is None:
        encoder_part = "The DNA encoder's weights are under their own licence (see where they came from). "
    else:
        licenses.append(kind.license)
        names[kind.license] = kind.license_name
        encoder_part = (f"This folder holds the weights of a pretrained DNA encoder ({kind.weights_by}'s {kind.name}, "
                        f"{kind.license_name}: {kind.license_terms}). ")
    governing = list(dict.fromkeys(lic for lic in licenses if lic not in PERMISSIVE_LICENSES))
    if not governing:
        return {"license": "apache-2.0"}, f"The code and these weights are Apache-2.0. {encoder_part}{text_part}"
    if len(governing) == 1:
        metadata, name = {"license": governing[0]}, names.get(governing[0], governing[0])
    else:
        name = " and ".join(names.get(lic, lic) for lic in governing)
        metadata = {"license": "other", "license_name": "-and-".join(governing)}
    return metadata, (f"{encoder_part}{text_part} The combined weights are therefore released under {name}; the code "
                      "is Apache-2.0.")


def card_metadata(model, values: dict, extra_metadata: dict | None = None):
    """The YAML header as `huggingface_hub.ModelCardData`. `extra_metadata` is merged last (e.g. `model-index`
    entries from an evaluation, or `eval_results` / `model_name` as `ModelCardData` takes them)."""
    from huggingface_hub import ModelCardData

    # Baselines describe their parts by name: a Hub id there is a base model too.
    parts = [values.get(key) for key in ("text_model", "dna_encoder") if is_hub_id(values.get(key) or "")]
    base_models = base_models_of(model, [*(values.get("base_models") or []), *parts])
    encoder = dna_encoder_weights(model, values.get("dna_encoder"))
    if encoder is not None and not encoder[1]:  # random encoder weights: no published encoder is a base model
        base_models = [name for name in base_models if encoder_kind_of_hub_id(name) is None]
    datasets, local = hub_dataset_ids(values.get("datasets"))
    license_fields, sentence = license_metadata(model, base_models, values.get("license"), encoder,
                                                values.get("text_model_license"))
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
    """Markdown for the card's evaluation section, from an evaluation `report.json`: the report's own tables (with
    its DNA ablations, "DNA reliance", when the run had `--dna-ablation`)."""
    from .evaluation.report import dna_reliance_notes, dna_reliance_table, metric_table, report_systems

    lines = [f"`{report['dataset']}` config `{report['config']}`, split `{report['split']}`, {report['rows']} rows, "
             f"greedy decoding, {report['settings']['max_new_tokens']} new tokens.", "",
             *metric_table(report["task"], report_systems(report))]
    if report.get("dna_reliance"):
        lines += ["", "### DNA reliance", "", *dna_reliance_table(report), "", "\n\n".join(dna_reliance_notes(report))]
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
NEVER_UPLOADED = ("__pycache__", ".pyc", ".git", ".ipynb_checkpoints", ".DS_Store", ".fai", ".gzi")
# Left out unless named with `include=`: files that commonly hold credentials, by name or by the words of their name
# (`hf_token.txt`, `api_key.txt`, `aws_credentials`, `wandb_api_key`; not `tokenizer.json`, `special_tokens_map.json`).
SECRET_NAMES = {".env", ".netrc", ".pypirc", ".npmrc", ".git-credentials", ".pgpass", ".htpasswd", "credentials",
                "credentials.json", "secrets.json", "secrets.yaml", "secrets.toml", "token", "hf_token", "id_rsa",
                "id_dsa", "id_ecdsa", "id_ed25519", "service_account.json", "kubeconfig", "netrc", "htpasswd"}
SECRET_WORDS = {"token", "secret", "secrets", "credential", "credentials", "password", "passwd", "kubeconfig", "apikey",
                "netrc", "pgpass", "htpasswd"}
SECRET_WORD_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("auth", "key")}
SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx")
# Scanned for in every text file that goes up (unless named with `include=`): what looks like a live credential. Each
# pattern starts with its literal prefix (fast to scan for); a match must not continue a longer word (checked apart).
TOKEN_PATTERNS = {
    "a Hugging Face token (hf_...)": [rb"hf_[A-Za-z0-9]{30,}"],
    "an AWS access key id": [rb"AKIA[0-9A-Z]{16}(?![0-9A-Z])", rb"ASIA[0-9A-Z]{16}(?![0-9A-Z])"],
    "a GitHub token": [rb"gh[pousr]_[A-Za-z0-9]{36,}", rb"github_pat_[A-Za-z0-9_]{40,}"],
    "a GitLab token": [rb"glpat-[A-Za-z0-9_-]{20,}"],
    "an API key (sk-...)": [rb"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}"],
    "a Slack token": [rb"xox[abprs]-[A-Za-z0-9-]{10,}"],
    "a private key": [rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"],
    "a Weights & Biases API key": [
        rb"(?i:wandb)[_-]?(?i:api)[_-]?(?i:key)[\"']?\s*[:=]\s*[\"']?[0-9a-f]{40}(?![0-9a-f])"],
}


def looks_like_credentials(name: str) -> bool:
    """Whether a file name says it holds credentials (`.env`, `id_rsa`, `*.pem`, `hf_token.txt`, `api_key.txt`...)."""
    lower = name.lower()
    if lower in SECRET_NAMES or lower.endswith(SECRET_SUFFIXES) or lower.startswith(".env."):
        return True
    words = [word for word in re.split(r"[^a-z0-9]+", lower) if word]
    return bool(SECRET_WORDS & set(words)) or any(pair in SECRET_WORD_PAIRS for pair in zip(words, words[1:]))


# What a repo of each kind uses; other files are uploaded with a warning (they may not belong).
KIND_SUFFIXES = {
    "model": (".json", ".safetensors", ".py", ".md", ".txt", ".jinja", ".model", ".tiktoken", ".gitattributes",
              ".yaml", "LICENSE"),
    "dataset": (".parquet", ".arrow", ".jsonl", ".json", ".csv", ".tsv", ".md", ".txt", ".yaml", ".gitattributes",
                "LICENSE"),
    "metric": (".py", ".md", ".txt", ".json", ".gitattributes", "LICENSE"),
    "space": (".py", ".md", ".txt", ".json", ".jsonl", ".fa", ".fasta", ".css", ".js", ".png", ".jpg", ".svg",
              ".yaml", ".gitattributes", "LICENSE"),
}
LARGE_FILE_WARNING = 100 * 1024 * 1024
OUR_DISTRIBUTIONS = {"modeling-bioreason", "modeling_bioreason", "bioreason"}
OUR_MODULES = {"modeling_bioreason", "bioreason_hub_cards"}
PROVIDED_BY_SDK = {"gradio": {"gradio", "gradio_client", "spaces"}}  # installed on every Space of that SDK


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


def plan_upload(kind: str, folder: str | os.PathLike, include: tuple[str, ...] | list[str] = ()) -> dict:
    """
    What an upload of `folder` as a `kind` repo sends: `{"files": [Path], "skipped": [(path, why)], "warnings": [str]}`.

    Symbolic links are never followed out of the folder (a link to a file inside it is uploaded as that file), nor
    hard links whose file also has a name outside it; hidden files and files whose name says credentials (`.env`,
    `*.pem`, `id_rsa`, `hf_token.txt`, `api_key.txt`, ...) are left out unless `include` names them (paths relative
    to the folder), caches and FASTA indexes are left out, and files a `kind` repo does not use (or over 100 MB
    besides weights and data) are uploaded with a warning.
    """
    folder = Path(folder)
    root = folder.resolve()
    named = {str(Path(p)) for p in include}
    files, skipped, warnings = [], [], []
    for directory, subdirectories, names in os.walk(folder, followlinks=False):
        base = Path(directory)
        for name in sorted(subdirectories):
            if (base / name).is_symlink():
                skipped.append((str((base / name).relative_to(folder)), "link to a folder (not followed)"))
        subdirectories[:] = sorted(d for d in subdirectories if not (base / d).is_symlink()
                                   and d not in NEVER_UPLOADED and not d.endswith(NEVER_UPLOADED))
        for name in sorted(names):
            path = base / name
            relative = path.relative_to(folder)
            rel = str(relative)
            if any(part in NEVER_UPLOADED or part.endswith(NEVER_UPLOADED) for part in relative.parts):
                continue
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root) or not target.is_file():
                    skipped.append((rel, f"link to {target}, outside the folder (not followed)"))
                    continue
            if rel not in named:
                hidden = [part for part in relative.parts if part.startswith(".")]
                eval_results = kind == "model" and relative.parts[0] == ".eval_results" and name.endswith(".yaml")
                if hidden and name != ".gitattributes" and not eval_results:
                    skipped.append((rel, "hidden file (name it with --include to upload it)"))
                    continue
                if looks_like_credentials(name):
                    skipped.append((rel, "may hold credentials (name it with --include to upload it)"))
                    continue
            files.append(path)
            size = path.stat().st_size
            if not (name.endswith(KIND_SUFFIXES[kind]) or name in KIND_SUFFIXES[kind]):
                warnings.append(f"{rel} ({size:,} bytes): not a file a {kind} repo uses; is it meant to be uploaded?")
            elif size > LARGE_FILE_WARNING and not name.endswith((".safetensors", ".parquet", ".arrow")):
                warnings.append(f"{rel} is {size / 1024 / 1024:,.0f} MB; is it meant to be uploaded?")
    # A hard link is the same file under two names: one outside the folder means the bytes are not the folder's own.
    names_inside: dict[tuple[int, int], int] = {}
    for path in files:
        info = path.stat()
        names_inside[(info.st_dev, info.st_ino)] = names_inside.get((info.st_dev, info.st_ino), 0) + (
            0 if path.is_symlink() else 1)
    for path in list(files):
        info = path.stat()
        if info.st_nlink > max(1, names_inside[(info.st_dev, info.st_ino)]):
            files.remove(path)
            skipped.append((str(path.relative_to(folder)), f"hard link to a file with {info.st_nlink} names, some "
                            "outside the folder (copy it in to upload it)"))
    return {"files": sorted(files), "skipped": sorted(skipped), "warnings": warnings,
            "identity": {path: _identity(path.stat()) for path in files}}


def _identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def stage_upload(folder: Path, plan: dict, staging: Path) -> list[Path]:
    """
    Copy the bytes of the planned files into `staging` (same relative paths); returns the staged files. Each file is
    opened without following a link at its last component and must still be the file that was planned (same device
    and inode): a file swapped for a link, or a folder swapped on the way, after the plan is refused, not read. What is
    checked and uploaded afterwards is this copy, so nothing that changes in `folder` meanwhile can go up.
    """
    import shutil
    import stat

    root = folder.resolve()
    staged = []
    for path in plan["files"]:
        relative = path.relative_to(folder)
        real = Path(os.path.realpath(path))
        try:
            descriptor = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as error:
            raise ValueError(f"{folder}/{relative} changed after it was checked ({error.strerror}); push "
                             "again.") from None
        with os.fdopen(descriptor, "rb") as source:
            info = os.fstat(source.fileno())
            if not stat.S_ISREG(info.st_mode) or _identity(info) != plan["identity"][path] or not real.is_relative_to(
                    root):
                raise ValueError(f"{folder}/{relative} was replaced after it was checked (a link or another file); "
                                 "nothing was uploaded. Push again.")
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as copy:
                shutil.copyfileobj(source, copy, 1 << 20)
        staged.append(target)
    return staged


def find_credentials(folder: Path, files: list[Path], include=()) -> None:
    """Refuse text files holding what looks like a credential (`TOKEN_PATTERNS`) unless `include` names them; the
    message names the file, the line and the kind of credential, never its value."""
    patterns = [(what, re.compile(pattern)) for what, group in TOKEN_PATTERNS.items() for pattern in group]
    named = {str(Path(p)) for p in include}
    for path in files:
        relative = str(path.relative_to(folder))
        if relative in named:
            continue
        with open(path, "rb") as handle:
            head = handle.read(8192)
            if b"\0" in head:  # binary (weights, Parquet): not a text file
                continue
            data = head + handle.read()
        for what, pattern in patterns:
            match = next((m for m in pattern.finditer(data)
                          if not (m.start() and (data[m.start() - 1:m.start()].isalnum()
                                                 or data[m.start() - 1:m.start()] == b"_"))), None)
            if match:
                line = data.count(b"\n", 0, match.start()) + 1
                raise ValueError(f"{relative}:{line} holds what looks like {what}; credentials are never pushed. "
                                 f"Remove it (or, if it is not a credential, upload the file with --include "
                                 f"{relative}).")


def files_to_push(folder: Path) -> list[Path]:
    """The files an upload of `folder` (as a model repo) sends; see `plan_upload`."""
    return plan_upload("model", folder)["files"]


def _requirement_lines(path: Path) -> list[tuple[int, str]]:
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append((number, line))
    return lines


def check_requirements(folder: Path) -> list[str]:
    """The distributions `requirements.txt` installs; raises naming the line when one is not from a public index."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    path = folder / "requirements.txt"
    if not path.exists():
        return []
    names = []
    for number, line in _requirement_lines(path):
        where = f"{path}:{number} ({line!r})"
        if line.startswith(("-e", "--editable", "-r", "-c", "file:", ".", "/")) or "file://" in line:
            raise ValueError(f"{where} installs from a local path, which the Hub does not have; require a package "
                             "published on PyPI.")
        if line.startswith("-"):
            continue  # pip options such as --extra-index-url
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise ValueError(f"{where} is not a valid requirement: {error}") from error
        if canonicalize_name(requirement.name) in OUR_DISTRIBUTIONS:
            raise ValueError(f"{where}: {requirement.name} is not on any public package index (it is this "
                             "repository); the folder must carry what it needs, or import it from PyPI packages.")
        if requirement.url and requirement.url.startswith("file:"):
            raise ValueError(f"{where} installs from a local path, which the Hub does not have.")
        names.append(canonicalize_name(requirement.name))
    return names


def _installed_closure(names: list[str]) -> set[str]:
    """`names` and everything they depend on, as installed here (canonical distribution names)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(top-level module, line, optional) for each absolute import; `optional` inside `try: ... except ImportError`."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    optional_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError", "Exception")
                for h in node.handlers):
            for inner in node.body:
                optional_lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno, node.lineno in optional_lines) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno, node.lineno in optional_lines))
    return found


def check_imports(kind: str, folder: Path, files: list[Path], requirements: list[str], header: dict) -> list[str]:
    """
    Check that every Python file of a pushed folder imports only the standard library, its sibling files and what its
    requirements install (for a model folder: torch and transformers). Raises naming the file, line and module.
    """
    import sys
    from importlib import metadata

    from packaging.utils import canonicalize_name

    provided = {"model": ["torch", "transformers"]}.get(kind, requirements)
    installs = _installed_closure(list(provided))
    distributions = metadata.packages_distributions()
    siblings = {p.stem for p in files if p.suffix == ".py"} | {p.relative_to(folder).parts[0] for p in files}
    sdk_modules = PROVIDED_BY_SDK.get(header.get("sdk"), set()) if kind in ("space", "metric") else set()
    checked = 0
    for path in files:
        if path.suffix != ".py":
            continue
        rel = path.relative_to(folder)
        try:
            imports = _imports(path)
        except SyntaxError as error:
            raise ValueError(f"{folder}/{rel} does not parse: {error}") from error
        for module, line, optional in imports:
            if module in OUR_MODULES:
                raise ValueError(f"{folder}/{rel}:{line} imports {module}, which the Hub does not install (it is "
                                 "this package); carry what the file needs inside the folder.")
            if optional or module in sys.stdlib_module_names or module in siblings or module in sdk_modules:
                continue
            owners = {canonicalize_name(d) for d in distributions.get(module, [])} or {canonicalize_name(module)}
            if not owners & installs:
                source = "torch and transformers (what a model's remote code may use)" if kind == "model" else \
                    f"{folder}/requirements.txt ({', '.join(requirements) or 'missing or empty'})"
                raise ValueError(f"{folder}/{rel}:{line} imports {module}, which {source} does not install; add "
                                 f"{' or '.join(sorted(owners))} to the requirements, or make the import optional.")
        checked += 1
    return [f"{checked} Python files import only the standard library, their siblings and what "
            + ("torch/transformers install" if kind == "model" else "requirements.txt installs")] if checked else []


def check_index(folder: Path) -> str:
    """Resolve requirements.txt against the package index pip is configured with (network); raises when it fails."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                             "--no-deps", "-r", str(folder / "requirements.txt")], capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"{folder}/requirements.txt does not install from the package index: "
                         + (result.stderr.strip().splitlines() or ["pip failed"])[-1])
    return "requirements.txt resolves on the package index"


def check_hub_id(value, what: str) -> str:
    """`value` as a Hub repo id, checked with `huggingface_hub`'s own validator; the error names `what` it is."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError as error:
        raise ValueError(f"{what} {value!r} is not a Hub repo id ({error})") from None
    if not value:
        raise ValueError(f"{what} is empty: give a Hub repo id (owner/name).")
    return value


def check_card_ids(kind: str, folder: Path, header: dict) -> list[str]:
    """Every repo id in the metadata the Hub reads (card `base_model`, `datasets`, `models`, `model-index` dataset
    types, `.eval_results/*.yaml` dataset ids), checked with `huggingface_hub`'s validators."""
    import yaml

    ids = []
    for key in ("base_model", "datasets", "models"):
        values = header.get(key) or []
        for value in [values] if isinstance(values, str) else values:
            ids.append((f"{folder}/README.md `{key}:`", value))
    if kind == "model" and header.get("model-index"):
        from huggingface_hub import ModelCardData

        try:
            results = ModelCardData(**header).eval_results or []
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{folder}/README.md: `model-index` does not parse with huggingface_hub: "
                             f"{error}") from None
        ids += [(f"{folder}/README.md model-index dataset.type", r.dataset_type) for r in results]
    entries = 0
    for path in sorted((folder / ".eval_results").glob("*.yaml")) if kind == "model" else []:
        from huggingface_hub import parse_eval_result_entries

        try:
            parsed = parse_eval_result_entries(yaml.safe_load(path.read_text(encoding="utf-8")) or [])
        except (KeyError, TypeError, ValueError, yaml.YAMLError) as error:
            raise ValueError(f"{path}: not in the Hub's eval-results format: {error}") from None
        entries += len(parsed)
        ids += [(f"{path} dataset.id", entry.dataset_id) for entry in parsed]
    for where, value in ids:
        check_hub_id(value, where)
    checks = [f"{len(ids)} repo ids in the card metadata pass huggingface_hub's validate_repo_id"] if ids else []
    if entries:
        checks.append(f".eval_results/ parses with huggingface_hub: {entries} entries")
    return checks


def check_folder_code(folder: Path) -> str:
    """
    Refuse, before anything is loaded, a model folder whose loading or generation would run code that is not this
    package's own Hub files: an `auto_map` or custom pipeline naming another module (or another repo), a Hub file that
    differs from this package's, or a `custom_generate/` folder. Such a folder is validated only with
    `trust_remote_code=True` (the user has read that code).
    """
    from importlib.resources import files as package_files

    ours = package_files("modeling_bioreason")
    references = []
    for path in sorted(folder.rglob("*config.json")):  # config.json, tokenizer_/processor_/..._config.json
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        for key, value in (data.get("auto_map") or {}).items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if item:
                    references.append((path, f"auto_map {key}", str(item)))
        for task, pipeline in (data.get("custom_pipelines") or {}).items():
            if isinstance(pipeline, dict) and pipeline.get("impl"):
                references.append((path, f"custom_pipelines {task}", str(pipeline["impl"])))
    hint = "validation would run it: read that code, then pass --trust-remote-code"
    for path, what, reference in references:
        where = f"{path.relative_to(folder)}: {what} -> {reference!r}"
        if "--" in reference or "." not in reference:
            raise ValueError(f"{folder}/{where} is code from another repository; {hint}.")
        module = reference.rsplit(".", 1)[0]
        # transformers looks the module up beside the JSON file (a subfolder's own copy) or at the repo's root
        source = next((base / f"{module.replace('.', '/')}.py" for base in (path.parent, folder)
                       if (base / f"{module.replace('.', '/')}.py").is_file()), path.parent / f"{module}.py")
        if not source.is_file():
            raise ValueError(f"{folder}/{where}: {source.relative_to(folder)} is not in the folder, so it would not "
                             "load from the Hub.")
        package_copy = ours.joinpath(f"{module}.py")
        if not package_copy.is_file() or package_copy.read_bytes() != source.read_bytes():
            raise ValueError(f"{folder}/{where} is code of this folder, not this package's own "
                             f"{source.name}; {hint}.")
    if (folder / "custom_generate").exists():
        raise ValueError(f"{folder}/custom_generate/ replaces generate() for everyone who loads this repo with "
                         f"trust_remote_code=True; {hint}.")
    return (f"the folder's code ({len(references)} auto_map / pipeline entries) is this package's own Hub files: "
            "validated without running folder code")


def validate_for_push(kind: str, folder: Path, files: list[Path] | None = None, check_index_online: bool | None = None,
                      trust_remote_code: bool = False) -> list[str]:
    """Check that `folder` works as a Hub repo of `kind`; returns what was checked, raises on the first failure.
    Code stored in a model folder runs only with `trust_remote_code=True` (see `check_folder_code`)."""
    if kind not in PUSH_KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {sorted(PUSH_KINDS)}.")
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder.")
    header = front_matter(folder / "README.md")
    checks = ["README.md YAML header parses"]
    files = plan_upload(kind, folder)["files"] if files is None else files
    requirements = check_requirements(folder)
    if kind in ("space", "metric"):
        if not (folder / "requirements.txt").exists():
            raise ValueError(f"{folder} has no requirements.txt: a Space installs only what it lists.")
        checks.append(f"requirements.txt lists public packages only: {', '.join(requirements)}")
        if check_index_online is None:
            check_index_online = os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "") and os.environ.get(
                "BIOREASON_PUSH_CHECK_INDEX", "1") != "0"
        checks.append(check_index(folder) if check_index_online else
                      "requirements.txt index resolution not run (offline; it runs with network unless "
                      "BIOREASON_PUSH_CHECK_INDEX=0)")
    checks += check_imports(kind, folder, files, requirements, header)
    checks += check_card_ids(kind, folder, header)
    if kind == "model":
        from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor

        for key in ("library_name", "pipeline_tag", "license", "tags"):
            if key not in header:
                raise ValueError(f"{folder}/README.md: the model card lacks `{key}`.")
        if trust_remote_code:
            checks.append("the folder's own code runs for this check (--trust-remote-code)")
        else:
            checks.append(check_folder_code(folder))
        remote = trust_remote_code  # without it, this package's registered classes load a BioReason folder
        AutoConfig.from_pretrained(folder, trust_remote_code=remote)
        model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=remote)
        AutoProcessor.from_pretrained(folder, trust_remote_code=remote)
        checks.append(f"loads with AutoModelForCausalLM / AutoProcessor ({type(model).__name__})")
        if header.get("model-index"):
            from huggingface_hub import ModelCardData

            results = ModelCardData(**header).eval_results or []
            checks.append(f"model-index parses with huggingface_hub: {len(results)} results")
    elif kind == "dataset":
        import datasets

        from .data.tasks import check_data_files_inside

        configs = header.get("configs") or []
        if not configs:
            raise ValueError(f"{folder}/README.md: a dataset card needs `configs:` with data_files.")
        check_data_files_inside(folder)
        checks.append("every config's data_files lie inside the folder")
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


def rewrite_front_matter(readme: Path, **updates) -> None:
    """Set keys of a card's YAML header (a staged copy's, never the user's file), keeping its body."""
    import yaml

    text = readme.read_text(encoding="utf-8")
    header = front_matter(readme)
    body = text[text.index("\n---", 4) + 4:]
    header.update(updates)
    readme.write_text("---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120) + "---" + body,
                      encoding="utf-8")


def space_model(model: str | None, revision: str | None) -> dict[str, str]:
    """The Space variables that make a pushed Space serve `model` (a Hub model id; a Space has no local folders)."""
    if not model:
        raise ValueError("A Space serves one model, and a pushed Space has no local folders: pass --model <owner/name> "
                         "(a model repo, e.g. pushed with `bioreason push model`); it becomes the Space's "
                         "BIOREASON_MODEL variable and its card's `models:`.")
    if os.path.exists(model):
        raise ValueError(f"--model {model!r} is a local folder, which a Space cannot read: push it with `bioreason "
                         "push model FOLDER --repo-id owner/name` and pass that repo id.")
    variables = {"BIOREASON_MODEL": check_hub_id(model, "--model")}
    if revision:
        variables["BIOREASON_MODEL_REVISION"] = revision
    return variables


def push(kind: str, folder: str | os.PathLike, repo_id: str, private: bool = False, revision: str | None = None,
         dry_run: bool = False, token: str | None = None, include: tuple[str, ...] | list[str] = (),
         trust_remote_code: bool = False, model: str | None = None, model_revision: str | None = None) -> dict:
    """
    Validate a model folder, dataset folder, metric module or Space, then upload exactly the files `plan_upload` lists
    (one commit with `huggingface_hub`). The planned files are first copied into a private staging folder
    (`stage_upload`); the checks and the upload read that copy, so the bytes that go up are the bytes checked. No
    text file holding what looks like a credential goes up unless `include` names it.

    A Space must name the model it serves (`model`, a Hub id, optionally pinned by `model_revision`): the upload
    sets the Space's `BIOREASON_MODEL` variable and its card's `models:`. A dataset's pushed card records its Hub id
    (`bioreason_hub_id`), which evaluation results cite. With `dry_run=True` nothing is sent: the result lists the
    files with their sizes, what was skipped and why, warnings and the checks.
    """
    import tempfile

    folder = Path(folder)
    if kind not in PUSH_KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {sorted(PUSH_KINDS)}.")
    check_hub_id(repo_id, "--repo-id")
    variables = space_model(model, model_revision) if kind == "space" else {}
    if kind != "space" and model:
        raise ValueError("--model names the model a Space serves; it is for `bioreason push space` only.")
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder.")
    if kind == "dataset":
        from .data.tasks import check_data_files_inside

        check_data_files_inside(folder)  # here, where a link out of the folder is still visible as one
    plan = plan_upload(kind, folder, include)
    with tempfile.TemporaryDirectory(prefix="bioreason-push-") as staging_root:
        staging = Path(staging_root) / folder.resolve().name  # same folder name: evaluate.load names the module by it
        staging.mkdir()
        try:
            staged = stage_upload(folder, plan, staging)
            find_credentials(staging, staged, include)
            if variables and (staging / "README.md").is_file():
                rewrite_front_matter(staging / "README.md", models=[variables["BIOREASON_MODEL"]])
            if kind == "dataset" and (staging / "README.md").is_file():
                rewrite_front_matter(staging / "README.md", bioreason_hub_id=repo_id)
            checks = validate_for_push(kind, staging, staged, trust_remote_code=trust_remote_code)
        except ValueError as error:  # name the user's folder, not the staging copy
            raise ValueError(str(error).replace(str(staging), str(folder))) from None
        if variables:
            checks.append("Space serves " + ", ".join(f"{k}={v}" for k, v in variables.items())
                          + f" (Space variables; card models: [{variables['BIOREASON_MODEL']}])")
        if kind == "dataset":
            checks.append(f"the pushed card records bioreason_hub_id: {repo_id} (evaluation results cite it)")
        result = {"kind": kind, "repo_id": repo_id, "repo_type": PUSH_KINDS[kind], "private": private,
                  "revision": revision, "checks": checks, "warnings": plan["warnings"], "variables": variables,
                  "skipped": [{"path": path, "why": why} for path, why in plan["skipped"]],
                  "files": [{"path": p.relative_to(staging).as_posix(), "bytes": p.stat().st_size} for p in staged]}
        if dry_run:
            return result
        from huggingface_hub import CommitOperationAdd, HfApi

        api = HfApi(token=token)
        repo_type = PUSH_KINDS[kind]
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True,
                        **({"space_sdk": front_matter(staging / "README.md")["sdk"]} if repo_type == "space" else {}))
        for key, value in variables.items():
            api.add_space_variable(repo_id, key, value, description="set by `bioreason push space --model`")
        if revision is not None:
            api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
        operations = [CommitOperationAdd(path_in_repo=p.relative_to(staging).as_posix(), path_or_fileobj=str(p))
                      for p in staged]
        commit = api.create_commit(repo_id, operations, repo_type=repo_type, revision=revision,
                                   commit_message=f"Upload {kind} with bioreason push")
        result["commit"] = str(commit)
    return result
