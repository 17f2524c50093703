"""BioReason (arXiv 2505.23579): DNA-encoder token embeddings, projected into a causal LM at `<|dna_pad|>` placeholders.

Layout follows transformers' LLaVA: `BioReasonModel` = DNA encoder + projector + bare decoder, and
`BioReasonForConditionalGeneration` = `model` + `lm_head`. The DNA merge is `get_placeholder_mask` + `masked_scatter`.

DNA inputs are batch-aligned: `dna_input_ids` / `dna_attention_mask` have shape `(batch, max_dna_per_prompt, dna_len)`
(right-padded, all-zero masks for empty slots), because `generate` repeat-interleaves every model kwarg on dim 0
(`num_return_sequences`, beams, GRPO groups). Projected features (`dna_embeds`) use the same layout with a trailing
hidden dimension, so a caller can encode once and reuse them for many forwards.

This file ships to the Hub next to the weights: it imports only torch, transformers and its siblings.
"""

import functools
import inspect
import os
import tempfile

import torch
from torch import nn

from transformers import AutoModel, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.utils import logging
from transformers.utils.hub import ModelCard, cached_file, hf_api

from .configuration_bioreason import BioReasonConfig, feature_layer_block

logger = logging.get_logger(__name__)


class BioReasonProjector(nn.Module):
    """Maps DNA-encoder features to the LM's hidden size: one Linear (the paper) or Linear-GELU-Linear."""

    def __init__(self, config: BioReasonConfig):
        super().__init__()
        dna_hidden, text_hidden = config.dna_config.hidden_size, config.text_config.hidden_size
        self.linear_1 = nn.Linear(dna_hidden, text_hidden)
        if config.projector_type == "mlp2x_gelu":
            self.act = ACT2FN["gelu"]
            self.linear_2 = nn.Linear(text_hidden, text_hidden)
        else:
            self.act = self.linear_2 = None

    def forward(self, dna_features: torch.Tensor) -> torch.Tensor:
        hidden_states = self.linear_1(dna_features)
        if self.linear_2 is not None:
            hidden_states = self.linear_2(self.act(hidden_states))
        return hidden_states


class BioReasonBoundaryEmbedding(nn.Embedding):
    """
    Trainable additive embeddings for `<|dna_start|>` (row 0) and `<|dna_end|>` (row 1), zero at initialisation.

    The DNA tokens are new rows of the LM's embedding matrix; training those rows in place would touch the whole
    (possibly tied) matrix, and BioReason never trained them at all. This small module carries what fine-tuning learns
    for them, so it can be trained (PEFT `modules_to_save`) while the LM's embeddings stay frozen.
    """

    def __init__(self, hidden_size: int):
        super().__init__(2, hidden_size)


