"""Nucleotide Transformer v2 (NT-v2) in PyTorch, written for transformers 5.

The upstream Hub remote code for `InstaDeepAI/nucleotide-transformer-v2-*` does not import under transformers 5, so
this package carries its own implementation of the same architecture. Module and parameter names reproduce the
published state-dict keys (`esm.*`, `lm_head.*`), so the published `model.safetensors` files load unchanged:

    NucleotideTransformerModel.from_pretrained("path/to/nucleotide-transformer-v2-500m-multi-species")

Keys the forward never reads are accepted and ignored: the absolute position table (NT-v2 is rotary), the rotary
`inv_freq` buffers (recomputed here, bit-identical) and the unused ESM contact head.

This file ships to the Hub next to the BioReason weights: it imports only torch, transformers and its siblings.
"""

import torch
from torch import nn
from torch.nn import functional as F

from transformers import PreTrainedModel
from transformers.masking_utils import create_bidirectional_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutput, MaskedLMOutput

from .configuration_nucleotide_transformer import NucleotideTransformerConfig

# Checkpoint keys that the forward does not use (see the module docstring).
_UNUSED_CHECKPOINT_KEYS = [
    r"embeddings\.position_embeddings\.weight",
    r"rotary_embeddings\.inv_freq",
    r"contact_head\.",
    r"embeddings\.position_ids",
]


def rotary_tables(seq_len: int, head_dim: int, base: float, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables of NT-v2's half-split (GPT-NeoX layout) rotary embedding for positions 0..seq_len-1."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim))
    positions = torch.arange(seq_len, device=device, dtype=inv_freq.dtype)
    angles = torch.outer(positions, inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos()[None, None].to(dtype), angles.sin()[None, None].to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class NucleotideTransformerEmbeddings(nn.Module):
    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.layer_norm = (
            nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps) if config.emb_layer_norm_before else None
        )
        self.token_dropout = config.token_dropout
        self.mask_token_id = config.mask_token_id

    def forward(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor) -> torch.Tensor:
        embeddings = self.word_embeddings(input_ids)
        if self.token_dropout:
            # ESM's inference-time rescaling for models trained with masked-token dropout (15% masking x 80% <mask>).
            is_mask = (input_ids == self.mask_token_id).unsqueeze(-1)
            embeddings = embeddings.masked_fill(is_mask, 0.0)
            observed = is_mask.squeeze(-1).sum(-1).float() / attention_mask.sum(-1).clamp(min=1)
            embeddings = (embeddings * (1 - 0.15 * 0.8) / (1 - observed)[:, None, None]).to(embeddings.dtype)
        if self.layer_norm is not None:
            embeddings = self.layer_norm(embeddings)
        # Padded positions enter the encoder as zeros.
        return embeddings * attention_mask.unsqueeze(-1).to(embeddings.dtype)


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = scores.softmax(dim=-1)
    context = torch.matmul(F.dropout(probs, p=dropout, training=module.training), value)
    return context.transpose(1, 2).contiguous(), probs


class NucleotideTransformerSelfAttention(nn.Module):
    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.config = config
        self.is_causal = False  # a bidirectional encoder: sdpa must not infer causal masking
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = config.attention_probs_dropout_prob

    def forward(self, hidden_states, attention_mask, rotary):
        batch, seq_len, _ = hidden_states.shape
        shape = (batch, seq_len, self.num_heads, self.head_dim)
        # NT-v2 scales the query before the rotary embedding (upstream order; equal up to rounding).
        query = self.query(hidden_states).view(shape).transpose(1, 2) * self.head_dim**-0.5
        key = self.key(hidden_states).view(shape).transpose(1, 2)
        value = self.value(hidden_states).view(shape).transpose(1, 2)
        cos, sin = rotary
        query = query * cos + rotate_half(query) * sin
        key = key * cos + rotate_half(key) * sin

        attention_interface = eager_attention_forward
        if self.config._attn_implementation != "eager":
            attention_interface = ALL_ATTENTION_FUNCTIONS[self.config._attn_implementation]
        context, probs = attention_interface(
            self, query, key, value, attention_mask, scaling=1.0,
            dropout=self.dropout if self.training else 0.0,
        )
        return context.reshape(batch, seq_len, -1), probs


class NucleotideTransformerSelfOutput(nn.Module):
    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, context, residual):
        return residual + self.dropout(self.dense(context))


class NucleotideTransformerAttention(nn.Module):
    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self = NucleotideTransformerSelfAttention(config)
        self.output = NucleotideTransformerSelfOutput(config)

    def forward(self, hidden_states, attention_bias, rotary):
        context, probs = self.self(self.LayerNorm(hidden_states), attention_bias, rotary)
        return self.output(context, hidden_states), probs


class NucleotideTransformerIntermediate(nn.Module):
    """SwiGLU: one projection to 2 x intermediate_size; the first half is the SiLU gate."""

    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=config.add_bias_fnn)

    def forward(self, hidden_states):
        gate, linear = self.dense(hidden_states).chunk(2, dim=-1)
        return F.silu(gate) * linear


class NucleotideTransformerOutput(nn.Module):
    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size, bias=config.add_bias_fnn)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, residual):
        return residual + self.dropout(self.dense(hidden_states))


