"""Assemble a BioReason model and processor from a pretrained causal LM and a pretrained DNA encoder."""

from __future__ import annotations

import logging
import os
import re

import torch
from transformers import (AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer, PreTrainedConfig, PreTrainedModel,
                          PreTrainedTokenizerBase)

from .configuration_bioreason import BioReasonConfig
from .dna_encoders import DNA_ENCODERS, encoder_kind, encoder_kind_of_config, encoder_kind_of_hub_id
from .modeling_bioreason import BioReasonBoundaryEmbedding, BioReasonForConditionalGeneration, BioReasonProjector
from .processing_bioreason import CHAT_TEMPLATE, DNA_TOKENS, BioReasonProcessor, check_dna_tokenizer

logger = logging.getLogger(__name__)


def _load_text_model(text_model, tokenizer, dtype):
    if isinstance(text_model, (str, os.PathLike)):
        source = str(text_model)
        tokenizer = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(source)
        text_model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype or torch.float32)
    if tokenizer is None:
        raise ValueError("Pass `tokenizer=` with a text model object (a folder or Hub id carries its own).")
    if not hasattr(text_model, "get_output_embeddings") or text_model.get_output_embeddings() is None:
        raise ValueError(f"text_model must be a causal LM with an LM head; got {type(text_model).__name__}.")
    return text_model, tokenizer


def load_dna_encoder(source: str | os.PathLike, dtype: torch.dtype = torch.float32) -> PreTrainedModel:
    """
    The bare DNA encoder in a folder or Hub repo, through AutoConfig / AutoModel: our saved encoders by their
    `model_type`, published checkpoints whose config.json has none (e.g. InstaDeep's NT-v2) by the kind that
    recognises their layout. A masked- or causal-LM checkpoint gives its base model's weights. The folder's `auto_map`
    (its own remote code) is not carried into the encoder's config: a BioReason folder's Auto classes are its own.
    """
    source = str(source)
    try:
        config_dict, _ = PreTrainedConfig.get_config_dict(source)
    except OSError as error:
        published = encoder_kind_of_hub_id(source)
        if published is not None and published.convert_hint:
            raise ValueError(f"{source} has no transformers config.json: {published.convert_hint}.") from None
        raise
    kind = encoder_kind_of_config(config_dict)
    if kind is None:
        raise ValueError(
            f"{source} is not a DNA encoder this package knows (config.json model_type "
            f"{config_dict.get('model_type')!r}; known: {sorted(DNA_ENCODERS)}, and the published checkpoints of "
            f"{', '.join(kind.name for kind in DNA_ENCODERS.values())})."
        )
    # Our model_type, or a published layout without it; either way its `auto_map` names code that never runs here.
    config = AutoConfig.for_model(kind.model_type, **{k: v for k, v in config_dict.items()
                                                      if k not in ("auto_map", "model_type")})
    config._name_or_path = source
    return AutoModel.from_pretrained(source, config=config, dtype=dtype)


def _load_dna_encoder(dna_encoder, dna_tokenizer):
    source = str(dna_encoder) if isinstance(dna_encoder, (str, os.PathLike)) else None
    if source is not None:
        dna_encoder = load_dna_encoder(source)
    if isinstance(dna_encoder, PreTrainedModel) and dna_encoder.base_model is not dna_encoder:
        dna_encoder = dna_encoder.base_model  # a masked- or causal-LM wrapper: the bare encoder it holds
    config = getattr(dna_encoder, "config", None)
    bare = getattr(type(config), "encoder_model_class", None)
    if config is None or config.model_type not in DNA_ENCODERS or bare is None or not isinstance(dna_encoder, bare()):
        raise ValueError(
            "dna_encoder must be a DNA-encoder folder or Hub id, or a loaded encoder of a kind this package ships "
            f"({', '.join(kind.name for kind in DNA_ENCODERS.values())}; their bare models or LM-head wrappers); "
            f"got {type(dna_encoder).__name__}."
        )
    if dna_tokenizer is None:
        dna_tokenizer = encoder_kind(config.model_type).tokenizer(source)
    return dna_encoder, dna_tokenizer


def _was_loaded(part) -> bool:
    """Whether a model was loaded from a checkpoint (`from_pretrained` records where); built from a config, it holds
    the random weights it was initialised with."""
    return bool(getattr(getattr(part, "config", None), "_name_or_path", ""))


def _prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> int:
    """Add the DNA tokens and a pad token distinct from EOS; return the vocabulary size before the additions."""
    size_before = len(tokenizer)
    tokenizer.add_special_tokens({"extra_special_tokens": list(DNA_TOKENS)}, replace_extra_special_tokens=False)
    if tokenizer.pad_token is None or tokenizer.pad_token == tokenizer.eos_token:
        # A pad token equal to EOS would make the collator mask out the EOS the model must learn to emit.
        candidate = "<|endoftext|>"
        if candidate in tokenizer.get_vocab() and candidate != tokenizer.eos_token:
            tokenizer.pad_token = candidate
        else:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
    tokenizer.chat_template = CHAT_TEMPLATE
    return size_before


@torch.no_grad()
def _init_new_rows(embeddings: torch.Tensor, new_ids: list[int], trained_rows: int) -> None:
    # New token rows start at the mean of the trained rows (BioReason left them at whatever the checkpoint had).
    embeddings[new_ids] = embeddings[:trained_rows].float().mean(0).to(embeddings.dtype)


