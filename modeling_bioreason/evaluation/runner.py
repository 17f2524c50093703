"""Batched, resumable evaluation of a BioReason model on a KEGG or variant-effect split.

    bioreason evaluate --model runs/my-model --dataset hub_cards/datasets/kegg --config leak_free --split test

The task is declared (`--task`, or `bioreason_task` in the dataset card), and every row is checked before any work
starts (errors name the dataset row). Generation is batched (left padding, KV cache). Each finished row is appended
to `predictions.jsonl` at once with its dataset `index`, a `fingerprint` of its input and (variant effect) its
`score`, so a rerun after a kill continues where it stopped; a saved row whose input changed, or that is not a
valid prediction row, is recomputed (said so, and listed in the report). `run_config.json` records the settings and a
fingerprint of the model's weights: a rerun with other settings or another model (a folder retrained in place) is
refused. `--do-sample` draws each row from its own stream, seeded by `--seed` and the row's dataset index, so
sampled generations do not depend on `--batch-size` or on what an interrupted run left on disk. At the end the
runner writes `report.json` (metrics under both scoring rules, AUROC/AUPRC for variant effect, the lookup baseline,
settings), `report.md` and `per_class.png`.

`--model` may also be an NT-v2 masked-LM folder or an Evo 2 folder: a zero-shot DNA baseline (`zero_shot.py`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

from ..data.tasks import load_split, resolve_split
from ..data.windows import trim_flanks
from ..sources import model_fingerprint, module_fingerprint, require_dataset, require_model
from ..tasks import Task, dataset_repo_id, task_of_dataset
from ..tasks.scoring import answer_prefix
from . import ablation
from .baseline import lookup_answers
from .config import LOOKUP_MODEL, EvaluationConfig
from .report import HOW_TO_READ, write_markdown, write_per_class_chart

logger = logging.getLogger(__name__)


def row_fingerprint(row: dict) -> str:
    """A digest of what a prediction depends on in a row (question, answer, both windows): checked on resume."""
    payload = json.dumps([row.get(k) for k in ("question", "answer", "reference_sequence", "variant_sequence")],
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def _saved_row_problem(row) -> str | None:
    """Why a parsed predictions.jsonl line is not a usable prediction row, or None."""
    if not isinstance(row, dict) or not isinstance(row.get("index"), int) or isinstance(row["index"], bool) or \
            row["index"] < 0:
        return "no non-negative integer 'index'"
    if not isinstance(row.get("generation"), str):
        return f"'generation' is {'missing' if 'generation' not in row else repr(row['generation'])[:20]}, not text"
    score = row.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        return f"'score' is {score!r:.20}, not a number"
    return None


class PredictionLog:
    """
    Append-only JSONL of finished rows, robust to a kill in the middle of a write.

    Only a partly written *last* line (no newline) is cut off; a corrupted line elsewhere (garbage, invalid UTF-8, a
    row without an integer `index`, a missing or non-text `generation`, a non-numeric `score`) is reported with its
    line number and skipped, never deleting the good rows around it (the row it held is recomputed). A later line for
    the same index supersedes an earlier one.
    """

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[int, dict] = {}
        self.bad_lines: list[int] = []
        if path.exists():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        complete = raw.rfind(b"\n") + 1
        for number, line in enumerate(raw[:complete].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                problem = _saved_row_problem(row)
                if problem:
                    raise ValueError(problem)
            except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                self.bad_lines.append(number)
                logger.warning("%s line %d is not a prediction row (%s); skipping it, its row will be recomputed.",
                               self.path, number, str(error)[:80])
                continue
            self.rows[row["index"]] = row
        if complete < len(raw):
            logger.warning("Dropping a partly written last line of %s (the run was killed mid-write).", self.path)
            with open(self.path, "r+b") as handle:
                handle.truncate(complete)

    def append(self, rows: list[dict]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.rows.update({row["index"]: row for row in rows})


def _check_run_config(output_dir: Path, config: EvaluationConfig, weights: str | None, binding: bool) -> None:
    """
    Refuse to continue a run made with other settings or another model (`weights`: the model's fingerprint). Only
    saved predictions bind: a `run_config.json` beside none (a first run that failed, e.g. a typo in `--model`) is
    replaced.
    """
    path = output_dir / "run_config.json"
    identity = {**config.identity(), "model_weights": weights}
    if path.exists() and binding:
        previous = json.loads(path.read_text())
        changed = sorted(k for k in config.identity() if previous.get(k) != identity[k])
        if changed:
            raise ValueError(
                f"{output_dir} holds a run with other settings ({', '.join(f'{k}: {previous.get(k)!r} -> {identity[k]!r}' for k in changed)}); "
                "resume with the same settings or use a new --output-dir."
            )
        before = previous.get("model_weights")
        if "model_weights" not in previous or (before is not None and before != weights):
            raise ValueError(
                f"{output_dir} holds predictions of another model: the weights of {config.model!r} are not the ones "
                f"that generated them (fingerprint {before or 'not recorded'} -> {weights or 'unknown'}; retrained or "
                f"replaced?). Use a new --output-dir, or delete {output_dir / 'predictions.jsonl'} to recompute.")
        if before is None and weights is not None:  # a Hub model pinned now (it was not in the cache before)
            path.write_text(json.dumps({**previous, "model_weights": weights}, indent=2))
    else:
        path.write_text(json.dumps(identity, indent=2))


def check_device(device: str) -> None:
    """Refuse a `cuda[:N]` device this machine does not have (before any work, never a torch traceback)."""
    import torch

    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if int(device.partition(":")[2] or 0) >= count:
            raise ValueError(f"--device {device}: this machine has {count} visible CUDA GPU(s) "
                             f"(torch.cuda.is_available() is {torch.cuda.is_available()}); use --device cpu or auto.")


def _device_kwargs(device: str, dtype: str = "auto") -> dict:
    import torch

    check_device(device)
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    chosen = getattr(torch, dtype) if dtype != "auto" else torch.bfloat16 if use_cuda else torch.float32
    if use_cuda:
        return {"dtype": chosen, "device_map": "auto" if device == "auto" else device}
    return {"dtype": chosen}


class BioReasonPredictor:
    """Batched generation with a BioReason model (left padding, KV cache), and the per-row answer-slot score."""

    kind = "bioreason"

    def __init__(self, model, processor, task: Task | None = None):
        self.model, self.processor, self.task = model, processor, task
        self.tokenizer = getattr(processor, "tokenizer", processor)  # a processor's text tokenizer, or a tokenizer

    def messages(self, row: dict, config: EvaluationConfig) -> list[dict]:
        return self.task.messages(row, trim_per_side=config.trim_per_side)

    def tokenize(self, rows: list[dict], config: EvaluationConfig):
        return self.processor.apply_chat_template(
            [self.messages(row, config) for row in rows], add_generation_prompt=True,
            tokenize=True, return_dict=True, return_tensors="pt", enable_thinking=config.enable_thinking)

    def predict(self, rows: list[dict], config: EvaluationConfig, indices: list[int] | None = None) -> list[str]:
        """Generations for `rows` (dataset rows `indices`: with --do-sample, each row's stream is seeded by them)."""
        import torch

        inputs = self.tokenize(rows, config).to(self.model.device)
        sampling = {}
        if config.do_sample:
            from transformers import LogitsProcessorList

            from .sampling import RowSeededSampling, row_seed

            seeds = [row_seed(config.seed, i) for i in (indices if indices is not None else range(len(rows)))]
            sampling["logits_processor"] = LogitsProcessorList(
                [RowSeededSampling(seeds, config.temperature, config.top_k, config.top_p)])
        with torch.inference_mode():
            output = self.model.generate(
                **inputs, max_new_tokens=config.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                do_sample=False, **sampling,  # sampled by RowSeededSampling, one stream per row
            )
        return self.processor.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)

    def _prefix_inputs(self, row: dict, generation: str, config: EvaluationConfig):
        prompt = self.processor.apply_chat_template([self.messages(row, config)], add_generation_prompt=True,
                                                    tokenize=False, enable_thinking=config.enable_thinking)[0]
        dna = [trim_flanks(row[k], config.trim_per_side) for k in ("reference_sequence", "variant_sequence")]
        return self.processor(text=[prompt + answer_prefix(generation)], dna_sequences=[dna], return_tensors="pt")

    def score(self, rows: list[dict], generations: list[str], config: EvaluationConfig) -> list[float | None]:
        """
        log P(" pathogenic") - log P(" benign") as the continuation of the model's own text cut at its answer slot
        (`answer_prefix`: after its reasoning and `Answer:`). One forward over prompt + reasoning per row (its KV
        cache is reused for the label tokens, both labels in one small batched step).
        """
        import torch

        if not getattr(self.task, "has_score", False):
            return [None] * len(rows)
        continuations = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in self.task.continuations]
        scores = []
        for row, generation in zip(rows, generations):
            inputs = self._prefix_inputs(row, generation, config).to(self.model.device)
            with torch.inference_mode():
                out = self.model(**inputs, use_cache=True, logits_to_keep=1)  # the answer slot only
                first = out.logits[0, -1].float().log_softmax(-1)
                totals = [float(first[ids[0]]) for ids in continuations]
                rest = [ids[1:] for ids in continuations]
                if any(rest):
                    width = max(len(r) for r in rest)
                    # step t feeds ids[t] and predicts ids[t + 1]; shorter rows are right-padded (causal: unread)
                    tails = torch.tensor([ids[:-1] + [ids[-1]] * (width + 1 - len(ids)) for ids in continuations],
                                         device=self.model.device)
                    cache = out.cache
                    cache.batch_repeat_interleave(len(continuations))
                    mask = torch.ones((len(continuations), inputs["attention_mask"].shape[1] + width),
                                      dtype=inputs["attention_mask"].dtype, device=self.model.device)
                    step = self.model(input_ids=tails, attention_mask=mask, cache=cache, use_cache=True)
                    log_probs = step.logits.float().log_softmax(-1)
                    for k, ids in enumerate(continuations):
                        totals[k] += sum(float(log_probs[k, t, ids[t + 1]]) for t in range(len(ids) - 1))
            scores.append(totals[0] - totals[1])
        return scores


