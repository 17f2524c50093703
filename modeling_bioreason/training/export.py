"""The end of a training run (SFT, GRPO): the full weights gathered (correct under DDP, FSDP2 and ZeRO-3), the
adapter, the run's metrics and the merged Hub-format export."""

from __future__ import annotations

import json
from pathlib import Path

from .recipe import Recipe


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
