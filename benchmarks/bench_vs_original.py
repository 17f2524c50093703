#!/usr/bin/env python
"""This project beside the original BioReason, on identical tiny models and real KEGG rows, one thread.

Inputs come from the shared side-by-side harness (`../shared/benchmarks/side_by_side/bench_inputs.py`, beside the
repository): a seeded tiny Qwen3 (hidden 256 x 4 layers, 8,192-token BPE) and a tiny NT-style encoder (hidden
128 x 2, 6-mer vocabulary), 32 real KEGG train rows trimmed to 1,024 bp per side. This script times this project's
public entry points on them and writes the shared results schema (`runs/<label>/measurements/<key>/...`):

  prep  `BioReasonProcessor.__call__` (a_processor) and `BioReasonDataCollator` over `task_row_to_conversation` rows (b_collate), batch 4 and 1
  sft   one SFT step through `BioReasonSFTTrainer` (`bioreason train sft`'s trainer): compute_loss + backward +
        clip + AdamW + cosine schedule, LoRA r32/a64 on all LM linears, projector trained, encoder frozen; with the
        machine's one-thread fp32 matmul rate and the step's achieved FLOP rate (torch's FLOP counter)
  gen   `bioreason evaluate`'s predictor (`BioReasonPredictor.predict`), one example at a time and batched (4, 8, 16;
        rows in `bioreason evaluate`'s prompt-length order), 64 new tokens, sampling as the original's evaluation
  grpo  `DNAGRPOTrainer` steps (G=4, one prompt per step, 64 completion tokens, beta 0.04 as the original, and
        beta 0), split into generation / log-prob passes / the rest, with encoder calls per step

    python benchmarks/bench_vs_original.py --out ours.json                     # time this project
    python benchmarks/bench_vs_original.py --out ours.json --baseline base.json  # ... and print gains
    python benchmarks/bench_vs_original.py --pairs 2 --original-src <checkout> --original-python <venv>/bin/python

`--pairs N` alternates the original's harness (`bench_baseline.py`, run with the original's own venv) and this
script, N times, and prints each pair's gains with both sides' contention (`cpu.others_avg_cores`). See
README.md, "Benchmarks". The DNA encoder differs (NT-v2 SwiGLU here, the original's ESM stand-in there; same
hidden/layers/heads, the tensors whose names match are copied): see the shared README's caveat.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIDE_BY_SIDE = ROOT.parent / "shared" / "benchmarks" / "side_by_side"
PACKAGES = ["torch", "transformers", "tokenizers", "trl", "peft", "accelerate", "datasets", "safetensors"]
SAMPLING = dict(do_sample=True, temperature=0.6, top_p=0.95, top_k=20)

# (label, key path under measurements, how to read the gain)
HEADLINES = [
    ("processor call, batch 4", ("prep_bs4", "a_processor", "per_batch_s", "median"), None),
    ("SFT collation, batch 4", ("prep_bs4", "b_collate", "per_batch_s", "median"), None),
    ("SFT step, batch 4", ("sft_bs4", "per_step_s", "median"), None),
    ("SFT step, batch 1", ("sft_bs1", "per_step_s", "median"), None),
    ("evaluation per example, one at a time", ("gen", "eval_loop_per_example_s"), None),
    ("evaluation per example, batch 4 (vs the original's loop)", ("gen", "batched_bs4", "eval_loop_per_example_s"),
     ("gen", "eval_loop_per_example_s")),
    ("evaluation per example, batch 8 (vs the original's loop)", ("gen", "batched_bs8", "eval_loop_per_example_s"),
     ("gen", "eval_loop_per_example_s")),
    ("evaluation per example, batch 16 (vs the original's loop)", ("gen", "batched_bs16", "eval_loop_per_example_s"),
     ("gen", "eval_loop_per_example_s")),
    ("GRPO step, beta 0.04", ("grpo", "per_step_s", "median"), None),
    ("GRPO step, beta 0 (vs the original at 0.04)", ("grpo_beta0", "per_step_s", "median"),
     ("grpo", "per_step_s", "median")),
]


def _import_shared(side_by_side: Path):
    if not (side_by_side / "bench_inputs.py").exists():
        sys.exit(f"bench_vs_original: the shared side-by-side harness is not at {side_by_side} (it lives beside the "
                 "repository, in ../shared/benchmarks/side_by_side, and is not part of a clone). Pass "
                 "--side-by-side-dir <folder with bench_inputs.py>.")
    sys.path.insert(0, str(side_by_side))
    import bench_inputs
    import bench_util

    return bench_inputs, bench_util


# ------------------------------------------------------------------------------------------------------------------
# model and inputs
# ------------------------------------------------------------------------------------------------------------------
def build_model(bench_inputs, assets):
    """(model, processor): the assets' Qwen3 + an NT-v2 encoder of the assets' size, assembled with build_bioreason."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, Qwen3ForCausalLM

    from modeling_bioreason import NucleotideTransformerConfig, NucleotideTransformerModel, build_bioreason
    from modeling_bioreason.tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

    size = bench_inputs.SIZES["dna"]
    config = NucleotideTransformerConfig(
        vocab_size=size["vocab_size"], hidden_size=size["hidden_size"], num_hidden_layers=size["num_hidden_layers"],
        num_attention_heads=size["num_attention_heads"], intermediate_size=size["intermediate_size"],
        max_position_embeddings=size["max_position_embeddings"], layer_norm_eps=size["layer_norm_eps"],
        emb_layer_norm_before=False, token_dropout=False, pad_token_id=1, mask_token_id=2)
    torch.manual_seed(1)
    encoder = NucleotideTransformerModel(config)
    own = encoder.state_dict()
    asset = load_file(os.path.join(assets["dna_model_dir"], "model.safetensors"))
    matching = {k.removeprefix("esm."): v for k, v in asset.items()
                if k.removeprefix("esm.") in own and own[k.removeprefix("esm.")].shape == v.shape}
    encoder.load_state_dict(matching, strict=False)
    text_model = Qwen3ForCausalLM.from_pretrained(assets["text_model_dir"], dtype=torch.float32,
                                                  attn_implementation="sdpa")
    model, processor = build_bioreason(
        text_model, encoder, tokenizer=AutoTokenizer.from_pretrained(assets["text_model_dir"]),
        dna_tokenizer=NucleotideTransformerTokenizer(vocab_file=os.path.join(assets["dna_model_dir"], "vocab.txt")))
    return model.eval(), processor


