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
>>> random_dna_encoder("random-evo2:32x4").config.block_types
['hcs', 'hcm', 'hcl', 'attn']
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from .configuration_evo2 import BLOCK_TYPES as EVO2_BLOCK_TYPES
from .configuration_evo2 import Evo2Config
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
    dna_tokens: int  # BioReason's DNA tokens per sequence with this encoder (the paper's max_length_dna)
    recognizes: Callable[[dict], bool] = lambda config: False  # a published config.json without our model_type
    convert_hint: str = ""  # how to turn a published checkpoint that is no transformers folder into one

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
    dna_tokens=1024,
    recognizes=_is_published_nt_v2,
)

EVO2_DNA_TOKENS = 2048  # the paper's Evo 2 runs (max_length_dna 2048): a 2,048-bp window


def _evo2_tokenizer(source: str | None):
    from .tokenization_evo2 import Evo2Tokenizer

    # A byte tokenizer: nothing to read from the encoder folder. Its model_max_length is BioReason's budget with Evo 2,
    # so a processor holding it refuses (or truncates, as asked) longer windows.
    return Evo2Tokenizer(model_max_length=EVO2_DNA_TOKENS)


def _random_evo2_config(hidden: int, layers: int) -> Evo2Config:
    """A small Evo 2 with every block type, in the 1B model's cycle (hcs, hcm, hcl, attn, ...), 4 heads."""
    multiple = 16  # the upstream GLU rule (8/3 x hidden, rounded up), at a small multiple
    return Evo2Config(
        hidden_size=hidden, num_attention_heads=4, intermediate_size=multiple * -(-8 * hidden // (3 * multiple)),
        block_types=[EVO2_BLOCK_TYPES[i % len(EVO2_BLOCK_TYPES)] for i in range(layers)],
        hcs_filter_groups=hidden // 4, hcm_filter_groups=hidden // 4)


EVO2 = DNAEncoderKind(
    config_class=Evo2Config,
    spec_name="evo2",
    random_config=_random_evo2_config,
    random_sizes=(lambda hidden, layers: hidden >= 8 and hidden % 8 == 0 and layers >= 1,
                  "hidden a positive multiple of 8 (4 heads of an even size) and at least 1 block (blocks cycle "
                  "hcs, hcm, hcl, attn)"),
    tokenizer=_evo2_tokenizer,
    name="Evo 2",
    short_name="Evo 2",
    weights_by="Arc Institute",
    license="apache-2.0",
    license_name="Apache-2.0",
    license_terms="permissive, with attribution and the licence notice",
    hub_ids=("arcinstitute/evo2",),
    tokens_per_sequence=f"one per base (byte-level, nothing added): a {EVO2_DNA_TOKENS:,}-bp window is "
                        f"{EVO2_DNA_TOKENS:,} placeholders, at most {EVO2_DNA_TOKENS:,} per sequence by default",
    dna_tokens=EVO2_DNA_TOKENS,
    convert_hint="the released Evo 2 checkpoints are upstream `.pt` files, not transformers folders: convert one "
                 "first, e.g. `bioreason convert-evo2 --checkpoint arcinstitute/evo2_1b_base --config "
                 "evo2-1b-8k.yml --without-fp8 --output evo2-1b-base`, and pass that folder",
)

DNA_ENCODERS: dict[str, DNAEncoderKind] = {kind.model_type: kind for kind in (NT_V2, EVO2)}


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
