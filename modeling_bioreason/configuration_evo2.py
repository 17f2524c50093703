"""Configuration of Evo 2 (Arc Institute's StripedHyena 2 DNA language model) as a transformers model.

`Evo2Config.from_upstream(dict)` reads the keys of the upstream model configs (the YAML files shipped in the `evo2`
package, e.g. `evo2-1b-8k.yml`, or JSON with the same keys): every upstream key is either mapped onto a field here
(`UPSTREAM_RENAMES`, the one place where names change), checked against what this implementation computes, or known
to be a kernel/runtime switch that does not change the math. Options that would change the math and are not
implemented are refused with an error naming the key.

This file ships to the Hub next to the weights: it imports only transformers and the standard library.
"""

from typing import ClassVar

from transformers import PreTrainedConfig

BLOCK_TYPES = ("hcs", "hcm", "hcl", "attn")  # short / medium / long Hyena cascade, multi-head attention
# BioReason and bio-posttrain read Evo 2-1B at the MLP branch of block 20 (of 25), before its residual add.
BIOREASON_TAP_BLOCK = 20
# The released evo2_1b_base block order (its config's hcs/hcm/hcl/attn_layer_idxs).
EVO2_1B_BLOCK_TYPES = ["hcs", "hcm", "hcl", "attn"] + ["hcs", "hcm", "hcl"] * 2 + ["attn"] + ["hcs", "hcm", "hcl"] * 2 \
    + ["attn"] + ["hcs", "hcm", "hcl"] * 2 + ["attn"]

# Upstream key -> field of Evo2Config (every other kept key has the upstream name).
UPSTREAM_RENAMES = {
    "num_layers": "num_hidden_layers",
    "inner_mlp_size": "intermediate_size",
    "eps": "rms_norm_eps",
    "rotary_emb_base": "rope_theta",
    "tie_embeddings": "tie_word_embeddings",
    "max_seqlen": "max_position_embeddings",
    "model_name": "upstream_model_name",
}
UPSTREAM_LAYER_LISTS = {"hcs": "hcs_layer_idxs", "hcm": "hcm_layer_idxs", "hcl": "hcl_layer_idxs",
                        "attn": "attn_layer_idxs"}
# Keys the upstream code reads without a usable default: a config must have them.
UPSTREAM_REQUIRED = (
    "vocab_size", "hidden_size", "num_filters", "num_layers", "num_attention_heads", "attn_layer_idxs",
    "hcl_layer_idxs", "hcm_layer_idxs", "hcs_layer_idxs", "hcm_filter_length", "hcm_filter_groups",
    "hcs_filter_length", "hcs_filter_groups", "short_filter_length", "state_size", "eps", "qkv_proj_bias",
    "tie_embeddings",
)
# Keys with the default the upstream code uses when they are absent.
UPSTREAM_DEFAULTS = {
    "rotary_emb_base": 1000000, "mha_out_proj_bias": True, "hyena_out_proj_bias": False, "short_filter_bias": False,
    "hyena_flip_x1x2": False, "interleave": False, "column_split_hyena": True, "column_split": True,
    "evo2_style_activations": False, "mlp_activation": "gelu", "inner_size_multiple_of": 64,
    "model_parallel_size": 1, "final_norm": True, "max_seqlen": 8192, "model_name": None,
}
# Upstream options that would change the math and are not implemented here: key -> (value this model computes, why).
UPSTREAM_FIXED = {
    "use_fp8_input_projections": (False, "FP8 input projections (Transformer Engine on Hopper GPUs) are not "
                                         "reproduced; convert with FP8 off (`bioreason convert-evo2 --without-fp8`, "
                                         "`without_fp8=True`) to compute them in the loaded dtype"),
    "use_interpolated_rotary_pos_emb": (False, "interpolated (scaled) rotary embeddings of the long-context variants "
                                               "are not implemented"),
    "proj_groups": (1, "grouped (GQA) attention projections are not implemented"),
    "smeared_gqa": (False, "grouped (GQA) attention projections are not implemented"),
    "column_split": (True, "the released checkpoints store Wqkv per head (head, q/k/v, dim), which the converter "
                           "regroups; other Wqkv layouts are not implemented"),
    "final_norm": (True, "the upstream forward always applies the final norm"),
    "tie_embeddings": (True, "an untied unembedding is not implemented"),
    "use_flash_rmsnorm": (False, "flash-attention's RMSNorm (eps inside the square root) is a different norm"),
    "use_flash_depthwise": (False, "the flashfftconv depthwise path is not implemented"),
    "long_fir_threshold": (None, "truncating the long filter to a FIR is not implemented"),
    "model_parallel_size": (1, "model-parallel checkpoints are not implemented"),
    "tokenizer_type": ("CharLevelTokenizer", "only the byte-level CharLevelTokenizer is implemented"),
    "process_group": (None, "model-parallel checkpoints are not implemented"),
}
# Kernel, runtime and bookkeeping switches that do not change the math (or that the upstream code does not read).
UPSTREAM_IGNORED = frozenset({
    "make_vocab_size_divisible_by", "mlp_init_method", "mlp_output_init_method", "log_intermediate_values",
    "hyena_filter_groups", "hcl_filter_groups", "pipe_parallel_size", "max_batch_size", "use_flash_attn",
    "use_flashfft", "use_laughing_hyena", "inference_mode", "prefill_style", "print_activations", "attn_block_dtype",
    "hyena_block_dtype", "mlp_dtype", "use_hcs_kernel", "use_hcm_kernel", "use_hcl_kernel", "compile", "low_mem_mode",
    "ground_truth_activations_path", "rotary_emb_scaling_factor", "depthwise_dtype", "params_dtype", "padding_idx",
    "seqlen", "cgcg_bwd_autotune", "cgcg_fused_bwd", "use_fp8_linears", "inner_size_multiple_of",
})


