"""Where a training run's model comes from: a saved BioReason, or a text model + DNA encoder to assemble."""

from __future__ import annotations

import os

import torch

from ..build import build_bioreason
from ..dna_encoders import DNA_ENCODERS, random_dna_encoder
from ..example import tiny_tokenizer
from ..pretrained_assets import qwen3_tokenizer, smollm2_gguf_path
from .recipe import DataSource, ModelSource


def load_text_model(spec: str, trust_remote_code: bool = False):
    """(causal LM, tokenizer) for a folder / Hub id or one of the offline names (see `ModelSource`). Code shipped
    with a folder (`auto_map`) runs only with `trust_remote_code=True`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    if spec == "smollm2-135m-instruct":
        path = smollm2_gguf_path()
        folder, name = os.path.dirname(path), os.path.basename(path)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        return model, tokenizer
    if spec in ("tiny-random-qwen3", "tiny-random-qwen3-real-vocab"):
        tokenizer = qwen3_tokenizer() if spec.endswith("real-vocab") else tiny_tokenizer()
        config = Qwen3Config(hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, head_dim=16, vocab_size=len(tokenizer) + 3,
                             tie_word_embeddings=True, max_position_embeddings=8192)
        return Qwen3ForCausalLM(config), tokenizer
    return (AutoModelForCausalLM.from_pretrained(spec, dtype=torch.float32, trust_remote_code=trust_remote_code),
            AutoTokenizer.from_pretrained(spec, trust_remote_code=trust_remote_code))


def load_dna_model(spec: str):
    """A random encoder for `random-<kind>[:<hidden>x<layers>]` (see `dna_encoders.random_dna_encoder`), else `spec`
    itself: a folder or Hub id, which build_bioreason loads with its tokenizer."""
    encoder = random_dna_encoder(spec)
    return spec if encoder is None else encoder


def load_model(source: ModelSource, seed: int = 0):
    """
    (model, processor) for a recipe's model source. A saved BioReason loads through this package's registered
    classes, never through the code stored in its folder; any other folder's code runs only when the recipe sets
    `model.trust_remote_code: true` (`--trust-remote-code` on the command line), as in transformers.
    """
    if source.model is not None:
        from transformers import AutoModelForCausalLM, AutoProcessor

        remote = source.trust_remote_code
        try:
            model = AutoModelForCausalLM.from_pretrained(source.model, trust_remote_code=remote, dtype=torch.float32)
        except ValueError as error:
            if "trust_remote_code" in str(error) and not remote:
                raise ValueError(f"{source.model} is not a BioReason folder and ships its own code (auto_map); it "
                                 "runs only if you trust it: pass --trust-remote-code (recipe: "
                                 "model.trust_remote_code: true).") from None
            raise
        return model, AutoProcessor.from_pretrained(source.model, trust_remote_code=remote)
    torch.manual_seed(seed)
    text_model, tokenizer = load_text_model(source.text_model, source.trust_remote_code)
    return build_bioreason(text_model, load_dna_model(source.dna_model), tokenizer=tokenizer,
                           projector_type=source.projector_type, dna_feature_layer=source.dna_feature_layer,
                           freeze_dna_encoder=source.freeze_dna_encoder)


def set_dna_budget(processor, model, data: DataSource) -> None:
    """The processor's DNA budget for a run: `max_dna_tokens` from the recipe, else the encoder's own (the paper's:
    NT-v2 1,024, Evo 2 2,048), and what a longer window gets (`data.dna_truncation`: refused by default, or cut as
    the recipe says, logged). The exported processor keeps both."""
    kind = DNA_ENCODERS.get(model.config.dna_config.model_type)
    processor.max_dna_tokens = data.max_dna_tokens or (kind.dna_tokens if kind else processor.max_dna_tokens)
    processor.dna_truncation = data.dna_truncation
