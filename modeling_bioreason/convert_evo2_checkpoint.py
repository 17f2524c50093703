"""Convert a released Evo 2 checkpoint (the upstream `vortex` layout) into a transformers Hub folder.

    bioreason convert-evo2 --checkpoint arcinstitute/evo2_1b_base --config evo2-1b-8k.yml --without-fp8 \
        --output evo2-1b-base

Inputs:
* `--checkpoint`: the released `.pt` (one `torch.save`d flat state dict, read with `torch.load(weights_only=True)`;
  the FP8 `_extra_state` entries, `io.BytesIO` values, are dropped), the `.pt.part0`, `.pt.part1`, ... shards of the
  large models (joined in order), or a `.safetensors` with the same keys; or a Hub repo id, resolved through
  `huggingface_hub` (`<name>.pt`, its `.partN` shards, or the repo's single `.safetensors`).
* `--config`: the upstream model config, YAML as shipped in the `evo2` package (`evo2/configs/evo2-1b-8k.yml`) or JSON
  with its keys; or a Hub repo id (its `config.json`). See `Evo2Config.from_upstream` for what is refused.

The output folder holds `config.json` (with `auto_map`), `model.safetensors`, the tokenizer files, the Hub files
(`configuration_evo2.py`, `modeling_evo2.py`, `tokenization_evo2.py`) and a model card (`license: apache-2.0`,
`base_model`). Attention `Wqkv` rows are regrouped from the stored per-head (head, q/k/v, dim) order into q | k | v,
exactly as the upstream loader does. Wrong or missing keys and wrong shapes are an error listing them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import re
import tempfile
from pathlib import Path

import torch

from .configuration_evo2 import Evo2Config
from .hub import is_hub_id
from .modeling_evo2 import Evo2ForCausalLM, Evo2Model
from .sources import hub_snapshot
from .tokenization_evo2 import Evo2Tokenizer

logger = logging.getLogger(__name__)

KEEP_FP32 = tuple(Evo2Model._keep_in_fp32_modules_strict)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _parts_of(path: Path) -> list[Path]:
    """`X.pt.part0`, `X.pt.part1`, ... in order, for `X.pt` or `X.pt.partK`."""
    base = re.sub(r"\.part\d+$", "", path.name)
    parts, index = [], 0
    while (path.parent / f"{base}.part{index}").exists():
        parts.append(path.parent / f"{base}.part{index}")
        index += 1
    return parts


def resolve_checkpoint(source: str | os.PathLike) -> list[Path]:
    """The checkpoint file, or its `.partN` shards in order, for a local path or a Hub repo id."""
    path = Path(source)
    if path.is_file() and not re.search(r"\.part\d+$", path.name):
        return [path]
    if _parts_of(path):
        return _parts_of(path)
    if path.exists():
        raise ValueError(f"{source} is not a checkpoint file (.pt, .pt.partN or .safetensors).")
    if not is_hub_id(source):
        raise ValueError(f"{source}: no such checkpoint file, and not a Hub repo id (owner/name).")
    name = str(source).split("/")[-1]
    snapshot = hub_snapshot(str(source), [f"{name}.pt", f"{name}.pt.part*", "*.safetensors"])
    if (snapshot / f"{name}.pt").is_file():
        return [snapshot / f"{name}.pt"]
    if _parts_of(snapshot / f"{name}.pt"):
        return _parts_of(snapshot / f"{name}.pt")
    tensors = sorted(snapshot.glob("*.safetensors"))
    if len(tensors) == 1:
        return tensors
    raise ValueError(f"The Hub repo {source} has no {name}.pt, no {name}.pt.partN shards and not exactly one "
                     f".safetensors file (found {sorted(p.name for p in snapshot.iterdir())}).")


def read_upstream_config(source: str | os.PathLike) -> dict:
    """The upstream config dict from a YAML/JSON file or a Hub repo id (its `config.json`)."""
    path = Path(source)
    if not path.is_file():
        if not is_hub_id(source):
            raise ValueError(f"{source}: no such config file (YAML or JSON), and not a Hub repo id (owner/name).")
        path = hub_snapshot(str(source), ["config.json"]) / "config.json"
        if not path.is_file():
            raise ValueError(f"The Hub repo {source} has no config.json.")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yml", ".yaml"):
        import yaml

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{path} is not valid YAML: {error}") from error
    else:
        try:
            config = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise ValueError(f"{path} does not hold a mapping of config keys.")
    return config


def read_upstream_state_dict(files: list[Path], workdir: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Tensors of a released checkpoint (one file or its shards, joined in order), `_extra_state` entries dropped."""
    if files[0].suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(files[0])
        except Exception as error:  # safetensors' own error type is not a ValueError
            raise ValueError(f"{files[0]} is not a readable .safetensors file ({error}).") from error
    else:
        joined = None
        if len(files) > 1:  # shards are byte slices of one torch.save file
            handle = tempfile.NamedTemporaryFile(dir=workdir, suffix=".pt", delete=False)
            with handle:
                for part in files:
                    with open(part, "rb") as source:
                        while chunk := source.read(64 * 2**20):
                            handle.write(chunk)
            joined = Path(handle.name)
        try:
            # FP8 checkpoints keep Transformer Engine metadata as io.BytesIO values (`*._extra_state`)
            with torch.serialization.safe_globals([io.BytesIO]):
                try:
                    state = torch.load(joined or files[0], map_location="cpu", weights_only=True, mmap=True)
                except RuntimeError as error:  # a legacy (non-zip) torch.save file cannot be memory-mapped
                    if "mmap" not in str(error):
                        raise
                    state = torch.load(joined or files[0], map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
            raise ValueError(f"{files[0]} is not a checkpoint torch.load can read with weights_only=True "
                             f"({' '.join(str(error).split())[:300]}).") from error
        finally:
            if joined is not None:
                joined.unlink()
    if not isinstance(state, dict):
        raise ValueError(f"{files[0]} does not hold a flat state dict.")
    state = {k: v for k, v in state.items() if not k.endswith("._extra_state")}
    not_tensors = sorted(k for k, v in state.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise ValueError(f"{files[0]} holds entries that are not tensors: {not_tensors[:10]}.")
    return state


def native_state_dict(state: dict[str, torch.Tensor], config: Evo2Config) -> dict[str, torch.Tensor]:
    """
    The upstream state dict as `Evo2Model` weights: keys checked against the config (missing, unexpected and
    wrongly shaped keys are an error listing them) and `Wqkv` (weight and bias) regrouped from per-head
    (head, q/k/v, dim) rows into q | k | v.
    """
    with torch.device("meta"):
        expected = Evo2Model(config).state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(f"{k}: {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
                    if k in state and tuple(state[k].shape) != tuple(v.shape))
    if missing or unexpected or shapes:
        problems = [f"missing {missing[:12]}{' ...' if len(missing) > 12 else ''} ({len(missing)})" if missing else "",
                    f"unexpected {unexpected[:12]}{' ...' if len(unexpected) > 12 else ''} ({len(unexpected)})"
                    if unexpected else "", f"wrong shapes {shapes[:12]}" if shapes else ""]
        raise ValueError("The checkpoint does not fit its config: " + "; ".join(p for p in problems if p) + ".")
    heads, head_dim = config.num_attention_heads, config.head_dim
    native = dict(state)
    for index in config.attn_layer_idxs:
        for name in ("weight", "bias"):
            key = f"blocks.{index}.inner_mha_cls.Wqkv.{name}"
            if key in native:
                tensor = native[key]
                rows = tensor.reshape(heads, 3, head_dim, *tensor.shape[1:])
                native[key] = rows.transpose(0, 1).reshape(tensor.shape).contiguous()
    return native


def load_upstream(checkpoint, config, without_fp8: bool = False, dtype: str = "auto") -> Evo2ForCausalLM:
    """
    An `Evo2ForCausalLM` with the weights of a released checkpoint (see the module docstring for the inputs).

    `dtype`: `auto` keeps the checkpoint's dtype (that of `embedding_layer.weight`), or `float32` / `bfloat16` /
    `float16`; the long-filter poles and residues and the rotary frequencies stay fp32 in every case.
    """
    upstream = config if isinstance(config, dict) else read_upstream_config(config)
    evo2_config = Evo2Config.from_upstream(upstream, without_fp8=without_fp8)
    files = resolve_checkpoint(checkpoint)
    state = native_state_dict(read_upstream_state_dict(files), evo2_config)
    if dtype != "auto" and dtype not in DTYPES:
        raise ValueError(f"dtype must be auto, {', '.join(DTYPES)}; got {dtype!r}.")
    target = state["embedding_layer.weight"].dtype if dtype == "auto" else DTYPES[dtype]
    state = {k: v.to(torch.float32 if k.endswith(KEEP_FP32) else target) if v.is_floating_point() else v
             for k, v in state.items()}
    evo2_config.dtype = target
    with torch.device("meta"):
        model = Evo2ForCausalLM(evo2_config)
    model.model.load_state_dict(state, strict=True, assign=True)
    model.tie_weights()
    return model.eval()


CARD = """---
{metadata}
---

# {title}

Evo 2 ({upstream}) as a native transformers model: `Evo2ForCausalLM` (byte-level DNA language model) and
`Evo2Model` (the backbone), with `Evo2Tokenizer` (one token per UTF-8 byte). Converted with `bioreason convert-evo2`
from {source}. No upstream code (`evo2`, `vtx`) is needed to run it.

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

model = AutoModelForCausalLM.from_pretrained("{repo_id}", trust_remote_code=True, dtype="auto")
tokenizer = AutoTokenizer.from_pretrained("{repo_id}", trust_remote_code=True)
out = model(**tokenizer(["ACGTACGT"], return_tensors="pt"), output_hidden_states=True)
# the MLP branch of block N (before the residual add): a forward hook on model.model.get_submodule("blocks.N.mlp.l3")
```

## What is exact

The fp32 and bf16 math of the upstream StripedHyena 2 code (`vtx` 1.1.0 / `evo2` 0.6.0): the same RMSNorm (eps
outside the square root), short, medium and long filters computed in fp32, rotary embeddings rotated in fp32, causal
attention. `from_pretrained(..., dtype=torch.bfloat16)` keeps the long-filter poles and residues and the rotary
frequencies in fp32, as the released checkpoints do. Not reproduced: the FP8 (Transformer Engine) input projections
that the upstream 1B config enables on Hopper GPUs; this folder computes them in the loaded dtype
(`use_fp8_input_projections: false`), which is what checkpoints trained downstream with FP8 off expect.

## Licence

Apache-2.0, the licence of the upstream Evo 2 weights and code{license_note}.
"""


def write_card(folder: Path, base_model: str | None, source: str, upstream_name: str | None) -> None:
    from huggingface_hub import ModelCardData

    data = ModelCardData(license="apache-2.0", library_name="transformers", base_model=base_model,
                         pipeline_tag="text-generation",
                         tags=["evo2", "stripedhyena", "dna", "genomics", "biology", "custom_code"])
    note = "" if base_model else " (the weights' origin was not given: check the licence of the checkpoint you used)"
    text = CARD.format(metadata=data.to_yaml(), title=f"Evo 2 ({base_model})" if base_model else "Evo 2",
                       upstream=upstream_name or "StripedHyena 2", source=f"`{source}`",
                       repo_id=base_model or "path/to/this/folder", license_note=note)
    (folder / "README.md").write_text(text, encoding="utf-8")


def convert_evo2(checkpoint, config, output: str | os.PathLike, without_fp8: bool = False, dtype: str = "auto",
                 base_model: str | None = None) -> Path:
    """Convert and save a Hub folder (see the module docstring); returns the folder. `base_model` (for the card)
    defaults to the checkpoint's Hub id when it was given as one."""
    model = load_upstream(checkpoint, config, without_fp8=without_fp8, dtype=dtype)
    if base_model is None and is_hub_id(checkpoint):
        base_model = str(checkpoint)
    output = Path(output)
    model.save_pretrained(output)
    Evo2Tokenizer().save_pretrained(output)
    write_card(output, base_model, str(checkpoint), model.config.upstream_model_name)
    logger.info("Converted %s -> %s", checkpoint, output)
    return output
