"""Configuration of the Nucleotide Transformer v2 DNA encoder (InstaDeep, NT-v2).

This file ships to the Hub next to the BioReason weights: it imports only transformers and its siblings.
"""

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


__all__ = ["NucleotideTransformerConfig"]
