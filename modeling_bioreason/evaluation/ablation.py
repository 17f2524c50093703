"""DNA ablations: how much does a model's answer depend on its DNA?

    bioreason evaluate --model runs/my-model --dataset hub_cards/datasets/kegg --dna-ablation shuffle \\
        --dna-ablation reference-only --dna-ablation zero

Each mode re-runs the same rows with the DNA altered, as a run of its own (`<output_dir>/dna_ablation/<mode>/`: its
predictions file, resume, row fingerprints and `run_config.json`, which records the mode), and the intact run's
report compares it with the intact answers under both scoring rules:

* `shuffle`: each row gets another row's reference and variant windows (a fixed-seed derangement of the evaluated
  rows, seeded by `--seed`): the DNA distribution is kept, only the pairing with the question is broken;
* `reference-only`: the variant window is replaced by the reference window: no variant information is left;
* `zero`: the projected DNA features are zeros at the `<|dna_pad|>` positions (BioReason models: the model is given
  `dna_embeds` of zeros with the real DNA mask, through its public forward; the encoder does not run).

Per mode and rule: accuracy and F1 (AUROC/AUPRC for variant effect), their change against the intact run, how many
parsed answers changed, and McNemar's exact test on per-row correctness (the two-sided exact binomial test on the
discordant pairs). The zero-shot DNA baseline and the lookup baseline are not ablatable: the first scores nothing but
the DNA (ablating it says nothing about a language model's use of DNA), the second reads no DNA at all.
"""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path

from ..tasks import Task
from .config import DNA_ABLATIONS as ABLATIONS
DESCRIPTIONS = {
    "shuffle": "each row gets another row's DNA (fixed-seed derangement of the evaluated rows)",
    "reference-only": "the variant window is replaced by the reference window",
    "zero": "the projected DNA features are zeros at the DNA placeholders",
}
NOT_ABLATABLE = {
    "zero_shot_dna": "the zero-shot DNA baselines (an NT-v2 masked LM, Evo 2) are not ablatable: they score nothing "
                     "but the DNA, so taking the DNA away says nothing about how a language model uses it",
    "lookup": "the lookup baseline is not ablatable: it reads no DNA (it answers with the most similar training "
              "question's answer)",
}
ZERO_NEEDS_PROJECTION = {
    "llm_only": "the LLM-only baseline reads the sequences as text: it has no projected DNA features to zero (use "
                "shuffle or reference-only)",
    "dna_only": "the DNA-only baseline pools its encoder's features itself: it has no DNA placeholders to zero "
                "(use shuffle or reference-only)",
}


# ------------------------------------------------------------------------------------------------------ inputs
def check_dataset(modes, dataset: str, config: str, split: str) -> None:
    """`reference-only` needs a reference window column: refused before any work, naming it."""
    if "reference-only" not in modes:
        return
    import datasets

    try:
        columns = datasets.load_dataset_builder(dataset, config).info.features  # a card's dataset_info
        if columns is None:  # no card: the split itself (cached for the run's own load)
            columns = datasets.load_dataset(dataset, config, split=split).column_names
    except Exception:  # noqa: BLE001 - an unreadable dataset fails later with its own message
        return
    if "reference_sequence" not in columns:
        raise ValueError(f"--dna-ablation reference-only replaces each variant window by its reference window, but "
                         f"{dataset!r} ({config}) has no 'reference_sequence' column (it has {sorted(columns)}).")


def check_rows(modes, rows: list[dict], where: str) -> None:
    if "shuffle" in modes and len(rows) < 2:
        raise ValueError(f"--dna-ablation shuffle gives each row another row's DNA: it needs at least 2 rows, and "
                         f"{where} has {len(rows)} (raise --limit).")


def check_model(modes, kind: str) -> None:
    """Refuse, before any generation, a mode the model cannot be ablated with."""
    if kind in NOT_ABLATABLE:
        raise ValueError(f"--dna-ablation: {NOT_ABLATABLE[kind]}.")
    if "zero" in modes and kind in ZERO_NEEDS_PROJECTION:
        raise ValueError(f"--dna-ablation zero: {ZERO_NEEDS_PROJECTION[kind]}.")