class TextLMPredictor(BioReasonPredictor):
    """The LLM-only baseline: a plain causal LM with the sequences written into the prompt as text."""

    kind = "llm_only"

    def __init__(self, model, tokenizer, task: Task | None = None):
        tokenizer.padding_side = "left"
        super().__init__(model, tokenizer, task)

    def messages(self, row: dict, config: EvaluationConfig) -> list[dict]:
        return self.task.messages(row, trim_per_side=config.trim_per_side, dna_as_text=True)

    def tokenize(self, rows: list[dict], config: EvaluationConfig):
        return self.processor.apply_chat_template([self.messages(row, config) for row in rows],
                                                  add_generation_prompt=True, tokenize=True, return_dict=True,
                                                  return_tensors="pt", padding=True,
                                                  enable_thinking=config.enable_thinking)

    def _prefix_inputs(self, row: dict, generation: str, config: EvaluationConfig):
        prompt = self.processor.apply_chat_template(self.messages(row, config), add_generation_prompt=True,
                                                    tokenize=False, enable_thinking=config.enable_thinking)
        return self.processor(prompt + answer_prefix(generation), return_tensors="pt", add_special_tokens=False)


class DNAOnlyPredictor:
    """The DNA-only baseline: a classifier whose prediction is written as `Answer: <label>`; its score is the
    classifier's log-odds of pathogenic (variant effect)."""

    kind = "dna_only"

    def __init__(self, model, tokenizer, task: Task | None = None):
        self.model, self.tokenizer, self.task = model, tokenizer, task
        self._logits = {}

    def predict(self, rows: list[dict], config: EvaluationConfig, indices: list[int] | None = None) -> list[str]:
        import torch

        from ..dna_only import DNAPairCollator

        collator = DNAPairCollator(self.tokenizer, self.model.config.label2id, self.task, config.trim_per_side,
                                   self.tokenizer.model_max_length, getattr(self.model.config, "dna_truncation", None))
        batch = collator([{key: row[key] for key in ("reference_sequence", "variant_sequence")} for row in rows])
        with torch.inference_mode():
            logits = self.model(**{k: v.to(self.model.device) for k, v in batch.items()}).logits.float()
        self._last = logits.log_softmax(-1).cpu()
        return [f"Answer: {self.model.config.id2label[int(i)]}" for i in logits.argmax(-1)]

    def score(self, rows: list[dict], generations: list[str], config: EvaluationConfig) -> list[float | None]:
        label2id = self.model.config.label2id
        if not getattr(self.task, "has_score", False) or not {"pathogenic", "benign"} <= set(label2id):
            return [None] * len(rows)
        return [float(lp[label2id["pathogenic"]] - lp[label2id["benign"]]) for lp in self._last]


