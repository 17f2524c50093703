"""A training run's folder: which run it holds, its checkpoints, and which one `--resume` continues.

A run records what it is in `run_identity.json` beside its checkpoints: the recipe after overrides (without the
settings that only say how it is driven or logged: output folder, logging and saving cadence), a fingerprint of the
training rows it reads and of the model folders it starts from. Each checkpoint it saves is marked with that
identity (`bioreason_run.json`).

* `--resume` continues only this run: an `output_dir` holding another run (another learning rate, dataset config,
  rows, starting model...) is refused, naming the differences; only checkpoints marked as this run's are candidates
  (the newest complete one is taken; torn or foreign ones are skipped, said so). A changed training length
  (`max_steps`, `num_train_epochs`) is the one change allowed, with a warning: it continues to the new length.
* Without `--resume`, an `output_dir` holding an earlier run's checkpoints or export is not trained over: they are
  moved into `output_dir/previous-<time>/` first, said so, so the new run's checkpoints and `final/` are its own.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .recipe import Recipe, _trl_config

logger = logging.getLogger(__name__)

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors",
                "pytorch_model.bin", "pytorch_model_fsdp_0", "pytorch_model_fsdp.bin")
IDENTITY_FILE = "run_identity.json"
MARK_FILE = "bioreason_run.json"  # in each checkpoint-N: the run (identity digest) that wrote it
RUN_OUTPUTS = ("final", "adapter", "train_metrics.json", "README.md", IDENTITY_FILE)  # besides its checkpoint-N
# Training arguments that say how a run is driven, logged or saved, not what it trains.
NOT_IDENTITY = {
    "output_dir", "logging_dir", "logging_steps", "logging_strategy", "logging_first_step", "logging_nan_inf_filter",
    "save_steps", "save_strategy", "save_total_limit", "save_on_each_node", "report_to", "run_name", "disable_tqdm",
    "log_level", "log_level_replica", "log_on_each_node", "dataloader_num_workers", "dataloader_pin_memory",
    "dataloader_persistent_workers", "dataloader_prefetch_factor", "push_to_hub", "hub_model_id", "hub_strategy",
    "hub_token", "hub_private_repo", "overwrite_output_dir", "resume_from_checkpoint", "ddp_timeout", "use_cpu",
    "eval_steps", "per_device_eval_batch_size", "eval_accumulation_steps", "include_num_input_tokens_seen",
}
LENGTH_KEYS = ("training.max_steps", "training.num_train_epochs")  # may change on --resume: "train longer"


def _local(path: str | None) -> str | None:
    return os.path.realpath(path) if path is not None and os.path.exists(path) else path


def run_identity(recipe: Recipe, rows_digest: str) -> dict:
    """What a run is: the recipe after overrides (how it is driven left out), its rows and starting weights."""
    from transformers import TrainingArguments

    from ..sources import model_fingerprint

    section = dataclasses.asdict(recipe)
    section.pop("description")
    section["model"].pop("trust_remote_code")  # a permission, not part of the model
    for key in ("eval_split", "eval_limit"):  # evaluation during training does not change what is trained
        section["data"].pop(key)
    section["data"]["dataset"] = _local(recipe.data.dataset)
    for key in ("model", "text_model", "dna_model"):
        section["model"][key] = _local(section["model"][key])
    arguments = TrainingArguments if recipe.model.architecture == "dna_only" else _trl_config(recipe.kind)
    defaults = {f.name: f.default for f in dataclasses.fields(arguments)}
    section["training"] = {k: v for k, v in sorted(recipe.training.items())  # a default spelled out is no change
                           if k not in NOT_IDENTITY and not (k in defaults and defaults[k] == v)}
    weights = {key: model_fingerprint(getattr(recipe.model, key)) for key in ("model", "text_model", "dna_model")
               if getattr(recipe.model, key) is not None}
    return {**section, "training_rows": rows_digest, "starting_weights": weights}


def _flat(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value and key != "rewards":
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def identity_digest(identity: dict) -> str:
    """The run's name on its checkpoints: its identity without the training length."""
    import hashlib

    flat = {k: v for k, v in _flat(identity).items() if k not in LENGTH_KEYS}
    return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:16]


def differences(old: dict, new: dict) -> tuple[list[str], list[str]]:
    """(differences that make another run, training-length changes) as `key: old -> new` lines."""
    old_flat, new_flat = _flat(old), _flat(new)
    other, length = [], []
    for key in sorted(set(old_flat) | set(new_flat)):
        before, after = old_flat.get(key, "(default)"), new_flat.get(key, "(default)")
        if before == after or (key.startswith("starting_weights.") and before is None):
            continue  # a weight fingerprint first recorded now (a Hub model uncached then) is no difference
        if key == "training_rows":
            line = "training rows: the dataset's rows changed (a file rewritten, or another split, limit or filter)"
        elif key.startswith("starting_weights."):
            line = f"{key}: the weights in that folder changed (retrained or replaced)"
        else:
            line = f"{key}: {before!r} -> {after!r}"
        (length if key in LENGTH_KEYS else other).append(line)
    return other, length


def read_mark(folder: Path) -> str | None:
    try:
        return json.loads((folder / MARK_FILE).read_text()).get("run")
    except (OSError, ValueError, AttributeError):
        return None


