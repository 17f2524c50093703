"""Convert checkpoints of the original BioReason code (bowang-lab/BioReason) into this package's Hub format.

    bioreason convert --checkpoint runs_old/kegg-hf --dna-model InstaDeepAI/nucleotide-transformer-v2-500m-multi-species \
        --output converted/                        # the vllm-grpo HF directory + dna_projection.pt
    bioreason convert --checkpoint last.ckpt/checkpoint/mp_rank_00_model_states.pt --text-model Qwen/Qwen3-4B \
        --dna-model InstaDeepAI/nucleotide-transformer-v2-500m-multi-species --output converted/

Inputs (key layouts: shared/reference/bioreason/checkpoint_layouts.md):
* **HF directory** (`save_ckpt_dna.py` / `save_grpo_ckpt.py` output): a merged Qwen3 folder with BioReason's tokenizer
  and `dna_projection.pt` (`{weight, bias}`); the NT-v2 encoder comes from `--dna-model`.
* **State-dict file**: a Lightning + DeepSpeed `mp_rank_00_model_states.pt` (`"module"`), a Lightning DDP `.ckpt`
  (`"state_dict"`) or a GRPO `pytorch_model.bin`. Keys `[model.]text_model.[base_model.model.]...` (LoRA
  `lora_A`/`lora_B` merged as W + B @ A * alpha / r), `[model.]dna_model.esm.*`, `[model.]dna_projection.*`; aliases
  that repeat a tensor are dropped. `--text-model` gives the LM's config and tokenizer, `--dna-model` the NT-v2 config.
  Evo2 runs stored no encoder weights and are not supported (this package implements NT-v2 only).

Tensors saved in bf16 are up-cast to fp32. Files are read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch

from .build import build_bioreason
from .modeling_nucleotide_transformer import NucleotideTransformerModel

logger = logging.getLogger(__name__)

_PREFIXES = ("_forward_module.", "model.")
_LORA = re.compile(r"^(?P<module>.+)\.lora_(?P<which>[AB])\.(?P<adapter>[^.]+)\.weight$")


# A torch.save archive stores its tensors uncompressed: what it declares it unpacks to is about its own size. A
# declared size beyond this many times the file (a zip bomb) is refused before anything is read.
MAX_UNPACKED_RATIO = 4
MIN_UNPACKED_LIMIT = 64 * 2**20  # small files may declare up to this much


def check_archive(path: Path) -> None:
    """
    Refuse, before `torch.load` reads anything, a file that is not a zip-format `torch.save` archive (the legacy
    format declares no sizes to check) or whose entries declare more bytes than `MAX_UNPACKED_RATIO` times the file
    (at least `MIN_UNPACKED_LIMIT`): a zip bomb would take memory in proportion to what it declares.
    """
    import zipfile

    if not path.is_file():
        raise ValueError(f"Checkpoint file {path} does not exist.")
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ValueError(f"{path} is not a PyTorch checkpoint in torch.save's zip format ({error}); re-save it with "
                         "torch.save (torch >= 1.6) and convert that.") from None
    limit = max(MAX_UNPACKED_RATIO * size, MIN_UNPACKED_LIMIT)
    if declared > limit:
        raise ValueError(f"{path} ({size:,} bytes) declares {declared:,} unpacked bytes, over the limit of {limit:,} "
                         f"({MAX_UNPACKED_RATIO} x its size): torch.save archives store tensors uncompressed, so this "
                         "is not one (a zip bomb?). Refused before reading.")


def load_tensors_file(path: Path):
    """`torch.load(path, weights_only=True)` after `check_archive`, with a damaged or foreign file named."""
    import pickle

    check_archive(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise ValueError(f"{path} is damaged: its pickled index does not unpickle ({str(error)[:120]}).") from None
        raise ValueError(f"{path} holds objects besides tensors (e.g. Lightning hyper-parameters), which are not "
                         "loaded with weights_only=True. Extract its state dict with the original code's "
                         "environment (torch.save(ckpt['state_dict'], 'state.pt')) and convert that.") from None
    except (RuntimeError, EOFError, KeyError, AttributeError, ValueError) as error:  # torch on a damaged archive
        raise ValueError(f"{path} is damaged or not a torch.save checkpoint: {str(error).splitlines()[0][:160]}") \
            from None


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    state = load_tensors_file(path)
    for key in ("module", "state_dict"):  # DeepSpeed model states / Lightning checkpoint
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict (looked at the top level, 'module' and 'state_dict').")
    return state


def split_bioreason_state(state: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """Group original BioReason keys into `text`, `dna` and `projection` state dicts, with prefixes removed."""
    groups: dict[str, dict[str, torch.Tensor]] = {"text": {}, "dna": {}, "projection": {}}
    for key, tensor in state.items():
        name = key
        for prefix in _PREFIXES:
            name = name.removeprefix(prefix)
        if name.startswith("text_model."):
            name = name.removeprefix("text_model.").removeprefix("base_model.model.")
            group = "text"
        elif name.startswith("dna_model."):
            name, group = name.removeprefix("dna_model."), "dna"
        elif name.startswith("dna_projection."):
            name, group = name.removeprefix("dna_projection."), "projection"
        else:
            continue  # Lightning bookkeeping
        groups[group].setdefault(name, tensor.float() if tensor.is_floating_point() else tensor)
    return groups


def merge_lora(text_state: dict[str, torch.Tensor], alpha: float | None) -> dict[str, torch.Tensor]:
    """Fold PEFT LoRA pairs into their base weights: W = W0 + B @ A * alpha / r (alpha defaults to 2r, BioReason's)."""
    merged = {k: v for k, v in text_state.items() if ".lora_" not in k}
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in text_state.items():
        match = _LORA.match(key)
        if match:
            pairs.setdefault(match["module"], {})[match["which"]] = tensor
    for module, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            raise ValueError(f"LoRA pair incomplete for {module}: found {sorted(pair)}.")
        base_key = f"{module}.base_layer.weight"
        if base_key not in merged:
            raise ValueError(f"LoRA weights for {module} but no base weight {base_key}.")
        rank = pair["A"].shape[0]
        scale = (alpha if alpha is not None else 2 * rank) / rank
        merged[f"{module}.weight"] = merged.pop(base_key) + (pair["B"] @ pair["A"]) * scale
    return {key.replace(".base_layer.", "."): value for key, value in merged.items()}


def convert_checkpoint(
    checkpoint: str | os.PathLike,
    dna_model: str | os.PathLike,
    text_model: str | os.PathLike | None = None,
    lora_alpha: float | None = None,
):
    """(model, processor) in this package's format from an original BioReason checkpoint (see the module docstring)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        projection_file = checkpoint / "dna_projection.pt"
        if not projection_file.exists():
            raise ValueError(f"{checkpoint} is a folder without dna_projection.pt: not a BioReason HF directory.")
        lm = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        projection = load_tensors_file(projection_file)
        if not isinstance(projection, dict) or not all(isinstance(v, torch.Tensor) for v in projection.values()):
            raise ValueError(f"{projection_file} must hold the projection's state dict (weight and bias tensors).")
        projection = {k: v.float() for k, v in projection.items()}
        model, processor = build_bioreason(lm, dna_model, tokenizer=tokenizer)
    else:
        if text_model is None:
            raise ValueError("Converting a state-dict file needs --text-model (the LM's config and tokenizer).")
        groups = split_bioreason_state(_load_state(checkpoint))
        if not groups["text"]:
            raise ValueError(f"{checkpoint} has no text_model.* keys: not an original BioReason checkpoint.")
        if not groups["dna"]:
            raise ValueError(f"{checkpoint} has no dna_model.* keys: an Evo2 run (which stored no encoder weights); "
                             "this package implements NT-v2 only.")
        lm = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(text_model), dtype=torch.float32)
        text_state = merge_lora(groups["text"], lora_alpha)
        if lm.config.tie_word_embeddings:
            text_state.pop("lm_head.weight", None)
        missing, unexpected = lm.load_state_dict(text_state, strict=False)
        missing = [k for k in missing if not (k == "lm_head.weight" and lm.config.tie_word_embeddings)]
        if missing or unexpected:
            raise ValueError(f"Text weights do not fit {text_model}: missing {missing[:5]}, unexpected {unexpected[:5]}.")
        encoder = NucleotideTransformerModel(NucleotideTransformerModel.config_class.from_pretrained(dna_model))
        dna_state = {k.removeprefix("esm."): v for k, v in groups["dna"].items() if k.startswith("esm.")}
        missing, _ = encoder.load_state_dict(dna_state, strict=False)
        if missing:
            raise ValueError(f"NT-v2 weights do not fit {dna_model}: missing {missing[:5]}.")
        projection = groups["projection"]
        tokenizer = AutoTokenizer.from_pretrained(text_model)
        model, processor = build_bioreason(lm, encoder, tokenizer=tokenizer)
    linear = model.model.dna_projector.linear_1
    if set(projection) != {"weight", "bias"} or projection["weight"].shape != linear.weight.shape:
        raise ValueError(f"dna_projection must hold weight {tuple(linear.weight.shape)} and bias; got "
                         f"{ {k: tuple(v.shape) for k, v in projection.items()} }.")
    linear.load_state_dict(projection)
    _keep_only_our_auto_map(model.config)
    logger.info("Converted %s", checkpoint)
    return model, processor


def _keep_only_our_auto_map(config) -> None:
    """
    Drop `auto_map` entries that came with the converted parts (an LM folder's or NT-v2's own remote code): the saved
    folder must point its Auto classes at this package's files only, never run a checkpoint's foreign code.
    """
    ours = ("configuration_bioreason.", "modeling_bioreason.", "processing_bioreason.",
            "configuration_nucleotide_transformer.", "modeling_nucleotide_transformer.",
            "tokenization_nucleotide_transformer.")
    for sub_config in (config.text_config, config.dna_config):
        if getattr(sub_config, "auto_map", None):
            logger.warning("Dropping the auto_map %s of the converted %s config (foreign remote code).",
                           sub_config.auto_map, sub_config.model_type)
            sub_config.auto_map = None
            del sub_config.auto_map
    auto_map = getattr(config, "auto_map", None) or {}
    kept = {key: value for key, value in auto_map.items()
            if all(str(v).split("--")[-1].startswith(ours) for v in (value if isinstance(value, (list, tuple))
                                                                         else [value]) if v)}
    if kept != auto_map:
        logger.warning("Dropping foreign auto_map entries %s.", {k: v for k, v in auto_map.items() if k not in kept})
    if auto_map:
        config.auto_map = kept
