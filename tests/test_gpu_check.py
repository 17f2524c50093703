"""`benchmarks/gpu_check.py --tiny`: every stage of the paper-scale GPU check (NT-v2 and Evo 2) runs on CPU, so none
rots unrun."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_tiny_runs_every_stage(tmp_path):
    out = tmp_path / "gpu_check_tiny.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--tiny", "--out", str(out)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    report = json.loads(out.read_text())
    failed = {k: v.get("error") for k, v in report["stages"].items() if v["status"] != "ok"}
    assert result.returncode == 0 and not failed, (failed, result.stdout[-2000:], result.stderr[-2000:])
    assert list(report["stages"]) == ["model", "sft", "grpo", "generate", "space", "evo2"]
    assert "BioReason GPU check" in result.stdout  # the table
    stages = report["stages"]
    assert stages["model"]["params_total"] > stages["model"]["params_lm"] > 0
    assert set(stages["sft"]) >= {"checkpointing_on", "checkpointing_off"}
    for run in (stages["sft"]["checkpointing_on"], stages["sft"]["checkpointing_off"]):
        assert run["s_per_step"] > 0 and run["tokens_per_s"] > 0 and len(run["loss"]) >= 1
    for run in (v for k, v in stages["grpo"].items() if k.startswith("completion_")):
        assert run["encoder_calls_per_step"] == 1.0  # one encoder call per generation batch
        assert run["generation_s_per_step"] > 0 and run["policy_forward_s_per_step"] > 0
    generate = stages["generate"]
    assert {"batch_1", "batch_2", "batch_4"} <= set(generate)
    assert generate.get("static_cache_equal_greedy_output") is True, generate
    assert stages["space"]["time_to_first_streamed_token_s"] > 0
    evo2 = stages["evo2"]  # the Evo 2 + Qwen3 stage: one DNA placeholder per base, fp32 poles, a step, generation
    assert evo2["model"]["params_dna_encoder"] > 0 and evo2["model"]["max_dna_tokens"] == 2048
    assert evo2["model"]["dna_placeholders_per_prompt"] == 2 * (4001 - 2 * 1950)
    assert evo2["model"]["fp32_encoder_parameters"] == ["log_poles", "residues"]
    assert evo2["sft_step"]["s_per_step"] > 0 and len(evo2["sft_step"]["loss"]) >= 1
    assert evo2["generate_batch_1"]["new_tokens_per_s"] > 0 and evo2["generate_batch_2"]["new_tokens_per_s"] > 0