def lora_config(model, train_projector=True):
    from modeling_bioreason.training.lora import make_lora_config
    from modeling_bioreason.training.recipe import LoraSettings

    return make_lora_config(model, LoraSettings(r=32, alpha=64, dropout=0.05, train_projector=train_projector,
                                                train_dna_token_rows=train_projector))


def messages(row, with_answer):
    from modeling_bioreason.data.tasks import row_to_messages

    return row_to_messages(row, with_answer=with_answer, trim_per_side=0)  # rows are trimmed by bench_inputs


class EncoderCounter:
    """Calls, sequences and time of the DNA encoder (forward hooks)."""

    def __init__(self, module):
        self.calls, self.sequences, self.time, self._t0 = 0, 0, 0.0, 0.0
        module.register_forward_pre_hook(self._pre)
        module.register_forward_hook(lambda *a: setattr(self, "time", self.time + time.perf_counter() - self._t0))

    def _pre(self, module, args):
        self.calls += 1
        self.sequences += int(args[0].shape[0])
        self._t0 = time.perf_counter()

    def snapshot(self):
        return {"calls": self.calls, "sequences": self.sequences, "time_s": self.time}


def _base(model):
    from modeling_bioreason import BioReasonForConditionalGeneration

    return next(m for m in model.modules() if isinstance(m, BioReasonForConditionalGeneration))