def load_model(model_path: str, device: str = "auto", task: Task | None = None, trust_remote_code: bool = False,
               dtype: str = "auto"):
    """A predictor for a saved folder: BioReason, an LLM-only baseline (plain causal LM), a DNA-only baseline, or an
    NT-v2 masked LM or Evo 2 (zero-shot DNA baselines, loaded with this package's classes). BioReason folders load
    through this package's registered classes; code shipped in any other folder (`auto_map`) runs only with
    `trust_remote_code=True`."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor, AutoTokenizer

    from .zero_shot import load_zero_shot_scorer

    config_file = Path(model_path) / "config.json"
    if config_file.exists() and json.loads(config_file.read_text()).get("model_type") == "bioreason_dna_only":
        from ..dna_only import load_dna_only

        return DNAOnlyPredictor(*load_dna_only(model_path), task)
    scorer = load_zero_shot_scorer(model_path, **_device_kwargs(device, dtype))
    if scorer is not None:
        return scorer
    remote = trust_remote_code  # importing this package registered the BioReason classes: its folders need no remote code
    try:
        model = AutoModelForCausalLM.from_pretrained(model_path, trust_remote_code=remote,
                                                     **_device_kwargs(device, dtype)).eval()
    except ValueError as error:
        if "trust_remote_code" in str(error) and not remote:
            raise ValueError(f"{model_path} is not a BioReason folder and ships its own code (auto_map); it runs only "
                             "if you trust it: pass --trust-remote-code.") from None
        raise
    if AutoConfig.from_pretrained(model_path, trust_remote_code=remote).model_type == "bioreason":
        return BioReasonPredictor(model, AutoProcessor.from_pretrained(model_path, trust_remote_code=remote), task)
    return TextLMPredictor(model, AutoTokenizer.from_pretrained(model_path, trust_remote_code=remote), task)


def _generate(predictor, rows: list[dict], config: EvaluationConfig, indices: list[int]) -> list[str]:
    return predictor.predict(rows, config, indices)


def _check_rows_fingerprints(log: PredictionLog, rows: list[dict]) -> list[int]:
    """Drop saved rows whose input changed since they were written (or that carry no fingerprint); return them."""
    stale = [i for i, saved in log.rows.items()
             if i >= len(rows) or saved.get("fingerprint") != row_fingerprint(rows[i])]
    stale_in_range = sorted(i for i in stale if i < len(rows))
    for i in stale:
        del log.rows[i]
    if stale_in_range:
        shown = ", ".join(map(str, stale_in_range[:10])) + (" ..." if len(stale_in_range) > 10 else "")
        logger.warning("%d saved prediction(s) do not match the dataset's rows any more (rows %s): recomputing them.",
                       len(stale_in_range), shown)
    return stale_in_range


def evaluate(config: EvaluationConfig, model=None, processor=None, progress: bool = True, predictor=None) -> dict:
    """
    Run (or resume) an evaluation and write its report. Returns the report dict.

    A loaded `model`/`processor` (or a `predictor`) may be passed instead of loading `config.model`;
    `config.model == "lookup"` scores the lookup baseline alone. The task comes from `config.task` or the dataset card
    (never from the answers). `config.dna_ablation` runs each mode as an evaluation of its own (`ablation.py`).
    """
    from tqdm.auto import tqdm

    from .zero_shot import load_zero_shot_scorer, zero_shot_rule

    output_dir = Path(config.output_dir)
    check_device(config.device)
    require_dataset(config.dataset)
    if model is None and predictor is None and config.model != LOOKUP_MODEL:
        require_model(config.model)
    task = task_of_dataset(config.dataset, config.config, config.task)
    hub_id = dataset_repo_id(config.dataset, config.config, config.dataset_repo_id)  # checked before any work
    if config.dna_ablation:  # refused before any work: what the dataset or the model cannot be ablated with
        if config.model == LOOKUP_MODEL:
            ablation.check_model(config.dna_ablation, "lookup")
        from .zero_shot import is_evo2_causal_lm, is_nt_masked_lm

        if model is None and predictor is None and (is_nt_masked_lm(config.model) or is_evo2_causal_lm(config.model)):
            ablation.check_model(config.dna_ablation, "zero_shot_dna")
        ablation.check_dataset(config.dna_ablation, config.dataset, config.config, config.split)
    import datasets

    split_names = datasets.get_dataset_split_names(config.dataset, config.config)
    _check_baselines(config, task, split_names)  # before the first split is loaded (which may build a cache)
    dataset = load_split(config.dataset, config.config, config.split)
    if len(dataset) == 0:
        raise ValueError(f"Split {config.split!r} of {config.dataset!r} ({config.config}) is empty: nothing to evaluate.")
    if config.limit is not None:
        dataset = dataset.select(range(min(config.limit, len(dataset))))
    rows = dataset.to_list()
    where = f"dataset {config.dataset!r} ({config.config}/{config.split})"
    task.check_rows(rows, where, trim_per_side=config.trim_per_side, iupac_ok=True)  # IUPAC: see the model below
    ablation.check_rows(config.dna_ablation, rows, f"the evaluated set of {where}")
    if config.ablation:  # this run is one DNA ablation of another: the same rows, their DNA altered
        rows = ablation.ablate_rows(rows, config.ablation, config.seed)
    has_baseline = resolve_split(config.dataset, config.config, config.baseline_split) in split_names
    train_rows = []
    if has_baseline:  # a test-only benchmark (BRCA1 SGE) has no split to look answers up in
        train = load_split(config.dataset, config.config, config.baseline_split)
        train_rows = train.select_columns(["question", "answer"]).to_list()
        task.check_rows([{**r, "reference_sequence": "N", "variant_sequence": "N"} for r in train_rows],
                        f"baseline split {config.baseline_split!r} of {config.dataset!r} ({config.config})")
    elif config.model == LOOKUP_MODEL:
        raise ValueError(f"{config.dataset!r} ({config.config}) has no {config.baseline_split!r} split for the lookup "
                         "baseline to look answers up in; pass --baseline-split.")

    output_dir.mkdir(parents=True, exist_ok=True)
    weights = None if config.model == LOOKUP_MODEL else (
        module_fingerprint(model) if model is not None else model_fingerprint(config.model))
    log = PredictionLog(output_dir / "predictions.jsonl")
    _check_run_config(output_dir, config, weights, binding=bool(log.rows or log.bad_lines))
    recomputed = _check_rows_fingerprints(log, rows)

    baseline, how = lookup_answers([r["question"] for r in train_rows], [r["answer"] for r in train_rows],
                                   [row["question"] for row in rows]) if has_baseline else (None, [])

    pending = [i for i in by_prompt_length(rows) if i not in log.rows]  # results are keyed by row index
    started = time.perf_counter()
    kind, skipped, score_seconds = "lookup", {}, 0.0
    if config.model != LOOKUP_MODEL:
        if predictor is not None:
            pass
        elif model is not None:
            predictor = BioReasonPredictor(model, processor, task)
        elif pending:
            predictor = load_model(config.model, config.device, task, config.trust_remote_code, config.dtype)
        else:
            predictor = None
        if predictor is not None and predictor.kind == "bioreason" and getattr(predictor.processor, "iupac",
                                                                               "error") != "to_n":
            task.check_rows(rows, where, trim_per_side=config.trim_per_side)  # its processor refuses IUPAC codes
        kind = predictor.kind if predictor is not None else json.loads(
            (output_dir / "run_config.json").read_text()).get("kind", "model")
        if config.dna_ablation:
            ablation.check_model(config.dna_ablation, kind)
        if config.ablation == "zero" and predictor is not None:
            predictor = ablation.zeroed_dna_predictor(predictor)
    if pending and config.model != LOOKUP_MODEL and kind == "zero_shot_dna":
        if not task.has_score:
            raise ValueError(f"{config.model!r} is a DNA language model (a zero-shot DNA baseline): it scores "
                             f"variant-effect datasets only, not {task.name!r}.")
        for start in range(0, len(pending), 256):  # saved in chunks: a killed run resumes
            chunk = pending[start:start + 256]
            scores, reasons = predictor.predict_scores([rows[i] for i in chunk], config.batch_size,
                                                       config.trim_per_side)
            log.append([{"index": i, "fingerprint": row_fingerprint(rows[i]), "answer": rows[i]["answer"],
                         "generation": "", "score": s, "skipped": r} for i, s, r in zip(chunk, scores, reasons)])
    elif pending and config.model != LOOKUP_MODEL:
        bar = tqdm(total=len(rows), initial=len(rows) - len(pending), desc="evaluate", unit="row", disable=not progress)
        for start in range(0, len(pending), config.batch_size):
            batch = pending[start:start + config.batch_size]
            batch_rows = [rows[i] for i in batch]
            generations = _generate(predictor, batch_rows, config, batch)
            tick = time.perf_counter()
            scores = predictor.score(batch_rows, generations, config) if task.has_score else [None] * len(batch)
            score_seconds += time.perf_counter() - tick
            log.append([{"index": i, "fingerprint": row_fingerprint(rows[i]), "answer": rows[i]["answer"],
                         "generation": g, "score": s} for i, g, s in zip(batch, generations, scores)])
            bar.update(len(batch))
        bar.close()
    elif pending:
        log.append([{"index": i, "fingerprint": row_fingerprint(rows[i]), "answer": rows[i]["answer"],
                     "generation": f"Answer: {baseline[i]}", "score": None} for i in pending])
    elapsed = time.perf_counter() - started
    _remember_kind(output_dir, kind)

    predictions = [log.rows[i]["generation"] for i in range(len(rows))]
    row_scores = [log.rows[i].get("score") for i in range(len(rows))]
    references = [row["answer"] for row in rows]
    metrics = task.metrics(predictions, references, row_scores if task.has_score else None)
    if has_baseline:
        baseline_metrics = task.metrics([f"Answer: {answer}" for answer in baseline], references)
        lookup = {"exact_question_matches": how.count("exact"),
                  **{rule: task.headline(baseline_metrics[rule]) for rule in ("strict", "paper_lenient")}}
    else:
        lookup = {"exact_question_matches": None, "unavailable": f"no {config.baseline_split!r} split"}
    if kind == "zero_shot_dna":
        skipped = dict(Counter(log.rows[i].get("skipped") for i in range(len(rows)) if row_scores[i] is None))

    zero_shot = None
    if config.zero_shot_baseline and task.has_score:  # each window encoded once; cheap beside generation
        scorer = load_zero_shot_scorer(config.zero_shot_baseline, **_device_kwargs(config.device, config.dtype))
        zs_scores, zs_reasons = scorer.predict_scores(rows, config.batch_size, config.trim_per_side)
        zero_shot = {"model": config.zero_shot_baseline, "rule": zero_shot_rule(config.zero_shot_baseline),
                     "ranking": task.metrics(predictions, references, zs_scores)["ranking"],
                     "skipped": dict(Counter(r for r in zs_reasons if r is not None))}
    rules = ("strict", "paper_lenient") if kind != "zero_shot_dna" else ()
    headline = {rule: task.headline(metrics[rule]) for rule in rules}
    if "ranking" in metrics:
        headline["ranking"] = metrics["ranking"]
    report = {
        "task": task.name,
        "model": config.model,
        "kind": kind,
        "dataset": config.dataset,
        "dataset_repo_id": hub_id,  # the Hub id results cite (None: the folder has none; see --dataset-repo-id)
        "config": config.config,
        "split": config.split,
        "rows": len(rows),
        "excluded_from_metrics": metrics.get("excluded", 0),
        "labels": list(task.labels),
        "settings": dataclasses.asdict(config),
        "command": " ".join(sys.argv),
        "metrics": headline,
        "lookup_baseline": lookup,
        "zero_shot_baseline": zero_shot,
        "details": {rule: metrics[rule] for rule in rules},
        "skipped": skipped,
        "scoring_rule": zero_shot_rule(config.model) if kind == "zero_shot_dna" else None,
        "how_to_read": HOW_TO_READ[task.name],
        "rows_generated_this_run": len(pending) if config.model != LOOKUP_MODEL else 0,
        "rows_recomputed_because_input_changed": recomputed,
        "corrupted_prediction_lines": log.bad_lines,
        "seconds_this_run": round(elapsed, 2),
        "score_seconds_this_run": round(score_seconds, 2),
    }
    if config.dna_ablation:
        report["dna_reliance"] = ablation.run_ablations(config, task, rows, (predictions, row_scores),
                                                        predictor if config.model != LOOKUP_MODEL else None, progress,
                                                        model, processor)
    (output_dir / "report.json").write_text(json.dumps(report, indent=2))
    write_markdown(report, output_dir / "report.md")
    write_per_class_chart(report, output_dir / "per_class.png")
    return report


def _check_baselines(config: EvaluationConfig, task: Task, split_names: list[str]) -> None:
    """Refuse, before any generation, a baseline that was asked for but cannot be computed (never left out
    silently): a `--baseline-split` the dataset lacks (the default `train` may be absent: test-only benchmarks), a
    `--zero-shot-baseline` for a task without per-row scores or that is not an NT-v2 masked LM or Evo 2 folder."""
    from .zero_shot import is_evo2_causal_lm, is_nt_masked_lm

    default = next(f.default for f in dataclasses.fields(EvaluationConfig) if f.name == "baseline_split")
    if config.baseline_split != default and resolve_split(config.dataset, config.config,
                                                         config.baseline_split) not in split_names:
        raise ValueError(f"--baseline-split {config.baseline_split!r}: {config.dataset!r} ({config.config}) has no "
                         f"such split; it has {sorted(split_names)}.")
    path = config.zero_shot_baseline
    if path is None:
        return
    if not task.has_score:
        raise ValueError(f"--zero-shot-baseline scores variant-effect rows (log-likelihood ratios); {task.name!r} has "
                         "no per-row score. Drop the option for this dataset.")
    hub_id = path.count("/") == 1 and not path.startswith((".", "/", "~"))
    if not os.path.exists(path) and not hub_id:
        raise ValueError(f"--zero-shot-baseline {path}: no such folder (an NT-v2 masked LM or Evo 2 folder, or Hub "
                         "id).")
    if os.path.exists(path) and not (os.path.isdir(path) and (is_nt_masked_lm(path) or is_evo2_causal_lm(path))):
        raise ValueError(f"--zero-shot-baseline {path}: not an NT-v2 masked LM or Evo 2 folder (its config.json names "
                         "no nucleotide_transformer or evo2 model).")


def _remember_kind(output_dir: Path, kind: str) -> None:
    path = output_dir / "run_config.json"
    saved = json.loads(path.read_text())
    if saved.get("kind") != kind:
        path.write_text(json.dumps({**saved, "kind": kind}, indent=2))


def by_prompt_length(rows: list[dict]) -> list[int]:
    """
    Row indices ordered by prompt size (question characters + DNA tokens at 6 bp each): consecutive batches hold
    prompts of similar length, so less compute goes to padding.

    >>> by_prompt_length([{"question": "a" * 9, "reference_sequence": "", "variant_sequence": ""},
    ...                   {"question": "a", "reference_sequence": "", "variant_sequence": ""}])
    [1, 0]
    """
    size = [len(row["question"]) + (len(row["reference_sequence"]) + len(row["variant_sequence"])) // 6
            for row in rows]
    return sorted(range(len(rows)), key=size.__getitem__)
