#!/usr/bin/env python
"""Paper-scale check: build, train (SFT, GRPO), generate and serve BioReason at the paper's shapes, one process.

    python benchmarks/gpu_check.py --out gpu_check.json            # full size: NT-v2-500M + Qwen3-4B shapes, bf16
    python benchmarks/gpu_check.py --tiny --out gpu_check_tiny.json # the same code path, tiny configs, CPU, < 1 min

Weights are random (nothing is downloaded); shapes, dtypes and code paths are the paper's. Stages, each under its own
time limit and reported separately (a failure is recorded and the next stage runs):

  model       NT-v2-500M shape (1024 x 29 layers, 16 heads, 4096 FFN, 4,107 6-mers) + Qwen3-4B shape (2560 x 36,
              32 heads / 8 KV, head_dim 128, 9,728 FFN, 151,936 vocab, tied): parameters, memory after load
  sft         steps of the paper recipe through `BioReasonSFTTrainer` (what `bioreason train sft` runs): LoRA r32/a64
              on all LM linears, projector trained, encoder frozen, real KEGG rows from `example_data` with 4,001-bp
              windows, batch 1 with gradient accumulation; gradient checkpointing on and off: s/step, tokens/s,
              peak memory, MFU of the LM's matmuls
  grpo        `kegg_grpo_paper_v1` settings through `DNAGRPOTrainer` (G=4, beta 0.04, T 0.6) at 256 and 800 completion
              tokens: s/step split into generation / log-prob passes / backward+rest, encoder calls per step, peak memory
  generate    `bioreason evaluate`'s predictor (`BioReasonPredictor.predict`) at batch 1, 8, 32, two 4-kb windows,
              256 new tokens, greedy: new tokens/s and time to first token; then static cache (+ torch.compile where
              transformers enables it) with greedy outputs required equal to plain `generate`
  space       one request through the Space's streaming `BioReasonDemo.respond`: time to first streamed token
  evo2        the paper's Evo 2 runs: Evo 2-1B shape (1920 x 25 blocks: hcs/hcm/hcl cycles and 4 attention blocks, 15
              heads, GLU 5120; read at blocks.20.mlp.l3, blocks 21-24 skipped) + Qwen3-4B shape, 2,047-bp windows (one
              DNA token per base: ~4,100 placeholders per prompt): parameters, memory after load, an SFT step as the
              sft stage runs it (gradient checkpointing on), generation at batch 1 and 8

`--tiny` shrinks every size (and the time limits) and runs on CPU; a test runs it, so no stage is a code path that has
never run. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
# bf16 dense peak (TFLOP/s) of the GPUs this check is meant for, for MFU
BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0}


@dataclass
class Sizes:
    text: dict
    dna: dict
    trim_per_side: int  # 0 = the paper's 4,001-bp windows
    sft_steps: int
    grad_accum: int
    grpo_steps: int
    grpo_completions: tuple
    gen_batches: tuple
    gen_new_tokens: int
    evo2: dict = field(default_factory=dict)  # Evo2Config kwargs ({}: the 1B model's shapes)
    evo2_trim_per_side: int = 977  # 4,001-bp KEGG windows -> 2,047 bp, inside the 2,048 DNA tokens of the paper
    stage_timeout_s: dict = field(default_factory=dict)


FULL = Sizes(
    text=dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
              intermediate_size=9728, vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=40960,
              rope_theta=1_000_000.0),
    dna=dict(hidden_size=1024, num_hidden_layers=29, num_attention_heads=16, intermediate_size=4096, vocab_size=4107,
             max_position_embeddings=2050),
    trim_per_side=0, sft_steps=4, grad_accum=2, grpo_steps=2, grpo_completions=(256, 800), gen_batches=(1, 8, 32),
    gen_new_tokens=256,
    stage_timeout_s={"model": 120, "sft": 150, "grpo": 150, "generate": 120, "space": 45, "evo2": 200},
)
TINY = Sizes(
    text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
              intermediate_size=128, tie_word_embeddings=True, max_position_embeddings=8192),
    dna=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, vocab_size=4107,
             max_position_embeddings=2050),
    trim_per_side=1950, sft_steps=1, grad_accum=2, grpo_steps=1, grpo_completions=(4, 8), gen_batches=(1, 2, 4),
    gen_new_tokens=6,
    evo2=dict(hidden_size=16, num_attention_heads=4, intermediate_size=48, block_types=["hcs", "hcm", "hcl", "attn"],
              hcs_filter_groups=4, hcm_filter_groups=4),
    evo2_trim_per_side=1950,
    stage_timeout_s={"model": 90, "sft": 90, "grpo": 90, "generate": 90, "space": 60, "evo2": 90},  # a busy CI runner
)


class StageTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    """Raise StageTimeout in the main thread after `seconds` (SIGALRM; a running CUDA kernel finishes first)."""
    def handler(signum, frame):
        raise StageTimeout(f"stage exceeded its {seconds} s limit")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class Device:
    def __init__(self, tiny: bool):
        self.cuda = torch.cuda.is_available() and not tiny
        self.name = torch.cuda.get_device_name() if self.cuda else "cpu"
        self.type = "cuda" if self.cuda else "cpu"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def reset_peak(self):
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()

    def peak_gib(self):
        if self.cuda:
            return torch.cuda.max_memory_allocated() / 2**30
        with open("/proc/self/status") as handle:  # peak RSS of the process
            return next(int(line.split()[1]) for line in handle if line.startswith("VmHWM")) / 2**20

    def allocated_gib(self):
        if self.cuda:
            return torch.cuda.memory_allocated() / 2**30
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS")) / 2**20

    def bf16_peak_tflops(self):
        return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in self.name), None)


# ------------------------------------------------------------------------------------------------------------------
# building blocks
# ------------------------------------------------------------------------------------------------------------------
_TOKENIZER = []


def build(sizes: Sizes, device: Device, dtype: torch.dtype, attn: str, tiny: bool, encoder: str = "nt-v2"):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from modeling_bioreason import (Evo2Config, Evo2Model, NucleotideTransformerConfig, NucleotideTransformerModel,
                                    build_bioreason)
    from modeling_bioreason.example import tiny_tokenizer
    from modeling_bioreason.pretrained_assets import qwen3_tokenizer

    if not _TOKENIZER:
        _TOKENIZER.append(tiny_tokenizer() if tiny else qwen3_tokenizer())
    tokenizer = copy.deepcopy(_TOKENIZER[0])  # build_bioreason adds the DNA tokens in place
    text = dict(sizes.text)
    text.setdefault("vocab_size", len(tokenizer) + 3)
    torch.manual_seed(0)
    with torch.device(device.type):
        text_model = Qwen3ForCausalLM(Qwen3Config(**text, eos_token_id=tokenizer.eos_token_id,
                                                  attn_implementation=attn, dtype=dtype)).to(dtype)
        if encoder == "evo2":
            dna = Evo2Model(Evo2Config(**sizes.evo2, attn_implementation=attn if attn != "flash_attention_2"
                                       else "sdpa")).to(dtype)
            for name in Evo2Model._keep_in_fp32_modules_strict:  # as from_pretrained(dtype=...) keeps them
                for module in dna.modules():
                    if isinstance(getattr(module, name, None), torch.Tensor):
                        getattr(module, name).data = getattr(module, name).data.float()
        else:
            dna = NucleotideTransformerModel(NucleotideTransformerConfig(**sizes.dna)).to(dtype)
    model, processor = build_bioreason(text_model, dna, tokenizer=tokenizer)
    return model.to(device.type), processor


def kegg_rows(n: int):
    from modeling_bioreason.example import load_example_rows

    rows = load_example_rows("kegg")
    return [rows[i % len(rows)] for i in range(n)]


def lm_params(model) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "dna_encoder" not in n and "dna_projector" not in n)


# ------------------------------------------------------------------------------------------------------------------
# stages
# ------------------------------------------------------------------------------------------------------------------
def stage_model(ctx):
    device = ctx["device"]
    device.reset_peak()
    t0 = time.perf_counter()
    model, processor = build(ctx["sizes"], device, ctx["dtype"], ctx["attn"], ctx["tiny"])
    device.sync()
    ctx["model"], ctx["processor"] = model, processor
    return {"build_s": time.perf_counter() - t0, "params_total": sum(p.numel() for p in model.parameters()),
            "params_lm": lm_params(model), "params_dna_encoder": sum(p.numel() for p in model.model.dna_encoder.parameters()),
            "memory_after_load_gib": device.allocated_gib(), "dtype": str(ctx["dtype"]),
            "attn_implementation": model.config.text_config._attn_implementation}


def _fresh_model(ctx):
    """A fresh model for a training stage (LoRA wraps it in place); the generation stages reuse ctx['model']."""
    device = ctx["device"]
    if "model" in ctx:
        del ctx["model"]
    if device.cuda:
        torch.cuda.empty_cache()
    model, processor = build(ctx["sizes"], device, ctx["dtype"], ctx["attn"], ctx["tiny"])
    return model, processor


class StepClock:
    """A TrainerCallback that records wall time per optimizer step (synchronised)."""

    def __init__(self, device):
        from transformers import TrainerCallback

        clock = self

        class _Callback(TrainerCallback):
            def on_step_begin(self, *a, **k):
                device.sync()
                clock.t0 = time.perf_counter()

            def on_step_end(self, *a, **k):
                device.sync()
                clock.steps.append(time.perf_counter() - clock.t0)

        self.steps, self.t0, self.callback = [], 0.0, _Callback()


def sft_steps(ctx, model, processor, trim_per_side: int, checkpointing: bool) -> dict:
    """`sizes.sft_steps` optimizer steps (after one warm-up step) of the paper's SFT through `BioReasonSFTTrainer`."""
    from datasets import Dataset
    from trl import SFTConfig

    from modeling_bioreason.training.collator import BioReasonDataCollator, task_row_to_conversation
    from modeling_bioreason.training.lora import make_lora_config
    from modeling_bioreason.training.recipe import LoraSettings
    from modeling_bioreason.training.sft_trainer import BioReasonSFTTrainer

    sizes, device = ctx["sizes"], ctx["device"]
    rows = [task_row_to_conversation(r, trim_per_side=trim_per_side)
            for r in kegg_rows(sizes.sft_steps * sizes.grad_accum + 1)]
    collate = BioReasonDataCollator(processor)
    tokens = [int(collate([r])["attention_mask"].sum()) for r in rows]
    clock = StepClock(device)
    bf16 = ctx["dtype"] == torch.bfloat16
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="gpu_check_sft_"), max_steps=sizes.sft_steps + 1,
        per_device_train_batch_size=1, gradient_accumulation_steps=sizes.grad_accum, learning_rate=2e-4,
        gradient_checkpointing=checkpointing, bf16=bf16 and device.cuda, use_cpu=not device.cuda,
        report_to="none", save_strategy="no", logging_steps=1, remove_unused_columns=False, disable_tqdm=True,
        dataset_kwargs={"skip_prepare_dataset": True})
    model = model.float() if not device.cuda else model  # CPU: fp32 weights (no fast bf16 matmuls)
    trainer = BioReasonSFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows), data_collator=collate,
        processing_class=processor, callbacks=[clock.callback],
        peft_config=make_lora_config(model, LoraSettings(r=32, alpha=64, dropout=0.05)))
    device.reset_peak()
    trainer.train()
    steps = clock.steps[1:] or clock.steps  # the first step pays one-off costs
    s_per_step = sum(steps) / len(steps)
    tokens_per_step = sum(tokens[:sizes.grad_accum * sizes.sft_steps]) / sizes.sft_steps
    # LoRA: the frozen LM weights need no weight gradient -> forward 2N + input-grad 2N per token (+2N recompute)
    flops = (4 + 2 * checkpointing) * lm_params(model) * tokens_per_step
    peak = device.bf16_peak_tflops()
    result = {"s_per_step": s_per_step, "tokens_per_s": tokens_per_step / s_per_step,
              "tokens_per_step": tokens_per_step, "peak_memory_gib": device.peak_gib(),
              "mfu_lm_matmuls": flops / s_per_step / (peak * 1e12) if peak and device.cuda else None,
              "loss": [e["loss"] for e in trainer.state.log_history if "loss" in e]}
    del trainer
    return result