class BioReasonPreTrainedModel(PreTrainedModel):
    config_class = BioReasonConfig
    config: BioReasonConfig
    base_model_prefix = "model"
    input_modalities = ("dna", "text")
    supports_gradient_checkpointing = True
    # The encoder's and the decoder's own layer classes are collected from the sub-models by `post_init`.
    _no_split_modules = ["BioReasonProjector"]
    _skip_keys_device_placement = ["cache", "past_key_values"]
    # Both sub-models run eager, sdpa and flex_attention; flash attention is the LM's only (the encoder's padded
    # bidirectional attention is not wired to it): use attn_implementation={"text_config": "flash_attention_2",
    # "dna_config": "sdpa"}.
    _supports_flash_attn = False
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _can_compile_fullgraph = False

    @property
    def is_gradient_checkpointing(self) -> bool:
        # PEFT and TRL still read the deprecated name, and transformers warns on every read: answer it quietly.
        return self.is_activation_checkpointing

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, BioReasonBoundaryEmbedding):
            init.zeros_(module.weight)

    def _dna_encoder(self) -> nn.Module:
        return self.model.dna_encoder if isinstance(self, BioReasonForConditionalGeneration) else self.dna_encoder

    def post_init(self):
        super().post_init()
        self.apply_dna_encoder_freeze()

    def apply_dna_encoder_freeze(self) -> None:
        """`requires_grad=False` on every DNA-encoder parameter when `config.freeze_dna_encoder` (re-applied after
        loading, which creates fresh parameters)."""
        if self.config.freeze_dna_encoder:
            self._dna_encoder().requires_grad_(False)

    @staticmethod
    def _finalize_model_loading(model, load_config, loading_info):
        loading_info = PreTrainedModel._finalize_model_loading(model, load_config, loading_info)
        model.apply_dna_encoder_freeze()
        return loading_info

    # Set by the `modeling_bioreason` package to its card renderer (a function of the model returning Markdown).
    card_renderer = None

    def push_to_hub(self, repo_id: str, *, model_card: str | None = None, tags: list[str] | None = None,
                    commit_message: str | None = None, token: bool | str | None = None, **kwargs) -> str:
        """
        As `PreTrainedModel.push_to_hub`, but the uploaded `README.md` is this model's card: `model_card` if given,
        else the installed package's renderer, else the card of the folder or repo the model was loaded from.
        """
        if model_card is None and self.card_renderer is not None:
            model_card = self.card_renderer(self)
        if model_card is None and self.config._name_or_path:
            readme = cached_file(self.config._name_or_path, "README.md", _raise_exceptions_for_missing_entries=False)
            if readme is not None:
                with open(readme, encoding="utf-8") as handle:
                    model_card = handle.read()
        if model_card is None:  # nothing of ours: transformers' own card
            return super().push_to_hub(repo_id, tags=tags, commit_message=commit_message, token=token, **kwargs)
        card = ModelCard(model_card)
        card.data.tags = list(dict.fromkeys([*(card.data.tags or []), *(tags or [])])) or None
        private, max_shard_size = kwargs.pop("private", None), kwargs.pop("max_shard_size", "50GB")
        repo_id = hf_api().create_repo(repo_id, private=private, token=token, exist_ok=True).repo_id
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, max_shard_size=max_shard_size)
            card.save(os.path.join(folder, "README.md"))
            return self._upload_modified_files(
                folder, repo_id, files_timestamps={}, commit_message=commit_message, token=token, **kwargs
            )

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        # A frozen encoder never trains, even if something (e.g. PEFT "all-linear" adapters) marks parts of it
        # trainable: it runs without gradients.
        total = super().num_parameters(only_trainable=only_trainable, exclude_embeddings=exclude_embeddings)
        if only_trainable and self.config.freeze_dna_encoder:
            total -= sum(p.numel() for p in self._dna_encoder().parameters() if p.requires_grad)
        return total


def prompt_groups(input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  row_tensors: list[torch.Tensor]) -> tuple[list[int], list[int]]:
    """
    Rows that repeat a prompt (ids, mask and every per-row tensor, e.g. its DNA, all equal): the first row of each
    group and each row's group index. GRPO samples G completions of each prompt; these rows need one prefill.

    >>> prompt_groups(torch.tensor([[1, 2], [1, 2], [3, 4]]), torch.ones(3, 2), [])
    ([0, 2], [0, 0, 1])
    """
    representatives: list[int] = []
    groups: list[int] = []
    for row in range(input_ids.shape[0]):
        for group, first in enumerate(representatives):
            if all(torch.equal(tensor[row], tensor[first]) for tensor in (input_ids, attention_mask, *row_tensors)):
                groups.append(group)
                break
        else:
            groups.append(len(representatives))
            representatives.append(row)
    return representatives, groups


def dna_encoder_from_config(dna_config) -> PreTrainedModel:
    """
    `AutoModel.from_config(dna_config)`. A folder loaded as remote code without this package brings its own encoder
    config class, which AutoModel does not know: it is registered first with the model class that config names.
    """
    config_class = type(dna_config)
    if config_class not in AutoModel._model_mapping and hasattr(config_class, "encoder_model_class"):
        AutoModel.register(config_class, config_class.encoder_model_class(), exist_ok=True)
    return AutoModel.from_config(dna_config)


