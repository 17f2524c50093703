"""Convert trained BioReason-architecture checkpoints (the original code's, and bio-posttrain's) into this package's
Hub format.

    bioreason convert --checkpoint mims-harvard/bio-posttrain-qwen3-1.7b-dna-sft --dna-model evo2-1b-base \
        --output bio-posttrain-sft           # a merged-LM folder + dna_projection.pt (Evo 2 at blocks.20.mlp.l3)
    bioreason convert --checkpoint runs_old/kegg-hf --dna-model InstaDeepAI/nucleotide-transformer-v2-500m-multi-species \
        --output converted/                  # the original code's HF export, an NT-v2 run
    bioreason convert --checkpoint last.ckpt/checkpoint/mp_rank_00_model_states.pt --text-model Qwen/Qwen3-4B \
        --dna-model InstaDeepAI/nucleotide-transformer-v2-500m-multi-species --output converted/

Inputs (key layouts: shared/reference/bioreason/checkpoint_layouts.md):
* **Merged-LM folder** (the original code's `save_ckpt_dna.py` / `save_grpo_ckpt.py` output, and the
  `mims-harvard/bio-posttrain-*-dna-*` repos): a merged causal-LM folder with BioReason's tokenizer and
  `dna_projection.pt` (`{weight, bias}`), as a local folder or a Hub id (resolved through `huggingface_hub`).
* **State-dict file**: a Lightning + DeepSpeed `mp_rank_00_model_states.pt` (`"module"`), a Lightning DDP `.ckpt`
  (`"state_dict"`) or a GRPO `pytorch_model.bin`. Keys `[model.]text_model.[base_model.model.]...` (LoRA
  `lora_A`/`lora_B` merged as W + B @ A * alpha / r), `[model.]dna_model.<wrapper>.*` (NT-v2 runs; Evo 2 runs store
  none: the original code held Evo 2 as a plain object), `[model.]dna_projection.*`; aliases that repeat a tensor are
  dropped. `--text-model` gives the LM's config and tokenizer.

The DNA encoder is `--dna-model` (a folder or Hub id any `build_bioreason` takes: InstaDeep's NT-v2 as published, an
Evo 2 folder from `bioreason convert-evo2`); a state dict's own `dna_model.*` weights, when it has them, replace its
weights. `--dna-feature-layer` is the tap the run read (default: the encoder's, `blocks.20.mlp.l3` on Evo 2-1B, as
bio-posttrain and the original Evo 2 runs). Tensors saved in bf16 are up-cast to fp32. Files are read with
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch

from .build import build_bioreason, load_dna_encoder

logger = logging.getLogger(__name__)

_PREFIXES = ("_forward_module.", "model.")
_LORA = re.compile(r"^(?P<module>.+)\.lora_(?P<which>[AB])\.(?P<adapter>[^.]+)\.weight$")
PROJECTION_FILE = "dna_projection.pt"


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


def resolve_checkpoint(checkpoint: str | os.PathLike) -> tuple[Path, str | None]:
    """`(local path, Hub id or None)`: a local folder or file as given, else a Hub repo's snapshot (a merged-LM
    folder with `dna_projection.pt`)."""
    from .hub import is_hub_id
    from .sources import hub_snapshot

    path = Path(checkpoint)
    if path.exists():
        return path, None
    if not is_hub_id(str(checkpoint)):
        raise ValueError(f"Checkpoint {checkpoint} does not exist (no such folder or file), and it is not a Hub repo id "
                         "(owner/name) either.")
    return hub_snapshot(str(checkpoint)), str(checkpoint)


def _encoder_state(dna_state: dict[str, torch.Tensor], encoder, dna_model) -> dict[str, torch.Tensor]:
    """The checkpoint's encoder weights under the bare encoder's names: the original code held a masked-LM wrapper
    (`esm.*` keys for NT-v2); the wrapper prefix whose keys cover the encoder is removed."""
    wanted = set(encoder.state_dict())
    prefixes = [""] + sorted({key.split(".")[0] + "." for key in dna_state})
    best = max(({k[len(p):]: v for k, v in dna_state.items() if k.startswith(p)} for p in prefixes),
               key=lambda stripped: len(wanted & set(stripped)))
    missing = sorted(wanted - set(best))
    if missing:
        raise ValueError(
            f"The checkpoint's dna_model.* weights do not fit the DNA encoder --dna-model {dna_model} "
            f"({type(encoder).__name__}): it lacks {missing[:5]} (of {len(missing)}); the checkpoint has "
            f"{sorted(dna_state)[:3]}... Pass the encoder the run used.")
    return {key: value for key, value in best.items() if key in wanted}


def _load_projection(projection: dict, source: str, model) -> None:
    """Load `{weight, bias}` into the projector; a shape that does not fit the encoder's features at the tap or the
    LM's hidden size is an error naming both sides."""
    config = model.config
    linear = model.model.dna_projector.linear_1
    expected = {"weight": tuple(linear.weight.shape), "bias": tuple(linear.bias.shape)}
    got = {key: tuple(value.shape) for key, value in projection.items()}
    if got != expected:
        dna, text = config.dna_config, config.text_config
        raise ValueError(
            f"{source} holds {got}, but this model's projector is {expected}: the DNA encoder "
            f"({dna.model_type}, {dna.num_hidden_layers} blocks) gives {linear.in_features} features per token at "
            f"dna_feature_layer={config.dna_feature_layer!r} and the language model ({text.model_type}) has hidden "
            f"size {linear.out_features}. The checkpoint's projection maps "
            + (f"{got['weight'][1]} DNA features to {got['weight'][0]}" if len(got.get("weight", ())) == 2 else
               "something else")
            + ": pass the encoder (--dna-model) and tap (--dna-feature-layer) the run used, with its language model.")
    linear.load_state_dict({key: value.float() for key, value in projection.items()})


