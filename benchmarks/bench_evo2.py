"""Evo 2 speed and memory: forward time and peak memory of a small Evo 2 beside NT-v2 of similar size at equal base
pairs (1, 2, 4, 8 kb), zero-shot rows/s, and the long filter's peak memory at the 1B shapes.

    python benchmarks/bench_evo2.py                  # everything, 1 thread (about 3 minutes on an idle core)
    python benchmarks/bench_evo2.py --part forward   # or: zero_shot, long_filter

Each (model, length) runs in a fresh process: "peak" is the process's peak resident memory during the forward (the
high-water mark is reset just before it) minus its resident memory just before (weights and imports excluded).
Random weights, fp32, batch 1, no gradients; times are the median of 3 forwards after a warm-up, as wall seconds and
as the process's CPU seconds (1 thread: CPU seconds are the compute time, which contention on a shared machine
inflates less than wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
LENGTHS_KB = (1, 2, 4, 8)

# ~7 M parameters each: Evo 2 blocks in the 1B model's order (hcs, hcm, hcl, attn, ...), NT-v2 layers of the same width
SMALL_EVO2 = dict(hidden_size=256, num_attention_heads=8, intermediate_size=704, hcs_filter_groups=16,
                  hcm_filter_groups=16, block_types=["hcs", "hcm", "hcl", "attn", "hcs", "hcm", "hcl", "attn"])
# the same blocks without the two attention blocks: the part whose cost must grow as L log L
SMALL_EVO2_HYENA = dict(SMALL_EVO2, block_types=["hcs", "hcm", "hcl", "hcs", "hcm", "hcl"])
SMALL_NT = dict(hidden_size=256, num_hidden_layers=8, num_attention_heads=8, intermediate_size=704,
                max_position_embeddings=2050)
# The 1B model's widths (evo2-1b-8k.yml)
EVO2_1B = dict(hidden_size=1920, num_attention_heads=15, intermediate_size=5120, hcs_filter_groups=128,
               hcm_filter_groups=128, state_size=16)

CHILD = r'''
import json, re, sys, time
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
task = json.loads(sys.argv[2])

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

def peak_mb():
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024

def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

torch.manual_seed(0)
if task["kind"] == "evo2":
    from modeling_bioreason import Evo2Config, Evo2Model
    model = Evo2Model(Evo2Config(**task["config"])).eval()
    ids = torch.randint(65, 90, (1, task["bp"]))
    run = lambda: model(ids)
elif task["kind"] == "nt":
    from modeling_bioreason import NucleotideTransformerConfig, NucleotideTransformerModel
    model = NucleotideTransformerModel(NucleotideTransformerConfig(**task["config"])).eval()
    ids = torch.randint(6, 4102, (1, task["bp"] // 6 + 1))  # 6-mer tokens + <cls>
    run = lambda: model(ids)
elif task["kind"] == "long_filter":  # the long filter of one hcl block at the 1B shapes
    from modeling_bioreason import Evo2Config
    from modeling_bioreason.modeling_evo2 import Evo2HyenaBlock
    config = Evo2Config(block_types=["hcl"], **task["config"])
    block = Evo2HyenaBlock(config, 0).eval()
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.02)
    torch.nn.init.uniform_(block.filter.log_poles, -1.0, -1e-3)
    L = task["bp"]
    if task["form"] == "chunked":
        run = lambda: block.filter.long_filter(L)
    elif task["form"] == "upstream":  # the upstream expression: the whole (hidden x state x L) tensor at once
        t = torch.arange(L)[None, None]
        run = lambda: (block.filter.residues[..., None] * (block.filter.log_poles * t).exp()).sum(1)[None]
    else:  # the whole block forward (projections, filter by FFT, MLP)
        x = torch.randn(1, L, config.hidden_size)
        run = lambda: block(x)
with torch.no_grad():
    before = rss_mb()
    reset_peak()
    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    peak = peak_mb() - before
    times, cpu = [], []
    for _ in range(task.get("repeats", 3)):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
params = sum(p.numel() for p in (model if task["kind"] in ("evo2", "nt") else block).parameters())
print(json.dumps({"seconds": sorted(times)[len(times) // 2], "cpu_seconds": sorted(cpu)[len(cpu) // 2],
                  "first": first, "peak_mb": peak, "params": params}))
'''


def measure(task: dict) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), json.dumps(task)], capture_output=True,
                            text=True, env=env, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def bench_forward() -> None:
    print(f"forward, batch 1, fp32, 1 thread (load {load()}):")
    print("| bp | Evo 2 small: wall s (CPU s) | Evo 2 peak MiB | its 6 Hyena blocks alone: CPU s | "
          "NT-v2 small, bp/6 tokens: wall s (CPU s) | NT-v2 peak MiB |")
    print("|---|---|---|---|---|---|")
    rows = []
    for kb in LENGTHS_KB:
        evo2 = measure({"kind": "evo2", "config": SMALL_EVO2, "bp": kb * 1024})
        hyena = measure({"kind": "evo2", "config": SMALL_EVO2_HYENA, "bp": kb * 1024})
        nt = measure({"kind": "nt", "config": SMALL_NT, "bp": kb * 1024})
        rows.append((kb, evo2, hyena, nt))
        print(f"| {kb * 1024} | {evo2['seconds']:.3f} ({evo2['cpu_seconds']:.3f}) | {evo2['peak_mb']:.0f} | "
              f"{hyena['cpu_seconds']:.3f} | {nt['seconds']:.3f} ({nt['cpu_seconds']:.3f}) | {nt['peak_mb']:.0f} |",
              flush=True)
    ratios = {name: ", ".join(f"{b[i]['cpu_seconds'] / a[i]['cpu_seconds']:.2f}" for a, b in zip(rows, rows[1:]))
              for i, name in ((1, "Evo 2"), (2, "Hyena blocks alone"))}
    print(f"parameters: Evo 2 {rows[0][1]['params'] / 1e6:.2f} M, NT-v2 {rows[0][3]['params'] / 1e6:.2f} M; "
          f"CPU-time ratio per doubling of the length: Evo 2 {ratios['Evo 2']}; Hyena blocks alone "
          f"{ratios['Hyena blocks alone']} (linear = 2, L log L slightly above)")


def bench_zero_shot(rows: int) -> None:
    import torch

    from modeling_bioreason import Evo2Config, Evo2ForCausalLM, Evo2Tokenizer
    from modeling_bioreason.data.tasks import load_split
    from modeling_bioreason.evaluation.zero_shot import Evo2LikelihoodScorer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = load_split(str(ROOT / "hub_cards" / "datasets" / "variant_effect_clinvar"), "default", "test")
    data = data.select(range(rows)).to_list()
    scorer = Evo2LikelihoodScorer(Evo2ForCausalLM(Evo2Config(**SMALL_EVO2)).eval(), Evo2Tokenizer())
    for batch_size in (1, 8):
        start, start_cpu = time.perf_counter(), time.process_time()
        scorer.predict_scores(data, batch_size=batch_size)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        print(f"zero-shot Evo 2 small, {rows} ClinVar test rows (2 x 1,024-bp windows each), batch {batch_size}, "
              f"1 thread (load {load()}): {elapsed:.1f} s wall = {rows / elapsed:.2f} rows/s "
              f"({rows / cpu:.2f} rows per CPU second)", flush=True)


def bench_long_filter(length: int) -> None:
    print(f"long filter of one hcl block at the 1B shapes (hidden 1920, state 16), L = {length}, fp32, 1 thread "
          f"(load {load()}):")
    for form, what in (("upstream", "upstream expression (whole hidden x state x L tensor)"),
                       ("chunked", "this model's long_filter (32 MiB chunks of channels)"),
                       ("block", "this model's whole hcl block forward (projections, FFT conv, MLP)")):
        result = measure({"kind": "long_filter", "config": EVO2_1B, "bp": length, "form": form, "repeats": 1})
        print(f"  {what}: peak {result['peak_mb']:.0f} MiB, {result['seconds']:.2f} s wall "
              f"({result['cpu_seconds']:.2f} s CPU)", flush=True)
    h, s = EVO2_1B["hidden_size"], EVO2_1B["state_size"]
    print(f"  for reference: one (hidden x state x L) fp32 tensor = {h * s * length * 4 / 2**20:.0f} MiB, "
          f"the filter itself (hidden x L) = {h * length * 4 / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "forward", "zero_shot", "long_filter"], default="all")
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--long-length", type=int, default=8192)
    args = parser.parse_args()
    if args.part in ("all", "forward"):
        bench_forward()
    if args.part in ("all", "zero_shot"):
        bench_zero_shot(args.rows)
    if args.part in ("all", "long_filter"):
        bench_long_filter(args.long_length)


if __name__ == "__main__":
    main()
