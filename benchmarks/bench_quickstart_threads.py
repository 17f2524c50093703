"""The quickstart's thread choice on a shared machine: the same quickstart run twice, side by side in one invocation.

    python benchmarks/bench_quickstart_threads.py [--busy-after 30]

1. **as the machine is** (nothing added by this script);
2. **with one core taken mid-run**: a busy-loop process starts `--busy-after` seconds into the run (after the
   quickstart chose its threads at the start, the case that used to keep 2 threads beside a busy core for minutes) and
   runs until the quickstart ends.

Each run is a fresh `bioreason quickstart` in a temporary folder. Printed per run: wall time, stage times, the thread
counts the governor chose and when (from `stages.json`), and the load average before and after (other jobs on the
machine count: read the numbers beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIN = "while True:\n    pass\n"


def run_quickstart(folder: Path, busy_after: float | None) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("BIOREASON_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)  # the quickstart chooses
    load_before = os.getloadavg()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "modeling_bioreason.cli", "quickstart", "--output-dir",
                                str(folder / "quickstart"), "--datasets-dir", str(ROOT / "hub_cards" / "datasets")],
                               cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    spinner = None
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        while process.poll() is None:
            if busy_after is not None and spinner is None and time.monotonic() - started >= busy_after:
                spinner = subprocess.Popen([sys.executable, "-c", SPIN])
            time.sleep(0.5)
        reader.join(timeout=30)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    wall = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"quickstart failed:\n{''.join(output)[-3000:]}")
    state = json.loads((folder / "quickstart" / "stages.json").read_text())
    return {"wall_s": round(wall, 1), "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "stages_s": {name: stage["seconds"] for name, stage in state.items() if "seconds" in stage},
            "threads": state.get("threads", {}).get("changes", []),
            "busy_core_from_s": busy_after,
            "first_line": next((line.strip() for line in output if line.startswith("Using")), "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy-after", type=float, default=30.0,
                        help="seconds into the second run at which a busy-loop process takes a core")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, affinity {len(os.sched_getaffinity(0))}; load {os.getloadavg()}")
    results = {}
    for name, busy_after in (("as the machine is", None), ("one core taken mid-run", args.busy_after)):
        with tempfile.TemporaryDirectory(prefix="bench_quickstart_") as folder:
            results[name] = run_quickstart(Path(folder), busy_after)
        print(f"\n== {name}")
        print(json.dumps(results[name], indent=2))
    print("\n| run | wall | build + SFT | evaluate | ask | threads (at s: n) | load before / after (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        stages = result["stages_s"]
        threads = ", ".join(f"{c['at_s']:.0f}: {c['threads']}" for c in result["threads"])
        print(f"| {name} | {result['wall_s']:.0f} s | {stages.get('sft (includes build)', 0):.0f} s | "
              f"{stages.get('evaluate', 0):.0f} s | {stages.get('ask', 0):.0f} s | {threads} | "
              f"{result['load_before'][0]:.1f} / {result['load_after'][0]:.1f} |")


if __name__ == "__main__":
    main()