def stage_sft(ctx):
    results = {}
    for checkpointing in (True, False):
        model, processor = _fresh_model(ctx)
        results["checkpointing_on" if checkpointing else "checkpointing_off"] = sft_steps(
            ctx, model, processor, ctx["sizes"].trim_per_side, checkpointing)
        del model
    return results


def stage_grpo(ctx):
    from datasets import Dataset
    from trl import GRPOConfig

    from modeling_bioreason.data.tasks import row_to_messages
    from modeling_bioreason.tasks import get_task
    from modeling_bioreason.training.grpo import reward_functions
    from modeling_bioreason.training.grpo_trainer import DNAGRPOTrainer
    from modeling_bioreason.training.lora import make_lora_config
    from modeling_bioreason.training.recipe import load_recipe

    sizes, device = ctx["sizes"], ctx["device"]
    recipe = load_recipe("kegg_grpo_paper_v1")
    results = {}
    for completion in sizes.grpo_completions:
        model, processor = _fresh_model(ctx)
        if not device.cuda:
            model = model.float()
        model.model.dna_projector.requires_grad_(False)
        rec = {"gen": 0.0, "logps_no_grad": 0.0, "logps_grad": 0.0, "encoder_calls": 0}
        model.model.dna_encoder.register_forward_pre_hook(lambda *a: rec.__setitem__("encoder_calls",
                                                                                       rec["encoder_calls"] + 1))
        generate = model.generate

        def timed_generate(*a, **k):
            device.sync()
            t0 = time.perf_counter()
            out = generate(*a, **k)
            device.sync()
            rec["gen"] += time.perf_counter() - t0
            return out

        model.generate = timed_generate

        class Timed(DNAGRPOTrainer):
            def _get_per_token_logps_and_entropies(self, *a, **k):
                device.sync()
                t0 = time.perf_counter()
                out = super()._get_per_token_logps_and_entropies(*a, **k)
                device.sync()
                rec["logps_grad" if torch.is_grad_enabled() else "logps_no_grad"] += time.perf_counter() - t0
                return out

        rows = kegg_rows(4)
        dataset = Dataset.from_list([{"prompt": row_to_messages(r, trim_per_side=sizes.trim_per_side),
                                      "answer": r["answer"]} for r in rows])
        functions, weights = reward_functions(recipe, get_task("kegg_disease"))
        training = {k: v for k, v in recipe.training.items() if k not in ("output_dir", "num_train_epochs",
                                                                          "save_steps", "logging_steps")}
        training.update(output_dir=tempfile.mkdtemp(prefix="gpu_check_grpo_"), max_steps=sizes.grpo_steps,
                        max_completion_length=completion, gradient_accumulation_steps=1, report_to="none",
                        save_strategy="no", logging_steps=1, remove_unused_columns=False, disable_tqdm=True,
                        bf16=training.get("bf16", False) and device.cuda, use_cpu=not device.cuda,
                        gradient_checkpointing=training.get("gradient_checkpointing", False) and device.cuda,
                        reward_weights=weights)
        args = GRPOConfig(**training)
        args.generation_kwargs = {"suppress_tokens": [model.config.dna_start_token_id, model.config.dna_token_id,
                                                      model.config.dna_end_token_id]}
        clock = StepClock(device)
        trainer = Timed(model=model, reward_funcs=functions, args=args, processing_class=processor,
                        train_dataset=dataset, peft_config=make_lora_config(model, recipe.lora),
                        callbacks=[clock.callback])
        device.reset_peak()
        trainer.train()
        n = len(clock.steps)
        total = sum(clock.steps) / n
        results[f"completion_{completion}"] = {
            "G": args.num_generations, "beta": args.beta, "s_per_step": total,
            "generation_s_per_step": rec["gen"] / n, "log_prob_no_grad_s_per_step": rec["logps_no_grad"] / n,
            "policy_forward_s_per_step": rec["logps_grad"] / n,
            "backward_and_rest_s_per_step": total - (rec["gen"] + rec["logps_no_grad"] + rec["logps_grad"]) / n,
            "encoder_calls_per_step": rec["encoder_calls"] / n, "peak_memory_gib": device.peak_gib()}
        del trainer, model
    return results


