"""LoRA on every linear layer of the language model, with the projector and the DNA-token rows trainable."""

from __future__ import annotations

from torch import nn

from .recipe import LoraSettings


def language_model_linear_layers(model) -> list[str]:
    """Full names of the `nn.Linear` modules inside the language model (not the DNA encoder, projector or head)."""
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and ".language_model." in f".{name}"]


def make_lora_config(model, settings: LoraSettings):
    """
    The PEFT config for BioReason: LoRA on all LLM linear layers (paper: r=32, alpha=64, dropout 0.05); the projector
    fully trained (`modules_to_save`). The DNA tokens `<|dna_start|>` / `<|dna_end|>` learn through the model's
    `dna_boundary_embeddings` (also in `modules_to_save`), a zero-initialised additive embedding, so the LM's (possibly
    tied) embedding matrix stays frozen; `<|dna_pad|>` positions are replaced by DNA features and need no embedding.
    BioReason left all three rows untrained. The DNA encoder stays frozen.
    """
    from peft import LoraConfig

    modules_to_save = (["dna_projector"] if settings.train_projector else []) + (
        ["dna_boundary_embeddings"] if settings.train_dna_token_rows else [])
    return LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=language_model_linear_layers(model),
        modules_to_save=modules_to_save or None,
        bias="none",
        task_type="CAUSAL_LM",
    )
