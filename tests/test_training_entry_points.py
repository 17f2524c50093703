"""Training through the doors users use: plain TRL trainers, bf16 via `bioreason train` / `accelerate launch` / TRL's
defaults, bad rows and foreign model folders refused up front. Tiny random models, 1-2 steps, CPU."""

import json
import re
import subprocess
import sys

import pytest
import torch

from conftest import ENCODER_KINDS, FIXTURES
from modeling_bioreason.cli import main
from modeling_bioreason.example import load_example_rows, tiny_bioreason, tiny_tokenizer
from modeling_bioreason.training import BioReasonDataCollator, task_row_to_conversation

ROOT = FIXTURES.parent.parent


@pytest.fixture(scope="module")
def conversations():
    from datasets import Dataset

    torch.set_num_threads(2)
    rows = [task_row_to_conversation(row, trim_per_side=1950, reasoning_lines=2) for row in load_example_rows()[:4]]
    return Dataset.from_list(rows)


def test_readme_plain_trl_recipe_trains_in_bf16_by_trl_default(tmp_path, monkeypatch, encoder_kind):
    """The README's plain-TRL block, run as written (on the DNA encoder under test): SFTTrainer + our collator + the
    two settings, TRL's default precision (bf16)."""
    readme = (ROOT / "README.md").read_text()
    code = readme.split("**Plain TRL.**", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    built = "tiny_bioreason(tiny_tokenizer())"
    assert built in code
    sizes = "".join(f", {key}={value!r}" for key, value in ENCODER_KINDS[encoder_kind]["tiny"].items())
    code = code.replace(built, f"tiny_bioreason(tiny_tokenizer(), dna_encoder={encoder_kind!r}{sizes})")
    setup, train_call = code.rsplit("trainer.train()", 1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(setup, namespace)
    trainer, model = namespace["trainer"], namespace["model"]
    assert trainer.args.bf16 and trainer.accelerator.mixed_precision == "bf16"  # TRL's default, not ours
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer.train()
    assert trainer.state.global_step == 2 and 0 < trainer.state.log_history[-1]["train_loss"] < 20
    unchanged = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert not unchanged, unchanged


def test_plain_trl_sft_trainer_without_the_settings_gets_an_error_naming_them(conversations, encoder_kind, tmp_path):
    from trl import SFTConfig, SFTTrainer

    model, processor = tiny_bioreason(tiny_tokenizer(), dna_encoder=encoder_kind, **ENCODER_KINDS[encoder_kind]["tiny"])
    trainer = SFTTrainer(model, processing_class=processor, train_dataset=conversations,
                         args=SFTConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2,
                                        use_cpu=True, report_to="none"))
    with pytest.raises(ValueError, match=r"remove_unused_columns=False.*skip_prepare_dataset.*BioReasonDataCollator"):
        trainer.train()


def test_collator_refuses_rows_without_messages():
    _, processor = tiny_bioreason(tiny_tokenizer())
    with pytest.raises(ValueError, match="needs a `messages` column.*task_row_to_conversation"):
        BioReasonDataCollator(processor)(load_example_rows()[:1])


def _train(tmp_path, *sets, kind="sft", config="cpu-smoke-sft"):
    return main(["train", kind, "--config", config, "--set", f"training.output_dir={tmp_path}", *sets])


def test_bioreason_train_sft_in_bf16(tmp_path):
    """The user's command from the issue: bf16 on CPU through the CLI (was: Index put dtype mismatch)."""
    assert _train(tmp_path, "training.bf16=true", "training.use_cpu=true", "training.max_steps=1",
                  "training.save_steps=1") == 0
    state = json.loads((tmp_path / "checkpoint-1" / "trainer_state.json").read_text())
    assert state["global_step"] == 1 and state["log_history"][0]["loss"] > 0
    assert (tmp_path / "final" / "model.safetensors").exists()


@pytest.mark.parametrize("config", ["cpu-smoke-llm-only", "cpu-smoke-dna-only"])
def test_baselines_train_in_bf16(config, tmp_path):
    """The paper's baselines under the same precision as every GPU recipe (bf16), through the CLI."""
    assert _train(tmp_path, "training.bf16=true", "training.use_cpu=true", "training.max_steps=1",
                  "training.save_steps=1", config=config) == 0
    state = json.loads((tmp_path / "checkpoint-1" / "trainer_state.json").read_text())
    assert state["global_step"] == 1 and state["log_history"][0]["loss"] > 0
    assert (tmp_path / "final" / "config.json").exists()


def test_bioreason_train_grpo_in_bf16_from_a_built_model(tmp_path):
    assert _train(tmp_path, "model.model=null", "model.text_model=tiny-random-qwen3",
                  "model.dna_model=random-nt-v2:32x2", "training.bf16=true", "training.use_cpu=true",
                  "training.max_steps=1", "training.save_steps=1", kind="grpo", config="cpu-smoke-grpo") == 0
    state = json.loads((tmp_path / "checkpoint-1" / "trainer_state.json").read_text())
    assert state["global_step"] == 1 and state["log_history"][0]["grad_norm"] > 0
    assert (tmp_path / "final" / "model.safetensors").exists()


def test_accelerate_launch_mixed_precision_bf16(tmp_path):
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
               "--cpu", "--mixed_precision", "bf16", "--dynamo_backend", "no",
               "-m", "modeling_bioreason.cli", "train", "sft", "--config", "cpu-smoke-sft",
               "--set", f"training.output_dir={tmp_path}", "training.max_steps=1", "training.save_steps=1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "final" / "model.safetensors").exists()


def _damage(sequence: str, position: int, text: str) -> str:
    return sequence[:position] + text + sequence[position + len(text):]


def _write_rows(folder, rows):
    folder.mkdir()
    (folder / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows[4].update(answer=None), "row 4: `answer` is None"),
    (lambda rows: rows[2].update(question=None), "row 2: `question` is None"),
    (lambda rows: rows[5].update(variant_sequence=""), "row 5: `variant_sequence` is empty"),
    (lambda rows: [row.pop("reasoning") for row in rows], r"lacks column\(s\) \['reasoning'\]"),
    # Damage inside a flank that trim_per_side=1024 cuts would shift the kept window: found on the whole window.
    (lambda rows: rows[3].update(reference_sequence=_damage(rows[3]["reference_sequence"], 10, "\n")),
     r"row 3: `reference_sequence` has a line break '\\n' at position 10 \(in the flank that trim_per_side=1024 "
     r"removes: it would shift the kept window\)"),
    (lambda rows: rows[0].update(variant_sequence=_damage(rows[0]["variant_sequence"], 3990, ">chr1")),
     r"row 0: `variant_sequence` has a FASTA header mark '>' at position 3990 \(in the flank"),
    # A bad base in the middle: found before any step, not at the step that reaches the row.
    (lambda rows: rows[5].update(variant_sequence=_damage(rows[5]["variant_sequence"], 2000, "R")),
     r"row 5: `variant_sequence` has an IUPAC ambiguity code 'R' at position 2000; allowed: A, C, G, T, N"),
])
def test_bad_rows_are_refused_before_training_with_the_dataset_row_index(tmp_path, capsys, change, message):
    rows = [dict(row) for row in load_example_rows()]
    change(rows)
    folder = _write_rows(tmp_path / "rows", rows)
    assert _train(tmp_path / "out", f"data.dataset={folder}") == 2
    err = capsys.readouterr().err
    [error] = [line for line in err.splitlines() if line.startswith("bioreason train: error:")]
    assert "Traceback" not in err and re.search(message, error), err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("checkpoint-*"))


