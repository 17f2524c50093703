"""Evaluation throughput: batched (batch 8) vs one example at a time (issue: benchmarks).

Same tiny model (the original code's benchmark size: random Qwen3 with hidden 256, 4 layers, over the real Qwen3
vocabulary, + a 2-layer NT-v2 with hidden 128), same 32 KEGG test rows, same greedy settings; the predictions must be
identical. Run side by side in one process.

    python benchmarks/bench_evaluate.py [--rows 32] [--max-new-tokens 32] [--threads 2]
    python benchmarks/bench_evaluate.py --part scoring     # variant effect: answer-slot score cost beside generation
    python benchmarks/bench_evaluate.py --part parsers     # every parser/reward on 200 kB adversarial strings
    python benchmarks/bench_evaluate.py --part zero_shot   # zero-shot NT-v2 LLR rows/s (tiny golden NT-v2)

Speed against the original BioReason is measured side by side, never against a figure from another day:
`benchmarks/bench_vs_original.py` (README, "Benchmarks"; results in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from modeling_bioreason.evaluation.runner import EvaluationConfig, evaluate
from modeling_bioreason.example import tiny_bioreason, tiny_tokenizer
from modeling_bioreason.hub import save_bioreason
from modeling_bioreason.pretrained_assets import qwen3_tokenizer

ROOT = Path(__file__).parent.parent
KEGG = str(ROOT / "hub_cards" / "datasets" / "kegg")
CLINVAR = str(ROOT / "hub_cards" / "datasets" / "variant_effect_clinvar")
BRCA1 = str(ROOT / "hub_cards" / "datasets" / "brca1_sge")


def bench_parsers(size: int = 200_000) -> None:
    """Each parser and reward on adversarial inputs of `size` characters (linear time: well under a second)."""
    from modeling_bioreason.tasks import get_task
    from modeling_bioreason.tasks.scoring import answer_prefix, extract_answer, format_ok, map_to_label

    kegg, vep = get_task("kegg_disease"), get_task("variant_effect")
    inputs = {
        "spaces after </think>": "<think>\nx\n</think>" + " " * size,
        "spaces then Answer:": "<think>\n" + " " * size + "</think>\nAnswer:" + " " * size,
        "many Answer: markers": "<think>\nx\n</think>\n" + "Answer: " * (size // 8),
        "unclosed think": "<think>" + "a " * (size // 2),
        "label words repeated": "<think>x</think>Answer: " + "not pathogenic benign " * (size // 22),
        "kegg names repeated": "<think>x</think>Answer: " + "renal cell carcinoma, " * (size // 22),
        "punctuation soup": "<think>x</think>Answer: " + ".,;:!?()-'" * (size // 10),
    }
    functions = {
        "extract_answer": extract_answer, "answer_prefix": answer_prefix, "format_reward": format_ok,
        "kegg parse": kegg.parse, "vep parse": vep.parse,
        "map_to_label (37 KEGG labels)": lambda t: map_to_label(t, kegg.labels),
        "concise reward": lambda t: kegg.concise_answer_reward([t]),
    }
    print(f"parsers on adversarial inputs of ~{size // 1000} kB (seconds, worst over inputs):")
    for name, function in functions.items():
        worst, worst_input = 0.0, ""
        for label, text in inputs.items():
            start = time.perf_counter()
            function(text)
            elapsed = time.perf_counter() - start
            if elapsed > worst:
                worst, worst_input = elapsed, label
        print(f"  {name:32s} {worst:7.3f} s  ({worst_input})")


def bench_scoring(args) -> None:
    """Variant effect: generation and the answer-slot score (one forward over prompt + reasoning per row)."""
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = qwen3_tokenizer() if args.tokenizer == "qwen3" else tiny_tokenizer()
        model, processor = tiny_bioreason(tokenizer, seed=0, text_hidden=args.text_hidden,
                                          text_layers=args.text_layers, dna_hidden=128)
        config = EvaluationConfig(model="tiny", dataset=CLINVAR, split="test", output_dir=str(Path(tmp) / "run"),
                                  limit=args.rows, batch_size=8, max_new_tokens=args.max_new_tokens)
        report = evaluate(config, model=model, processor=processor, progress=False)
    total, scoring = report["seconds_this_run"], report["score_seconds_this_run"]
    print(f"{args.rows} ClinVar test rows, batch 8, {args.max_new_tokens} new tokens, {args.threads} threads, "
          f"text model hidden {args.text_hidden} x {args.text_layers}, {args.tokenizer} vocabulary")
    print(f"  generation {total - scoring:6.1f} s   scoring {scoring:6.1f} s   "
          f"(scoring adds {100 * scoring / max(1e-9, total - scoring):.0f}% to generation; "
          f"{scoring / args.rows:.3f} s/row); scored rows: {report['metrics']['ranking']['n_scored']}")


def bench_zero_shot(args) -> None:
    """Zero-shot NT-v2 masked-marginal LLR rows/s (each window encoded once) with the tiny golden NT-v2."""
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in (CLINVAR, BRCA1):
            config = EvaluationConfig(model=str(ROOT / "tests" / "fixtures" / "nt_v2_golden"), dataset=dataset,
                                      split="test", output_dir=str(Path(tmp) / Path(dataset).name), limit=args.rows,
                                      batch_size=16)
            start = time.perf_counter()
            report = evaluate(config, progress=False)
            elapsed = time.perf_counter() - start
            ranking = report["metrics"]["ranking"]
            print(f"  {Path(dataset).name}: {report['rows']} rows in {elapsed:5.1f} s = {report['rows'] / elapsed:6.1f} "
                  f"rows/s ({args.threads} threads); scored {ranking['n_scored']}, skipped {report['skipped']}, "
                  f"AUROC {ranking['auroc']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--text-hidden", type=int, default=256)
    parser.add_argument("--text-layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trim-per-side", type=int, default=1024)
    parser.add_argument("--tokenizer", choices=["qwen3", "small"], default="qwen3",
                        help="the real Qwen3 vocabulary (151k rows: the LM head dominates each CPU decode step) or "
                             "the small BPE of the CPU smoke recipes (2k rows)")
    parser.add_argument("--part", choices=["throughput", "scoring", "parsers", "zero_shot"], default="throughput")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.part == "parsers":
        return bench_parsers()
    if args.part == "scoring":
        return bench_scoring(args)
    if args.part == "zero_shot":
        return bench_zero_shot(args)

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = qwen3_tokenizer() if args.tokenizer == "qwen3" else tiny_tokenizer()
        model, processor = tiny_bioreason(tokenizer, seed=0, text_hidden=args.text_hidden,
                                          text_layers=args.text_layers, dna_hidden=128)
        folder = save_bioreason(model, processor, Path(tmp) / "tiny")
        results = {}
        for batch_size in (1, 8, 1, 8):  # interleaved twice: this machine is noisy
            out = Path(tmp) / f"run{len(results)}"
            config = EvaluationConfig(model=str(folder), dataset=KEGG, split="test", output_dir=str(out),
                                      limit=args.rows, batch_size=batch_size, max_new_tokens=args.max_new_tokens,
                                      trim_per_side=args.trim_per_side)
            start = time.perf_counter()
            evaluate(config, model=model, processor=processor, progress=False)
            elapsed = time.perf_counter() - start
            predictions = [json.loads(line)["generation"] for line in (out / "predictions.jsonl").read_text().splitlines()]
            results[len(results)] = (batch_size, elapsed, predictions)

    print(f"{args.rows} KEGG test rows, greedy, {args.max_new_tokens} new tokens, trim {args.trim_per_side}, "
          f"{args.threads} threads, text model hidden {args.text_hidden} x {args.text_layers} layers, "
          f"{args.tokenizer} vocabulary ({len(tokenizer):,} tokens)")
    best = {}
    for batch_size, elapsed, _ in results.values():
        best[batch_size] = min(best.get(batch_size, float("inf")), elapsed)
        print(f"  batch {batch_size}: {elapsed:6.1f} s  {args.rows / elapsed:5.2f} examples/s  "
              f"{elapsed / args.rows:5.3f} s/example")
    same = all(results[i][2] == results[0][2] for i in results)
    lengths = {len(p) for p in results[0][2]}
    print(f"generation lengths (chars): {min(lengths)}-{max(lengths)}")
    print(f"speed-up batched vs one at a time (best runs): {best[1] / best[8]:.1f}x; identical predictions: {same}")


if __name__ == "__main__":
    main()
