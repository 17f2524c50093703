"""The DNA encoders this package ships, each with its package-side facts: a tiny random one for smoke runs (the
`random-<name>:<hidden>x<layers>` model specs of recipes), its tokenizer for a folder, how to recognise its published
checkpoints, and whose weights a pretrained one carries (the model card's licence, credits and text).

What a saved BioReason folder needs without this package (the tokenizer probe, the tap layout, the default tap) lives on
each encoder's config class instead; `configuration_bioreason.py` lists those facts. A new encoder adds one
`DNAEncoderKind` to `DNA_ENCODERS` (and its config class to `configuration_bioreason.DNA_ENCODER_CONFIGS`).

>>> encoder_kind("nucleotide_transformer").spec_name
'nt-v2'
>>> random_dna_encoder("random-nt-v2:32x2").config.num_hidden_layers
2
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from .configuration_nucleotide_transformer import NucleotideTransformerConfig

RANDOM_SPEC = re.compile(r"^random-(?P<name>[a-z0-9][a-z0-9-]*?)(?::(?P<hidden>\d+)x(?P<layers>\d+))?$")


@dataclass(frozen=True)
class DNAEncoderKind:
    """One DNA encoder this package ships, keyed by its config's `model_type`."""

    config_class: type
    spec_name: str  # recipes name a tiny random one `random-<spec_name>:<hidden>x<layers>`
    random_config: Callable[[int, int], object]  # (hidden, layers) -> a small config of this architecture
    random_sizes: tuple[Callable[[int, int], bool], str]  # which (hidden, layers) it builds, and that rule in words
    tokenizer: Callable[[str | None], object]  # the tokenizer for an encoder folder / Hub id (None: the published one)
    name: str  # the architecture, for cards and logs
    short_name: str
    weights_by: str  # who published the pretrained weights
    license: str  # their Hub licence id
    license_name: str
    license_terms: str  # what that licence asks, in words
    hub_ids: tuple[str, ...]  # `owner/name` prefixes of the published checkpoints
    tokens_per_sequence: str  # the card's "DNA tokens per sequence"
    recognizes: Callable[[dict], bool] = lambda config: False  # a published config.json without our model_type

    @property
    def model_type(self) -> str:
        return self.config_class.model_type

    def publishes(self, hub_id: str) -> bool:
        """Whether `hub_id` is one of this kind's published checkpoints."""
        return any(str(hub_id).lower().startswith(prefix.lower()) for prefix in self.hub_ids)


def _nt_v2_tokenizer(source: str | None):
    from .tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

    # The published folders hold an EsmTokenizer vocab.txt in InstaDeep's order; our tokenizer reads it (the published
    # class splits a sequence only at spaces). Without one, the published vocabulary is generated.
    vocab = os.path.join(source, "vocab.txt") if source else None
    return NucleotideTransformerTokenizer(vocab_file=vocab if vocab and os.path.isfile(vocab) else None)


def _is_published_nt_v2(config: dict) -> bool:
    """InstaDeep's NT-v2 config.json: ESM remote code, no model_type, rotary positions."""
    maps_esm = "esm" in json.dumps(config.get("auto_map") or {}).lower() or "EsmForMaskedLM" in (
        config.get("architectures") or [])
    return not config.get("model_type") and maps_esm and config.get("position_embedding_type") == "rotary"


NT_V2 = DNAEncoderKind(
    config_class=NucleotideTransformerConfig,
    spec_name="nt-v2",
    random_config=lambda hidden, layers: NucleotideTransformerConfig(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=4 * hidden),
    random_sizes=(lambda hidden, layers: hidden >= 8 and hidden % 8 == 0 and layers >= 1,
                  "hidden a positive multiple of 8 (4 heads of an even size) and at least 1 layer"),
    tokenizer=_nt_v2_tokenizer,
    name="Nucleotide Transformer v2",
    short_name="NT-v2",
    weights_by="InstaDeep",
    license="cc-by-nc-sa-4.0",
    license_name="CC BY-NC-SA 4.0",
    license_terms="non-commercial use, attribution, share-alike",
    hub_ids=("InstaDeepAI/nucleotide-transformer",),
    tokens_per_sequence="one per NT-v2 token (a 6-mer, or a single base next to `N` or at the end), plus `<cls>`",
    recognizes=_is_published_nt_v2,
)

DNA_ENCODERS: dict[str, DNAEncoderKind] = {kind.model_type: kind for kind in (NT_V2,)}


def encoder_kind(model_type: str) -> DNAEncoderKind:
    """The shipped encoder whose config has `model_type`; an error lists the known ones."""
    if model_type not in DNA_ENCODERS:
        raise ValueError(f"Unknown DNA encoder model_type {model_type!r}; this package ships {sorted(DNA_ENCODERS)}.")
    return DNA_ENCODERS[model_type]


def encoder_kind_of_hub_id(hub_id: str) -> DNAEncoderKind | None:
    """The kind whose published checkpoints include `hub_id`, else None."""
    return next((kind for kind in DNA_ENCODERS.values() if kind.publishes(hub_id)), None)


def encoder_kind_of_config(config: dict) -> DNAEncoderKind | None:
    """The kind of an encoder `config.json` (as a dict): by `model_type`, or a published layout a kind recognises."""
    if config.get("model_type") in DNA_ENCODERS:
        return DNA_ENCODERS[config["model_type"]]
    return next((kind for kind in DNA_ENCODERS.values() if kind.recognizes(config)), None)


def random_dna_spec(spec: str) -> tuple[DNAEncoderKind, int, int] | None:
    """
    `(kind, hidden, layers)` of a `random-<spec_name>[:<hidden>x<layers>]` spec (default 64x2); None for a spec that
    does not start with `random-` (a folder or Hub id). A spec that names no buildable encoder is an error naming it.

    >>> random_dna_spec("random-nt-v2:32x2")[1:]
    (32, 2)
    """
    if not spec.startswith("random-"):
        return None
    kinds = {kind.spec_name: kind for kind in DNA_ENCODERS.values()}
    match, name = RANDOM_SPEC.match(spec), spec.removeprefix("random-").split(":")[0]
    if name not in kinds:
        raise ValueError(f"{spec!r} names no random DNA encoder: expected random-<kind>[:<hidden>x<layers>] with kind "
                         f"one of {sorted(kinds)}, e.g. random-nt-v2:64x2.")
    kind = kinds[name]
    hidden, layers = (int(match["hidden"]), int(match["layers"])) if match and match["hidden"] else (64, 2)
    builds, rule = kind.random_sizes
    if match is None or not builds(hidden, layers):
        raise ValueError(f"{spec!r}: a random {kind.short_name} is `random-{name}:<hidden>x<layers>` with {rule}, "
                         f"e.g. random-{name}:64x2.")
    return kind, hidden, layers


def random_dna_encoder(spec: str):
    """A randomly initialised encoder for a `random-<spec_name>[:<hidden>x<layers>]` spec (see `random_dna_spec`);
    None for a folder or Hub id."""
    from .modeling_bioreason import dna_encoder_from_config

    parsed = random_dna_spec(spec)
    if parsed is None:
        return None
    kind, hidden, layers = parsed
    return dna_encoder_from_config(kind.random_config(hidden, layers))


__all__ = ["DNAEncoderKind", "DNA_ENCODERS", "encoder_kind", "encoder_kind_of_config", "encoder_kind_of_hub_id",
           "random_dna_encoder", "random_dna_spec"]