def test_damaged_windows_are_refused_up_front_by_grpo_and_evaluate(tmp_path, capsys):
    rows = [dict(row) for row in load_example_rows()]
    rows[3]["reference_sequence"] = _damage(rows[3]["reference_sequence"], 10, "\n")
    folder = _write_rows(tmp_path / "rows", rows)
    assert _train(tmp_path / "grpo", f"data.dataset={folder}", kind="grpo", config="cpu-smoke-grpo") == 2
    assert "row 3: `reference_sequence` has a line break '\\n' at position 10 (in the flank" in capsys.readouterr().err
    assert main(["evaluate", "--model", "lookup", "--dataset", str(folder), "--task", "kegg", "--split", "train",
                 "--trim-per-side", "1024", "--output-dir", str(tmp_path / "eval")]) == 2
    err = capsys.readouterr().err
    assert "row 3: 'reference_sequence' has a line break '\\n' at position 10 (in the flank that trim_per_side=1024" \
        in err and "Traceback" not in err
    assert not (tmp_path / "eval" / "predictions.jsonl").exists()


@pytest.fixture
def foreign_folder(tmp_path):
    """A model folder that is not BioReason and ships code which, if it ever ran, would leave a marker file."""
    folder = tmp_path / "foreign"
    folder.mkdir()
    marker = tmp_path / "code-ran"
    (folder / "config.json").write_text(json.dumps({
        "model_type": "not_bioreason", "architectures": ["Evil"],
        "auto_map": {"AutoConfig": "configuration_evil.EvilConfig", "AutoModelForCausalLM": "modeling_evil.Evil"},
    }))
    code = f"open({str(marker)!r}, 'w').write('ran')\nfrom transformers import PreTrainedConfig\n" \
           "class EvilConfig(PreTrainedConfig):\n    model_type = 'not_bioreason'\n"
    (folder / "configuration_evil.py").write_text(code)
    (folder / "modeling_evil.py").write_text(code.replace("EvilConfig", "Evil"))
    return folder, marker


