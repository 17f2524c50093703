"""Configuration of BioReason (arXiv 2505.23579): a DNA encoder whose token embeddings are projected into a causal LM.

The DNA encoder is one slot: `dna_config` is any DNA-encoder config that AutoConfig knows (resolved by its
`model_type`; NT-v2 by default). What BioReason needs to know about an encoder lives on the encoder's config class:

* `tokenizer_probe` — `(dna, ids)`: the ids its tokenizer gives `dna` (the processor checks it), and
  `tokenizer_special_ids` — the only ids it may add around a sequence;
* `tokenizer_description` — that tokenizer in words, for error messages;
* `layers_module` — the name of its ModuleList of blocks, so a named tap `"<layers_module>.{i}...."` lives in block i;
* `last_hidden_state_in_hidden_states` — whether `hidden_states[-1]` is `last_hidden_state`;
* `default_feature_layer()` — BioReason's default tap for an encoder of this size;
* `encoder_model_class()` — the bare encoder class (what AutoModel maps the config to).

and its model's `forward` takes `stop_after_layer=k` (run blocks 0..k only).

This file ships to the Hub next to the weights: it imports only transformers and its siblings.
"""

import re

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .configuration_evo2 import Evo2Config
from .configuration_nucleotide_transformer import NucleotideTransformerConfig

PROJECTOR_TYPES = ("linear", "mlp2x_gelu")
# The encoder configs shipped beside this file. AutoConfig resolves `dna_config` by model_type; these serve where it
# does not know the type: a folder loaded as remote code without this package, where AutoConfig has transformers' own
# types only. A new encoder adds its config class here.
DNA_ENCODER_CONFIGS = {config.model_type: config for config in (NucleotideTransformerConfig, Evo2Config)}
_MODULE_PATH = re.compile(r"^[A-Za-z_]\w*(\.\w+)*$")


