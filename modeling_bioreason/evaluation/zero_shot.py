"""Zero-shot DNA baseline: an NT-v2 masked LM scores each variant by its masked-marginal log-likelihood ratio.

    bioreason evaluate --model <NT-v2 masked-LM folder> --dataset hub_cards/datasets/variant_effect_clinvar

Rule (Meier et al. 2021's masked marginal, on NT-v2's 6-mer tokens): tokenize the reference and the variant window;
the tokens that differ are masked in the *reference* input, one forward pass of the MLM head, and

    score = sum over masked positions of  log p(reference token) - log p(variant token)

so higher = the variant is less likely than the reference = more damaging. Each window is encoded once.

Rows it cannot score are counted by reason and get `score: None` (never a made-up number):
* `indel`: reference and variant windows differ in length (insertions, deletions, duplications), or have the same
  length but differ at more than 6 bases or over more than 12 bp (a fixed-length window around an indel, as in the
  ClinVar windows, is shifted after the site): a masked marginal needs aligned tokens, so indels are skipped;
* `token_boundaries_differ`: same length but the 6-mer tokenization shifted (an N introduced or removed);
* `no_difference`: identical windows.
Windows longer than the model's context are cropped around the difference, identically for both.

Loads our saved `NucleotideTransformerForMaskedLM` folders and published InstaDeep NT-v2 folders as downloaded
(`config.json` without `model_type`, an `auto_map` to upstream remote code that is never run, `esm.*`/`lm_head.*`
weights) with this package's own classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..processing_bioreason import normalize_dna_sequence


def is_nt_masked_lm(folder) -> bool:
    """A folder holding an NT-v2 masked LM: ours (`model_type: nucleotide_transformer`) or a published one."""
    config_file = Path(folder) / "config.json"
    if not config_file.is_file():
        return False
    config = json.loads(config_file.read_text())
    architectures = config.get("architectures") or []
    if config.get("model_type") == "nucleotide_transformer":
        return True
    return "model_type" not in config and any("MaskedLM" in a for a in architectures) and (
        Path(folder) / "vocab.txt").is_file()


MAX_SUBSTITUTED_BASES = 6  # more differing bases than this, or spread wider than the span below: not a substitution
MAX_SUBSTITUTION_SPAN = 12


class ZeroShotDNAScorer:
    """
    Masked-marginal LLR of an NT-v2 masked LM (see the module docstring for the rule and the skips).

    >>> from modeling_bioreason.evaluation.zero_shot import ZeroShotDNAScorer
    >>> scorer = ZeroShotDNAScorer.from_pretrained("tests/fixtures/nt_v2_golden")  # doctest: +SKIP
    >>> scorer.score_pairs([("ACGTACGTACGT", "ACGTACCTACGT")])  # doctest: +SKIP
    ([0.41...], [None])
    """

    kind = "zero_shot_dna"

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model.eval(), tokenizer
        limit = min(getattr(model.config, "max_position_embeddings", 2050) - 2, tokenizer.model_max_length or 10**9)
        self.max_tokens = max(8, limit)  # tokens per window, <cls> included

    @classmethod
    def from_pretrained(cls, folder, device: str = "cpu") -> ZeroShotDNAScorer:
        from ..modeling_nucleotide_transformer import NucleotideTransformerForMaskedLM
        from ..tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

        model = NucleotideTransformerForMaskedLM.from_pretrained(folder, dtype=torch.float32).to(device)
        return cls(model, NucleotideTransformerTokenizer.from_pretrained(folder))

    def _aligned(self, reference: str, variant: str):
        """(reference ids, differing positions, variant ids at them) or the reason it cannot be scored."""
        reference = normalize_dna_sequence(reference, iupac="to_n")
        variant = normalize_dna_sequence(variant, iupac="to_n")
        if len(reference) != len(variant):
            return "indel"
        if reference == variant:
            return "no_difference"
        differ = [i for i, (a, b) in enumerate(zip(reference, variant)) if a != b]
        if len(differ) > MAX_SUBSTITUTED_BASES or differ[-1] - differ[0] >= MAX_SUBSTITUTION_SPAN:
            return "indel"  # a fixed-length window around an indel: the sequence after the site is shifted
        span = self.max_tokens * 6 - 12  # bases that surely fit (6-mers; a few single-base tokens near N)
        if len(reference) > span:
            centre = (differ[0] + differ[-1]) // 2
            start = min(max(0, centre - span // 2), len(reference) - span)
            reference, variant = reference[start:start + span], variant[start:start + span]
        ref_ids = self.tokenizer(reference)["input_ids"]
        var_ids = self.tokenizer(variant)["input_ids"]
        if len(ref_ids) != len(var_ids) or len(ref_ids) > self.max_tokens:
            return "token_boundaries_differ"
        positions = [i for i, (a, b) in enumerate(zip(ref_ids, var_ids)) if a != b]
        return ref_ids, positions, [var_ids[i] for i in positions]

    def score_pairs(self, pairs, batch_size: int = 8) -> tuple[list, list]:
        """Per `(reference, variant)` pair: its score (None where skipped) and the skip reason (None where scored)."""
        scores, reasons, ready = [None] * len(pairs), [None] * len(pairs), []
        for i, (reference, variant) in enumerate(pairs):
            aligned = self._aligned(reference, variant)
            if isinstance(aligned, str):
                reasons[i] = aligned
            else:
                ready.append((i, *aligned))
        mask_id, pad_id = self.tokenizer.mask_token_id, self.tokenizer.pad_token_id
        device = next(self.model.parameters()).device
        for start in range(0, len(ready), batch_size):
            batch = ready[start:start + batch_size]
            length = max(len(ids) for _, ids, _, _ in batch)
            input_ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
            attention = torch.zeros((len(batch), length), dtype=torch.long)
            for row, (_, ids, positions, _) in enumerate(batch):
                input_ids[row, :len(ids)] = torch.tensor(ids)
                attention[row, :len(ids)] = 1
                input_ids[row, positions] = mask_id
            with torch.inference_mode():
                logits = self.model(input_ids.to(device), attention_mask=attention.to(device)).logits.float()
            log_probs = logits.log_softmax(-1).cpu()
            for row, (index, ids, positions, variant_ids) in enumerate(batch):
                reference_ids = torch.tensor([ids[p] for p in positions])
                picked = log_probs[row, positions]
                scores[index] = float((picked.gather(1, reference_ids[:, None])
                                       - picked.gather(1, torch.tensor(variant_ids)[:, None])).sum())
        return scores, reasons

    def predict_scores(self, rows: list[dict], batch_size: int = 8) -> tuple[list, list]:
        return self.score_pairs([(row["reference_sequence"], row["variant_sequence"]) for row in rows], batch_size)
