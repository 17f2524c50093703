"""Evo 2 (StripedHyena 2, Arc Institute) in PyTorch for transformers, exact to the upstream `vortex` code's math.

Module and parameter names are the released checkpoint's keys (`embedding_layer`, `blocks.{i}.pre_norm`,
`blocks.{i}.filter.log_poles`, `blocks.{i}.inner_mha_cls.Wqkv`, `blocks.{i}.mlp.l3`, `norm`, ...), so a forward hook on
`model.get_submodule("blocks.20.mlp.l3")` reads what the upstream `Evo2(...)(ids, return_embeddings=True,
layer_names=["blocks.20.mlp.l3"])` reads: the MLP branch output before the residual add. One difference of layout:
`Wqkv` rows are stored regrouped as q | k | v (head-major inside each), the order the upstream loader produces from the
released per-head (head, q/k/v, dim) rows; `bioreason convert-evo2` regroups them.

What is reproduced is the fp32 and bf16 math of the upstream code (the same casts: the short FIRs, the medium and the
long filter computed in fp32, rotary embeddings rotated in fp32, RMSNorm with eps outside the square root), not the
FP8 (Transformer Engine) input projections of the upstream 1B run on Hopper GPUs. The long filter is built in chunks
of channels, so no (hidden x state x length) fp32 temporary larger than `LONG_FILTER_CHUNK_BYTES` exists; every
convolution longer than a few taps is an FFT (cost L log L), attention is causal SDPA (or eager / flash-attention).

This file ships to the Hub next to the weights: it imports only torch, transformers and its siblings.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutput, CausalLMOutput
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from .configuration_evo2 import Evo2Config

# Largest (channels x state x length) fp32 block built at once for the long filter (the upstream code builds the whole
# (hidden x state x length) tensor: 1 GiB per long block at 8 kb on the 1B shapes, three times over).
LONG_FILTER_CHUNK_BYTES = 32 * 2**20


class Evo2RMSNorm(nn.Module):
    """The upstream RMSNorm: `scale * x / (||x||_2 * H^-1/2 + eps)`, eps outside the square root."""

    def __init__(self, hidden_size: int, eps: float):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(hidden_size))
        self.hidden_size, self.eps = hidden_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * (x / (x.norm(2, dim=-1, keepdim=True) * self.hidden_size ** (-1.0 / 2) + self.eps))


class Evo2MLP(nn.Module):
    """Gated MLP without biases: `l3(act(l1(x)) * l2(x))`; with `evo2_style_activations` only block 0 has `act`."""

    def __init__(self, config: Evo2Config, layer_idx: int):
        super().__init__()
        self.l1 = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.l2 = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.l3 = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)
        linear_gate = config.evo2_style_activations and layer_idx > 0
        self.activation = None if linear_gate else config.mlp_activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.l1(x)
        if self.activation == "gelu":
            gate = F.gelu(gate)
        elif self.activation == "silu":
            gate = F.silu(gate)
        return self.l3(gate * self.l2(x))


def fft_causal_conv(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """
    Causal convolution `y[t] = sum_j k[j] u[t - j]` of fp32 `u` (batch, channels, L) with filters `k` (channels, Lk),
    Lk <= L, by FFT of size 2L as upstream (the filter's transform scaled by 1/2L, the inverse unnormalised).
    """
    length = u.shape[-1]
    n = 2 * length
    k_f = torch.fft.rfft(k, n=n) / n
    return torch.fft.irfft(torch.fft.rfft(u, n=n) * k_f, n=n, norm="forward")[..., :length]


class Evo2HyenaFilter(nn.Module):
    """
    The Hyena cascade of one block (`blocks.{i}.filter`): a depthwise causal FIR on the projections
    (`short_filter_weight`), a split into gates x2, x1 and value v, then `x2 * filter(x1 * v)` where the filter is
    an explicit grouped FIR (`h`; hcs: 7 taps as a direct convolution, hcm: 128 taps by FFT, truncated to L when
    shorter, with skip `D`) or the long modal filter `h[d, t] = sum_s residues[d, s] exp(log_poles[d, s] t)` by FFT,
    with skip `D`.
    """

    def __init__(self, config: Evo2Config, kind: str):
        super().__init__()
        hidden = config.hidden_size
        self.kind, self.hidden_size = kind, hidden
        self.num_heads, self.head_dim = config.num_attention_heads, config.head_dim
        self.interleave, self.column_split = config.interleave, config.column_split_hyena
        self.flip_x1x2 = config.hyena_flip_x1x2
        self.short_filter_weight = nn.Parameter(torch.empty(3 * hidden, 1, config.short_filter_length))
        self.short_filter_bias = nn.Parameter(torch.empty(3 * hidden)) if config.short_filter_bias else None
        if kind == "hcl":
            self.log_poles = nn.Parameter(torch.empty(hidden, config.state_size, 1, dtype=torch.float32))
            self.residues = nn.Parameter(torch.empty(hidden, config.state_size, dtype=torch.float32))
            self.D = nn.Parameter(torch.empty(hidden))
        else:
            length = getattr(config, f"{kind}_filter_length")
            self.groups = getattr(config, f"{kind}_filter_groups")
            self.h = nn.Parameter(torch.empty(self.groups, 1, length))
            # upstream: filters of 128 taps or more run by FFT and have a skip D; shorter ones are direct FIRs
            self.by_fft = length >= 128
            self.D = nn.Parameter(torch.empty(hidden)) if self.by_fft else None

    def long_filter(self, length: int) -> torch.Tensor:
        """The long filter (hidden, length) in fp32, built `LONG_FILTER_CHUNK_BYTES` of (channels x state x L) at a
        time (each channel's sum over modes is the upstream expression, so chunking does not change a value)."""
        t = torch.arange(length, device=self.log_poles.device)
        chunk = max(1, LONG_FILTER_CHUNK_BYTES // (4 * self.log_poles.shape[1] * length))
        differentiable = torch.is_grad_enabled() and (self.log_poles.requires_grad or self.residues.requires_grad)
        h = torch.empty(self.hidden_size, length, dtype=torch.float32, device=t.device)
        for start in range(0, self.hidden_size, chunk):
            log_poles = self.log_poles[start:start + chunk].float()
            residues = self.residues[start:start + chunk].float()
            if differentiable:
                h[start:start + chunk] = (residues[..., None] * (log_poles * t).exp()).sum(1)
            else:  # the same values, computed in place: one (chunk x state x L) buffer at a time
                modes = (log_poles * t).exp_().mul_(residues[..., None])
                torch.sum(modes, dim=1, out=h[start:start + chunk])
        return h

    def _split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.column_split:  # per head: (x2, x1, v) blocks of head_dim channels
            batch, _, length = z.shape
            z = z.reshape(batch, self.num_heads, 3 * self.head_dim, length)
            d = self.head_dim
            return tuple(part.reshape(batch, -1, length) for part in (z[:, :, :d], z[:, :, d:2 * d], z[:, :, 2 * d:]))
        return z.split(self.hidden_size, dim=1)

    def forward(self, projected: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`projected` (batch, L, 3 x hidden) -> (batch, L, hidden); `mask` (batch, L) as the upstream padding_mask."""
        length = projected.shape[1]
        x = projected.transpose(1, 2)
        dtype = x.dtype
        # The upstream code computes every filter in fp32 and casts back: never let autocast lower it.
        with torch.autocast(device_type=x.device.type, enabled=False):
            z = F.conv1d(x.float(), self.short_filter_weight.float(), padding=self.short_filter_weight.shape[-1] - 1,
                         groups=x.shape[1])[..., :length].to(dtype)
            if self.short_filter_bias is not None:
                z = z + self.short_filter_bias[None, :, None]
            if mask is not None:
                z = z * mask[:, None]
            if self.interleave:
                z = torch.cat([z[:, 0::3], z[:, 1::3], z[:, 2::3]], dim=1)
            x2, x1, v = self._split(z)
            if self.flip_x1x2:
                x1, x2 = x2, x1
            x1v = x1 * v
            if self.kind == "hcl":
                y = fft_causal_conv(x1v.float(), self.long_filter(length)).to(x1v.dtype)
                y = (y + x1v * self.D.unsqueeze(-1)) * x2
            else:
                h = self.h.repeat_interleave(self.hidden_size // self.groups, 0)
                if self.by_fft:
                    u = x1v.float()
                    y = (fft_causal_conv(u, h[:, 0, :length].float()) + u * self.D.unsqueeze(-1)).to(x1v.dtype)
                else:
                    y = F.conv1d(x1v.float(), h.float(), padding=h.shape[-1] - 1,
                                 groups=self.hidden_size)[..., :length].to(x1v.dtype)
                if mask is not None:
                    y = y * mask[:, None]
                y = x2 * y
        return y.transpose(1, 2)


class Evo2RotaryEmbedding(nn.Module):
    """Rotary frequencies (`inv_freq`, a persistent fp32 buffer loaded from the checkpoint) -> cos/sin tables."""

    def __init__(self, head_dim: int, base: float):
        super().__init__()
        self.head_dim, self.base = head_dim, float(base)
        self.register_buffer("inv_freq", self.compute_inv_freq(), persistent=True)

    def compute_inv_freq(self, device=None) -> torch.Tensor:
        exponents = torch.arange(0, self.head_dim, 2, device=device, dtype=torch.float32) / self.head_dim
        return 1.0 / (self.base**exponents)

    def forward(self, length: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        # As upstream: fp32 positions and frequencies (recomputed if the buffer was cast), tables cast to the
        # activations' dtype.
        inv_freq = self.inv_freq if self.inv_freq.dtype == torch.float32 else self.compute_inv_freq(device)
        angles = torch.outer(torch.arange(length, device=device, dtype=torch.float32), inv_freq.to(device))
        return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """GPT-NeoX half-split rotation of x (batch, L, heads, head_dim), computed in fp32 as the upstream kernel does."""
    half = x.shape[-1] // 2
    x0, x1 = x[..., :half].float(), x[..., half:].float()
    c, s = cos[None, :, None].float(), sin[None, :, None].float()
    return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).to(x.dtype)


def eager_causal_attention(module, query, key, value, attention_mask=None, scaling=None, dropout=0.0, **kwargs):
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    length = query.shape[-2]
    causal = torch.ones(length, length, dtype=torch.bool, device=query.device).triu(1)
    probs = scores.masked_fill(causal, float("-inf")).softmax(dim=-1)
    context = torch.matmul(F.dropout(probs, p=dropout, training=module.training), value)
    return context.transpose(1, 2).contiguous(), probs


class Evo2Attention(nn.Module):
    """Causal multi-head attention with rotary embeddings (`blocks.{i}.inner_mha_cls`); never bidirectional."""

    def __init__(self, config: Evo2Config, layer_idx: int):
        super().__init__()
        self.config, self.layer_idx = config, layer_idx
        self.num_heads, self.head_dim = config.num_attention_heads, config.head_dim
        self.scaling = self.head_dim**-0.5
        self.is_causal = True
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=config.qkv_proj_bias)
        self.out_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=config.mha_out_proj_bias)
        self.rotary_emb = Evo2RotaryEmbedding(self.head_dim, config.rope_theta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        q, k, v = self.Wqkv(x).view(batch, length, 3, self.num_heads, self.head_dim).unbind(2)
        cos, sin = self.rotary_emb(length, x.device, q.dtype)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        attention = eager_causal_attention
        if self.config._attn_implementation != "eager":
            attention = ALL_ATTENTION_FUNCTIONS[self.config._attn_implementation]
        # No attention mask: right padding leaves real positions unchanged under causal attention.
        context, _ = attention(self, q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), None,
                               scaling=self.scaling, dropout=0.0, is_causal=True)
        return self.out_proj(context.reshape(batch, length, hidden))


class Evo2HyenaBlock(GradientCheckpointingLayer):
    """A Hyena block: `u + out_filter_dense(filter(projections(pre_norm(u))))`, then `+ mlp(post_norm(.))`."""

    def __init__(self, config: Evo2Config, layer_idx: int):
        super().__init__()
        self.pre_norm = Evo2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_norm = Evo2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.projections = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=config.qkv_proj_bias)
        self.filter = Evo2HyenaFilter(config, config.block_types[layer_idx])
        self.out_filter_dense = nn.Linear(config.hidden_size, config.hidden_size, bias=config.hyena_out_proj_bias)
        self.mlp = Evo2MLP(config, layer_idx)

    def forward(self, hidden_states: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        z = self.projections(self.pre_norm(hidden_states))
        if mask is not None:
            z = z * mask[..., None]
        hidden_states = self.out_filter_dense(self.filter(z, mask)) + hidden_states
        if mask is not None:
            hidden_states = hidden_states * mask[..., None]
        return self.mlp(self.post_norm(hidden_states)) + hidden_states


class Evo2AttentionBlock(GradientCheckpointingLayer):
    """An attention block: `u + inner_mha_cls(pre_norm(u))`, then `+ mlp(post_norm(.))`."""

    def __init__(self, config: Evo2Config, layer_idx: int):
        super().__init__()
        self.pre_norm = Evo2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_norm = Evo2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.inner_mha_cls = Evo2Attention(config, layer_idx)
        self.mlp = Evo2MLP(config, layer_idx)

    def forward(self, hidden_states: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            hidden_states = hidden_states * mask[..., None]
        hidden_states = self.inner_mha_cls(self.pre_norm(hidden_states)) + hidden_states
        if mask is not None:
            hidden_states = hidden_states * mask[..., None]
        return self.mlp(self.post_norm(hidden_states)) + hidden_states


class Evo2PreTrainedModel(PreTrainedModel):
    config_class = Evo2Config
    config: Evo2Config
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["Evo2HyenaBlock", "Evo2AttentionBlock"]
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True
    # As in the released checkpoints (and the upstream loader): the long-filter poles and residues and the rotary
    # frequencies stay fp32 whatever dtype the rest loads in.
    _keep_in_fp32_modules_strict = ["log_poles", "residues", "inv_freq"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Random init for configs without weights: scales that keep activations O(1) through many blocks."""
        super()._init_weights(module)
        if isinstance(module, Evo2RMSNorm):
            init.ones_(module.scale)
        elif isinstance(module, Evo2RotaryEmbedding):
            init.copy_(module.inv_freq, module.compute_inv_freq(module.inv_freq.device))
        elif isinstance(module, Evo2HyenaFilter):
            init.normal_(module.short_filter_weight, std=0.5)
            if module.short_filter_bias is not None:
                init.zeros_(module.short_filter_bias)
            if module.D is not None:
                init.normal_(module.D, std=0.3)
            if module.kind == "hcl":
                # decaying modes with rates in [1e-3, 1] (trained checkpoints' poles are negative)
                rates = torch.empty_like(module.log_poles, dtype=torch.float32).uniform_(math.log(1e-3), 0.0)
                init.copy_(module.log_poles, -rates.exp())
                init.normal_(module.residues, std=0.1)
            else:
                taps = module.h.shape[-1]
                decay = torch.exp(-torch.arange(taps, dtype=torch.float32, device=module.h.device) / 32.0)
                init.copy_(module.h, torch.randn_like(module.h, dtype=torch.float32) * 0.3 * decay.to(module.h.device))


def _right_padding_mask(attention_mask: torch.Tensor | None, shape: torch.Size) -> torch.Tensor | None:
    """The mask as 0/1 rows of real-then-padding positions (None when nothing is padded); anything else is an error."""
    if attention_mask is None:
        return None
    if tuple(attention_mask.shape) != tuple(shape):
        raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)}; expected (batch, length) = "
                         f"{tuple(shape)}.")
    mask = attention_mask.bool()
    holes = (mask[:, 1:] & ~mask[:, :-1]).any(dim=1)
    if holes.any():
        row = int(holes.nonzero()[0, 0])
        raise ValueError(
            f"Evo 2 is causal and reads right-padded batches only: row {row} of attention_mask has a 0 before a 1 "
            "(left padding or a hole). Pad on the right (the Evo2Tokenizer default, padding_side='right'); right "
            "padding leaves every real position's output unchanged.")
    return None if mask.all() else mask


class Evo2Model(Evo2PreTrainedModel):
    r"""
    The Evo 2 backbone without the head. `hidden_states[0]` are the embeddings, `hidden_states[i + 1]` the output of
    block i, and `last_hidden_state` the final RMSNorm's output. `stop_after_layer=k` runs blocks 0..k only (the
    rest and the final norm are skipped; `last_hidden_state` is then block k's output).

    The MLP branch of block N (before the residual add; BioReason's `blocks.20.mlp.l3` features of the 1B model) is
    the output of the Linear `model.get_submodule(f"blocks.{N}.mlp.l3")`: read it with a forward hook.

    Batches must be right-padded (an `attention_mask` with a 0 before a 1 is an error): the model is causal everywhere,
    so padding on the right changes no real position; the mask is applied as the upstream `padding_mask`.

    Example:

    ```python
    >>> import torch
    >>> from modeling_bioreason import Evo2Config, Evo2Model
    >>> config = Evo2Config(hidden_size=32, num_attention_heads=4, intermediate_size=64,
    ...                     block_types=["hcs", "hcm", "hcl", "attn"], hcs_filter_groups=8, hcm_filter_groups=8)
    >>> model = Evo2Model(config).eval()
    >>> taps = {}
    >>> hook = model.get_submodule("blocks.2.mlp.l3").register_forward_hook(lambda m, i, o: taps.update(l3=o))
    >>> out = model(torch.tensor([list(b"ACGTNACGT")]), output_hidden_states=True, stop_after_layer=2)
    >>> len(out.hidden_states), taps["l3"].shape
    (4, torch.Size([1, 9, 32]))
    ```
    """

    def __init__(self, config: Evo2Config):
        super().__init__(config)
        self.embedding_layer = nn.Embedding(config.vocab_size, config.hidden_size)
        self.blocks = nn.ModuleList(
            (Evo2AttentionBlock if kind == "attn" else Evo2HyenaBlock)(config, index)
            for index, kind in enumerate(config.block_types))
        self.norm = Evo2RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embedding_layer

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embedding_layer = value

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        stop_after_layer: int | None = None,
        **kwargs,
    ) -> BaseModelOutput | tuple:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids and inputs_embeds.")
        output_hidden_states = (output_hidden_states if output_hidden_states is not None
                                else self.config.output_hidden_states)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        num_blocks = len(self.blocks)
        last = num_blocks - 1
        if stop_after_layer is not None:
            if not -num_blocks <= stop_after_layer < num_blocks:
                raise ValueError(f"stop_after_layer={stop_after_layer} is outside the model's {num_blocks} blocks.")
            last = stop_after_layer % num_blocks

        hidden_states = self.embedding_layer(input_ids) if inputs_embeds is None else inputs_embeds
        mask = _right_padding_mask(attention_mask, hidden_states.shape[:2])
        if mask is not None:
            mask = mask.to(hidden_states.dtype)
            hidden_states = hidden_states * mask[..., None]
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        for block in self.blocks[:last + 1]:
            hidden_states = block(hidden_states, mask)
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
        if stop_after_layer is None:
            hidden_states = self.norm(hidden_states)
        if not return_dict:
            return tuple(v for v in (hidden_states, all_hidden_states) if v is not None)
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden_states)


