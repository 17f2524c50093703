"""Processor throughput and DNA-merge cost (issue: core model/processor).

Processor: 256 real KEGG train rows, batch 8 (and batch 4, the original code's measured batch), for generation
prompts and for training rows with labels, untrimmed 4 kb windows (672 NT tokens per sequence) as BioReason's KEGG
SFT fed them. Merge: the DNA path (encoder + projector + scatter) against a text-only forward of the same length.

    python benchmarks/bench_processor.py [--rows 256] [--threads 1]

Speed against the original BioReason is measured side by side, never against a figure from another day:
`benchmarks/bench_vs_original.py` (README, "Benchmarks"; results in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from modeling_bioreason.example import tiny_bioreason
from modeling_bioreason.pretrained_assets import qwen3_tokenizer

KEGG_TRAIN = Path(__file__).parent.parent / "hub_cards" / "datasets" / "kegg" / "data" / "train-00000-of-00001.parquet"


def messages(row, with_answer: bool):
    conversation = [{"role": "user", "content": [
        {"type": "dna", "sequence": row.reference_sequence},
        {"type": "dna", "sequence": row.variant_sequence},
        {"type": "text", "text": row.question},
    ]}]
    if with_answer:
        conversation.append({"role": "assistant", "reasoning_content": row.reasoning,
                             "content": f"Answer: {row.answer}"})
    return conversation


def time_processor(processor, rows, batch_size: int, training: bool, repeats: int) -> list[float]:
    batches = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    per_batch = []
    for _ in range(repeats):
        for batch in batches:
            start = time.perf_counter()
            processor.apply_chat_template(
                [messages(row, training) for row in batch], add_generation_prompt=not training, tokenize=True,
                return_dict=True, return_tensors="pt", return_assistant_tokens_mask=training,
            )
            per_batch.append(time.perf_counter() - start)
    return per_batch


@torch.no_grad()
def time_merge(model, processor, rows, repeats: int) -> dict[str, float]:
    inputs = processor.apply_chat_template([messages(row, False) for row in rows], add_generation_prompt=True,
                                           tokenize=True, return_dict=True, return_tensors="pt")
    embeds = model.get_input_embeddings()(inputs["input_ids"])
    timings = {"text_only_forward": [], "dna_features": [], "dna_forward": []}
    for _ in range(repeats):
        start = time.perf_counter()
        model(inputs_embeds=embeds, attention_mask=inputs["attention_mask"], logits_to_keep=1)
        timings["text_only_forward"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"])
        timings["dna_features"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model(**inputs, logits_to_keep=1)
        timings["dna_forward"].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in timings.items()} | {
        "tokens": inputs["input_ids"].numel(), "dna_tokens": int(inputs["dna_attention_mask"].sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = list(pd.read_parquet(KEGG_TRAIN).sample(n=args.rows, random_state=0).itertuples())
    model, processor = tiny_bioreason(qwen3_tokenizer(), seed=0)
    model.eval()
    print(f"{len(rows)} real KEGG train rows, untrimmed windows, {args.threads} thread(s)")
    print(f"{'processor':<34}{'batch':>6}{'rows/s':>10}{'ms/batch (median)':>20}")
    for training in (False, True):
        for batch_size in (8, 4):
            per_batch = time_processor(processor, rows, batch_size, training, args.repeats)
            rows_per_s = len(rows) * args.repeats / sum(per_batch)
            label = "training rows with labels" if training else "generation prompts"
            print(f"{label:<34}{batch_size:>6}{rows_per_s:>10.1f}{statistics.median(per_batch) * 1e3:>20.1f}")

    merge = time_merge(model, processor, rows[:2], repeats=7)
    print(f"\nDNA merge, batch 2 ({merge['tokens']} text tokens, {merge['dna_tokens']} DNA tokens), tiny model:")
    print(f"  text-only forward (same length):   {merge['text_only_forward'] * 1e3:8.1f} ms")
    print(f"  encoder + projector (get_dna_features): {merge['dna_features'] * 1e3:5.1f} ms")
    print(f"  full forward with DNA merge:       {merge['dna_forward'] * 1e3:8.1f} ms "
          f"(merge overhead {(merge['dna_forward'] / merge['text_only_forward'] - 1) * 100:+.0f}%)")


if __name__ == "__main__":
    main()