def time_generation(predictor, config, batches, device) -> dict:
    """`batch_<n>`: time to first token, seconds, new tokens/s and peak memory of `predictor.predict` on n KEGG rows
    (after a warm-up row), for each n in `batches`."""
    from modeling_bioreason.evaluation.config import EvaluationConfig

    first = EvaluationConfig(**{**config.__dict__, "max_new_tokens": 1})
    predictor.predict(kegg_rows(1), first)  # warm-up
    results = {}
    for batch in batches:
        rows = kegg_rows(batch)
        device.sync()
        t0 = time.perf_counter()
        predictor.predict(rows, first)
        device.sync()
        ttft = time.perf_counter() - t0
        device.reset_peak()
        t0 = time.perf_counter()
        predictor.predict(rows, config)
        device.sync()
        seconds = time.perf_counter() - t0
        results[f"batch_{batch}"] = {"time_to_first_token_s": ttft, "s": seconds, "peak_memory_gib": device.peak_gib(),
                                     "new_tokens_per_s": batch * config.max_new_tokens / seconds}
    return results


def stage_generate(ctx):
    from modeling_bioreason.evaluation.config import EvaluationConfig
    from modeling_bioreason.evaluation.runner import BioReasonPredictor
    from modeling_bioreason.tasks import get_task

    sizes, device = ctx["sizes"], ctx["device"]
    if "model" not in ctx:
        ctx["model"], ctx["processor"] = build(sizes, device, ctx["dtype"], ctx["attn"], ctx["tiny"])
    model, processor = ctx["model"].eval(), ctx["processor"]
    predictor = BioReasonPredictor(model, processor, get_task("kegg_disease"))
    config = EvaluationConfig(model="in-memory", max_new_tokens=sizes.gen_new_tokens, do_sample=False,
                              trim_per_side=sizes.trim_per_side)
    # no EOS: every row generates max_new_tokens (random weights would stop anywhere)
    model.generation_config.eos_token_id = None
    results = time_generation(predictor, config, sizes.gen_batches, device)
    one, most = results[f"batch_{sizes.gen_batches[0]}"], results[f"batch_{sizes.gen_batches[-1]}"]
    results["throughput_gain_largest_vs_batch_1"] = most["new_tokens_per_s"] / one["new_tokens_per_s"]

    # static cache (transformers compiles the decoding step on CUDA): greedy outputs must equal plain generate
    rows = kegg_rows(sizes.gen_batches[1])
    inputs = predictor.tokenize(rows, config).to(model.device)
    outputs = {}
    for name, extra in (("plain", {}), ("static_cache", {"cache_implementation": "static"})):
        try:
            with torch.inference_mode():
                model.generate(**inputs, max_new_tokens=2, do_sample=False, **extra)  # warm-up / compile
                device.sync()
                t0 = time.perf_counter()
                out = model.generate(**inputs, max_new_tokens=sizes.gen_new_tokens, do_sample=False, **extra)
                device.sync()
            outputs[name] = out
            results[f"{name}_batch_{len(rows)}_new_tokens_per_s"] = len(rows) * sizes.gen_new_tokens / (
                time.perf_counter() - t0)
        except Exception as error:  # noqa: BLE001 - report, do not lose the stage
            results[f"{name}_error"] = f"{type(error).__name__}: {error}"[:500]
    if len(outputs) == 2:
        results["static_cache_equal_greedy_output"] = bool(torch.equal(outputs["plain"], outputs["static_cache"]))
    return results


