"""Configuration of BioReason (arXiv 2505.23579): a DNA encoder whose token embeddings are projected into a causal LM.

This file ships to the Hub next to the weights: it imports only transformers and its siblings.
"""

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .configuration_nucleotide_transformer import NucleotideTransformerConfig

PROJECTOR_TYPES = ("linear", "mlp2x_gelu")


class BioReasonConfig(PreTrainedConfig):
    r"""
    Configuration of [`BioReasonForConditionalGeneration`].

    Args:
        text_config: config of the causal LM (Qwen3 is the reference; Llama / SmolLM2 work too). Default: Qwen3.
        dna_config: config of the NT-v2 DNA encoder. Default: NT-v2 500M.
        dna_token_id: id of `<|dna_pad|>`, the placeholder that DNA features replace (151670 with Qwen3).
        dna_start_token_id / dna_end_token_id: ids of `<|dna_start|>` / `<|dna_end|>` (151669 / 151671 with Qwen3).
        dna_feature_layer: index into the encoder's `hidden_states` fed to the projector. Default -1, the final
            LayerNorm output, which is what BioReason uses.
        projector_type: `"linear"` (the paper) or `"mlp2x_gelu"` (Linear-GELU-Linear).
        freeze_dna_encoder: the encoder runs without gradients (BioReason keeps it frozen).
        tie_word_embeddings: defaults to `text_config.tie_word_embeddings`.
        base_model_ids: Hub ids of the language model and DNA encoder this model was built from (recorded by
            `build_bioreason`; the model card's `base_model`).

    Example:

    ```python
    >>> from transformers import Qwen3Config
    >>> from modeling_bioreason import BioReasonConfig, NucleotideTransformerConfig
    >>> text = Qwen3Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    ...                    num_key_value_heads=2, head_dim=16, vocab_size=512)
    >>> dna = NucleotideTransformerConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
    ...                                   intermediate_size=128)
    >>> config = BioReasonConfig(text_config=text, dna_config=dna, dna_token_id=510, dna_start_token_id=509,
    ...                          dna_end_token_id=511)
    >>> config.text_config.model_type, config.dna_config.hidden_size
    ('qwen3', 32)
    ```
    """

    model_type = "bioreason"
    # Multimodal tooling (e.g. TRL's GRPO, which suppresses sampling of the placeholder) reads `image_token_id`.
    attribute_map = {"image_token_id": "dna_token_id"}
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen3"),
        "dna_config": SubConfigSpec(config_class=NucleotideTransformerConfig),
    }

    text_config: dict | PreTrainedConfig | None = None
    dna_config: dict | PreTrainedConfig | None = None
    dna_token_id: int = 151670
    dna_start_token_id: int = 151669
    dna_end_token_id: int = 151671
    dna_feature_layer: int = -1
    projector_type: str = "linear"
    freeze_dna_encoder: bool = True
    tie_word_embeddings: bool | None = None
    base_model_ids: list[str] | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.tie_word_embeddings is None:
            self.tie_word_embeddings = bool(getattr(self.text_config, "tie_word_embeddings", False))
        if self.projector_type not in PROJECTOR_TYPES:
            raise ValueError(f"projector_type={self.projector_type!r}; expected one of {PROJECTOR_TYPES}.")
        num_states = self.dna_config.num_hidden_layers + 1
        if not -num_states <= self.dna_feature_layer < num_states:
            raise ValueError(
                f"dna_feature_layer={self.dna_feature_layer} is out of range for a DNA encoder with "
                f"{self.dna_config.num_hidden_layers} layers ({num_states} hidden states)."
            )
        vocab_size = self.text_config.vocab_size
        for name in ("dna_token_id", "dna_start_token_id", "dna_end_token_id"):
            token_id = getattr(self, name)
            if not 0 <= token_id < vocab_size:
                raise ValueError(f"{name}={token_id} is outside the text model's vocabulary (vocab_size={vocab_size}).")


__all__ = ["BioReasonConfig"]