# --------------------------------------------------------------------------------------------------- the DNA
def derangement(n: int, seed: int) -> list[int]:
    """
    A uniformly random permutation of range(n) without fixed points (rejection sampling; about e tries), fixed by
    `seed`.

    >>> order = derangement(5, seed=0)
    >>> sorted(order) == list(range(5)) and all(i != j for i, j in enumerate(order))
    True
    """
    if n < 2:
        raise ValueError(f"A derangement needs at least 2 items, got {n}.")
    rng = random.Random(seed)
    order = list(range(n))
    while True:
        rng.shuffle(order)
        if all(i != j for i, j in enumerate(order)):
            return order


def ablate_rows(rows: list[dict], mode: str, seed: int) -> list[dict]:
    """The rows a mode evaluates: new dicts with the DNA altered (`zero` leaves the rows; the predictor zeroes)."""
    if mode == "shuffle":
        donors = derangement(len(rows), seed)
        return [{**row, "reference_sequence": rows[j]["reference_sequence"],
                 "variant_sequence": rows[j]["variant_sequence"]} for row, j in zip(rows, donors)]
    if mode == "reference-only":
        return [{**row, "variant_sequence": row["reference_sequence"]} for row in rows]
    if mode == "zero":
        return [dict(row) for row in rows]
    raise ValueError(f"Unknown ablation {mode!r}; expected one of {list(ABLATIONS)}.")


def dna_changed(rows: list[dict], ablated: list[dict], mode: str) -> int:
    """How many rows the mode actually changed (`zero` changes every row's features)."""
    if mode == "zero":
        return len(rows)
    keys = ("reference_sequence", "variant_sequence")
    return sum(any(a[k] != b[k] for k in keys) for a, b in zip(rows, ablated))


def zeroed_dna_predictor(predictor):
    """A BioReason predictor whose inputs carry `dna_embeds` of zeros (and the real DNA mask) instead of DNA ids:
    generation and the answer-slot score both see zero features at every DNA placeholder."""
    from .runner import BioReasonPredictor

    class ZeroDNAFeatures(BioReasonPredictor):
        def tokenize(self, rows, config):
            return _zero_features(super().tokenize(rows, config), self.model)

        def _prefix_inputs(self, row, generation, config):
            return _zero_features(super()._prefix_inputs(row, generation, config), self.model)

    if predictor.kind != BioReasonPredictor.kind:
        raise ValueError(f"--dna-ablation zero needs a BioReason model; got a {predictor.kind} model.")
    return ZeroDNAFeatures(predictor.model, predictor.processor, predictor.task)


def _zero_features(inputs, model):
    import torch

    mask = inputs["dna_attention_mask"]
    inputs["dna_embeds"] = torch.zeros((*mask.shape, model.config.text_config.hidden_size), dtype=model.dtype)
    del inputs["dna_input_ids"]  # the encoder does not run: the placeholders receive the zero features
    return inputs


# --------------------------------------------------------------------------------------------------- statistics
def mcnemar_exact(intact_only: int, ablated_only: int) -> float:
    """
    Two-sided p-value of McNemar's exact test: the discordant pairs (rows right only intact, right only ablated)
    under Binomial(n = their sum, 1/2); 1.0 without discordant pairs.

    >>> round(mcnemar_exact(10, 2), 5)  # 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * 79 / 4096
    0.03857
    """
    n = intact_only + ablated_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(intact_only, ablated_only) + 1))
    return min(1.0, 2 * tail / 2 ** n)


def row_outcomes(task: Task, predictions: list[str], references: list[str], scores=None) -> tuple[dict, dict]:
    """(metrics, {rule: (per-row parsed answers, per-row correctness)}) over the rows the metrics count."""
    metrics = task.metrics(predictions, references, scores)
    outcomes = {}
    for rule, gold_of in (("strict", task.gold_label), ("paper_lenient", task.paper_lenient_gold)):
        gold = [g for g in (gold_of(r) for r in references) if g is not None]  # excluded rows (BRCA1 INT) dropped
        answers = metrics[f"{rule}_predictions"]
        outcomes[rule] = (answers, [a == g for a, g in zip(answers, gold)])
    return metrics, outcomes


