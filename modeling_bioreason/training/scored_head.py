"""The LM head and its log-softmax over the positions a loss reads, and no others.

TRL's fused LM head (`add_fused_lm_head`) keeps only the scored positions on Triton devices; elsewhere (CPU) it
projects **every** position through the head in fixed tiles. A BioReason prompt is mostly DNA placeholders (~700 of
~800 tokens), none of them scored, so on CPU that head costs more than the transformer layers it follows. These helpers
ask the model for logits only at the scored columns (`logits_to_keep`, an int or an index tensor, as transformers
models accept) and go through the model's own forward, so PEFT, DDP and autocast wrappers stay in the path.
"""

from __future__ import annotations

import torch


def compact_head_applies(device: torch.device) -> bool:
    """True where TRL's fused head would project every position (no Triton kernel on this device)."""
    return device.type not in ("cuda", "xpu")


def completion_log_probs(model, model_inputs: dict, completion_ids: torch.Tensor, temperature: float = 1.0,
                         compute_entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """
    Log-probabilities (and entropies) of the last `completion_ids.shape[1]` tokens of `model_inputs["input_ids"]`,
    at `temperature`, with the LM head run over those positions only.

    >>> logps, entropy = completion_log_probs(model, {"input_ids": ids, "attention_mask": mask}, ids[:, -8:])  # doctest: +SKIP
    """
    keep = completion_ids.shape[1]
    logits = model(**{**model_inputs, "use_cache": False}, logits_to_keep=keep + 1).logits[:, :-1]
    log_probs = (logits.float() / temperature).log_softmax(-1)
    token_log_probs = log_probs.gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)
    entropy = None
    if compute_entropy:
        with torch.no_grad():
            entropy = -(log_probs.exp() * log_probs).sum(-1)
    return token_log_probs, entropy


def supervised_log_probs(model, model_inputs: dict, labels: torch.Tensor) -> dict:
    """
    Next-token log-probabilities of `labels` (`-100` = not scored) with the LM head run only over the columns that
    some row scores (for right-padded SFT rows: the assistant turns, not the DNA prompt).

    Returns a dict: `log_probs` and `mask` `(batch, columns)`, zero where not scored, plus the detached `entropy` and
    `is_top1` of the scored positions (TRL's SFT metrics).
    """
    targets = labels[:, 1:]
    scored = targets != -100
    columns = scored.any(0).nonzero().squeeze(-1)
    if columns.numel() == 0:  # nothing supervised: score one column so the loss stays connected to the graph
        columns = torch.zeros(1, dtype=torch.long, device=labels.device)
    logits = model(**{**model_inputs, "use_cache": False}, logits_to_keep=columns).logits
    targets, mask = targets[:, columns], scored[:, columns]
    log_probs = logits.float().log_softmax(-1)
    token_log_probs = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    with torch.no_grad():
        entropy = -(log_probs.exp() * log_probs).sum(-1) * mask
        is_top1 = (log_probs.argmax(-1) == targets) & mask
    return {"log_probs": token_log_probs, "mask": mask, "entropy": entropy, "is_top1": is_top1}