def is_complete_checkpoint(folder: Path) -> bool:
    """Trainer writes `trainer_state.json` after the weights, optimizer and RNG state: its presence (readable) and
    a weights file mark a checkpoint that was fully written."""
    state = folder / "trainer_state.json"
    if not state.is_file() or not any((folder / name).exists() for name in WEIGHT_FILES):
        return False
    try:
        json.loads(state.read_text())
    except (OSError, ValueError):
        return False
    return True


def checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """The `checkpoint-N` folders of `output_dir`, newest (highest N) first."""
    if not os.path.isdir(output_dir):
        return []
    found = [(int(m.group(1)), Path(output_dir) / name) for name in os.listdir(output_dir)
             if (m := CHECKPOINT.match(name)) and (Path(output_dir) / name).is_dir()]
    return [folder for _, folder in sorted(found, reverse=True)]


def last_checkpoint(output_dir: str | os.PathLike, run: str | None = None) -> str | None:
    """The newest *complete* `checkpoint-N` in `output_dir` (marked as run `run`'s when given); torn ones (a run
    killed while saving) and another run's are skipped, said so in the log."""
    for folder in checkpoints(output_dir):
        if not is_complete_checkpoint(folder):
            logger.warning("--resume: skipping %s: it was not completely written (interrupted while saving).", folder)
        elif run is not None and read_mark(folder) != run:
            logger.warning("--resume: skipping %s: it is not this run's checkpoint (%s).", folder,
                           "marked as another run" if read_mark(folder) else "no run mark")
        else:
            return str(folder)
    return None


@dataclass
class RunPlan:
    """How a run starts in its `output_dir`: decided by every process alike (`plan_run`), acted on by the main one."""

    output_dir: Path
    identity: dict
    resume_from: str | None = None
    move_aside: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return identity_digest(self.identity)

    def apply(self, trainer) -> str | None:
        """Move an earlier run aside and record this one (main process, between barriers); mark every checkpoint
        the trainer saves. Returns the checkpoint to resume from."""
        accelerator = trainer.accelerator
        accelerator.wait_for_everyone()  # every process decided before the folder changes
        if trainer.is_world_process_zero():
            if self.move_aside:
                target = self.output_dir / time.strftime("previous-%Y%m%d-%H%M%S")
                while target.exists():
                    target = target.with_name(target.name + "-1")
                target.mkdir(parents=True)
                for name in self.move_aside:
                    shutil.move(str(self.output_dir / name), str(target / name))
                logger.warning("%s held an earlier run (%s): moved it to %s so that this run does not mix with it "
                               "(pass --resume to continue a run instead).", self.output_dir,
                               ", ".join(self.move_aside), target)
            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / IDENTITY_FILE).write_text(json.dumps({**self.identity, "run": self.digest}, indent=2))
        accelerator.wait_for_everyone()
        trainer.add_callback(_mark_checkpoints(self.digest))
        return self.resume_from


def _mark_checkpoints(run: str):
    from transformers import TrainerCallback

    class MarkCheckpoints(TrainerCallback):
        """Marks each saved `checkpoint-N` as this run's, so `--resume` never continues another run's."""

        def on_save(self, args, state, control, **kwargs):
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if state.is_world_process_zero and folder.is_dir():
                (folder / MARK_FILE).write_text(json.dumps({"run": run}))

    return MarkCheckpoints()


def plan_run(recipe: Recipe, rows, resume: bool) -> RunPlan:
    """
    Decide how the run starts (before any model is loaded): refuse `--resume` of another run, naming the
    differences; pick this run's newest complete checkpoint; or list an earlier run's outputs to move aside.
    """
    from ..sources import rows_fingerprint

    output_dir = Path(recipe.training["output_dir"])
    plan = RunPlan(output_dir, run_identity(recipe, rows_fingerprint(rows)))
    saved = output_dir / IDENTITY_FILE
    previous = None
    if saved.is_file():
        try:
            previous = json.loads(saved.read_text())
            previous.pop("run", None)
        except ValueError:
            previous = None
    held = [p.name for p in checkpoints(output_dir)] + [n for n in RUN_OUTPUTS if (output_dir / n).exists()]
    if not resume:
        plan.move_aside = held
        return plan
    if previous is None:
        if any(name != IDENTITY_FILE for name in held):
            raise ValueError(f"--resume: {output_dir} holds a run ({', '.join(held[:4])}) without a readable "
                             f"{IDENTITY_FILE}, so it cannot be checked to be this run (same recipe and data); resume "
                             "refused. Start fresh without --resume (the earlier run is moved aside), or use another "
                             "training.output_dir.")
        logger.warning("--resume: no checkpoint in %s, starting from scratch.", output_dir)
        return plan
    other, length = differences(previous, plan.identity)
    if other:
        raise ValueError(f"--resume: {output_dir} holds another run, not this one: {'; '.join(other)}. Resume with "
                         "the same recipe and overrides, or start this run in another training.output_dir (without "
                         "--resume the earlier run is moved aside).")
    if length:
        logger.warning("--resume: the training length changed (%s): continuing to the new length.", "; ".join(length))
    plan.resume_from = last_checkpoint(output_dir, plan.digest)
    if plan.resume_from is None:
        logger.warning("--resume: no complete checkpoint of this run in %s, starting from scratch.", output_dir)
    else:
        logger.warning("--resume: continuing from %s.", plan.resume_from)
    return plan
