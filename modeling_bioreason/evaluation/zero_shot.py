"""Zero-shot DNA baselines: a DNA language model scores each variant without training on the task.

    bioreason evaluate --model <NT-v2 masked-LM folder> --dataset hub_cards/datasets/variant_effect_clinvar
    bioreason evaluate --model <Evo 2 folder> --dataset hub_cards/datasets/brca1_sge

**Evo 2** (a causal LM, `Evo2LikelihoodScorer`): score = log P(reference window) - log P(variant window), each the sum
of log p(token | the tokens before it) over the window as given (after `--trim-per-side`), so higher = the variant is
less likely = more damaging; indels are scored too (whole windows). Identical windows are skipped (`no_difference`).

**NT-v2** (a masked LM, `ZeroShotDNAScorer`):

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
weights), and Evo 2 folders (`bioreason convert-evo2`), with this package's own classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..data.windows import trim_flanks
from ..processing_bioreason import normalize_dna_sequence


def _model_type(folder) -> str | None:
    config_file = Path(folder) / "config.json"
    return json.loads(config_file.read_text()).get("model_type") if config_file.is_file() else None


def is_evo2_causal_lm(folder) -> bool:
    """A folder holding an Evo 2 model (`model_type: evo2`, as `bioreason convert-evo2` writes it)."""
    return _model_type(folder) == "evo2"


def load_zero_shot_scorer(folder, **load_kwargs):
    """The zero-shot scorer of a DNA language model folder (NT-v2 masked LM or Evo 2), or None for any other folder."""
    if is_evo2_causal_lm(folder):
        return Evo2LikelihoodScorer.from_pretrained(folder, **load_kwargs)
    if is_nt_masked_lm(folder):
        return ZeroShotDNAScorer.from_pretrained(folder)
    return None


def zero_shot_rule(folder) -> str:
    """How a zero-shot DNA baseline folder scores a row (for reports)."""
    return (Evo2LikelihoodScorer if is_evo2_causal_lm(folder) else ZeroShotDNAScorer).rule


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


def right_padded(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) of token-id lists, right-padded to the longest."""
    length = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[row, :len(ids)] = 1
    return input_ids, attention


class _WindowPairScorer:
    """A zero-shot scorer of (reference, variant) window pairs; subclasses define `score_pairs` and `rule`."""

    kind = "zero_shot_dna"
    rule = ""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model.eval(), tokenizer

    def score_pairs(self, pairs, batch_size: int = 8) -> tuple[list, list]:
        raise NotImplementedError

    def predict_scores(self, rows: list[dict], batch_size: int = 8, trim_per_side: int = 0) -> tuple[list, list]:
        """Per dataset row (windows trimmed by `trim_per_side` on each side): score (None where skipped), reason."""
        return self.score_pairs([(trim_flanks(row["reference_sequence"], trim_per_side),
                                  trim_flanks(row["variant_sequence"], trim_per_side)) for row in rows], batch_size)


MAX_SUBSTITUTED_BASES = 6  # more differing bases than this, or spread wider than the span below: not a substitution
MAX_SUBSTITUTION_SPAN = 12


class ZeroShotDNAScorer(_WindowPairScorer):
    """
    Masked-marginal LLR of an NT-v2 masked LM (see the module docstring for the rule and the skips).

    >>> from modeling_bioreason.evaluation.zero_shot import ZeroShotDNAScorer
    >>> scorer = ZeroShotDNAScorer.from_pretrained("tests/fixtures/nt_v2_golden")  # doctest: +SKIP
    >>> scorer.score_pairs([("ACGTACGTACGT", "ACGTACCTACGT")])  # doctest: +SKIP
    ([0.41...], [None])
    """

    rule = "NT-v2 masked-marginal LLR (indels are not scored)"

    def __init__(self, model, tokenizer):
        super().__init__(model, tokenizer)
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
            input_ids, attention = right_padded([ids for _, ids, _, _ in batch], pad_id)
            for row, (_, _, positions, _) in enumerate(batch):
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


class Evo2LikelihoodScorer(_WindowPairScorer):
    """
    Zero-shot variant score of an Evo 2 causal LM: log P(reference window) - log P(variant window) (see the module
    docstring). Each distinct window is run once; windows of similar length are batched (right padding).

    >>> from modeling_bioreason.evaluation.zero_shot import Evo2LikelihoodScorer
    >>> scorer = Evo2LikelihoodScorer.from_pretrained("converted/evo2-1b-base")  # doctest: +SKIP
    >>> scorer.score_pairs([("ACGTACGTACGT", "ACGTACCTACGT")])  # doctest: +SKIP
    ([1.93...], [None])
    """

    rule = "Evo 2 log P(reference window) - log P(variant window)"

    @classmethod
    def from_pretrained(cls, folder, **load_kwargs) -> Evo2LikelihoodScorer:
        """`load_kwargs` go to `from_pretrained` (default fp32; e.g. `dtype=torch.bfloat16, device_map="cuda"`)."""
        from ..modeling_evo2 import Evo2ForCausalLM
        from ..tokenization_evo2 import Evo2Tokenizer

        load_kwargs.setdefault("dtype", torch.float32)
        return cls(Evo2ForCausalLM.from_pretrained(folder, **load_kwargs), Evo2Tokenizer.from_pretrained(folder))

    def window_log_likelihoods(self, windows: list[str], batch_size: int = 16) -> list[float]:
        """log P(window) = sum over positions t >= 1 of log p(token_t | tokens < t), per window."""
        if not windows:
            return []
        ids = self.tokenizer(windows, add_special_tokens=False)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        totals = [0.0] * len(ids)
        device = self.model.device
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            if max(len(ids[i]) for i in batch) < 2:
                continue  # nothing is predicted in a one-token window
            input_ids, mask = right_padded([ids[i] for i in batch], self.tokenizer.pad_token_id)
            with torch.inference_mode():
                logits = self.model(input_ids.to(device), attention_mask=mask.to(device)).logits
            for row, i in enumerate(batch):
                n = len(ids[i])
                log_probs = logits[row, :n - 1].float().log_softmax(-1)
                totals[i] = float(log_probs.gather(1, input_ids[row, 1:n, None].to(device)).sum())
        return totals

    def score_pairs(self, pairs, batch_size: int = 8) -> tuple[list, list]:
        """Per `(reference, variant)` pair: its score (None where skipped) and the skip reason (None where scored)."""
        scores, reasons, windows = [None] * len(pairs), [None] * len(pairs), {}
        for i, (reference, variant) in enumerate(pairs):
            if not reference or not variant:
                reasons[i] = "empty_window"
            elif reference == variant:
                reasons[i] = "no_difference"
            else:
                windows.setdefault(reference, None)
                windows.setdefault(variant, None)
        # a batch of rows is one forward over both windows of each row
        log_p = dict(zip(windows, self.window_log_likelihoods(list(windows), 2 * batch_size)))
        for i, (reference, variant) in enumerate(pairs):
            if reasons[i] is None:
                scores[i] = log_p[reference] - log_p[variant]
        return scores, reasons