@functools.cache
def _takes_stop_after_layer(encoder_class: type) -> bool:
    return "stop_after_layer" in inspect.signature(encoder_class.forward).parameters


def dna_feature_site(encoder: nn.Module, dna_config, name: str) -> nn.Module:
    """The encoder submodule a named tap reads (its output is the feature); an error names the tap, the encoder and
    sites it has, or the width that does not fit."""
    try:
        site = encoder.get_submodule(name)
    except AttributeError:
        last_block = f"{getattr(dna_config, 'layers_module', '')}.{dna_config.num_hidden_layers - 1}."
        names = [n for n, _ in encoder.named_modules() if n]
        sites = [n for n in names if n.startswith(last_block)] or names
        raise ValueError(
            f"dna_feature_layer={name!r} names no module of the DNA encoder ({type(encoder).__name__}); its "
            f"output sites include {', '.join(map(repr, sites[:6]))} (or give an int index into its hidden_states)."
        ) from None
    width = getattr(site, "out_features", dna_config.hidden_size)
    if width != dna_config.hidden_size:
        raise ValueError(f"dna_feature_layer={name!r} outputs {width} features, but the projector takes the "
                         f"encoder's hidden_size ({dna_config.hidden_size}): tap a site of that width.")
    return site


def encode_at_tap(encoder: nn.Module, dna_config, layer: int | str, input_ids: torch.LongTensor,
                  attention_mask: torch.Tensor) -> torch.Tensor:
    """
    The encoder's features at a tap (`dna_feature_layer`: a `hidden_states` index or a named output site), running
    only the blocks it needs (`stop_after_layer`, when the encoder takes it).
    """
    num_layers = dna_config.num_hidden_layers
    block = feature_layer_block(dna_config, layer)
    depth = {}
    if block is not None and block < num_layers - 1 and _takes_stop_after_layer(type(encoder)):
        depth["stop_after_layer"] = block
    if isinstance(layer, str):
        captured = []
        hook = dna_feature_site(encoder, dna_config, layer).register_forward_hook(
            lambda module, args, output: captured.append(output if isinstance(output, torch.Tensor) else output[0])
        )
        try:
            encoder(input_ids, attention_mask=attention_mask, **depth)
        finally:
            hook.remove()
        if not captured:
            raise RuntimeError(f"The DNA encoder never ran dna_feature_layer={layer!r} in its forward.")
        return captured[-1]
    index = layer % (num_layers + 1)
    if index == num_layers and getattr(dna_config, "last_hidden_state_in_hidden_states", False):
        return encoder(input_ids, attention_mask=attention_mask).last_hidden_state
    outputs = encoder(input_ids, attention_mask=attention_mask, output_hidden_states=True, **depth)
    return outputs.hidden_states[index]


def _check_dna_layout(name: str, tensor: torch.Tensor, batch_size: int) -> None:
    if tensor.dim() != 3 or tensor.shape[0] != batch_size:
        raise ValueError(
            f"{name} must be batch-aligned with shape (batch={batch_size}, max_dna_per_prompt, dna_len); got "
            f"{tuple(tensor.shape)}. Use BioReasonProcessor, which produces this layout."
        )


