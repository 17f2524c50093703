"""What every training run shares (SFT, GRPO, the baselines): its rows, checked before any work; the checkpoint to
resume from; and the end of the run (metrics, adapter, merged Hub-format export), correct under DDP and FSDP2.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from .recipe import Recipe

logger = logging.getLogger(__name__)

SEQUENCE_COLUMNS = ("reference_sequence", "variant_sequence")
TEXT_COLUMNS = ("question", "answer")
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors",
                "pytorch_model.bin", "pytorch_model_fsdp_0", "pytorch_model_fsdp.bin")


def validate_rows(dataset, where: str, need_reasoning: bool = False, need_answer: bool = True) -> None:
    """
    Refuse, before any work starts, rows a run would silently mis-train on: a missing column, a `None` or non-string
    question/answer/sequence/reasoning, an empty sequence. The message names the dataset row index.
    """
    if len(dataset) == 0:
        raise ValueError(f"{where} has no rows: nothing to train or evaluate on (check data.dataset, config and "
                         "split).")
    required = ("question", *SEQUENCE_COLUMNS) + (("answer",) if need_answer else ()) + (
        ("reasoning",) if need_reasoning else ())
    missing = [name for name in required if name not in dataset.column_names]
    if missing:
        hint = " (SFT trains on the reasoning trace; a dataset without one needs a `reasoning` column, even empty)" \
            if "reasoning" in missing else ""
        raise ValueError(f"{where} lacks column(s) {missing}{hint}; it has {sorted(dataset.column_names)}.")
    for name in required:
        for index, value in enumerate(dataset[name]):
            if not isinstance(value, str):
                raise ValueError(f"{where} row {index}: `{name}` is {value!r} ({type(value).__name__}); every row "
                                 f"needs a string. Fix or drop that row.")
            if not value.strip() and name != "reasoning":
                raise ValueError(f"{where} row {index}: `{name}` is empty. Fix or drop that row.")


def recipe_task(recipe: Recipe):
    """The recipe's task object: `data.task`, else the dataset card's declaration (never guessed from answers)."""
    from ..tasks import task_of_dataset

    return task_of_dataset(recipe.data.dataset, recipe.data.config, recipe.data.task)


def load_rows(recipe: Recipe, split: str | None, limit: int | None, need_reasoning: bool = False):
    """The recipe dataset's `split` (first `limit` rows), validated; None when `split` is None."""
    from ..data.tasks import load_split

    if split is None:
        return None
    dataset = load_split(recipe.data.dataset, recipe.data.config, split)
    dataset = dataset.select(range(min(limit, len(dataset)))) if limit else dataset
    validate_rows(dataset, f"Dataset {recipe.data.dataset!r} ({recipe.data.config}/{split})", need_reasoning)
    return dataset


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


def last_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest *complete* `checkpoint-N` in `output_dir`; torn ones (a run killed while saving) are skipped, said
    so in the log."""
    if not os.path.isdir(output_dir):
        return None
    found = sorted(((int(m.group(1)), Path(output_dir) / name) for name in os.listdir(output_dir)
                    if (m := CHECKPOINT.match(name)) and (Path(output_dir) / name).is_dir()), reverse=True)
    for _, folder in found:
        if is_complete_checkpoint(folder):
            return str(folder)
        logger.warning("--resume: skipping %s: it was not completely written (interrupted while saving).", folder)
    return None


def resume_checkpoint(output_dir: str, resume: bool) -> str | None:
    if not resume:
        return None
    checkpoint = last_checkpoint(output_dir)
    if checkpoint is None:
        logger.warning("--resume: no complete checkpoint in %s, starting from scratch.", output_dir)
    else:
        logger.warning("--resume: continuing from %s.", checkpoint)
    return checkpoint


def full_state_dict(trainer) -> dict | None:
    """
    The full (unsharded) weights of the trained model, gathered collectively: every process must call this. Under
    FSDP2 and DeepSpeed ZeRO-3 each rank holds a shard, so `accelerator.get_state_dict` all-gathers them (to CPU);
    the main process gets the full dict. Without sharding (single process, DDP) it returns None: the main process's
    model already holds every weight.
    """
    from accelerate.utils import DistributedType

    accelerator = trainer.accelerator
    sharded = accelerator.is_fsdp2 or accelerator.distributed_type == DistributedType.FSDP or (
        accelerator.distributed_type == DistributedType.DEEPSPEED
        and accelerator.deepspeed_config["zero_optimization"]["stage"] == 3)
    if not sharded:
        return None
    return accelerator.get_state_dict(trainer.model)


def unsharded_copy(recipe: Recipe, peft_config: dict | None, state_dict: dict):
    """A fresh, unsharded instance of the trained model (rebuilt from the recipe, PEFT-wrapped as in training) with
    the gathered weights loaded: what the main process merges and exports after sharded training."""
    from .models import load_model

    model, _ = load_model(recipe.model)
    if peft_config:
        from peft import get_peft_model

        model = get_peft_model(model, peft_config["default"])
    model.load_state_dict(state_dict, strict=True)  # every weight gathered, none left at its initial value
    return model


def export(model, processor, recipe: Recipe, folder: Path, **card) -> str:
    """Merge a PEFT model (if it is one) and save a Hub-format folder with a filled-in card."""
    from ..hub import save_bioreason

    merged = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    merged.eval()
    return save_bioreason(
        merged, processor, folder,
        training=card.pop("training", f"`{recipe.name}` ({recipe.kind}): {recipe.description}"),
        datasets=[recipe.data.dataset], model_name=card.pop("model_name", recipe.name), **card,
    )


def finish(trainer, recipe: Recipe, result, summary: str) -> str:
    """
    End of a BioReason run: gather the full weights (collective, for sharded runs), then on the main process save
    the adapter alone, the run's metrics, and the merged Hub-format folder.
    """
    output_dir = Path(trainer.args.output_dir)
    folder = output_dir / "final"
    state_dict = full_state_dict(trainer)
    if trainer.is_world_process_zero():
        model = trainer.accelerator.unwrap_model(trainer.model)
        if state_dict is not None:
            model = unsharded_copy(recipe, getattr(model, "peft_config", None), state_dict)
        if recipe.lora.enabled:
            model.save_pretrained(output_dir / "adapter")  # LoRA + projector + DNA-token embeddings
        metrics = {**result.metrics, "global_step": result.global_step, "trim_per_side": recipe.data.trim_per_side}
        (output_dir / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
        export(model, trainer.processing_class, recipe, folder, summary=summary)
    trainer.accelerator.wait_for_everyone()
    return str(folder)


def run(recipe: Recipe, resume: bool = False) -> str:
    """Train any recipe: dispatched once, on its kind and architecture (BioReason SFT / GRPO, or a baseline)."""
    if recipe.model.architecture != "bioreason":
        if recipe.kind != "sft":
            raise ValueError(f"The {recipe.model.architecture} baseline trains with SFT only (kind: sft).")
        from .baselines import run_baseline

        return run_baseline(recipe, resume)
    if recipe.kind == "grpo":
        from .grpo import run_grpo

        return run_grpo(recipe, resume)
    from .sft import run_sft

    return run_sft(recipe, resume)