def convert_checkpoint(
    checkpoint: str | os.PathLike,
    dna_model: str | os.PathLike,
    text_model: str | os.PathLike | None = None,
    lora_alpha: float | None = None,
    dna_feature_layer: int | str | None = None,
):
    """(model, processor) in this package's format from a trained BioReason checkpoint (see the module docstring)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    path, repo_id = resolve_checkpoint(checkpoint)
    overrides = {} if dna_feature_layer is None else {"dna_feature_layer": dna_feature_layer}
    if path.is_dir():
        projection_file = path / PROJECTION_FILE
        if not projection_file.exists():
            raise ValueError(f"{checkpoint} is a folder without {PROJECTION_FILE}: not a merged-LM BioReason "
                             "checkpoint (the original code's HF export, bio-posttrain's repos).")
        lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(path)
        projection = load_tensors_file(projection_file)
        if not isinstance(projection, dict) or not all(isinstance(v, torch.Tensor) for v in projection.values()):
            raise ValueError(f"{projection_file} must hold the projection's state dict (weight and bias tensors).")
        model, processor = build_bioreason(lm, dna_model, tokenizer=tokenizer, **overrides)
        projection_source = f"{checkpoint}/{PROJECTION_FILE}"
    else:
        if text_model is None:
            raise ValueError("Converting a state-dict file needs --text-model (the LM's config and tokenizer).")
        groups = split_bioreason_state(_load_state(path))
        if not groups["text"]:
            raise ValueError(f"{checkpoint} has no text_model.* keys: not an original BioReason checkpoint.")
        lm = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(text_model), dtype=torch.float32)
        text_state = merge_lora(groups["text"], lora_alpha)
        if lm.config.tie_word_embeddings:
            text_state.pop("lm_head.weight", None)
        missing, unexpected = lm.load_state_dict(text_state, strict=False)
        missing = [k for k in missing if not (k == "lm_head.weight" and lm.config.tie_word_embeddings)]
        if missing or unexpected:
            raise ValueError(f"Text weights do not fit {text_model}: missing {missing[:5]}, unexpected {unexpected[:5]}.")
        encoder = load_dna_encoder(dna_model)
        if groups["dna"]:  # an NT-v2 run stored its (frozen) encoder
            encoder.load_state_dict(_encoder_state(groups["dna"], encoder, dna_model), strict=False)
        else:  # an Evo 2 run: the original code never saved the encoder
            logger.info("%s stores no dna_model.* weights: the encoder's are those of --dna-model %s.", checkpoint,
                        dna_model)
        tokenizer = AutoTokenizer.from_pretrained(text_model)
        model, processor = build_bioreason(lm, encoder, tokenizer=tokenizer, **overrides)
        projection, projection_source = groups["projection"], f"{checkpoint} (dna_projection.*)"
    _load_projection(projection, projection_source, model)
    text_origin = repo_id or (_hub_id(text_model) if not path.is_dir() else None)
    model.config.base_model_ids = [name for name in (text_origin, encoder_origin(dna_model)) if name] or None
    _keep_only_our_auto_map(model.config)
    logger.info("Converted %s", checkpoint)
    return model, processor


def _hub_id(source) -> str | None:
    from .hub import is_hub_id

    return str(source) if source is not None and is_hub_id(str(source)) else None


def _card_header(folder: Path) -> dict:
    """The YAML header of a folder's README.md (a checkpoint's or an encoder's card), {} without one."""
    from huggingface_hub import ModelCard

    readme = folder / "README.md"
    if not readme.is_file():
        return {}
    try:
        return ModelCard.load(readme).data.to_dict()
    except Exception:  # noqa: BLE001 - a card we cannot parse says nothing we can rely on
        logger.warning("Could not parse the card %s; its licence and base_model are not carried over.", readme)
        return {}


