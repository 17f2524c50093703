"""The LM head and its log-softmax over the positions a loss reads, and no others.

TRL's fused LM head (`add_fused_lm_head`) keeps only the scored positions on Triton devices; elsewhere (CPU) it
projects **every** position through the head in fixed tiles. A BioReason prompt is mostly DNA placeholders (~700 of
~800 tokens), none of them scored, so on CPU that head costs more than the transformer layers it follows. These helpers
ask the model for logits only at the scored columns (`logits_to_keep`, an int or an index tensor, as transformers
models accept) and go through the model's own forward, so PEFT, DDP and autocast wrappers stay in the path.

GRPO scores G completions of each prompt, and a BioReason prompt (mostly DNA placeholders) is several times longer than
a completion. `completion_log_probs(..., share_prompts=True)` runs each distinct prompt once, keeps its KV cache and
runs only the completions against it (the cache rows repeated per completion, which autograd sums back): the same
log-probabilities and gradients for a fraction of the work. (With dropout active, the G completions share one
dropout draw over their prompt instead of G draws: the same in expectation.)
"""

from __future__ import annotations

import torch

from ..modeling_bioreason import prompt_groups


def compact_head_applies(device: torch.device) -> bool:
    """True where TRL's fused head would project every position (no Triton kernel on this device)."""
    return device.type not in ("cuda", "xpu")


def _completion_logits_shared_prompts(model, model_inputs: dict, keep: int) -> torch.Tensor | None:
    """Logits predicting the last `keep` tokens, each distinct prompt run once; None when no two prompts are equal."""
    ids, mask = model_inputs["input_ids"], model_inputs["attention_mask"]
    prompt_length = ids.shape[1] - keep
    per_row = {key: value for key, value in model_inputs.items() if key not in ("input_ids", "attention_mask")}
    representatives, groups = prompt_groups(ids[:, :prompt_length], mask[:, :prompt_length], list(per_row.values()))
    if len(representatives) == ids.shape[0] or prompt_length == 0:
        return None
    first = torch.tensor(representatives, device=ids.device)
    prompt = model(input_ids=ids[first, :prompt_length], attention_mask=mask[first, :prompt_length],
                   **{key: value[first] for key, value in per_row.items()}, use_cache=True, logits_to_keep=1)
    expand = torch.tensor(groups, device=ids.device)
    first_logits = prompt.logits[expand]  # the last prompt position predicts the first completion token
    if keep == 1:
        return first_logits
    cache = prompt.cache
    cache.batch_select_indices(expand)  # indexing, so the gradients of the G copies sum into the shared prompt
    rest = model(input_ids=ids[:, prompt_length:-1], attention_mask=mask[:, :-1], cache=cache, use_cache=True,
                 logits_to_keep=keep - 1)
    return torch.cat([first_logits, rest.logits], dim=1)


def completion_log_probs(model, model_inputs: dict, completion_ids: torch.Tensor, temperature: float = 1.0,
                         compute_entropy: bool = False,
                         share_prompts: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """
    Log-probabilities (and entropies) of the last `completion_ids.shape[1]` tokens of `model_inputs["input_ids"]`,
    at `temperature`, with the LM head run over those positions only.

    `share_prompts=True`: rows with an identical prompt (the text before the completion, its mask and every other
    per-row input) run it once and reuse its KV cache. Needs a model whose layers fill the cache in this pass, i.e.
    not gradient-checkpointed while gradients are on.

    >>> logps, entropy = completion_log_probs(model, {"input_ids": ids, "attention_mask": mask}, ids[:, -8:])  # doctest: +SKIP
    """
    keep = completion_ids.shape[1]
    logits = _completion_logits_shared_prompts(model, model_inputs, keep) if share_prompts else None
    if logits is None:
        logits = model(**{**model_inputs, "use_cache": False}, logits_to_keep=keep + 1).logits[:, :-1]
    log_probs = (logits.float() / temperature).log_softmax(-1)
    token_log_probs = log_probs.gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)
    entropy = None
    if compute_entropy:
        with torch.no_grad():
            entropy = -(log_probs.exp() * log_probs).sum(-1)
    return token_log_probs, entropy


def supervised_log_probs(model, model_inputs: dict, labels: torch.Tensor, unpad_rows: bool = False) -> dict:
    """
    Next-token log-probabilities of `labels` (`-100` = not scored) with the LM head run only over the columns that
    some row scores (for right-padded SFT rows: the assistant turns, not the DNA prompt).

    Returns a dict of 1-D tensors over the scored tokens: `log_probs`, and the detached `entropy` and `is_top1`
    (TRL's SFT metrics).

    `unpad_rows=True`: a right-padded batch runs row by row, each without its padding. On CPU, attention under a
    padding mask computes every query-key pair; a row alone takes the causal kernel, which skips the masked half.
    """
    mask = model_inputs.get("attention_mask")
    if (unpad_rows and mask is not None and mask.shape[0] > 1 and not bool(mask.all()) and bool(mask[:, 0].all())
            and bool((mask[:, 1:] <= mask[:, :-1]).all())):  # right padding only, no empty row
        width = mask.shape[1]
        rows = []
        for row, length in enumerate(mask.sum(-1).tolist()):
            inputs = {key: value[row : row + 1, :length] if key == "input_ids" or (
                not key.startswith("dna_") and value.dim() >= 2 and value.shape[1] == width) else value[row : row + 1]
                for key, value in model_inputs.items() if key != "attention_mask"}
            rows.append(_scored_tokens(model, inputs, labels[row : row + 1, :length]))
        return {key: torch.cat([row[key] for row in rows]) for key in rows[0]}
    return _scored_tokens(model, model_inputs, labels)


def _scored_tokens(model, model_inputs: dict, labels: torch.Tensor) -> dict:
    targets = labels[:, 1:]
    scored = targets != -100
    columns = scored.any(0).nonzero().squeeze(-1)
    if columns.numel() == 0:  # nothing supervised: score one column so the loss stays connected to the graph
        columns = torch.zeros(1, dtype=torch.long, device=labels.device)
    logits = model(**{**model_inputs, "use_cache": False}, logits_to_keep=columns).logits
    targets, mask = targets[:, columns], scored[:, columns]
    log_probs = logits.float().log_softmax(-1)[mask]
    targets = targets[mask]
    token_log_probs = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        is_top1 = log_probs.argmax(-1) == targets
    return {"log_probs": token_log_probs, "entropy": entropy, "is_top1": is_top1}
