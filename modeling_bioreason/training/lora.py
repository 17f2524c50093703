"""LoRA on every linear layer of the language model, with the projector and the DNA-token rows trainable; and the
adapter merged into the weights while GRPO samples."""

from __future__ import annotations

from contextlib import contextmanager

import torch
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
    BioReason left all three rows untrained. The DNA encoder stays frozen unless `config.freeze_dna_encoder` is off
    (recipe `model.freeze_dna_encoder: false`): then it trains in full.
    """
    from peft import LoraConfig

    modules_to_save = (["dna_projector"] if settings.train_projector else []) + (
        ["dna_boundary_embeddings"] if settings.train_dna_token_rows else []) + (
        [] if model.config.freeze_dna_encoder else ["dna_encoder"])  # recipe: model.freeze_dna_encoder: false
    return LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=language_model_linear_layers(model),
        modules_to_save=modules_to_save or None,
        bias="none",
        task_type="CAUSAL_LM",
    )


@contextmanager
def lora_merged_for_sampling(model):
    """
    While sampling (no gradients), each plain fp32 LoRA linear computes `x (W + s·BA)ᵀ` in one matmul instead of
    three plus a dropout: its base weight temporarily holds the merged matrix and PEFT sees it as merged. On exit the
    original weight tensors are put back as they were (nothing is subtracted back, so nothing drifts). Left unmerged,
    running as usual: half-precision weights (rounding `W + s·BA` to bf16 would lose small adapter updates and
    sample from a policy nearer the base model than the one being scored), LoRA variants (DoRA and others), LoRA
    biases, quantized bases and other adapter types.

    >>> with lora_merged_for_sampling(peft_model):  # doctest: +SKIP
    ...     completions = peft_model.generate(**inputs)
    """
    from peft.tuners.lora import Linear as LoraLinear

    swapped = []
    try:
        with torch.no_grad():
            for layer in model.modules():
                if type(layer) is not LoraLinear or layer.merged or layer.disable_adapters:
                    continue
                active = [name for name in layer.active_adapters if name in layer.lora_A]
                variant = any(layer.use_dora.get(name) or getattr(layer, "lora_variant", {}).get(name)
                              or getattr(layer, "lora_bias", {}).get(name) for name in active)
                weight = layer.get_base_layer().weight
                if not active or variant or type(weight) is not nn.Parameter or weight.dtype != torch.float32:
                    continue
                delta = sum(layer.get_delta_weight(name) for name in active)
                swapped.append((layer, weight, weight.data))
                weight.data = weight.data + delta.to(weight.dtype)
                layer.merged_adapters = active
        yield
    finally:
        for layer, weight, original in swapped:
            weight.data = original
            layer.merged_adapters = []
