"""Evaluation throughput: batched (batch 8) vs one example at a time (issue: benchmarks).

Same tiny model (the original code's benchmark size: random Qwen3 with hidden 256, 4 layers, over the real Qwen3
vocabulary, + a 2-layer NT-v2 with hidden 128), same 32 KEGG test rows, same greedy settings; the predictions must be
identical. Run side by side in one process.

    python benchmarks/bench_evaluate.py [--rows 32] [--max-new-tokens 32] [--threads 2]

Original BioReason (shared/benchmarks/original_baseline.md): 1.76 s per example, one at a time, 64 new tokens.
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

KEGG = str(Path(__file__).parent.parent / "hub_cards" / "datasets" / "kegg")


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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

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
