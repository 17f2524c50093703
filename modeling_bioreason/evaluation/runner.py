"""Batched, resumable evaluation of a BioReason model on a KEGG or variant-effect split.

    bioreason evaluate --model runs/my-model --dataset hub_cards/datasets/kegg --config leak_free --split test

Generation is batched (left padding, KV cache). Each finished row is appended to `predictions.jsonl` at once, so a
rerun after a kill continues where it stopped without recomputing or duplicating a row. At the end the runner writes
`report.json` (metrics under both scoring rules, the lookup baseline, settings), `report.md` and `per_class.png`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

from ..data.tasks import VEP_ANSWERS, infer_task, load_split, row_to_messages
from .baseline import lookup_answers
from .config import LOOKUP_MODEL, EvaluationConfig
from .metrics import kegg_metrics, variant_effect_metrics
from .report import write_markdown, write_per_class_chart

logger = logging.getLogger(__name__)


class PredictionLog:
    """Append-only JSONL of finished rows, robust to a kill in the middle of a write."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[int, dict] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        good = 0
        for line in raw.splitlines(keepends=True):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            if not line.endswith(b"\n"):
                break
            self.rows[row["index"]] = row
            good += len(line)
        if good < len(raw):
            logger.warning("Dropping a partly written last line of %s (the run was killed mid-write).", self.path)
            with open(self.path, "r+b") as handle:
                handle.truncate(good)

    def append(self, rows: list[dict]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.rows.update({row["index"]: row for row in rows})


def _check_run_config(output_dir: Path, config: EvaluationConfig) -> None:
    path = output_dir / "run_config.json"
    identity = config.identity()
    if path.exists():
        previous = json.loads(path.read_text())
        changed = sorted(k for k in identity if previous.get(k) != identity[k])
        if changed:
            raise ValueError(
                f"{output_dir} holds a run with other settings ({', '.join(f'{k}: {previous.get(k)!r} -> {identity[k]!r}' for k in changed)}); "
                "resume with the same settings or use a new --output-dir."
            )
    else:
        path.write_text(json.dumps(identity, indent=2))


def _device_kwargs(device: str) -> dict:
    import torch

    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda:
        return {"dtype": torch.bfloat16, "device_map": "auto" if device == "auto" else device}
    return {"dtype": torch.float32}


class BioReasonPredictor:
    """Batched generation with a BioReason model (left padding, KV cache)."""

    def __init__(self, model, processor):
        self.model, self.processor = model, processor
        self.tokenizer = getattr(processor, "tokenizer", processor)  # a processor's text tokenizer, or a tokenizer

    def tokenize(self, rows: list[dict], config: EvaluationConfig):
        return self.processor.apply_chat_template(
            [row_to_messages(row, trim_per_side=config.trim_per_side) for row in rows], add_generation_prompt=True,
            tokenize=True, return_dict=True, return_tensors="pt", enable_thinking=config.enable_thinking)

    def predict(self, rows: list[dict], config: EvaluationConfig) -> list[str]:
        import torch

        inputs = self.tokenize(rows, config).to(self.model.device)
        sampling = {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p, "top_k": config.top_k}
        with torch.inference_mode():
            output = self.model.generate(
                **inputs, max_new_tokens=config.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                **(sampling if config.do_sample else {"do_sample": False}),
            )
        return self.processor.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


class TextLMPredictor(BioReasonPredictor):
    """The LLM-only baseline: a plain causal LM with the sequences written into the prompt as text."""

    def __init__(self, model, tokenizer):
        tokenizer.padding_side = "left"
        super().__init__(model, tokenizer)

    def tokenize(self, rows: list[dict], config: EvaluationConfig):
        conversations = [row_to_messages(row, trim_per_side=config.trim_per_side, dna_as_text=True) for row in rows]
        return self.processor.apply_chat_template(conversations, add_generation_prompt=True, tokenize=True,
                                                  return_dict=True, return_tensors="pt", padding=True,
                                                  enable_thinking=config.enable_thinking)


class DNAOnlyPredictor:
    """The DNA-only baseline: a classifier whose prediction is written as `Answer: <label>`."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model, tokenizer

    def predict(self, rows: list[dict], config: EvaluationConfig) -> list[str]:
        import torch

        from ..dna_only import DNAPairCollator

        collator = DNAPairCollator(self.tokenizer, self.model.config.label2id, "kegg", config.trim_per_side,
                                   self.tokenizer.model_max_length)
        batch = collator([{key: row[key] for key in ("reference_sequence", "variant_sequence")} for row in rows])
        with torch.inference_mode():
            predicted = self.model(**{k: v.to(self.model.device) for k, v in batch.items()}).logits.argmax(-1)
        return [f"Answer: {self.model.config.id2label[int(i)]}" for i in predicted]


def load_model(model_path: str, device: str = "auto"):
    """A predictor for a saved folder: BioReason, an LLM-only baseline (plain causal LM) or a DNA-only baseline."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor, AutoTokenizer

    config_file = Path(model_path) / "config.json"
    if config_file.exists() and json.loads(config_file.read_text()).get("model_type") == "bioreason_dna_only":
        from ..tokenization_nucleotide_transformer import NucleotideTransformerTokenizer
        from ..dna_only import DNAOnlyClassifier

        return DNAOnlyPredictor(DNAOnlyClassifier.from_pretrained(model_path).eval(),
                                NucleotideTransformerTokenizer.from_pretrained(model_path))
    model = AutoModelForCausalLM.from_pretrained(model_path, trust_remote_code=True, **_device_kwargs(device)).eval()
    if AutoConfig.from_pretrained(model_path, trust_remote_code=True).model_type == "bioreason":
        return BioReasonPredictor(model, AutoProcessor.from_pretrained(model_path, trust_remote_code=True))
    return TextLMPredictor(model, AutoTokenizer.from_pretrained(model_path))


def _generate(predictor, rows: list[dict], config: EvaluationConfig) -> list[str]:
    return predictor.predict(rows, config)


def evaluate(config: EvaluationConfig, model=None, processor=None, progress: bool = True) -> dict:
    """
    Run (or resume) an evaluation and write its report. Returns the report dict.

    A loaded `model`/`processor` may be passed instead of loading `config.model`; `config.model == "lookup"` scores
    the lookup baseline alone.
    """
    import torch
    from tqdm.auto import tqdm

    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    dataset = load_split(config.dataset, config.config, config.split)
    if config.limit is not None:
        dataset = dataset.select(range(min(config.limit, len(dataset))))
    rows = dataset.to_list()
    task = infer_task(dataset["answer"])
    _check_run_config(output_dir, config)
    log = PredictionLog(output_dir / "predictions.jsonl")

    train = load_split(config.dataset, config.config, config.baseline_split)
    baseline, how = lookup_answers(train["question"], train["answer"], [row["question"] for row in rows])

    # Batches of similar prompt length waste less compute on padding; results are keyed by row index.
    pending = sorted((i for i in range(len(rows)) if i not in log.rows), key=lambda i: _prompt_size(rows[i]))
    started = time.perf_counter()
    if pending and config.model != LOOKUP_MODEL:
        predictor = BioReasonPredictor(model, processor) if model is not None else load_model(config.model,
                                                                                                 config.device)
        bar = tqdm(total=len(rows), initial=len(rows) - len(pending), desc="evaluate", unit="row", disable=not progress)
        for start in range(0, len(pending), config.batch_size):
            batch = pending[start:start + config.batch_size]
            torch.manual_seed(config.seed + min(batch))
            generations = _generate(predictor, [rows[i] for i in batch], config)
            log.append([{"index": i, "answer": rows[i]["answer"], "generation": g} for i, g in zip(batch, generations)])
            bar.update(len(batch))
        bar.close()
    elif pending:
        log.append([{"index": i, "answer": rows[i]["answer"], "generation": f"Answer: {baseline[i]}"} for i in pending])
    elapsed = time.perf_counter() - started

    predictions = [log.rows[i]["generation"] for i in range(len(rows))]
    references = [row["answer"] for row in rows]
    baseline_texts = [f"Answer: {answer}" for answer in baseline]
    if task == "kegg":
        full = [load_split(config.dataset, config.config, s)["answer"] for s in _splits(config.dataset, config.config)]
        labels = sorted({a.strip().lower() for answers in full for a in answers})
        metrics, baseline_metrics = (kegg_metrics(p, references, labels) for p in (predictions, baseline_texts))
    else:
        labels = list(VEP_ANSWERS)
        metrics, baseline_metrics = (variant_effect_metrics(p, references) for p in (predictions, baseline_texts))

    report = {
        "task": task,
        "model": config.model,
        "dataset": config.dataset,
        "config": config.config,
        "split": config.split,
        "rows": len(rows),
        "labels": labels,
        "settings": dataclasses.asdict(config),
        "command": " ".join(sys.argv),
        "metrics": {rule: _headline(metrics[rule]) for rule in ("strict", "paper_lenient")},
        "lookup_baseline": {
            "exact_question_matches": how.count("exact"),
            **{rule: _headline(baseline_metrics[rule]) for rule in ("strict", "paper_lenient")},
        },
        "details": {rule: metrics[rule] for rule in ("strict", "paper_lenient")},
        "rows_generated_this_run": len(pending) if config.model != LOOKUP_MODEL else 0,
        "seconds_this_run": round(elapsed, 2),
    }
    (output_dir / "report.json").write_text(json.dumps(report, indent=2))
    write_markdown(report, output_dir / "report.md")
    write_per_class_chart(report, output_dir / "per_class.png")
    return report


def _prompt_size(row: dict) -> int:
    return len(row["question"]) + (len(row["reference_sequence"]) + len(row["variant_sequence"])) // 6


def _splits(dataset: str, config: str) -> list[str]:
    import datasets

    return list(datasets.get_dataset_split_names(dataset, config))


def _headline(metrics: dict) -> dict:
    keys = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "precision", "recall", "f1", "unparseable")
    return {k: metrics[k] for k in keys if k in metrics}
