"""Saving Hub-format BioReason folders with a filled-in model card.

The card template is `hub_cards/model_card.md` in the repository, installed as the `bioreason_hub_cards` package
data so that an installed package can render it too.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from typing import Any

import jinja2

DEFAULT_CARD = {
    "license": "apache-2.0",
    "base_models": [],
    "datasets": [],
    "repo_id": "path/to/this/folder",
    "summary": "A BioReason model.",
    "training": "Not documented for this checkpoint.",
    "evaluation": "Not evaluated yet.",
    "limitations": [],
}


def card_template() -> str:
    """The model card template (Jinja) from `hub_cards/model_card.md`."""
    return importlib.resources.files("bioreason_hub_cards").joinpath("model_card.md").read_text(encoding="utf-8")


def describe_model(model) -> dict[str, str]:
    """Architecture lines of the card, read from the model's config."""
    config = model.config
    text, dna = config.text_config, config.dna_config
    return {
        "dna_encoder": (
            f"Nucleotide Transformer v2 ({dna.num_hidden_layers} layers, hidden {dna.hidden_size}), frozen"
            if config.freeze_dna_encoder else f"Nucleotide Transformer v2 ({dna.num_hidden_layers} layers)"
        ),
        "projector": f"{config.projector_type} ({dna.hidden_size} → {text.hidden_size}), encoder layer "
        f"{config.dna_feature_layer}",
        "text_model": f"{text.model_type} ({text.num_hidden_layers} layers, hidden {text.hidden_size}, "
        f"vocab {text.vocab_size})",
    }


def render_model_card(model, **metadata: Any) -> str:
    """Render the model card for `model`; `metadata` fills `summary`, `training`, `evaluation`, `base_models`..."""
    values = {**DEFAULT_CARD, **describe_model(model), **metadata}
    values.setdefault("model_name", "BioReason")
    return jinja2.Template(card_template(), keep_trailing_newline=True).render(**values)


def save_bioreason(model, processor, folder: str | os.PathLike, **card_metadata: Any) -> str:
    """Save model, processor and a filled-in `README.md` model card into a Hub-format folder; returns the folder."""
    folder = os.fspath(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    card_metadata.setdefault("model_name", os.path.basename(os.path.abspath(folder)))
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(render_model_card(model, **card_metadata))
    with open(os.path.join(folder, "bioreason_card.json"), "w", encoding="utf-8") as handle:
        json.dump(card_metadata, handle, indent=2, default=str)
    return folder