def test_foreign_model_code_never_runs_without_trust_remote_code(foreign_folder, tmp_path, capsys):
    folder, marker = foreign_folder
    assert _train(tmp_path / "out", f"model.model={folder}", kind="grpo", config="cpu-smoke-grpo") == 2
    assert "--trust-remote-code" in capsys.readouterr().err
    assert main(["ask", "--model", str(folder), "--reference", "ACGT", "--variant", "ACTT", "--question", "?"]) == 2
    assert "trust_remote_code" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(folder), "--output-dir", str(tmp_path / "eval"), "--limit", "1"]) == 2
    assert "--trust-remote-code" in capsys.readouterr().err
    assert not marker.exists()


def test_grpo_resume_sees_the_same_prompts_as_the_uninterrupted_run(tmp_path, monkeypatch):
    """Killed at the epoch boundary (checkpoint-4 of 4 prompts x G=2) and resumed: epoch 2's prompt order is the
    uninterrupted run's (TRL's sampler replays epoch 1's order on resume)."""
    import hashlib
    import shutil

    from modeling_bioreason.training import grpo

    seen = []

    def record(completions, prompts, **kwargs):
        seen.append([hashlib.md5(str(prompt).encode()).hexdigest()[:8] for prompt in prompts])
        return [0.0] * len(completions)

    monkeypatch.setitem(grpo.TRAINING_REWARDS, "record", record)
    common = ["model.model=null", "model.text_model=tiny-random-qwen3", "model.dna_model=random-nt-v2:32x2",
              "rewards.record=0.0", "training.max_steps=6", "training.save_steps=2", "training.max_completion_length=4",
              "training.lr_scheduler_type=constant"]
    assert _train(tmp_path / "full", *common, kind="grpo", config="cpu-smoke-grpo") == 0
    full, seen[:] = list(seen), []
    assert len(full) == 6 and full[4:] != full[:2]  # epoch 2 is a new order, not a replay of epoch 1
    shutil.copytree(tmp_path / "full" / "checkpoint-4", tmp_path / "resumed" / "checkpoint-4")
    shutil.copy(tmp_path / "full" / "run_identity.json", tmp_path / "resumed")
    assert main(["train", "grpo", "--config", "cpu-smoke-grpo", "--resume", "--set",
                 f"training.output_dir={tmp_path / 'resumed'}", *common]) == 0
    assert seen == full[4:]
