"""Configuration of the Nucleotide Transformer v2 DNA encoder (InstaDeep, NT-v2).

This file ships to the Hub next to the BioReason weights: it imports only transformers and its siblings.
"""

from typing import ClassVar

from transformers import PreTrainedConfig


class NucleotideTransformerConfig(PreTrainedConfig):
    r"""
    Configuration of an NT-v2 encoder (pre-LayerNorm transformer, rotary attention, SwiGLU feed-forward).

    The defaults are those of `InstaDeepAI/nucleotide-transformer-v2-500m-multi-species`, the encoder BioReason
    uses. A published NT-v2 `config.json` (which has no `model_type` and an `auto_map` to the upstream remote code)
    loads directly with `NucleotideTransformerConfig.from_pretrained(folder)`; upstream keys that the architecture does
    not use (`is_folding_model`, `esmfold_config`, `vocab_list`, `auto_map`, ...) are kept as plain attributes.

    Example:

    ```python
    >>> from modeling_bioreason import NucleotideTransformerConfig, NucleotideTransformerModel
    >>> config = NucleotideTransformerConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
    ...                                      intermediate_size=256)
    >>> model = NucleotideTransformerModel(config)
    >>> model.config.head_dim
    16
    ```
    """

    model_type = "nucleotide_transformer"

    # What BioReason reads about this encoder (the protocol is documented in configuration_bioreason.py).
    # The tokenizer must turn this DNA into these ids (6-mers from the left in InstaDeep's vocabulary order, single
    # bases around `N`) and may add only these around it: `<cls>` first (BioReason's main branch; its vllm-grpo
    # branch adds nothing).
    tokenizer_probe: ClassVar[tuple[str, tuple[int, ...]]] = ("ACGTACGTACGTN", (728, 3379, 4106))
    tokenizer_special_ids: ClassVar[tuple[int, ...]] = (3,)
    tokenizer_description: ClassVar[str] = (
        "the NT-v2 6-mer tokenizer (NucleotideTransformerTokenizer: 6-mers from the left, <cls> first)"
    )
    # The ModuleList of blocks: a named tap `encoder.layer.{i}.<...>` lives in block i.
    layers_module: ClassVar[str] = "encoder.layer"
    # `hidden_states[-1]` is `last_hidden_state` (the final LayerNorm's output), transformers' convention.
    last_hidden_state_in_hidden_states: ClassVar[bool] = True

    vocab_size: int = 4107
    hidden_size: int = 1024
    num_hidden_layers: int = 29
    num_attention_heads: int = 16
    intermediate_size: int = 4096
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 2050
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    position_embedding_type: str = "rotary"
    rope_theta: float = 10000.0
    emb_layer_norm_before: bool = False
    token_dropout: bool = False
    add_bias_fnn: bool = False
    mask_token_id: int = 2
    pad_token_id: int | None = 1
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        # Upstream's EsmConfig class defaults (absolute positions, FFN biases, 1026 positions) differ from every
        # published NT-v2 config.json; we default to the published values and refuse what we do not implement.
        if self.position_embedding_type != "rotary":
            raise ValueError(
                f"position_embedding_type={self.position_embedding_type!r} is not supported: this encoder implements "
                "NT-v2 (rotary). NT-v1 checkpoints (absolute positions) are not supported."
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})."
            )
        if self.emb_layer_norm_before is None:
            self.emb_layer_norm_before = False

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def default_feature_layer(self) -> int:
        """BioReason's default tap on NT-v2: the final LayerNorm output."""
        return -1

    @staticmethod
    def encoder_model_class() -> type:
        """The bare encoder this config builds (what `AutoModel` maps it to; named here for sealed remote code)."""
        from .modeling_nucleotide_transformer import NucleotideTransformerModel

        return NucleotideTransformerModel


__all__ = ["NucleotideTransformerConfig"]