class Evo2ForCausalLM(Evo2PreTrainedModel, GenerationMixin):
    r"""
    Evo 2 with its unembedding tied to `model.embedding_layer` (`logits = norm(x) @ W.T`, as upstream).

    `labels` give the usual shifted next-token loss. `generate` works (greedy or sampled DNA, stopping at id 0) but
    keeps no recurrent state: each new token reruns the whole prefix, so it is meant for short continuations; batches
    must be right-padded and of equal length (the model refuses a mask with holes). `logits_to_keep=k` returns the
    last k positions' logits only.

    Example:

    ```python
    >>> import torch
    >>> from modeling_bioreason import Evo2Config, Evo2ForCausalLM
    >>> config = Evo2Config(hidden_size=32, num_attention_heads=4, intermediate_size=64,
    ...                     block_types=["hcs", "hcm", "hcl", "attn"], hcs_filter_groups=8, hcm_filter_groups=8)
    >>> model = Evo2ForCausalLM(config).eval()
    >>> model(torch.tensor([list(b"ACGT")])).logits.shape
    torch.Size([1, 4, 512])
    ```
    """

    _tied_weights_keys = {"lm_head.weight": "model.embedding_layer.weight"}

    def __init__(self, config: Evo2Config):
        super().__init__(config)
        self.model = Evo2Model(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embedding_layer

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.model.embedding_layer = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head = new_embeddings

    def save_pretrained(self, save_directory, *args, **kwargs):
        if self._auto_class is not None:  # the folder also serves AutoModel(..., trust_remote_code=True)
            auto_map = dict(getattr(self.config, "auto_map", None) or {})
            auto_map["AutoModel"] = f"{type(self).__module__.split('.')[-1]}.Evo2Model"
            self.config.auto_map = auto_map
        return super().save_pretrained(save_directory, *args, **kwargs)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int = 0,
        **kwargs,
    ) -> CausalLMOutput | tuple:
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                             output_hidden_states=output_hidden_states, return_dict=True)
        hidden_states = outputs.last_hidden_state
        if logits_to_keep:
            hidden_states = hidden_states[:, -logits_to_keep:]
        logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            loss = self.loss_function(logits, labels, vocab_size=self.config.vocab_size, **kwargs)
        if not return_dict:
            return tuple(v for v in (loss, logits, outputs.hidden_states) if v is not None)
        return CausalLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)

    # Generation: no cache. Every step feeds the whole sequence (a cache would make generate feed only the new token).
    @classmethod
    def _supports_default_dynamic_cache(cls) -> bool:
        return False

    def prepare_inputs_for_generation(self, input_ids, attention_mask=None, inputs_embeds=None, **kwargs):
        if inputs_embeds is not None:
            raise ValueError("Evo2ForCausalLM.generate takes input_ids, not inputs_embeds.")
        return {"input_ids": input_ids, "attention_mask": attention_mask}


__all__ = ["Evo2PreTrainedModel", "Evo2Model", "Evo2ForCausalLM"]