def encoder_origin(dna_model) -> str | None:
    """The Hub id the encoder's weights come from: `dna_model` itself when it is one, else the `base_model` its
    folder's card names (a `bioreason convert-evo2` folder names `arcinstitute/evo2_*`)."""
    if _hub_id(dna_model):
        return str(dna_model)
    base = _card_header(Path(dna_model)).get("base_model")
    base = base[0] if isinstance(base, list) and len(base) == 1 else base
    return base if isinstance(base, str) and _hub_id(base) else None


def save_converted(checkpoint, dna_model, output, text_model=None, lora_alpha=None, dna_feature_layer=None) -> str:
    """Convert (see `convert_checkpoint`) and save a Hub folder whose card credits the source (its repo and licence)
    and names the base models: the source's language model and the DNA encoder's weights."""
    from .hub import save_bioreason

    model, processor = convert_checkpoint(checkpoint, dna_model, text_model, lora_alpha, dna_feature_layer)
    path, repo_id = resolve_checkpoint(checkpoint)
    source_card = _card_header(path) if path.is_dir() else {}
    source_license = source_card.get("license") if isinstance(source_card.get("license"), str) else None
    encoder = encoder_origin(dna_model)
    name = f"[`{repo_id}`](https://huggingface.co/{repo_id})" if repo_id else \
        f"`{os.path.basename(os.path.abspath(str(checkpoint)))}`"
    licence = f", released under {source_license}" if source_license else ""
    folder = save_bioreason(
        model, processor, output, text_model_license=source_license,
        summary=f"Converted from the original BioReason checkpoint {name}{licence}, with `bioreason convert`: the "
                f"language model and DNA projection are that checkpoint's; the DNA encoder is "
                f"{'`' + encoder + '`' if encoder else 'the one given to the converter'}, read at "
                f"`dna_feature_layer={model.config.dna_feature_layer!r}`.",
        training=f"Trained by the authors of {name} with the original BioReason code (bowang-lab/BioReason) or its "
                 "layout; converted with `bioreason convert`. See the source's card for data and settings.")
    return folder


def _keep_only_our_auto_map(config) -> None:
    """
    Drop `auto_map` entries that came with the converted parts (an LM folder's or an encoder's own remote code): the
    saved folder must point its Auto classes at this package's files only, never run a checkpoint's foreign code.
    """
    ours = ("configuration_bioreason.", "modeling_bioreason.", "processing_bioreason.",
            "configuration_nucleotide_transformer.", "modeling_nucleotide_transformer.",
            "tokenization_nucleotide_transformer.", "configuration_evo2.", "modeling_evo2.", "tokenization_evo2.")
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
