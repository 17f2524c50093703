"""Training speed at a fixed tiny size on 2 CPU cores (issue: training).

* SFT tokens/s: the cpu-smoke-sft recipe (tiny random Qwen3 over a small BPE, random NT-v2, 16 real KEGG rows).
* GRPO step time with DNA-embedding reuse on (DNAGRPOTrainer: one encoding per step, projected features reused by
  generation and the old/reference/policy passes) vs off (every pass re-runs the encoder), and encoder call counts.

    python benchmarks/bench_training.py [--threads 2] [--grpo-steps 3]
    python benchmarks/bench_training.py --compare-encoders --threads 1

* `--compare-encoders`: tiny Evo 2 vs tiny NT-v2 encoders at equal base pairs (two 2,047-bp KEGG windows per row:
  Evo 2 gives one placeholder per base, ~4,100 per prompt; NT-v2 one per 6-mer, ~690): an SFT step (LoRA, batch 2),
  a GRPO step (G=4, 32 completion tokens) and batched evaluation (8 rows, batch 8, 16 new tokens) per example, each
  split into encoder forward / LM forward (decoder + head) / the rest (backward, optimizer, sampling, Python).

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


class TimeSplit:
    """Wall time spent inside the DNA encoder's forward and the LM's (decoder + head) forwards, via hooks."""

    def __init__(self, model):
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.seconds = {"encoder": 0.0, "lm": 0.0}
        self.calls = {"encoder": 0, "lm": 0}  # lm: decoder and head forwards counted apart
        self._start, self.hooks = {}, []
        for name, modules in (("encoder", [base.model.dna_encoder]),
                              ("lm", [base.model.language_model, base.lm_head])):
            for module in modules:
                self.hooks.append(module.register_forward_pre_hook(lambda m, a, n=name: self._begin(n, m)))
                self.hooks.append(module.register_forward_hook(lambda m, a, o, n=name: self._end(n, m)))

    def _begin(self, name, module):
        self._start[id(module)] = time.perf_counter()

    def _end(self, name, module):
        self.seconds[name] += time.perf_counter() - self._start.pop(id(module))
        self.calls[name] += 1

    def reset(self):
        self.seconds = dict.fromkeys(self.seconds, 0.0)
        self.calls = dict.fromkeys(self.calls, 0)

    def report(self, total: float, per: int = 1) -> dict:
        rest = total - sum(self.seconds.values())
        return {"total_s": total / per, "encoder_s": self.seconds["encoder"] / per, "lm_forward_s": self.seconds["lm"]
                / per, "rest_s": rest / per, "encoder_calls": self.calls["encoder"] / per}


def compare_encoders(args) -> dict:
    """SFT step, GRPO step and batched evaluation per example with each encoder, at equal base pairs."""
    from datasets import Dataset
    from trl import SFTConfig

    from modeling_bioreason.evaluation.config import EvaluationConfig
    from modeling_bioreason.evaluation.runner import BioReasonPredictor
    from modeling_bioreason.example import load_example_rows
    from modeling_bioreason.tasks import get_task
    from modeling_bioreason.training.collator import BioReasonDataCollator, task_row_to_conversation
    from modeling_bioreason.training.lora import make_lora_config
    from modeling_bioreason.training.models import load_model
    from modeling_bioreason.training.recipe import LoraSettings, ModelSource
    from modeling_bioreason.training.sft_trainer import BioReasonSFTTrainer

    trim = 977  # 4,001 -> 2,047 bp: what fits Evo 2's 2,048 DNA tokens
    rows = load_example_rows("kegg")
    results = {}
    for name, spec in (("NT-v2", args.nt_model), ("Evo 2", args.evo2_model)):
        source = ModelSource(text_model="tiny-random-qwen3", dna_model=spec)
        model, processor = load_model(source)
        processor.max_dna_tokens, processor.dna_truncation = 2048, "center"  # as the Evo 2 KEGG recipes (indels)
        example = processor.apply_chat_template([task_row_to_conversation(rows[0], trim_per_side=trim)["messages"][:1]],
                                                add_generation_prompt=True, tokenize=True, return_dict=True)
        placeholders = sum(i == model.config.dna_token_id for i in example["input_ids"][0])
        encoder_params = sum(p.numel() for p in model.model.dna_encoder.parameters())
        entry = {"encoder": spec, "encoder_params": encoder_params, "placeholders_per_prompt": placeholders,
                 "prompt_tokens": len(example["input_ids"][0])}

        # SFT: BioReasonSFTTrainer steps (LoRA r8), batch 2; the first step is a warm-up
        conversations = Dataset.from_list([task_row_to_conversation(r, trim_per_side=trim, reasoning_lines=4)
                                           for r in rows[:4] * 4])
        with tempfile.TemporaryDirectory() as tmp:
            trainer = BioReasonSFTTrainer(
                model=model, processing_class=processor, train_dataset=conversations,
                data_collator=BioReasonDataCollator(processor),
                peft_config=make_lora_config(model, LoraSettings(r=8, alpha=16, dropout=0.0)),
                args=SFTConfig(output_dir=tmp, max_steps=1 + args.sft_steps, per_device_train_batch_size=2,
                               learning_rate=1e-4, report_to="none", save_strategy="no", logging_steps=1,
                               use_cpu=True, bf16=False, gradient_checkpointing=False, disable_tqdm=True,
                               remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": True}))
            split = TimeSplit(trainer.model)
            step_start = []
            from transformers import TrainerCallback

            class Clock(TrainerCallback):
                def on_step_begin(self, *a, **k):
                    if len(step_start) == 1:  # after the warm-up step
                        split.reset()
                    step_start.append(time.perf_counter())

                def on_train_end(self, *a, **k):
                    step_start.append(time.perf_counter())

            trainer.add_callback(Clock())
            trainer.train()
            entry["sft_step"] = split.report(step_start[-1] - step_start[1], per=args.sft_steps)
            model = trainer.model.merge_and_unload().eval()
            for hook in split.hooks:
                hook.remove()

        # GRPO: DNAGRPOTrainer steps on the same model (a fresh LoRA), G=4, 1 prompt per step
        with tempfile.TemporaryDirectory() as tmp:
            from modeling_bioreason.training.grpo import grpo_dataset, reward_functions
            from modeling_bioreason.training.recipe import load_recipe
            from trl import GRPOConfig

            recipe = load_recipe("cpu-smoke-grpo", [f"training.output_dir={tmp}", f"data.trim_per_side={trim}"])
            functions, weights = reward_functions(recipe, get_task("kegg_disease"))
            grpo_args = GRPOConfig(**{**recipe.training, "max_steps": 1 + args.grpo_steps, "num_generations": 4,
                                      "per_device_train_batch_size": 4, "max_completion_length": 32,
                                      "save_strategy": "no", "report_to": "none", "use_cpu": True,
                                      "disable_tqdm": True}, remove_unused_columns=False, reward_weights=weights)
            grpo_args.generation_kwargs = {"suppress_tokens": [model.config.dna_start_token_id,
                                                               model.config.dna_token_id, model.config.dna_end_token_id]}
            model.model.dna_projector.requires_grad_(False)
            trainer = DNAGRPOTrainer(model=model, reward_funcs=functions, args=grpo_args, processing_class=processor,
                                     train_dataset=grpo_dataset(recipe, Dataset.from_list(rows[:4] * 2)),
                                     peft_config=make_lora_config(model, recipe.lora))
            split = TimeSplit(trainer.model)
            step_start.clear()
            trainer.add_callback(Clock())
            trainer.train()
            entry["grpo_step"] = split.report(step_start[-1] - step_start[1], per=args.grpo_steps)
            for hook in split.hooks:
                hook.remove()
            model = trainer.model.get_base_model() if hasattr(trainer.model, "get_base_model") else trainer.model

        # Batched evaluation: `bioreason evaluate`'s predictor, 8 rows at batch 8, greedy, no early stop
        model.eval().generation_config.eos_token_id = None
        predictor = BioReasonPredictor(model, processor, get_task("kegg_disease"))
        config = EvaluationConfig(model="in-memory", max_new_tokens=16, do_sample=False, trim_per_side=trim)
        batch = [rows[i % len(rows)] for i in range(8)]
        predictor.predict(batch[:1], config)  # warm-up
        split = TimeSplit(model)
        start = time.perf_counter()
        predictor.predict(batch, config)
        entry["evaluation_per_example"] = split.report(time.perf_counter() - start, per=len(batch))
        for hook in split.hooks:
            hook.remove()
        results[name] = entry
    return results


def print_comparison(results: dict, threads: int) -> None:
    print(f"Tiny Evo 2 vs tiny NT-v2 encoders at equal base pairs (two 2,047-bp windows per prompt), tiny random Qwen3 "
          f"(64 x 2, 4k BPE), {threads} thread(s); seconds, split encoder / LM forward / rest:")
    for name, entry in results.items():
        print(f"  {name}: {entry['encoder']} ({entry['encoder_params']:,} params), {entry['placeholders_per_prompt']:,} "
              f"DNA placeholders in a {entry['prompt_tokens']:,}-token prompt")
        for key, label in (("sft_step", "SFT step (batch 2)"), ("grpo_step", "GRPO step (G=4, 32 tokens)"),
                           ("evaluation_per_example", "evaluation / example (batch 8, 16 tokens)")):
            r = entry[key]
            print(f"    {label:42s} {r['total_s']:7.3f} s = encoder {r['encoder_s']:.3f} + LM forward "
                  f"{r['lm_forward_s']:.3f} + rest {r['rest_s']:.3f}   (encoder calls {r['encoder_calls']:.2f})")
    nt, evo2 = results["NT-v2"], results["Evo 2"]
    for key in ("sft_step", "grpo_step", "evaluation_per_example"):
        print(f"  Evo 2 / NT-v2 {key}: {evo2[key]['total_s'] / nt[key]['total_s']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grpo-steps", type=int, default=3)
    parser.add_argument("--sft-steps", type=int, default=10)
    parser.add_argument("--dna-model", default="random-nt-v2:256x6",
                        help="NT-v2-architecture encoder size; larger makes the cost of re-encoding visible")
    parser.add_argument("--bf16", action="store_true", help="train in bf16 autocast (CPU), as the paper recipes do")
    parser.add_argument("--compare-encoders", action="store_true",
                        help="tiny Evo 2 vs tiny NT-v2 at equal base pairs: SFT step, GRPO step, evaluation/example")
    parser.add_argument("--nt-model", default="random-nt-v2:64x4")
    parser.add_argument("--evo2-model", default="random-evo2:64x4")
    parser.add_argument("--json", type=Path, help="also write the --compare-encoders figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.compare_encoders:
        results = compare_encoders(args)
        print_comparison(results, args.threads)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=int))
        return
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
