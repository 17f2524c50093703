"""Tasks: each benchmark task owns its prompt, label set, gold rule, parser, metrics, rewards and report columns.

A task is declared, never guessed from answer strings: by `--task`, a recipe's `data.task`, or the dataset card
(`bioreason_task:` in the README's YAML, one task name or a mapping config → task).

>>> from modeling_bioreason.tasks import get_task
>>> get_task("kegg_disease").name, get_task("variant_effect").name
('kegg_disease', 'variant_effect')
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .base import REQUIRED_COLUMNS, Task, completion_text
from .kegg import KeggDiseaseTask
from .substitution import SubstitutedBaseTask
from .variant_effect import VariantEffectTask

TASKS = {"kegg_disease": KeggDiseaseTask, "variant_effect": VariantEffectTask,
         "substituted_base": SubstitutedBaseTask}
ALIASES = {"kegg": "kegg_disease", "vep": "variant_effect", "brca1_sge": "variant_effect"}


def get_task(name) -> Task:
    """A task object by name (`kegg_disease`, `variant_effect`; aliases `kegg`, `vep`), or a Task passed through."""
    if isinstance(name, Task):
        return name
    key = ALIASES.get(str(name), str(name))
    if key not in TASKS:
        raise ValueError(f"Unknown task {name!r}; available: {sorted(TASKS)} (aliases {sorted(ALIASES)}).")
    return TASKS[key]()


def _card_yaml(dataset: str) -> dict | None:
    path = Path(dataset)
    card = path / "README.md" if path.is_dir() else None
    if card is None:
        try:
            from huggingface_hub import hf_hub_download

            card = Path(hf_hub_download(dataset, "README.md", repo_type="dataset"))
        except Exception:  # noqa: BLE001 - no card reachable: the caller asks for --task
            return None
    if not card.is_file():
        return None
    text = card.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return None
    import yaml

    return yaml.safe_load(text.split("---", 2)[1]) or {}


def task_of_dataset(dataset: str | os.PathLike, config: str = "default", task=None) -> Task:
    """
    The task of a dataset config: `task` when given (checked against the card when the card declares one), else
    the card's `bioreason_task`. An undeclared task is an error that says how to declare it.
    """
    meta = _card_yaml(os.fspath(dataset)) or {}
    declared = meta.get("bioreason_task")
    if isinstance(declared, dict):
        declared = declared.get(config, declared.get("default"))
    if task is not None:
        chosen = get_task(task)
        if declared is not None and get_task(declared).name != chosen.name:
            raise ValueError(f"Task mismatch: --task {chosen.name} but the card of {os.fspath(dataset)!r} declares "
                             f"config {config!r} as {get_task(declared).name!r}.")
        return chosen
    if declared is None and not os.path.exists(dataset):
        raise FileNotFoundError(f"Dataset {os.fspath(dataset)!r} is not a local folder, and as a Hub dataset id its "
                                "card could not be read (offline, or no such dataset): check the path.")
    if declared is None:
        raise ValueError(f"{os.fspath(dataset)!r} does not declare its task (no `bioreason_task:` in its card); pass "
                         f"--task with one of {sorted(TASKS)}.")
    return get_task(declared)


def dataset_repo_id(dataset: str | os.PathLike, config: str = "default", given: str | None = None) -> str | None:
    """
    The Hub id a dataset config is published as, which evaluation results cite: `given` (`--dataset-repo-id`), the
    dataset itself when it is a Hub id, else its card's `bioreason_hub_id` (one id, or a mapping config -> id). None
    when there is none; an id that `huggingface_hub` rejects is an error naming where it came from.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    dataset = os.fspath(dataset)
    if given is None and "/" in dataset and not os.path.exists(dataset):
        try:
            validate_repo_id(dataset)
            return dataset
        except HFValidationError:
            pass
    declared = given if given is not None else (_card_yaml(dataset) or {}).get("bioreason_hub_id")
    if isinstance(declared, dict):
        declared = declared.get(config)
    if declared is None:
        return None
    try:
        validate_repo_id(declared)
    except HFValidationError as error:
        where = "--dataset-repo-id" if given is not None else f"{dataset}/README.md `bioreason_hub_id`"
        raise ValueError(f"{where} {declared!r} is not a Hub repo id ({error})") from None
    return declared


def sync_metric_modules(metrics_dir: str | os.PathLike | None = None) -> list[Path]:
    """Write the byte copies of `scoring.py` that the sealed metric modules carry as `bioreason_scoring.py`."""
    root = Path(metrics_dir) if metrics_dir else Path(__file__).resolve().parents[2] / "hub_cards" / "metrics"
    written = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        target = folder / "bioreason_scoring.py"
        shutil.copyfile(Path(__file__).with_name("scoring.py"), target)
        written.append(target)
    return written


__all__ = ["ALIASES", "REQUIRED_COLUMNS", "TASKS", "KeggDiseaseTask", "SubstitutedBaseTask", "Task",
           "VariantEffectTask", "completion_text", "dataset_repo_id", "get_task", "sync_metric_modules",
           "task_of_dataset"]