def stage_space(ctx):
    sys.path.insert(0, str(ROOT))
    from spaces_app import app

    sizes, device = ctx["sizes"], ctx["device"]
    app.MAX_NEW_TOKENS = sizes.gen_new_tokens  # the Space's default is 800; the first token is what is timed
    BioReasonDemo = app.BioReasonDemo
    if "model" not in ctx:
        ctx["model"], ctx["processor"] = build(sizes, device, ctx["dtype"], ctx["attn"], ctx["tiny"])
    demo = BioReasonDemo.from_loaded(ctx["model"], ctx["processor"])  # already in memory: skip the folder load
    row = kegg_rows(1)[0]
    t0 = time.perf_counter()
    stream = demo.respond("Paste sequences", row["reference_sequence"], row["variant_sequence"], None, "", None, 0,
                          row["question"], 0 if not sizes.trim_per_side else 4001 - 2 * sizes.trim_per_side)
    first = None
    for n, _ in enumerate(stream):
        if first is None:
            first = time.perf_counter() - t0
    return {"time_to_first_streamed_token_s": first, "total_s": time.perf_counter() - t0, "updates": n + 1,
            "max_new_tokens": sizes.gen_new_tokens}


def stage_evo2(ctx):
    """Evo 2-1B + Qwen3-4B shapes (the paper's Evo 2 runs): model, one SFT step, generation."""
    from modeling_bioreason.evaluation.config import EvaluationConfig
    from modeling_bioreason.evaluation.runner import BioReasonPredictor
    from modeling_bioreason.tasks import get_task

    sizes, device = ctx["sizes"], ctx["device"]
    ctx.pop("model", None)
    if device.cuda:
        torch.cuda.empty_cache()
    device.reset_peak()
    t0 = time.perf_counter()
    model, processor = build(sizes, device, ctx["dtype"], ctx["attn"], ctx["tiny"], encoder="evo2")
    device.sync()
    encoder = model.model.dna_encoder
    results = {"model": {
        "build_s": time.perf_counter() - t0, "params_total": sum(p.numel() for p in model.parameters()),
        "params_lm": lm_params(model), "params_dna_encoder": sum(p.numel() for p in encoder.parameters()),
        "dna_blocks": encoder.config.num_hidden_layers, "tap": model.config.dna_feature_layer,
        "max_dna_tokens": processor.max_dna_bases, "memory_after_load_gib": device.allocated_gib(),
        "fp32_encoder_parameters": sorted({n.split(".")[-1] for n, p in encoder.named_parameters()
                                           if p.dtype == torch.float32})}}
    row = kegg_rows(1)[0]
    inputs = processor.apply_chat_template(
        [[{"role": "user", "content": [{"type": "dna", "sequence": row[key][sizes.evo2_trim_per_side:
                                                                            4001 - sizes.evo2_trim_per_side]}
                                       for key in ("reference_sequence", "variant_sequence")]}]],
        add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt")
    results["model"]["dna_placeholders_per_prompt"] = int((inputs["input_ids"] == model.config.dna_token_id).sum())
    results["sft_step"] = sft_steps(ctx, model, processor, sizes.evo2_trim_per_side, checkpointing=True)
    model = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
    if not device.cuda:
        model = model.float()
    model.eval().generation_config.eos_token_id = None  # every row generates max_new_tokens
    predictor = BioReasonPredictor(model, processor, get_task("kegg_disease"))
    config = EvaluationConfig(model="in-memory", max_new_tokens=sizes.gen_new_tokens, do_sample=False,
                              trim_per_side=sizes.evo2_trim_per_side)
    for name, figures in time_generation(predictor, config, sizes.gen_batches[:2], device).items():
        results[f"generate_{name}"] = figures
    return results


STAGES = {"model": stage_model, "sft": stage_sft, "grpo": stage_grpo, "generate": stage_generate, "space": stage_space,
          "evo2": stage_evo2}


def print_table(report: dict) -> None:
    print(f"\nBioReason GPU check ({report['size']}, {report['device']}, {report['dtype']})")
    print(f"{'stage':10s} {'status':8s} {'s':>7s}  figures")
    for name, stage in report["stages"].items():
        figures = {k: v for k, v in stage.items() if k not in ("status", "seconds", "error", "traceback")}
        text = json.dumps(figures, default=lambda v: round(v, 4) if isinstance(v, float) else str(v))
        text = stage.get("error", text)
        print(f"{name:10s} {stage['status']:8s} {stage['seconds']:7.1f}  {text[:400]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="tiny configs on CPU (the CI run of the same code path)")
    ap.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, of {','.join(STAGES)}")
    ap.add_argument("--attn", default=None, help="attn_implementation (default: flash_attention_2 if installed, "
                                                 "else sdpa)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    sizes = TINY if args.tiny else FULL
    device = Device(args.tiny)
    attn = args.attn
    if attn is None:
        from transformers.utils import is_flash_attn_2_available

        attn = "flash_attention_2" if device.cuda and is_flash_attn_2_available() else "sdpa"
    ctx = {"sizes": sizes, "device": device, "dtype": torch.bfloat16, "attn": attn, "tiny": args.tiny}
    report = {"size": "tiny" if args.tiny else "paper (NT-v2-500M + Qwen3-4B shapes, random weights)",
              "device": device.name, "dtype": "bfloat16", "attn_implementation": attn,
              "torch": torch.__version__, "transformers": transformers.__version__, "stages": {}}
    log_path = args.out.with_suffix(".log")
    log_path.write_text("")
    for name in args.stages.split(","):
        print(f"[gpu_check] {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            # trainers print their logs: keep them out of the table (they go to <out>.log)
            with time_limit(sizes.stage_timeout_s[name]), open(log_path, "a") as log, \
                    contextlib.redirect_stdout(log):
                figures = STAGES[name](ctx)
            stage = {"status": "ok", **figures}
        except Exception as error:  # noqa: BLE001 - one stage's failure must not lose the others
            stage = {"status": "timeout" if isinstance(error, StageTimeout) else "failed",
                     "error": f"{type(error).__name__}: {error}"[:1000], "traceback": traceback.format_exc()[-4000:]}
        stage["seconds"] = time.perf_counter() - t0
        report["stages"][name] = stage
        args.out.write_text(json.dumps(report, indent=1, default=str))  # written after every stage
    print_table(report)
    print(f"\nwrote {args.out}")
    return 0 if all(s["status"] == "ok" for s in report["stages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