class NucleotideTransformerLayer(GradientCheckpointingLayer):
    """Pre-LayerNorm block: x + Attn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.attention = NucleotideTransformerAttention(config)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = NucleotideTransformerIntermediate(config)
        self.output = NucleotideTransformerOutput(config)

    def forward(self, hidden_states, attention_bias, rotary):
        hidden_states, probs = self.attention(hidden_states, attention_bias, rotary)
        hidden_states = self.output(self.intermediate(self.LayerNorm(hidden_states)), hidden_states)
        return hidden_states, probs


class NucleotideTransformerEncoder(nn.Module):
    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.layer = nn.ModuleList(NucleotideTransformerLayer(config) for _ in range(config.num_hidden_layers))
        self.emb_layer_norm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)


class NucleotideTransformerPreTrainedModel(PreTrainedModel):
    config_class = NucleotideTransformerConfig
    config: NucleotideTransformerConfig
    base_model_prefix = "esm"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["NucleotideTransformerLayer"]
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _keys_to_ignore_on_load_unexpected = _UNUSED_CHECKPOINT_KEYS


class NucleotideTransformerModel(NucleotideTransformerPreTrainedModel):
    r"""
    The bare NT-v2 encoder. `last_hidden_state` is the output of the final LayerNorm (`emb_layer_norm_after`),
    which is also `hidden_states[-1]`; `hidden_states[0]` are the (pad-zeroed) embeddings and `hidden_states[i]`
    the raw output of block i-1, exactly as in the upstream code.

    Example:

    ```python
    >>> import torch
    >>> from modeling_bioreason import NucleotideTransformerConfig, NucleotideTransformerModel
    >>> config = NucleotideTransformerConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
    ...                                      intermediate_size=256)
    >>> encoder = NucleotideTransformerModel(config).eval()
    >>> ids = torch.tensor([[3, 369, 369, 1]])
    >>> encoder(ids, attention_mask=torch.tensor([[1, 1, 1, 0]])).last_hidden_state.shape
    torch.Size([1, 4, 64])
    ```
    """

    # A masked-LM checkpoint carries the MLM head; the bare encoder does not use it.
    _keys_to_ignore_on_load_unexpected = _UNUSED_CHECKPOINT_KEYS + [r"^lm_head\."]

    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__(config)
        self.embeddings = NucleotideTransformerEmbeddings(config)
        self.encoder = NucleotideTransformerEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        stop_after_layer: int | None = None,
        **kwargs,
    ) -> BaseModelOutput:
        r"""
        stop_after_layer (`int`, *optional*):
            Run only blocks `0..stop_after_layer` (for a feature read inside the stack): `hidden_states` ends with that
            block's output, which is also `last_hidden_state` (the final LayerNorm runs only after the last block).
        """
        num_layers = self.config.num_hidden_layers
        if stop_after_layer is not None and not 0 <= stop_after_layer < num_layers:
            raise ValueError(f"stop_after_layer={stop_after_layer} must index a block (0..{num_layers - 1}).")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden_states = self.embeddings(input_ids, attention_mask)
        dtype = hidden_states.dtype
        # Keys are masked, queries are not (padded rows stay finite, as upstream), in the form the configured
        # attention backend takes (additive for eager, boolean or none for sdpa, a BlockMask for flex).
        attention_bias = create_bidirectional_mask(self.config, hidden_states, attention_mask)
        rotary = rotary_tables(
            input_ids.shape[1], self.config.head_dim, self.config.rope_theta, input_ids.device, dtype
        )

        all_hidden_states = () if output_hidden_states else None
        all_attentions = () if output_attentions else None
        last = num_layers - 1 if stop_after_layer is None else stop_after_layer
        for layer in self.encoder.layer[: last + 1]:
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
            hidden_states, probs = layer(hidden_states, attention_bias, rotary)
            if output_attentions:
                all_attentions += (probs,)
        if last == num_layers - 1:
            hidden_states = self.encoder.emb_layer_norm_after(hidden_states)
        if output_hidden_states:
            all_hidden_states += (hidden_states,)
        return BaseModelOutput(
            last_hidden_state=hidden_states, hidden_states=all_hidden_states, attentions=all_attentions
        )


class NucleotideTransformerLMHead(nn.Module):
    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states):
        hidden_states = self.layer_norm(F.gelu(self.dense(hidden_states)))  # exact (erf) GELU
        return self.decoder(hidden_states) + self.bias


class NucleotideTransformerForMaskedLM(NucleotideTransformerPreTrainedModel):
    r"""
    NT-v2 with its masked-language-model head (`lm_head`, not tied to the input embeddings).

    Example:

    ```python
    >>> import torch
    >>> from modeling_bioreason import NucleotideTransformerConfig, NucleotideTransformerForMaskedLM
    >>> config = NucleotideTransformerConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
    ...                                      intermediate_size=256)
    >>> NucleotideTransformerForMaskedLM(config)(torch.tensor([[3, 369, 2]])).logits.shape
    torch.Size([1, 3, 4107])
    ```
    """

    def __init__(self, config: NucleotideTransformerConfig):
        super().__init__(config)
        self.esm = NucleotideTransformerModel(config)
        self.lm_head = NucleotideTransformerLMHead(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.esm.get_input_embeddings()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        **kwargs,
    ) -> MaskedLMOutput:
        outputs = self.esm(
            input_ids,
            attention_mask=attention_mask,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
        )
        logits = self.lm_head(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), labels.view(-1), ignore_index=-100)
        return MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


__all__ = [
    "NucleotideTransformerPreTrainedModel",
    "NucleotideTransformerModel",
    "NucleotideTransformerForMaskedLM",
]