def _f1_key(values: dict) -> str:
    return "macro_f1" if "macro_f1" in values else "f1"


def compare(task: Task, intact: tuple[list, list], ablated: tuple[list, list], references: list[str]) -> dict:
    """The comparison of one mode with the intact run: `intact`/`ablated` are (generations, scores)."""
    base_metrics, base = row_outcomes(task, intact[0], references, intact[1] if task.has_score else None)
    metrics, outcomes = row_outcomes(task, ablated[0], references, ablated[1] if task.has_score else None)
    result = {"generations_changed": sum(a != b for a, b in zip(intact[0], ablated[0]))}
    for rule in ("strict", "paper_lenient"):
        (base_answers, base_right), (answers, right) = base[rule], outcomes[rule]
        key = _f1_key(metrics[rule])
        intact_only = sum(b and not a for b, a in zip(base_right, right))
        ablated_only = sum(a and not b for b, a in zip(base_right, right))
        result[rule] = {
            "accuracy": metrics[rule]["accuracy"], key: metrics[rule][key],
            "change": {"accuracy": metrics[rule]["accuracy"] - base_metrics[rule]["accuracy"],
                       key: metrics[rule][key] - base_metrics[rule][key]},
            "answers_changed": sum(a != b for a, b in zip(base_answers, answers)),
            "right_only_intact": intact_only, "right_only_ablated": ablated_only,
            "mcnemar_p": mcnemar_exact(intact_only, ablated_only),
        }
    if "ranking" in metrics:
        ranking, before = metrics["ranking"], base_metrics["ranking"]
        result["ranking"] = {"auroc": ranking["auroc"], "auprc": ranking["auprc"], "n_scored": ranking["n_scored"],
                             "change": {k: None if ranking[k] is None or before[k] is None else ranking[k] - before[k]
                                        for k in ("auroc", "auprc")}}
    return result


# --------------------------------------------------------------------------------------------------- the runs
def ablation_config(config, mode: str):
    """The settings of one ablated run: the intact run's, in its own folder, with the mode recorded."""
    sub = dataclasses.replace(config, output_dir=str(Path(config.output_dir) / "dna_ablation" / mode),
                              dna_ablation=[], zero_shot_baseline=None)
    sub.ablation = mode
    return sub


def run_ablations(config, task: Task, rows: list[dict], intact: tuple[list, list], predictor, progress: bool,
                  model=None, processor=None) -> dict:
    """
    Run (or resume) every requested mode as its own evaluation; the comparison for the intact report. A model passed
    in memory (`model`/`processor`) is passed on, so each mode's run identifies it as the intact run did.
    """
    from .runner import PredictionLog, evaluate, load_model, row_fingerprint

    def pending(mode: str) -> bool:
        path = Path(ablation_config(config, mode).output_dir) / "predictions.jsonl"
        saved = PredictionLog(path).rows if path.exists() else {}
        return any(saved.get(i, {}).get("fingerprint") != row_fingerprint(row)
                   for i, row in enumerate(ablate_rows(rows, mode, config.seed)))

    if model is None and predictor is None and any(map(pending, config.dna_ablation)):  # intact was complete: load once
        predictor = load_model(config.model, config.device, task, config.trust_remote_code, config.dtype)
    references = [row["answer"] for row in rows]
    modes = {}
    for mode in config.dna_ablation:
        sub = ablation_config(config, mode)
        evaluate(sub, model, processor, progress=progress, predictor=None if model is not None else predictor)
        saved = PredictionLog(Path(sub.output_dir) / "predictions.jsonl").rows  # the last line of each row wins
        ablated = ([saved[i]["generation"] for i in range(len(rows))], [saved[i].get("score") for i in range(len(rows))])
        modes[mode] = {"description": DESCRIPTIONS[mode], "output_dir": sub.output_dir,
                       "rows_with_dna_changed": dna_changed(rows, ablate_rows(rows, mode, config.seed), mode),
                       **compare(task, intact, ablated, references)}
    return {"seed": config.seed, "modes": modes,
            "not_ablated": ["zero-shot DNA baselines (not ablatable: they score nothing but the DNA)",
                            "lookup baseline (not ablatable: it reads no DNA)"]}