def dna_encoder_config_class(model_type: str) -> type:
    """The config class of the DNA encoder `model_type`: AutoConfig's, else the one shipped beside this file."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type in CONFIG_MAPPING:
        return CONFIG_MAPPING[model_type]
    if model_type in DNA_ENCODER_CONFIGS:
        return DNA_ENCODER_CONFIGS[model_type]
    raise ValueError(
        f"Unknown DNA encoder model_type {model_type!r} in dna_config; this code knows {sorted(DNA_ENCODER_CONFIGS)} "
        "(and any type registered with AutoConfig)."
    )


class DNAEncoderConfigSpec(SubConfigSpec):
    """`dna_config` by model_type through AutoConfig, falling back to the encoder configs shipped beside this file."""

    def get_config_class(self, model_type: str | None = None):
        return dna_encoder_config_class(model_type)


def feature_layer_block(config: PreTrainedConfig, layer: int | str) -> int | None:
    """
    The block a tap reads (the encoder must run blocks 0..that one), or None when it needs the whole encoder:
    an int indexes `hidden_states` (0 = embeddings, i = the output of block i-1); a name in `<layers_module>.{i}`
    lives in block i; any other name (e.g. the final norm) needs every block.
    """
    num_layers = config.num_hidden_layers
    if isinstance(layer, int):
        index = layer % (num_layers + 1)
        return None if index == num_layers else max(index - 1, 0)
    prefix = f"{getattr(config, 'layers_module', None)}."
    if layer.startswith(prefix):
        return int(layer[len(prefix):].split(".")[0])
    return None


class BioReasonConfig(PreTrainedConfig):
    r"""
    Configuration of [`BioReasonForConditionalGeneration`].

    Args:
        text_config: config of the causal LM (Qwen3 is the reference; Llama / SmolLM2 work too). Default: Qwen3.
        dna_config: config of the DNA encoder: any encoder config AutoConfig knows (by `model_type`), e.g. NT-v2
            (`NucleotideTransformerConfig`) or Evo 2 (`Evo2Config`). Default: NT-v2 500M.
        dna_token_id: id of `<|dna_pad|>`, the placeholder that DNA features replace (151670 with Qwen3).
        dna_start_token_id / dna_end_token_id: ids of `<|dna_start|>` / `<|dna_end|>` (151669 / 151671 with Qwen3).
        dna_feature_layer: the encoder features fed to the projector (the tap). An int indexes the encoder's
            `hidden_states` (0 = embeddings; -1 = the last); a str names an encoder output site, a submodule whose
            output is the feature (e.g. `"encoder.layer.20.output.dense"` on NT-v2, the FFN branch of block 20;
            `"blocks.20.mlp.l3"` on Evo 2). The encoder runs only as deep as the tap needs. Default: the encoder's
            own default (what BioReason uses): `-1`, the final LayerNorm output, on NT-v2; `"blocks.20.mlp.l3"` on an
            Evo 2 with more than 20 blocks (Evo 2-1B), else its last block's `mlp.l3`.
        projector_type: `"linear"` (the paper) or `"mlp2x_gelu"` (Linear-GELU-Linear).
        freeze_dna_encoder: the encoder runs without gradients (BioReason keeps it frozen).
        dna_encoder_pretrained: the encoder's weights come from a pretrained checkpoint (`False`: initialised at
            random here, e.g. the tiny example models; the model card then claims nobody's encoder weights).
        tie_word_embeddings: defaults to `text_config.tie_word_embeddings`.
        base_model_ids: Hub ids of the language model and DNA encoder this model was built from (recorded by
            `build_bioreason`; the model card's `base_model`).

    Example:

    ```python
    >>> from transformers import Qwen3Config
    >>> from modeling_bioreason import BioReasonConfig, NucleotideTransformerConfig
    >>> text = Qwen3Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    ...                    num_key_value_heads=2, head_dim=16, vocab_size=512)
    >>> dna = NucleotideTransformerConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...                                   intermediate_size=128)
    >>> config = BioReasonConfig(text_config=text, dna_config=dna, dna_token_id=510, dna_start_token_id=509,
    ...                          dna_end_token_id=511, dna_feature_layer="encoder.layer.0.output")
    >>> config.text_config.model_type, config.dna_config.hidden_size, config.dna_feature_layer
    ('qwen3', 32, 'encoder.layer.0.output')
    ```
    """

    model_type = "bioreason"
    # Multimodal tooling (e.g. TRL's GRPO, which suppresses sampling of the placeholder) reads `image_token_id`.
    attribute_map = {"image_token_id": "dna_token_id"}
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen3"),
        "dna_config": DNAEncoderConfigSpec(config_class=AutoConfig, model_type=NucleotideTransformerConfig.model_type),
    }

    text_config: dict | PreTrainedConfig | None = None
    dna_config: dict | PreTrainedConfig | None = None
    dna_token_id: int = 151670
    dna_start_token_id: int = 151669
    dna_end_token_id: int = 151671
    dna_feature_layer: int | str | None = None
    projector_type: str = "linear"
    freeze_dna_encoder: bool = True
    dna_encoder_pretrained: bool = True
    tie_word_embeddings: bool | None = None
    base_model_ids: list[str] | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.tie_word_embeddings is None:
            self.tie_word_embeddings = bool(getattr(self.text_config, "tie_word_embeddings", False))
        if self.projector_type not in PROJECTOR_TYPES:
            raise ValueError(f"projector_type={self.projector_type!r}; expected one of {PROJECTOR_TYPES}.")
        if self.dna_feature_layer is None:
            self.dna_feature_layer = default_feature_layer(self.dna_config)
        check_feature_layer(self.dna_config, self.dna_feature_layer)
        vocab_size = self.text_config.vocab_size
        for name in ("dna_token_id", "dna_start_token_id", "dna_end_token_id"):
            token_id = getattr(self, name)
            if not 0 <= token_id < vocab_size:
                raise ValueError(f"{name}={token_id} is outside the text model's vocabulary (vocab_size={vocab_size}).")


def default_feature_layer(dna_config: PreTrainedConfig) -> int | str:
    """The tap BioReason reads by default from this encoder (its config's `default_feature_layer()`, else -1)."""
    default = getattr(dna_config, "default_feature_layer", None)
    return default() if default is not None else -1


def check_feature_layer(dna_config: PreTrainedConfig, layer) -> None:
    """Refuse a tap that cannot exist on this encoder, naming it and the valid ones (what can be checked without the
    encoder's modules; the model checks that a named site exists)."""
    dna = dna_config
    num_layers = dna.num_hidden_layers
    if isinstance(layer, bool) or not isinstance(layer, (int, str)):
        raise ValueError(f"dna_feature_layer={layer!r} must be an int (a hidden_states index) or a str (an "
                         "encoder module name).")
    if isinstance(layer, int):
        if not -(num_layers + 1) <= layer <= num_layers:
            raise ValueError(
                f"dna_feature_layer={layer} is out of range for a DNA encoder with {num_layers} layers "
                f"({num_layers + 1} hidden states)."
            )
        return
    prefix = getattr(dna, "layers_module", None)
    example = f"{prefix}.{num_layers - 1}" if prefix else "a submodule name"
    if not _MODULE_PATH.match(layer):
        raise ValueError(f"dna_feature_layer={layer!r} is not a module name (dotted, e.g. {example!r}).")
    if prefix and layer.startswith(f"{prefix}."):
        index = layer[len(prefix) + 1:].split(".")[0]
        if not index.isdigit() or int(index) >= num_layers:
            raise ValueError(
                f"dna_feature_layer={layer!r} names block {index} of a {dna.model_type} encoder with {num_layers} "
                f"blocks ({prefix}.0 .. {prefix}.{num_layers - 1}), e.g. {example!r}."
            )


__all__ = ["BioReasonConfig", "DNA_ENCODER_CONFIGS"]
