"""Sampled evaluation that each row reproduces alone: one random stream per row, seeded from its dataset index.

`generate(do_sample=True)` draws every row of a batch from one generator, so a row's sample depends on which rows
share its batch: another `--batch-size`, or a resume that re-batches the rows left, gives other generations.
`RowSeededSampling` samples instead (after the same temperature / top-k / top-p warpers `generate` applies) from a
generator per row seeded with `(seed, dataset index)`, and hands `generate` a one-hot choice that its greedy step
takes: row i's t-th token depends only on its own prompt, its stream and its earlier tokens.
"""

from __future__ import annotations

import hashlib

import torch
from transformers import LogitsProcessor, LogitsProcessorList
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper


def row_seed(seed: int, index: int) -> int:
    """A 63-bit seed for dataset row `index` under the user's `seed` (distinct pairs never share a stream)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:8], "little") >> 1


class RowSeededSampling(LogitsProcessor):
    """
    Multinomial sampling with one generator per batch row. Pass it to `generate(do_sample=False, ...)`.

    Example:

    >>> sampler = RowSeededSampling([row_seed(0, 7), row_seed(0, 2)], temperature=0.6, top_k=20, top_p=0.95)
    >>> choice = sampler(torch.zeros(2, 1, dtype=torch.long), torch.randn(2, 50))
    >>> (choice == 0).sum(-1).tolist()  # one token kept per row
    [1, 1]
    """

    def __init__(self, seeds: list[int], temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None):
        self.seeds = list(seeds)
        self.generators: list[torch.Generator] | None = None
        warpers = []  # as `generate` builds them for do_sample=True
        if temperature is not None and temperature != 1.0:
            warpers.append(TemperatureLogitsWarper(temperature))
        if top_k is not None and top_k != 0:
            warpers.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
        if top_p is not None and top_p < 1.0:
            warpers.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
        self.warpers = LogitsProcessorList(warpers)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if scores.shape[0] != len(self.seeds):
            raise ValueError(f"RowSeededSampling has {len(self.seeds)} row seeds for a batch of {scores.shape[0]}.")
        if self.generators is None:
            self.generators = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        probs = self.warpers(input_ids, scores).float().softmax(-1)
        choice = torch.cat([torch.multinomial(row, 1, generator=g) for row, g in zip(probs, self.generators)])
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(1, choice[:, None], 0.0)