def _hub_id(part) -> str | None:
    """The Hub id a part was loaded from (`owner/name`, not a local folder), for the model card's `base_model`."""
    name = str(part) if isinstance(part, (str, os.PathLike)) else getattr(getattr(part, "config", None),
                                                                           "_name_or_path", "")
    return name if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name or "") and not os.path.exists(name) else None


def build_bioreason(
    text_model: str | os.PathLike | PreTrainedModel,
    dna_encoder: str | os.PathLike | PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase | None = None,
    dna_tokenizer: PreTrainedTokenizerBase | None = None,
    dtype: torch.dtype | None = None,
    **config_overrides,
) -> tuple[BioReasonForConditionalGeneration, BioReasonProcessor]:
    """
    Assemble a BioReason model and its processor from pretrained parts.

    Args:
        text_model: a causal LM (Qwen3, Llama, SmolLM2, ...) as a local folder, Hub id or loaded model.
        dna_encoder: a DNA-encoder folder or Hub id (our saved encoders; InstaDeep's NT-v2 as published), or a
            loaded encoder (e.g. `NucleotideTransformerModel` or its masked-LM wrapper).
        tokenizer: the LM's tokenizer (required when `text_model` is an object). It is modified in place: the DNA
            tokens `<|dna_start|>`, `<|dna_pad|>`, `<|dna_end|>` are added, a pad token distinct from EOS is set,
            and the BioReason chat template is installed.
        dna_tokenizer: the encoder's tokenizer; defaults to the one of the encoder's kind (for NT-v2: the folder's
            `vocab.txt`, or the published vocabulary). It must tokenize as the encoder expects.
        dtype: dtype to load a text model given by path (default float32).
        **config_overrides: `BioReasonConfig` fields, e.g. `projector_type="mlp2x_gelu"`, `dna_feature_layer=-2`
            or a named tap such as `dna_feature_layer="encoder.layer.20.output.dense"`. `dna_encoder_pretrained`
            defaults to whether the encoder was loaded from a checkpoint (one built from a config is random).

    The parts are reused, not copied. The DNA-token embedding rows (and LM-head rows when untied) are set to the
    mean of the trained rows; the embedding matrix grows only if the tokenizer outgrew it.

    Example:

    ```python
    >>> model, processor = build_bioreason("Qwen/Qwen3-4B", "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species")  # doctest: +SKIP
    ```
    """
    base_model_ids = [name for name in (_hub_id(text_model), _hub_id(dna_encoder)) if name]
    text_model, tokenizer = _load_text_model(text_model, tokenizer, dtype)
    dna_encoder, dna_tokenizer = _load_dna_encoder(dna_encoder, dna_tokenizer)
    check_dna_tokenizer(dna_tokenizer, dna_encoder.config.model_type)

    trained_rows = _prepare_tokenizer(tokenizer)
    if len(tokenizer) > text_model.get_input_embeddings().weight.shape[0]:
        text_model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    dna_ids = tokenizer.convert_tokens_to_ids(list(DNA_TOKENS))
    new_ids = [i for i in dna_ids + [tokenizer.pad_token_id] if i >= trained_rows]
    _init_new_rows(text_model.get_input_embeddings().weight, new_ids, trained_rows)
    output_embeddings = text_model.get_output_embeddings().weight
    if output_embeddings.data_ptr() != text_model.get_input_embeddings().weight.data_ptr():
        _init_new_rows(output_embeddings, new_ids, trained_rows)

    config = BioReasonConfig(
        text_config=text_model.config,
        dna_config=dna_encoder.config,
        dna_start_token_id=dna_ids[0],
        dna_token_id=dna_ids[1],
        dna_end_token_id=dna_ids[2],
        **{"base_model_ids": base_model_ids or None, "dna_encoder_pretrained": _was_loaded(dna_encoder),
           **config_overrides},
    )
    with torch.device("meta"):
        model = BioReasonForConditionalGeneration(config)
    decoder = getattr(text_model, text_model.base_model_prefix)
    model.model.language_model = decoder
    model.lm_head = text_model.get_output_embeddings()
    model.model.dna_encoder = dna_encoder
    model.model.dna_projector = BioReasonProjector(config).to(decoder.dtype)
    model.model.dna_boundary_embeddings = BioReasonBoundaryEmbedding(config.text_config.hidden_size).to(decoder.dtype)
    for module in (*model.model.dna_projector.modules(), model.model.dna_boundary_embeddings):
        model._init_weights(module)
    if config.freeze_dna_encoder:
        dna_encoder.requires_grad_(False)
    if config.tie_word_embeddings:
        model.lm_head.weight = decoder.get_input_embeddings().weight

    model.generation_config = text_model.generation_config
    end_of_turn = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>",) if t in tokenizer.get_vocab()]
    eos = model.generation_config.eos_token_id
    eos = [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
    model.generation_config.eos_token_id = list(dict.fromkeys(end_of_turn + eos + [tokenizer.eos_token_id]))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.config.text_config.pad_token_id = tokenizer.pad_token_id
    model.eval()

    processor = BioReasonProcessor(tokenizer=tokenizer, dna_tokenizer=dna_tokenizer, chat_template=CHAT_TEMPLATE)
    logger.info(
        "Built BioReason: %s + %s (%d layers, tap %r), DNA tokens %s", type(text_model).__name__,
        encoder_kind(config.dna_config.model_type).name, dna_encoder.config.num_hidden_layers,
        config.dna_feature_layer, dna_ids,
    )
    return model, processor