def matmul_gflops(bu, n=2048, repeats=5):
    """This machine's fp32 matmul rate on the current thread count (GFLOP/s, best of `repeats`)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------------------------------------------
# workers (each in its own process: clean peak RSS)
# ------------------------------------------------------------------------------------------------------------------
def worker_prep(args, bi, bu, assets, rows, bs):
    from modeling_bioreason.training.collator import BioReasonDataCollator, task_row_to_conversation

    model, processor = build_model(bi, assets)
    data_collator = BioReasonDataCollator(processor)

    def collate(batch):  # task rows -> conversational rows -> tensors, as `bioreason train sft` does
        return data_collator([task_row_to_conversation(r) for r in batch])
    batches = bi.batches(rows, bs)
    texts = [processor.apply_chat_template([messages(r, True) for r in b], tokenize=False) for b in batches]
    dnas = [[[r["reference_sequence"], r["variant_sequence"]] for r in b] for b in batches]
    kwargs = dict(return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    processor(text=list(texts[0]), dna_sequences=dnas[0], **kwargs), collate(batches[0])  # warm-up
    res = {}
    for key, calls in (("a_processor", [lambda t=t, d=d: processor(text=list(t), dna_sequences=d, **kwargs)
                                        for t, d in zip(texts, dnas)]),
                       ("b_collate", [lambda b=b: collate(b) for b in batches])):
        timer, rss, cpu = bu.Timer(), {}, {}
        with bu.peak_rss(rss), bu.cpu_contention(cpu):
            for _ in range(args.prep_passes):
                for call in calls:
                    gc.collect()
                    with timer():
                        call()
        sizes = [len(b) for b in batches] * args.prep_passes
        res[key] = {"per_batch_s": bu.stats(timer.samples),
                    "per_example_s": bu.stats([s / n for s, n in zip(timer.samples, sizes)]), "rss": rss, "cpu": cpu}
    res["batch_size"], res["n_batches"], res["passes"] = bs, len(batches), args.prep_passes
    return res


def worker_sft(args, bi, bu, assets, rows, bs):
    import torch
    from datasets import Dataset
    from torch.utils.flop_counter import FlopCounterMode
    from trl import SFTConfig

    from modeling_bioreason.training.collator import BioReasonDataCollator, task_row_to_conversation
    from modeling_bioreason.training.sft_trainer import BioReasonSFTTrainer

    model, processor = build_model(bi, assets)
    torch.manual_seed(23)
    data_collator = BioReasonDataCollator(processor)

    def collate(batch):  # task rows -> conversational rows -> tensors, as `bioreason train sft` does
        return data_collator([task_row_to_conversation(r) for r in batch])
    batches = [collate(b) for b in bi.batches(rows, bs)]
    total = len(batches) * (args.sft_passes + 1)
    config = SFTConfig(output_dir=tempfile.mkdtemp(prefix="bench_sft_"), per_device_train_batch_size=bs,
                       learning_rate=5e-5, weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="cosine",
                       warmup_steps=int(0.1 * total), max_steps=total, report_to="none", use_cpu=True,
                       remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": True}, save_strategy="no")
    trainer = BioReasonSFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                                  data_collator=collate, processing_class=processor, peft_config=lora_config(model))
    trainer.create_optimizer_and_scheduler(num_training_steps=total)
    model = trainer.model
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    encoder = EncoderCounter(_base(model).model.dna_encoder)
    t_fwd, t_bwd, t_opt, steps, losses, cpu_steps = bu.Timer(), bu.Timer(), bu.Timer(), [], [], []

    def step(batch, tf, tb, to):
        with tf():
            loss = trainer.compute_loss(model, dict(batch))
        with tb():
            loss.backward()
        with to():
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            trainer.optimizer.step()
            trainer.lr_scheduler.step()
            trainer.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    dummy = bu.Timer()
    step(batches[0], dummy, dummy, dummy)  # warm-up
    with FlopCounterMode(display=False) as counter:
        loss = trainer.compute_loss(model, dict(batches[0]))
        loss.backward()
    trainer.optimizer.zero_grad(set_to_none=True)
    flops_first = counter.get_total_flops()
    e0 = encoder.snapshot()
    rss, cpu = {}, {}
    with bu.peak_rss(rss), bu.cpu_contention(cpu):
        for _ in range(args.sft_passes):
            for batch in batches:
                gc.collect()
                t0, c0 = time.perf_counter(), time.process_time()
                losses.append(step(batch, t_fwd, t_bwd, t_opt))
                steps.append(time.perf_counter() - t0)
                cpu_steps.append(time.process_time() - c0)
    e1 = encoder.snapshot()
    peak = matmul_gflops(bu)
    first_step = [s for i, s in enumerate(steps) if i % len(batches) == 0]
    achieved = flops_first / 1e9 / (sum(first_step) / len(first_step))
    return {
        "batch_size": bs, "n_batches": len(batches), "passes": args.sft_passes,
        "per_step_s": bu.stats(steps), "per_step_cpu_s": bu.stats(cpu_steps), "forward_s": bu.stats(t_fwd.samples), "backward_s": bu.stats(t_bwd.samples),
        "optimizer_s": bu.stats(t_opt.samples),
        "per_example_s": bu.stats([s / int(batches[i % len(batches)]["input_ids"].shape[0])
                                   for i, s in enumerate(steps)]),
        "dna_encoder": {k: e1[k] - e0[k] for k in e0} | {"calls_per_step": (e1["calls"] - e0["calls"]) / len(steps)},
        "tokens_per_s_median": sum(int(b["attention_mask"].sum()) for b in batches) / len(batches)
        / bu.stats(steps)["median"],
        "flops": {"first_batch_step_gflop": flops_first / 1e9, "achieved_gflops": achieved,
                  "matmul_2048_fp32_gflops": peak, "fraction_of_matmul_rate": achieved / peak},
        "loss_first_last": [losses[0], losses[-1]], "rss": rss, "cpu": cpu,
        "trainable_params": sum(p.numel() for p in trainable),
        "batch_shapes": [{"input_ids": list(b["input_ids"].shape), "n_label_tokens": int((b["labels"] != -100).sum()),
                          "n_text_nonpad_tokens": int(b["attention_mask"].sum())} for b in batches],
    }


def worker_gen(args, bi, bu, assets, rows, bs_unused):
    import torch

    from modeling_bioreason.evaluation.config import EvaluationConfig
    from modeling_bioreason.evaluation.runner import BioReasonPredictor, by_prompt_length
    from modeling_bioreason.tasks import get_task

    model, processor = build_model(bi, assets)
    predictor = BioReasonPredictor(model, processor, get_task("kegg_disease"))
    encoder = EncoderCounter(model.model.dna_encoder)
    config = EvaluationConfig(model="in-memory", dataset="bench", config="bench", split="train", output_dir="unused",
                              max_new_tokens=args.gen_max_new_tokens, temperature=SAMPLING["temperature"],
                              top_p=SAMPLING["top_p"], top_k=SAMPLING["top_k"], do_sample=True, trim_per_side=0)
    predictor.predict(rows[:2], EvaluationConfig(**{**config.__dict__, "max_new_tokens": 8}))  # warm-up
    res = {"n_examples": len(rows), "max_new_tokens": args.gen_max_new_tokens, "sampling": SAMPLING,
           "entry_point": "modeling_bioreason.evaluation.runner.BioReasonPredictor.predict (bioreason evaluate)"}
    for bs in (1, 4, 8, 16):
        times, rss, cpu = [], {}, {}
        e0 = encoder.snapshot()
        torch.manual_seed(args.seed)
        with bu.peak_rss(rss), bu.cpu_contention(cpu):
            t_all = time.perf_counter()
            for batch in bi.batches([rows[i] for i in by_prompt_length(rows)], bs):  # as `bioreason evaluate`
                t0 = time.perf_counter()
                predictor.predict(batch, config)
                times.append(time.perf_counter() - t0)
            wall = time.perf_counter() - t_all
        e1 = encoder.snapshot()
        figures = {"predict_call_s": bu.stats(times), "eval_loop_per_example_s": wall / len(rows),
                   "dna_encoder": {k: e1[k] - e0[k] for k in e0}, "rss": rss, "cpu": cpu}
        if bs == 1:
            res.update(figures)
        else:
            res[f"batched_bs{bs}"] = figures
    return res


def worker_grpo(args, bi, bu, assets, rows, beta):
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig

    from modeling_bioreason.tasks import get_task

    try:
        from modeling_bioreason.training.grpo_trainer import DNAGRPOTrainer
    except ImportError:
        from modeling_bioreason.training.grpo import DNAGRPOTrainer
    from modeling_bioreason.training.grpo import reward_functions

    model, processor = build_model(bi, assets)
    base = model
    rec = {"steps": [], "gen": [], "logps": []}
    encoder = EncoderCounter(base.model.dna_encoder)

    class StepTimes(TrainerCallback):
        def on_step_begin(self, *a, **k):
            rec["t0"], rec["c0"], rec["e0"] = time.perf_counter(), time.process_time(), encoder.snapshot()

        def on_step_end(self, *a, **k):
            e1 = encoder.snapshot()
            rec["steps"].append({"s": time.perf_counter() - rec["t0"], "cpu_s": time.process_time() - rec["c0"],
                                 "dna_encoder": {k: e1[k] - rec["e0"][k] for k in e1}})

    class Timed(DNAGRPOTrainer):
        def _get_per_token_logps_and_entropies(self, *a, **k):
            t0 = time.perf_counter()
            out = super()._get_per_token_logps_and_entropies(*a, **k)
            rec["logps"].append({"grad": torch.is_grad_enabled(), "s": time.perf_counter() - t0})
            return out

    generate = base.generate

    def timed_generate(*a, **k):
        t0 = time.perf_counter()
        out = generate(*a, **k)
        rec["gen"].append(time.perf_counter() - t0)
        return out

    base.generate = timed_generate

    kegg = get_task("kegg_disease")

    class Recipe:  # the task's three rewards, weight 1 (as the original's three rewards)
        rewards = {name: 1.0 for name in kegg.rewards()}

    functions, weights = reward_functions(Recipe, kegg)
    dataset = Dataset.from_list([{"prompt": messages(r, False), "answer": r["answer"]} for r in rows])
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="bench_grpo_"), per_device_train_batch_size=args.grpo_g,
        num_generations=args.grpo_g, max_completion_length=args.grpo_max_completion, max_steps=args.grpo_steps,
        learning_rate=1e-6, beta=beta, num_iterations=1, gradient_accumulation_steps=1, logging_steps=1,
        report_to="none", use_cpu=True, save_strategy="no", seed=42, disable_tqdm=True, temperature=0.6, top_p=0.95,
        top_k=20, remove_unused_columns=False, reward_weights=weights,
        # TRL >= 0.2x defaults to True; the original (TRL 0.16) ran without it: same work on both sides
        gradient_checkpointing=False, bf16=False)  # TRL 1.x defaults bf16 on; CPUs here have no fast bf16
    config.generation_kwargs = {"suppress_tokens": [base.config.dna_start_token_id, base.config.dna_token_id,
                                                    base.config.dna_end_token_id]}
    model.model.dna_projector.requires_grad_(False)
    torch.manual_seed(42)
    trainer = Timed(model=model, reward_funcs=functions, args=config, processing_class=processor,
                    train_dataset=dataset, peft_config=lora_config(model, train_projector=False),
                    callbacks=[StepTimes()])
    rss, cpu = {}, {}
    profile = None
    if args.profile:
        from torch.profiler import ProfilerActivity, profile as torch_profile

        from transformers import TrainerCallback as _Callback

        class Profile(_Callback):  # profile the last step only
            def on_step_begin(self, a, state, *rest, **k):
                if state.global_step == args.grpo_steps - 1:
                    rec["prof"] = torch_profile(activities=[ProfilerActivity.CPU])
                    rec["prof"].__enter__()

            def on_step_end(self, a, state, *rest, **k):
                if "prof" in rec:
                    rec["prof"].__exit__(None, None, None)

        trainer.add_callback(Profile())
    with bu.peak_rss(rss), bu.cpu_contention(cpu):
        trainer.train()
    if "prof" in rec:
        profile = rec["prof"].key_averages().table(sort_by="cpu_time_total", row_limit=25)
        print(profile)
    timed = rec["steps"][1:]  # the first step pays one-off costs
    n = max(len(timed), 1)
    per_step = [s["s"] for s in timed]
    gen = rec["gen"][1:]
    no_grad = [x["s"] for x in rec["logps"] if not x["grad"]]
    grad = [x["s"] for x in rec["logps"] if x["grad"]]
    no_grad_per_step = len(no_grad) / max(len(rec["steps"]), 1)
    steps_total = sum(per_step)
    return {
        "config": {"G": args.grpo_g, "prompts_per_step": 1, "max_completion_length": args.grpo_max_completion,
                   "beta": beta, "steps": args.grpo_steps, "lora": "r32 a64 d0.05"},
        "per_step_s": bu.stats(per_step),
        "per_step_cpu_s": bu.stats([s["cpu_s"] for s in timed]),
        "generate_s": bu.stats(gen),
        "no_grad_logps_passes_per_step": no_grad_per_step,
        "no_grad_logps_s": bu.stats(no_grad[int(no_grad_per_step):]),
        "policy_logps_forward_s": bu.stats(grad[1:]),
        "split_per_step_s": {"generation": sum(gen) / n, "no_grad_log_prob_passes":
                             sum(no_grad[int(no_grad_per_step):]) / n, "policy_forward": sum(grad[1:]) / n,
                             "backward_optimizer_rewards_rest": (steps_total - sum(gen) - sum(no_grad[int(
                                 no_grad_per_step):]) - sum(grad[1:])) / n},
        "dna_encoder_per_step": [s["dna_encoder"] for s in rec["steps"]],
        "rss": rss, "cpu": cpu, "profile_top_cpu_ops": profile,
    }


WORKERS = {"prep": worker_prep, "sft": worker_sft, "gen": worker_gen, "grpo": worker_grpo}


# ------------------------------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------------------------------
def _get(d, path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def print_gains(base: dict, ours: dict, run: str) -> list[dict]:
    """Headline figures of two results files (the original's and ours) and the gain = original / ours."""
    b = _get(base, ("runs", run, "measurements")) or {}
    o = _get(ours, ("runs", run, "measurements")) or {}
    lines = []
    print(f"{'figure (median)':58s} {'original':>10s} {'ours':>10s} {'gain':>7s}  contention (others' cores b/o)")
    for label, path, base_path in HEADLINES:
        bv, ov = _get(b, base_path or path), _get(o, path)
        if bv is None or ov is None:
            continue
        cb = _get(b, (path[0], "cpu", "others_avg_cores")) or _get(b, (path[0], path[1], "cpu", "others_avg_cores"))
        co = _get(o, (path[0], "cpu", "others_avg_cores")) or _get(o, (path[0], path[1], "cpu", "others_avg_cores"))
        gain = bv / ov
        lines.append({"figure": label, "original_s": bv, "ours_s": ov, "gain": gain, "others_cores_original": cb,
                      "others_cores_ours": co})
        print(f"{label:58s} {bv:10.4f} {ov:10.4f} {gain:6.2f}x  {cb} / {co}")
    return lines


def run_ours(args, out: Path, bi, bu) -> dict:
    assets = bi.build_assets(args.assets_dir, args.data_dir, seed=0)
    rows, idx = bi.load_kegg_rows(args.data_dir, "train", args.n_rows, args.seed, args.trim_per_side)
    run = {"inputs": {"split": "train", "n_rows": args.n_rows, "row_seed": args.seed, "row_indices": idx,
                      "trim_per_side": args.trim_per_side, "rows_fingerprint": bi.rows_fingerprint(rows)},
           "threads": args.threads, "measurements": {}}
    jobs = []
    for name in args.only.split(","):
        if name in ("prep", "sft"):
            jobs += [(f"{name}_bs{bs}", name, bs) for bs in (4, 1)]
        elif name == "grpo":
            jobs += [("grpo", "grpo", 0.04), ("grpo_beta0", "grpo", 0.0)]
        else:
            jobs.append((name, name, 0))
    for key, name, param in jobs:
        with tempfile.TemporaryDirectory() as tmp:
            result = Path(tmp) / "out.json"
            cmd = [sys.executable, __file__, "--worker", name, "--worker-param", str(param), "--worker-out",
                   str(result)] + [a for a in sys.argv[1:] if a != "--worker"]
            t0 = time.time()
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"[bench_vs_original] {key} FAILED:\n{done.stderr[-3000:]}", flush=True)
                run["measurements"][key] = {"error": done.stderr[-3000:]}
                continue
            run["measurements"][key] = json.loads(result.read_text())
            print(f"[bench_vs_original] {key} done in {time.time() - t0:.0f} s", flush=True)
    import torch

    torch.set_num_threads(args.threads)
    results = {"schema": "bioreason-bench-results-v1", "implementation": "modeling_bioreason (this repository)",
               "env": bu.env_info(PACKAGES),
               "assets": {"fingerprint": bi.assets_fingerprint(assets["manifest"]),
                          "version": assets["manifest"]["version"]},
               "runs": {f"trim{args.trim_per_side}": run}}
    out.write_text(json.dumps(results, indent=1))
    print(f"[bench_vs_original] wrote {out}")
    return results


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side-by-side-dir", type=Path, default=SIDE_BY_SIDE)
    ap.add_argument("--assets-dir", default=os.path.join(tempfile.gettempdir(), "bioreason_bench_assets"))
    ap.add_argument("--data-dir", default=None, help="KEGG parquet folder (default: the shared harness's)")
    ap.add_argument("--out", type=Path, default=Path("results_ours.json"))
    ap.add_argument("--baseline", type=Path, help="the original's results file (bench_baseline.py --out)")
    ap.add_argument("--pairs", type=int, default=0, help="alternate the original's harness and ours N times")
    ap.add_argument("--original-src", help="checkout of bowang-lab/BioReason at 2e298be (for --pairs)")
    ap.add_argument("--original-python", help="python of the original's venv (for --pairs)")
    ap.add_argument("--only", default="prep,sft,gen,grpo")
    ap.add_argument("--n-rows", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trim-per-side", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prep-passes", type=int, default=5)
    ap.add_argument("--sft-passes", type=int, default=1)
    ap.add_argument("--gen-max-new-tokens", type=int, default=64)
    ap.add_argument("--grpo-g", type=int, default=4)
    ap.add_argument("--grpo-max-completion", type=int, default=64)
    ap.add_argument("--grpo-steps", type=int, default=4)
    ap.add_argument("--trl-head", action="store_true",
                    help="A/B: use TRL's fused LM head (every position) instead of the compact head")
    ap.add_argument("--profile", action="store_true", help="grpo: torch.profiler table of one step (top CPU ops)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-param", type=float, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    bi, bu = _import_shared(args.side_by_side_dir)
    args.data_dir = args.data_dir or str(bi.DEFAULT_DATA_DIR)
    bu.apply_bench_env()
    import torch

    torch.set_num_threads(args.threads)
    if args.worker:
        import transformers

        transformers.logging.set_verbosity_error()
        assets = bi.build_assets(args.assets_dir, args.data_dir, seed=0)
        rows, _ = bi.load_kegg_rows(args.data_dir, "train", args.n_rows, args.seed, args.trim_per_side)
        if args.trl_head:  # A/B: TRL's fused head over every position, as before this project's compact head
            from modeling_bioreason.training import grpo_trainer, sft_trainer

            grpo_trainer.compact_head_applies = sft_trainer.compact_head_applies = lambda device: False
        param = args.worker_param if args.worker == "grpo" else int(args.worker_param)
        result = WORKERS[args.worker](args, bi, bu, assets, rows, param)
        Path(args.worker_out).write_text(json.dumps(result, indent=1))
        return
    run = f"trim{args.trim_per_side}"
    if args.pairs:
        if not (args.original_src and args.original_python):
            sys.exit("bench_vs_original: --pairs needs --original-src and --original-python "
                     "(see README.md, \"Benchmarks\").")
        pairs = []
        for i in range(args.pairs):
            base_out = args.out.with_name(f"{args.out.stem}_original_{i}.json")
            same_inputs = [f"--{name.replace('_', '-')}={getattr(args, name)}" for name in (
                "assets_dir", "only", "n_rows", "seed", "trim_per_side", "threads", "prep_passes", "sft_passes",
                "gen_max_new_tokens", "grpo_g", "grpo_max_completion", "grpo_steps")]
            same_inputs += [f"--data-dir={args.data_dir}"] if args.data_dir else []  # else both use the shared default
            subprocess.run([args.original_python, str(args.side_by_side_dir / "bench_baseline.py"),
                            f"--bioreason-src={args.original_src}", f"--out={base_out}", *same_inputs], check=True)
            ours = run_ours(args, args.out.with_name(f"{args.out.stem}_{i}.json"), bi, bu)
            print(f"\npair {i + 1} of {args.pairs}:")
            pairs.append(print_gains(json.loads(base_out.read_text()), ours, run))
        args.out.with_name(f"{args.out.stem}_pairs.json").write_text(json.dumps(pairs, indent=1))
        return
    ours = run_ours(args, args.out, bi, bu)
    if args.baseline:
        print()
        print_gains(json.loads(args.baseline.read_text()), ours, run)


if __name__ == "__main__":
    main()