class BioReasonModel(BioReasonPreTrainedModel):
    r"""
    DNA encoder (any registered one; NT-v2 by default) + projector + bare decoder; returns the decoder's
    `last_hidden_state`.

    Example:

    ```python
    >>> import torch
    >>> from transformers import Qwen3Config
    >>> from modeling_bioreason import BioReasonConfig, BioReasonModel, NucleotideTransformerConfig
    >>> config = BioReasonConfig(
    ...     text_config=Qwen3Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    ...                             num_key_value_heads=2, head_dim=16, vocab_size=512),
    ...     dna_config=NucleotideTransformerConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
    ...                                            intermediate_size=128),
    ...     dna_token_id=510, dna_start_token_id=509, dna_end_token_id=511)
    >>> model = BioReasonModel(config).eval()
    >>> input_ids = torch.tensor([[1, 509, 510, 510, 511, 2]])
    >>> dna_ids, dna_mask = torch.tensor([[[3, 369]]]), torch.ones(1, 1, 2, dtype=torch.long)
    >>> model(input_ids, dna_input_ids=dna_ids, dna_attention_mask=dna_mask).last_hidden_state.shape
    torch.Size([1, 6, 64])
    ```
    """

    def __init__(self, config: BioReasonConfig):
        super().__init__(config)
        self.dna_encoder = dna_encoder_from_config(config.dna_config)
        if isinstance(config.dna_feature_layer, str):
            self.dna_feature_site()  # a name the encoder does not have fails here, not at the first forward
        self.dna_projector = BioReasonProjector(config)
        self.dna_boundary_embeddings = BioReasonBoundaryEmbedding(config.text_config.hidden_size)
        self.language_model = AutoModel.from_config(config.text_config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def dna_feature_site(self) -> nn.Module:
        """The encoder submodule a str `config.dna_feature_layer` names: its output is the DNA feature."""
        return dna_feature_site(self.dna_encoder, self.config.dna_config, self.config.dna_feature_layer)

    def _encode_dna(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return encode_at_tap(self.dna_encoder, self.config.dna_config, self.config.dna_feature_layer, input_ids,
                             attention_mask)

    def embed_tokens_with_dna_boundaries(self, input_ids: torch.LongTensor) -> torch.Tensor:
        """
        Token embeddings, with the learned boundary embeddings added at `<|dna_start|>` / `<|dna_end|>`: what
        `forward(input_ids=...)` embeds. This is the one way to build `inputs_embeds` (`get_input_embeddings()` alone
        lacks the boundary embeddings once they are trained).
        """
        inputs_embeds = self.get_input_embeddings()(input_ids)
        is_end = input_ids == self.config.dna_end_token_id
        is_boundary = (input_ids == self.config.dna_start_token_id) | is_end
        boundary = self.dna_boundary_embeddings(is_end.long()) * is_boundary.unsqueeze(-1)
        return inputs_embeds + boundary.to(inputs_embeds.device, inputs_embeds.dtype)

    def get_dna_features(self, dna_input_ids: torch.LongTensor, dna_attention_mask: torch.Tensor) -> torch.Tensor:
        """
        Encode and project the DNA sequences of a batch in one encoder call.

        Args:
            dna_input_ids: `(batch, max_dna_per_prompt, dna_len)` DNA-tokenizer ids, right-padded.
            dna_attention_mask: same shape; 1 for real tokens, all zeros for empty slots.

        Returns:
            `dna_embeds` of shape `(batch, max_dna_per_prompt, dna_len, text_hidden_size)`: the projected feature of
            every real DNA token, zeros elsewhere. Pass it back as `dna_embeds=` to skip the encoder.
        """
        _check_dna_layout("dna_input_ids", dna_input_ids, dna_input_ids.shape[0])
        if dna_attention_mask is None or dna_attention_mask.shape != dna_input_ids.shape:
            raise ValueError(
                "dna_attention_mask is required and must have the shape of dna_input_ids "
                f"{tuple(dna_input_ids.shape)}; got {None if dna_attention_mask is None else tuple(dna_attention_mask.shape)}."
            )
        batch, slots, length = dna_input_ids.shape
        mask = dna_attention_mask.reshape(-1, length).bool()
        if (mask[:, 1:] & ~mask[:, :-1]).any():
            # The encoder reads positions as column indices (NT-v2's rotary, Evo 2's causal), so left padding would
            # shift every position.
            raise ValueError("dna_attention_mask must be right-padded (DNA-encoder positions are column indices).")
        lengths = mask.sum(-1)
        present = lengths > 0
        text_hidden = self.config.text_config.hidden_size
        if not present.any():
            return torch.zeros(
                batch, slots, length, text_hidden, dtype=self.dna_projector.linear_1.weight.dtype,
                device=dna_input_ids.device,
            )

        max_len = int(lengths.max())
        ids = dna_input_ids.reshape(-1, length)[present, :max_len]
        mask = mask[present, :max_len]
        # Encode each distinct sequence once: copies made by num_return_sequences, beams or GRPO groups share work.
        keyed = torch.where(mask, ids, torch.full_like(ids, -1))
        unique_keyed, inverse = torch.unique(keyed, dim=0, return_inverse=True)
        unique_mask = unique_keyed >= 0
        unique_ids = unique_keyed.masked_fill(~unique_mask, self.config.dna_config.pad_token_id or 0)

        encoder_trainable = not self.config.freeze_dna_encoder and any(
            param.requires_grad for param in self.dna_encoder.parameters()
        )
        with torch.set_grad_enabled(torch.is_grad_enabled() and encoder_trainable):
            hidden = self._encode_dna(unique_ids, unique_mask.long())
        # Cast to the projector's dtype (the encoder may run in another one); under autocast the projector's output
        # dtype follows autocast, so the buffer is allocated from the features, never from a (possibly offloaded) weight.
        features = self.dna_projector(hidden.to(self.dna_projector.linear_1.weight.dtype))[inverse]
        features = features * mask.unsqueeze(-1).to(features.dtype)
        dna_embeds = features.new_zeros(batch * slots, length, text_hidden)
        dna_embeds[present, :max_len] = features
        return dna_embeds.view(batch, slots, length, text_hidden)

    def get_placeholder_mask(
        self, input_ids: torch.LongTensor | None, inputs_embeds: torch.Tensor, dna_attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """
        Boolean mask `(batch, seq, hidden)` of the `<|dna_pad|>` positions, after checking, row by row, that each
        prompt has exactly as many placeholders as real DNA tokens.
        """
        if input_ids is None:
            ids = torch.tensor(
                [[self.config.dna_start_token_id, self.config.dna_token_id, self.config.dna_end_token_id]],
                device=inputs_embeds.device,
            )
            start, placeholder, end = self.embed_tokens_with_dna_boundaries(ids)[0].to(inputs_embeds.dtype)
            is_placeholder = (inputs_embeds == placeholder).all(-1)
            skip_start, skip_end = int(torch.equal(start, placeholder)), int(torch.equal(end, placeholder))
            if skip_start or skip_end:
                is_placeholder = self._placeholders_among_equal_rows(
                    is_placeholder, dna_attention_mask, skip_start, skip_end
                )
        else:
            is_placeholder = input_ids == self.config.dna_token_id
        n_placeholders = is_placeholder.sum(-1)
        n_features = dna_attention_mask.to(n_placeholders.device).sum((1, 2))
        if not torch.equal(n_placeholders, n_features):
            row = int((n_placeholders != n_features).nonzero()[0, 0])
            raise ValueError(
                f"DNA placeholders and DNA features do not match: {int(n_placeholders.sum())} <|dna_pad|> tokens "
                f"vs {int(n_features.sum())} DNA token features in the batch (row {row}: "
                f"{int(n_placeholders[row])} placeholders, {int(n_features[row])} features). Build inputs with "
                "BioReasonProcessor, which expands each <|dna_pad|> to its sequence's token count."
            )
        return is_placeholder.unsqueeze(-1).expand_as(inputs_embeds)

    @staticmethod
    def _placeholders_among_equal_rows(candidates, dna_attention_mask, skip_start: int, skip_end: int):
        """
        New token rows may start out equal (build_bioreason sets them to one mean), so `<|dna_start|>` / `<|dna_end|>`
        embeddings can equal the placeholder's. Walk each row's candidate positions block by block: the boundary
        token(s), then as many placeholders as the block has DNA tokens.
        """
        resolved = torch.zeros_like(candidates)
        lengths = dna_attention_mask.sum(-1).tolist()
        for row in range(candidates.shape[0]):
            positions = candidates[row].nonzero().flatten()
            cursor = 0
            for n in (n for n in lengths[row] if n):
                cursor += skip_start
                resolved[row, positions[cursor : cursor + n]] = True
                cursor += n + skip_end
        return resolved

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        dna_input_ids: torch.LongTensor | None = None,
        dna_attention_mask: torch.Tensor | None = None,
        dna_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        if (input_ids is None) ^ (inputs_embeds is not None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        if "past_key_values" in kwargs:  # the pre-5.24 name, still used by some callers
            cache = kwargs.pop("past_key_values")
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens_with_dna_boundaries(input_ids)
        batch_size = inputs_embeds.shape[0]

        if dna_embeds is None and dna_input_ids is not None:
            dna_embeds = self.get_dna_features(dna_input_ids, dna_attention_mask)
        if dna_embeds is not None:
            if dna_attention_mask is None:
                raise ValueError("dna_attention_mask is required with dna_embeds (it says which positions are real).")
            _check_dna_layout("dna_attention_mask", dna_attention_mask, batch_size)
            if dna_embeds.shape[:3] != dna_attention_mask.shape:
                raise ValueError(
                    f"dna_embeds {tuple(dna_embeds.shape)} must be (batch, max_dna_per_prompt, dna_len, hidden) with "
                    f"the first three dimensions of dna_attention_mask {tuple(dna_attention_mask.shape)}."
                )
            placeholder_mask = self.get_placeholder_mask(input_ids, inputs_embeds, dna_attention_mask)
            features = dna_embeds[dna_attention_mask.bool()].to(inputs_embeds.device, inputs_embeds.dtype)
            inputs_embeds = inputs_embeds.masked_scatter(placeholder_mask, features)
        elif input_ids is not None and (cache is None or cache.get_seq_length() == 0):
            if (input_ids == self.config.dna_token_id).any():
                raise ValueError(
                    "input_ids contain <|dna_pad|> placeholders but no DNA was given: pass dna_input_ids and "
                    "dna_attention_mask (or dna_embeds) from BioReasonProcessor. With trl.GRPOTrainer (whose "
                    "log-prob passes drop the DNA), train with modeling_bioreason.training.DNAGRPOTrainer, which "
                    "carries it through every pass. With trl.SFTTrainer, keep the DNA: "
                    "SFTConfig(remove_unused_columns=False, dataset_kwargs={'skip_prepare_dataset': True}) and a DNA "
                    "data collator (modeling_bioreason.training.BioReasonDataCollator)."
                )

        return self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )


class BioReasonForConditionalGeneration(BioReasonPreTrainedModel, GenerationMixin):
    r"""
    BioReason with its language-modeling head: reasons about DNA variants in text.

    Load a saved model with `AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)` (or `AutoModel`) and
    its processor with `AutoProcessor`; build a new one from a pretrained LM and DNA encoder with
    `modeling_bioreason.build_bioreason`.

    Example:

    ```python
    >>> import torch
    >>> from transformers import Qwen3Config
    >>> from modeling_bioreason import BioReasonConfig, BioReasonForConditionalGeneration, NucleotideTransformerConfig
    >>> config = BioReasonConfig(
    ...     text_config=Qwen3Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    ...                             num_key_value_heads=2, head_dim=16, vocab_size=512),
    ...     dna_config=NucleotideTransformerConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
    ...                                            intermediate_size=128),
    ...     dna_token_id=510, dna_start_token_id=509, dna_end_token_id=511)
    >>> model = BioReasonForConditionalGeneration(config).eval()
    >>> inputs = dict(input_ids=torch.tensor([[1, 509, 510, 510, 511, 2]]), dna_input_ids=torch.tensor([[[3, 369]]]),
    ...               dna_attention_mask=torch.ones(1, 1, 2, dtype=torch.long))
    >>> model.generate(**inputs, max_new_tokens=3, do_sample=False).shape
    torch.Size([1, 9])
    ```
    """

    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}

    def __init__(self, config: BioReasonConfig):
        super().__init__(config)
        self.model = BioReasonModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Module) -> None:
        self.lm_head = new_embeddings

    def save_pretrained(self, save_directory, *args, **kwargs):
        if self._auto_class is not None:
            # Saving the remote code also copies this sibling (transformers copies relative imports), and the config
            # names it, so `pipeline(model=folder, trust_remote_code=True)` finds the BioReason pipeline.
            from .pipeline_bioreason import CUSTOM_PIPELINES

            self.config.custom_pipelines = CUSTOM_PIPELINES
            # Users call AutoModel.from_pretrained(..., trust_remote_code=True) too and expect a model that generates.
            auto_map = dict(getattr(self.config, "auto_map", None) or {})
            auto_map["AutoModel"] = f"{type(self).__module__.split('.')[-1]}.{type(self).__name__}"
            self.config.auto_map = auto_map
        return super().save_pretrained(save_directory, *args, **kwargs)

    def embed_tokens_with_dna_boundaries(self, input_ids: torch.LongTensor) -> torch.Tensor:
        """The `inputs_embeds` that `forward(input_ids=...)` uses (see `BioReasonModel.embed_tokens_with_dna_boundaries`)."""
        return self.model.embed_tokens_with_dna_boundaries(input_ids)

    def get_dna_features(self, dna_input_ids: torch.LongTensor, dna_attention_mask: torch.Tensor) -> torch.Tensor:
        """Projected DNA features in the batch-aligned `dna_embeds` layout (see `BioReasonModel.get_dna_features`)."""
        return self.model.get_dna_features(dna_input_ids, dna_attention_mask)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        dna_input_ids: torch.LongTensor | None = None,
        dna_attention_mask: torch.Tensor | None = None,
        dna_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            dna_input_ids=dna_input_ids,
            dna_attention_mask=dna_attention_mask,
            dna_embeds=dna_embeds,
            use_cache=use_cache,
            **kwargs,
        )
        hidden_states = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden_states[:, keep, :])

        loss = None
        if labels is not None:
            loss = self.loss_function(
                logits=logits, labels=labels, vocab_size=self.config.text_config.vocab_size, **kwargs
            )
        return CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )

    _dna_kwargs = ("dna_input_ids", "dna_attention_mask", "dna_embeds")

    @torch.no_grad()
    def generate(self, *args, **kwargs):
        """
        `GenerationMixin.generate`, with a cheaper prefill for batches (same tokens as without it):

        * rows that repeat a prompt (GRPO's G samples of each prompt) share one prefill of it;
        * on CPU, a left-padded batch prefills each prompt alone, without its padding: attention with a padding mask
          cannot use the causal kernel's block skipping, and a BioReason prompt is long (mostly DNA placeholders).

        The prompts' KV cache (all but their last token) is assembled left-padded and handed to `generate`.
        """
        cache = self._prefill_prompts(args, kwargs)
        if cache is not None:
            kwargs["cache"] = cache
        return super().generate(*args, **kwargs)

    def _prefill_prompts(self, args: tuple, kwargs: dict) -> Cache | None:
        """The KV cache of every row's prompt but its last token, each distinct prompt run once; else None."""
        input_ids, attention_mask = kwargs.get("input_ids"), kwargs.get("attention_mask")
        passed = kwargs.get("generation_config")

        def setting(name):  # as generate resolves it: keyword, then the passed config, then the model's defaults
            if name in kwargs:
                return kwargs[name]
            values = (getattr(config, name, None) for config in (passed, self.generation_config) if config is not None)
            return next((value for value in values if value is not None), None)

        embeddings = self.get_input_embeddings().weight
        if (args or not isinstance(input_ids, torch.Tensor) or not isinstance(attention_mask, torch.Tensor)
                or input_ids.dim() != 2 or input_ids.shape[0] < 2 or input_ids.shape[1] < 2
                or input_ids.device != embeddings.device  # generate moves inputs later; do not second-guess it
                or any(isinstance(value, (torch.Tensor, Cache)) for key, value in kwargs.items()
                       if key not in ("input_ids", "attention_mask", *self._dna_kwargs))
                or kwargs.get("assistant_model") is not None or kwargs.get("custom_generate") is not None
                or setting("use_cache") is False or (setting("num_beams") or 1) > 1
                or (setting("num_return_sequences") or 1) > 1
                or setting("cache_implementation") is not None  # generate refuses a cache beside any of these
                or setting("output_attentions") or setting("output_hidden_states")
                or (input_ids[:, -1] == self.config.dna_token_id).any()):
            return None
        dna = {key: kwargs[key] for key in self._dna_kwargs if kwargs.get(key) is not None}
        representatives, groups = prompt_groups(input_ids, attention_mask, list(dna.values()))
        mask = attention_mask[:, :-1]
        left_padded = not bool(mask.all()) and bool((mask[:, 1:] >= mask[:, :-1]).all())
        expand = torch.tensor(groups)  # on CPU: it indexes cache layers that may sit on several devices
        if left_padded and input_ids.device.type == "cpu":
            cache = self._prefill_each_unpadded(input_ids[:, :-1], mask, representatives, dna)
            if cache is not None:
                cache.batch_select_indices(expand)
                return cache
        if len(representatives) == input_ids.shape[0]:
            return None
        first = torch.tensor(representatives, device=input_ids.device)
        positions = (mask[first].long().cumsum(-1) - 1).masked_fill(mask[first] == 0, 0)  # as generate numbers rows
        prefill = self(input_ids=input_ids[first, :-1], attention_mask=mask[first], position_ids=positions,
                       **{key: value[first] for key, value in dna.items()}, use_cache=True, logits_to_keep=1)
        prefill.cache.batch_select_indices(expand)
        return prefill.cache

    def _prefill_each_unpadded(self, input_ids, mask, rows: list[int], dna: dict) -> Cache | None:
        """Each row's tokens alone (positions 0.., as generate gives a left-padded row), then a left-padded cache."""
        caches = []
        for row in rows:
            keep = mask[row].bool()
            out = self(input_ids=input_ids[row : row + 1, keep], **{key: value[row : row + 1] for key, value in
                                                                    dna.items()}, use_cache=True, logits_to_keep=1)
            if not all(type(layer) is DynamicLayer for layer in out.cache.layers):
                return None  # sliding-window or other layer caches: their padding is not ours to rebuild
            caches.append(out.cache)
        width = input_ids.shape[1]
        pad = lambda states: nn.functional.pad(states, (0, 0, width - states.shape[-2], 0))  # noqa: E731
        return DynamicCache(ddp_cache_data=[
            (torch.cat([pad(cache.layers[i].keys) for cache in caches]),
             torch.cat([pad(cache.layers[i].values) for cache in caches])) for i in range(len(caches[0].layers))])

    def prepare_inputs_for_generation(
        self,
        input_ids: torch.LongTensor,
        cache: Cache | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        is_first_iteration: bool | None = False,
        dna_input_ids: torch.LongTensor | None = None,
        dna_attention_mask: torch.Tensor | None = None,
        dna_embeds: torch.Tensor | None = None,
        **kwargs,
    ):
        model_inputs = super().prepare_inputs_for_generation(
            input_ids,
            cache=cache,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            is_first_iteration=is_first_iteration,
            **kwargs,
        )
        # DNA is merged once, at prefill; later steps read it from the KV cache. A prompt whose prefix `generate`
        # prefilled (see above) starts with only its last token, no placeholder; a conversation continued from a
        # caller's cache brings its new placeholders. Without a cache every step re-runs the whole prompt.
        new_ids = model_inputs.get("input_ids")
        prefilled = isinstance(cache, Cache) and cache.get_seq_length() > 0 and not (
            new_ids is not None and bool((new_ids == self.config.dna_token_id).any()))
        if (is_first_iteration and not prefilled) or not kwargs.get("use_cache", True):
            model_inputs["dna_input_ids"] = dna_input_ids
            model_inputs["dna_attention_mask"] = dna_attention_mask
            model_inputs["dna_embeds"] = dna_embeds
        return model_inputs


__all__ = [
    "dna_encoder_from_config",
    "dna_feature_site",
    "encode_at_tap",
    "prompt_groups",
    "BioReasonPreTrainedModel",
    "BioReasonModel",
    "BioReasonForConditionalGeneration",
    "BioReasonProjector",
    "BioReasonBoundaryEmbedding",
]
