"""Training speed at a fixed tiny size on 2 CPU cores (issue: training).

* SFT tokens/s: the cpu-smoke-sft recipe (tiny random Qwen3 over a small BPE, random NT-v2, 16 real KEGG rows).
* GRPO step time with DNA-embedding reuse on (DNAGRPOTrainer: one encoding per step, projected features reused by
  generation and the old/reference/policy passes) vs off (every pass re-runs the encoder), and encoder call counts.

    python benchmarks/bench_training.py [--threads 2] [--grpo-steps 3]

Speed against the original BioReason is measured side by side, never against a figure from another day:
`benchmarks/bench_vs_original.py` (README, "Benchmarks"; results in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from modeling_bioreason.training.grpo import DNAGRPOTrainer, make_grpo_trainer
from modeling_bioreason.training.recipe import load_recipe
from modeling_bioreason.training.sft import run_sft


class EncoderEveryPassTrainer(DNAGRPOTrainer):
    """The "reuse off" variant: DNA token ids travel with the batch and every forward re-encodes them."""

    _dna_keys = ("dna_input_ids", "dna_attention_mask")

    def _tokenize_prompts(self, prompts):
        batch = self.processing_class.apply_chat_template(prompts, add_generation_prompt=True, tokenize=True,
                                                          return_dict=True, return_tensors="pt")
        prompt_ids = [ids[mask.bool()].tolist() for ids, mask in zip(batch["input_ids"], batch["attention_mask"])]
        device = self.accelerator.device
        self._dna = {key: batch[key].to(device) for key in self._dna_keys}
        return prompt_ids, None, dict(self._dna)


PRECISION: list[str] = []  # recipe overrides for --bf16


def time_grpo(trainer_class, folder: str, out: Path, steps: int) -> dict:
    recipe = load_recipe("cpu-smoke-grpo", [
        f"model.model={folder}", f"training.output_dir={out}", f"training.max_steps={steps}",
        "training.num_generations=4", "training.per_device_train_batch_size=4", "training.max_completion_length=64",
        "training.save_steps=1000", "data.limit=8", *PRECISION,
    ])
    trainer = make_grpo_trainer(recipe, trainer_class)
    base = trainer.accelerator.unwrap_model(trainer.model).get_base_model()
    rows = []
    hook = base.model.dna_encoder.register_forward_hook(lambda module, args, output: rows.append(args[0].shape[0]))
    start = time.perf_counter()
    trainer.train()
    elapsed = time.perf_counter() - start
    hook.remove()
    step_times = [entry["step_time"] for entry in trainer.state.log_history if "step_time" in entry]
    return {"seconds": elapsed, "median_step_s": statistics.median(step_times) if step_times else elapsed / steps,
            "encoder_calls_per_step": len(rows) / steps, "encoded_rows_per_step": sum(rows) / steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grpo-steps", type=int, default=3)
    parser.add_argument("--sft-steps", type=int, default=10)
    parser.add_argument("--dna-model", default="random-nt-v2:256x6",
                        help="NT-v2-architecture encoder size; larger makes the cost of re-encoding visible")
    parser.add_argument("--bf16", action="store_true", help="train in bf16 autocast (CPU), as the paper recipes do")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    PRECISION.extend(["training.bf16=true", "training.use_cpu=true"] if args.bf16 else [])

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        folder = run_sft(load_recipe("cpu-smoke-sft", [f"training.output_dir={tmp}/sft", f"model.dna_model={args.dna_model}",
                                                       f"training.max_steps={args.sft_steps}", "training.save_steps=1000", *PRECISION]))
        sft_seconds = time.perf_counter() - start
        state = json.loads((Path(tmp) / "sft" / "train_metrics.json").read_text())
        history = [e for e in json.loads(next((Path(tmp) / "sft").glob("checkpoint-*/trainer_state.json"))
                                         .read_text())["log_history"] if "num_tokens" in e] if list(
            (Path(tmp) / "sft").glob("checkpoint-*")) else []
        tokens = history[-1]["num_tokens"] if history else None
        print(f"SFT ({'bf16' if args.bf16 else 'fp32'}), cpu-smoke-sft with DNA encoder {args.dna_model}, {args.sft_steps} steps of batch 4 (trimmed KEGG "
              f"rows), {args.threads} threads:")
        print(f"  train_runtime {state['train_runtime']:.1f} s (with export {sft_seconds:.1f} s)"
              + (f", {tokens / state['train_runtime']:.0f} tokens/s" if tokens else ""))

        results = {}
        for name, trainer_class in (("reuse on", DNAGRPOTrainer), ("reuse off", EncoderEveryPassTrainer)) * 2:
            run = time_grpo(trainer_class, folder, Path(tmp) / f"grpo{len(results)}", args.grpo_steps)
            results.setdefault(name, []).append(run)
    print(f"GRPO, G=4, 1 prompt per step, 64 completion tokens, beta 0.04 (reference pass), {args.grpo_steps} steps:")
    for name, runs in results.items():
        best = min(runs, key=lambda r: r["median_step_s"])
        print(f"  {name:9}: median step {best['median_step_s']:.2f} s, encoder calls/step "
              f"{best['encoder_calls_per_step']:.1f}, encoded sequences/step {best['encoded_rows_per_step']:.1f}")


if __name__ == "__main__":
    main()