class Evo2Config(PreTrainedConfig):
    r"""
    Configuration of [`Evo2Model`] / [`Evo2ForCausalLM`]: StripedHyena 2 blocks (Hyena cascades with short, medium
    and long filters, and rotary multi-head attention), each followed by a gated MLP. Defaults: `evo2_1b_base`.

    Args:
        vocab_size: embedding rows (512; the tokenizer uses ids 0-255, one per UTF-8 byte).
        hidden_size, num_attention_heads, intermediate_size: widths (1B: 1920, 15 heads, GLU inner 5120).
        block_types: the kind of each block, one of `"hcs"` (short explicit filter), `"hcm"` (medium explicit
            filter), `"hcl"` (long implicit modal filter) or `"attn"`; `num_hidden_layers` is its length. Without
            it, the 1B model's order cut to `num_hidden_layers` blocks (default 25).
        hcs_filter_length / hcs_filter_groups, hcm_filter_length / hcm_filter_groups: explicit filter taps and
            the number of distinct filters (each shared by `hidden_size / groups` channels).
        short_filter_length: taps of the depthwise FIR on the input projections (3).
        state_size: modes per channel of the long filter (16).
        rms_norm_eps: the upstream RMSNorm's eps, added *outside* the square root.
        rope_theta: rotary base; the rotary frequencies themselves are loaded from the checkpoint (fp32).
        qkv_proj_bias: bias on the attention `Wqkv` and on the Hyena input `projections`.
        mha_out_proj_bias / hyena_out_proj_bias / short_filter_bias: the other upstream bias switches.
        interleave, column_split_hyena, hyena_flip_x1x2: how the 3 x hidden projected channels are split into the
            two gates and the value (upstream names and meaning).
        evo2_style_activations: only block 0's MLP applies `mlp_activation` (GELU); later gates are linear.
        use_fp8_input_projections: always False; recorded because the released 1B config turns FP8 on and this
            model does not reproduce FP8 numerics.
        upstream_model_name: the upstream config's `model_name`, for provenance.

    Example:

    ```python
    >>> from modeling_bioreason import Evo2Config
    >>> config = Evo2Config(hidden_size=32, num_attention_heads=4, intermediate_size=64,
    ...                     block_types=["hcs", "hcm", "hcl", "attn"], hcs_filter_groups=8, hcm_filter_groups=8)
    >>> config.num_hidden_layers, config.attn_layer_idxs, config.head_dim
    (4, [3], 8)
    >>> Evo2Config(use_fp8_input_projections=True)
    Traceback (most recent call last):
    ...
    ValueError: use_fp8_input_projections=True is not supported: FP8 input projections ...
    ```
    """

    model_type = "evo2"

    # What BioReason reads about this encoder (the protocol is documented in configuration_bioreason.py).
    # One token per byte, ids as upstream (`N` is its own byte), nothing added around a sequence: a 2,048-bp window is
    # 2,048 DNA placeholders.
    tokenizer_probe: ClassVar[tuple[str, tuple[int, ...]]] = ("ACGTN", (65, 67, 71, 84, 78))
    tokenizer_special_ids: ClassVar[tuple[int, ...]] = ()
    tokenizer_description: ClassVar[str] = (
        "the Evo 2 byte tokenizer (Evo2Tokenizer: one token per base, nothing added)"
    )
    # The ModuleList of blocks: a named tap `blocks.{i}.<...>` (e.g. `blocks.20.mlp.l3`) lives in block i.
    layers_module: ClassVar[str] = "blocks"
    # `hidden_states[-1]` is the last block's output; `last_hidden_state` is the final RMSNorm's.
    last_hidden_state_in_hidden_states: ClassVar[bool] = False

    vocab_size: int = 512
    hidden_size: int = 1920
    num_hidden_layers: int | None = None
    num_attention_heads: int = 15
    intermediate_size: int = 5120
    block_types: list[str] | None = None
    hcs_filter_length: int = 7
    hcs_filter_groups: int = 128
    hcm_filter_length: int = 128
    hcm_filter_groups: int = 128
    short_filter_length: int = 3
    state_size: int = 16
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    qkv_proj_bias: bool = False
    mha_out_proj_bias: bool = True
    hyena_out_proj_bias: bool = True
    short_filter_bias: bool = False
    interleave: bool = True
    column_split_hyena: bool = False
    hyena_flip_x1x2: bool = False
    evo2_style_activations: bool = True
    mlp_activation: str = "gelu"
    max_position_embeddings: int = 8192
    use_fp8_input_projections: bool = False
    upstream_model_name: str | None = None
    initializer_range: float = 0.02
    tie_word_embeddings: bool = True
    pad_token_id: int | None = 1
    eos_token_id: int | None = 0
    bos_token_id: int | None = None

    def __post_init__(self, **kwargs):
        upstream_keys = sorted(set(kwargs) & (set(UPSTREAM_RENAMES) | set(UPSTREAM_LAYER_LISTS.values())))
        if upstream_keys:  # never silently build a default-shaped model from an upstream config
            raise ValueError(f"{upstream_keys} are upstream (vortex) config keys: build the config with "
                             "Evo2Config.from_upstream(upstream_dict), or convert with `bioreason convert-evo2`.")
        super().__post_init__(**kwargs)
        if self.block_types is None:  # the 1B model's order, cut (or cycled) to num_hidden_layers blocks
            count = self.num_hidden_layers or len(EVO2_1B_BLOCK_TYPES)
            self.block_types = (EVO2_1B_BLOCK_TYPES * (count // len(EVO2_1B_BLOCK_TYPES) + 1))[:count]
        self.block_types = list(self.block_types)
        unknown = sorted({kind for kind in self.block_types if kind not in BLOCK_TYPES})
        if unknown:
            raise ValueError(f"block_types holds {unknown}; each block is one of {BLOCK_TYPES}.")
        if self.num_hidden_layers is None:
            self.num_hidden_layers = len(self.block_types)
        if self.num_hidden_layers != len(self.block_types):
            raise ValueError(f"num_hidden_layers={self.num_hidden_layers} but block_types names "
                             f"{len(self.block_types)} blocks.")
        if self.use_fp8_input_projections:
            raise ValueError(f"use_fp8_input_projections=True is not supported: "
                             f"{UPSTREAM_FIXED['use_fp8_input_projections'][1]}.")
        if self.hidden_size % self.num_attention_heads or (self.hidden_size // self.num_attention_heads) % 2:
            raise ValueError(f"hidden_size ({self.hidden_size}) must split into num_attention_heads "
                             f"({self.num_attention_heads}) heads of even size (rotary embeddings).")
        for kind in ("hcs", "hcm"):
            groups = getattr(self, f"{kind}_filter_groups")
            if kind in self.block_types and (groups < 1 or self.hidden_size % groups):
                raise ValueError(f"{kind}_filter_groups ({groups}) must divide hidden_size ({self.hidden_size}).")
        if self.mlp_activation not in ("gelu", "silu"):
            raise ValueError(f"mlp_activation={self.mlp_activation!r}; the upstream code knows 'gelu' and 'silu'.")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def _indices(self, kind: str) -> list[int]:
        return [i for i, block in enumerate(self.block_types) if block == kind]

    @property
    def attn_layer_idxs(self) -> list[int]:
        return self._indices("attn")

    @property
    def hcl_layer_idxs(self) -> list[int]:
        return self._indices("hcl")

    @property
    def hcm_layer_idxs(self) -> list[int]:
        return self._indices("hcm")

    @property
    def hcs_layer_idxs(self) -> list[int]:
        return self._indices("hcs")

    def default_feature_layer(self) -> str:
        """
        BioReason's default tap on Evo 2: `blocks.20.mlp.l3`, the MLP branch output of block 20 (what BioReason and
        bio-posttrain read from Evo 2-1B), for an encoder deep enough to have it; a shallower one (a small random
        Evo 2) is read at the same kind of site in its last block, `blocks.{n-1}.mlp.l3`.
        """
        block = BIOREASON_TAP_BLOCK if self.num_hidden_layers > BIOREASON_TAP_BLOCK else self.num_hidden_layers - 1
        return f"blocks.{block}.mlp.l3"

    @staticmethod
    def encoder_model_class() -> type:
        """The bare encoder this config builds (what `AutoModel` maps it to; named here for sealed remote code)."""
        from .modeling_evo2 import Evo2Model

        return Evo2Model

    @classmethod
    def from_upstream(cls, upstream: dict, without_fp8: bool = False, **overrides) -> "Evo2Config":
        """
        An `Evo2Config` from an upstream model config (the dict of `evo2-1b-8k.yml` and friends).

        Missing required keys and unknown keys are an error listing them; options this model does not implement are
        refused naming the key. The released 1B config asks for FP8 input projections: pass `without_fp8=True` to
        convert it with FP8 off (recorded as `use_fp8_input_projections: false`).
        """
        upstream = {k: v for k, v in upstream.items() if not str(k).startswith("_")}  # "_note"-style comments
        missing = [k for k in UPSTREAM_REQUIRED if k not in upstream]
        known = set(UPSTREAM_REQUIRED) | set(UPSTREAM_DEFAULTS) | set(UPSTREAM_FIXED) | UPSTREAM_IGNORED | {
            "hyena_flip_x1x2", "interleave", "column_split_hyena", "evo2_style_activations", "mlp_activation",
            "inner_mlp_size"}
        unknown = sorted(k for k in upstream if k not in known)
        if missing or unknown:
            raise ValueError("Not an Evo 2 (StripedHyena 2) config: "
                             + "; ".join(part for part in (
                                 f"missing keys {missing}" if missing else "",
                                 f"unknown keys {unknown}" if unknown else "") if part) + ".")
        values = {**UPSTREAM_DEFAULTS, **upstream}
        if without_fp8:
            values["use_fp8_input_projections"] = False
        for key, (implemented, why) in UPSTREAM_FIXED.items():
            value = values.get(key, implemented)
            if value != implemented and not (value is None and implemented is False):
                raise ValueError(f"Evo 2 config option {key}={value!r} is not supported: {why}.")
        if values["hidden_size"] % values["num_filters"] or values["num_filters"] > values["hidden_size"]:
            raise ValueError(f"num_filters ({values['num_filters']}) must divide hidden_size "
                             f"({values['hidden_size']}), as the upstream code asserts.")

        num_layers = values["num_layers"]
        block_types: list[str | None] = [None] * num_layers
        for kind, key in UPSTREAM_LAYER_LISTS.items():
            for index in values[key] or []:
                if not 0 <= index < num_layers:
                    raise ValueError(f"{key} holds block {index}, outside num_layers={num_layers}.")
                if block_types[index] is not None:
                    raise ValueError(f"block {index} is in both {UPSTREAM_LAYER_LISTS[block_types[index]]} and {key}.")
                block_types[index] = kind
        unassigned = [i for i, kind in enumerate(block_types) if kind is None]
        if unassigned:
            raise ValueError(f"blocks {unassigned} are in none of attn/hcl/hcm/hcs_layer_idxs.")

        if "inner_mlp_size" in values:
            intermediate_size = values["inner_mlp_size"]
        else:  # the upstream rule when the config does not give it
            multiple = values["inner_size_multiple_of"] * values["model_parallel_size"]
            intermediate_size = int(2 * values["hidden_size"] * 4 / 3)
            intermediate_size = multiple * ((intermediate_size + multiple - 1) // multiple)

        fields = {UPSTREAM_RENAMES.get(k, k): v for k, v in values.items()
                  if k not in UPSTREAM_FIXED and k not in UPSTREAM_IGNORED and k not in UPSTREAM_LAYER_LISTS.values()
                  and k not in ("num_filters", "inner_mlp_size")}
        fields.update(tie_word_embeddings=True, intermediate_size=intermediate_size, block_types=block_types,
                      use_fp8_input_projections=False)
        fields["qkv_proj_bias"] = bool(fields["qkv_proj_bias"])
        fields["short_filter_bias"] = bool(fields["short_filter_bias"])
        fields["hyena_out_proj_bias"] = bool(fields["hyena_out_proj_bias"])
        fields["interleave"] = bool(fields["interleave"])
        fields["rope_theta"] = float(fields["rope_theta"])
        fields["rms_norm_eps"] = float(fields["rms_norm_eps"])
        fields.update(overrides)
        return cls(**fields)


__all__ = ["Evo2Config"]
