"""SFT and GRPO on TRL with the DNA path, on a tiny random model and real KEGG rows (CPU, fp32)."""

import json
import subprocess
import sys

import pytest
import torch

from conftest import ENCODER_KINDS, FIXTURES, RUNNER_MECHANICS
from modeling_bioreason.training.grpo import make_grpo_trainer
from modeling_bioreason.training.recipe import load_recipe
from modeling_bioreason.training.rewards import concise_answer_reward, correctness_reward, format_reward
from modeling_bioreason.training.sft import run_sft

GOLDEN = json.loads((FIXTURES / "bioreason" / "reward_and_metric_golden.json").read_text())
ROOT = FIXTURES.parent.parent


def _smoke(kind: str, recipe: str) -> str:
    """The CPU smoke recipe (`sft`, `grpo`, `dna_only`) of an encoder kind."""
    return ENCODER_KINDS[kind]["smoke"][recipe]


def _sft_recipe(out, kind, *extra):
    return load_recipe(_smoke(kind, "sft"), [f"training.output_dir={out}", *extra])


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, encoder_kind):
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("sft")
    folder = run_sft(_sft_recipe(out, encoder_kind))
    return out, folder


def test_sft_loss_falls_and_exports_a_loadable_model(sft_run, tmp_path):
    out, folder = sft_run
    history = json.loads((out / "checkpoint-20" / "trainer_state.json").read_text())["log_history"]
    losses = [entry["loss"] for entry in history if "loss" in entry]
    assert len(losses) == 20 and sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.05, losses
    assert (out / "adapter" / "adapter_config.json").exists()
    script = (
        "import sys, json\nfrom transformers import AutoModelForCausalLM, AutoProcessor\n"
        "m = AutoModelForCausalLM.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "p = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "msgs = [{'role': 'user', 'content': [{'type': 'dna', 'sequence': 'ACGTACGTTTGACA'},"
        " {'type': 'dna', 'sequence': 'ACGTACGTTTGCCA'}, {'type': 'text', 'text': 'Which disease?'}]}]\n"
        "x = p.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors='pt')\n"
        "y = m.generate(**x, max_new_tokens=5, do_sample=False)\n"
        "print(json.dumps({'cls': type(m).__module__, 'new': y.shape[1] - x['input_ids'].shape[1]}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, folder], capture_output=True, text=True, cwd=tmp_path,
                            env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["cls"].startswith("transformers_modules.") and info["new"] >= 1


def test_sft_supervises_end_of_turn_and_trains_only_what_it_should(sft_run, encoder_kind):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from modeling_bioreason.example import load_example_rows
    from modeling_bioreason.training import BioReasonDataCollator, task_row_to_conversation
    from modeling_bioreason.training.models import load_model

    out, folder = sft_run
    recipe = _sft_recipe(out, encoder_kind)
    base, processor = load_model(recipe.model, seed=0)
    rows = [task_row_to_conversation(row, trim_per_side=recipe.data.trim_per_side) for row in load_example_rows()[:2]]
    batch = BioReasonDataCollator(processor)(rows)
    end_of_turn = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for labels in batch["labels"]:
        supervised = labels[labels != -100]
        assert supervised[-1] == end_of_turn  # the model learns to stop
    tuned = PeftModel.from_pretrained(base, out / "adapter", is_trainable=True)
    trainable = {name for name, p in tuned.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or "modules_to_save" in n for n in trainable)
    assert not any("dna_encoder" in n for n in trainable)
    merged = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    assert merged.model.dna_boundary_embeddings.weight.abs().sum() > 0  # the DNA-token embeddings moved


def _killed_after(out, run_dir, *checkpoints):
    """`run_dir` as the run in `out` leaves it when killed after writing `checkpoints` (and its identity)."""
    import shutil

    for name in checkpoints:
        shutil.copytree(out / name, run_dir / name)
    shutil.copy(out / "run_identity.json", run_dir / "run_identity.json")
    return run_dir


@RUNNER_MECHANICS  # resuming and exporting a run: the same code for every encoder
def test_sft_resume_after_interrupt_reaches_the_same_state(sft_run, encoder_kind, tmp_path):
    out, _ = sft_run
    interrupted = _killed_after(out, tmp_path / "resumed", "checkpoint-10")
    run_sft(_sft_recipe(interrupted, encoder_kind), resume=True)
    state = json.loads((interrupted / "checkpoint-20" / "trainer_state.json").read_text())
    reference = json.loads((out / "checkpoint-20" / "trainer_state.json").read_text())
    assert state["global_step"] == reference["global_step"] == 20
    from safetensors.torch import load_file

    a = load_file(interrupted / "adapter" / "adapter_model.safetensors")
    b = load_file(out / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-4)


@RUNNER_MECHANICS  # resuming and exporting a run: the same code for every encoder
def test_resume_skips_a_torn_checkpoint_and_says_which(sft_run, encoder_kind, tmp_path, caplog):
    """Killed while writing checkpoint-20 (no trainer_state.json yet): --resume continues from checkpoint-10."""
    import logging

    from modeling_bioreason.cli import main

    out, _ = sft_run
    run_dir = _killed_after(out, tmp_path / "run", "checkpoint-10", "checkpoint-20")
    (run_dir / "checkpoint-20" / "trainer_state.json").unlink()
    with caplog.at_level(logging.WARNING, logger="modeling_bioreason"):
        assert main(["train", "sft", "--config", _smoke(encoder_kind, "sft"), "--set",
                     f"training.output_dir={run_dir}", "--resume"]) == 0
    assert f"skipping {run_dir / 'checkpoint-20'}" in caplog.text
    assert f"continuing from {run_dir / 'checkpoint-10'}" in caplog.text
    state = json.loads((run_dir / "checkpoint-20" / "trainer_state.json").read_text())
    assert state["global_step"] == 20


def _cli_train(capsys, run_dir, kind, *sets, resume=False):
    from modeling_bioreason.cli import main

    code = main(["train", "sft", "--config", _smoke(kind, "sft"), "--set", f"training.output_dir={run_dir}", *sets]
                + (["--resume"] if resume else []))
    return code, capsys.readouterr().err


@RUNNER_MECHANICS  # resuming and exporting a run: the same code for every encoder
def test_resume_of_another_run_is_refused_naming_the_differences(sft_run, encoder_kind, tmp_path, capsys):
    out, _ = sft_run
    run_dir = _killed_after(out, tmp_path / "run", "checkpoint-10")
    code, err = _cli_train(capsys, run_dir, encoder_kind, "training.learning_rate=1e-3", "data.config=leak_free",
                           resume=True)
    assert code == 2 and "Traceback" not in err
    assert f"--resume: {run_dir} holds another run, not this one" in err
    assert "data.config: 'default' -> 'leak_free'" in err and "training.learning_rate: 0.002 -> 0.001" in err
    assert "training rows: the dataset's rows changed" in err  # leak_free's rows are other rows
    (run_dir / "run_identity.json").unlink()  # checkpoints of unknown origin (an older version, another tool)
    code, err = _cli_train(capsys, run_dir, encoder_kind, resume=True)
    assert code == 2 and "without a readable run_identity.json" in err and "resume refused" in err
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint-10"]  # nothing trained, moved or written


@RUNNER_MECHANICS  # resuming and exporting a run: the same code for every encoder
def test_fresh_run_moves_an_earlier_run_aside_and_resume_takes_only_its_own_checkpoints(sft_run, encoder_kind, tmp_path,
                                                                                        capsys, caplog):
    """The shipped recipes write to fixed folders: a new run there must not mix with the earlier one's checkpoints
    or `final/`, and `--resume` after a kill must continue the new run, not the earlier run's higher checkpoint."""
    import logging
    import shutil

    from entry_points import rewrite_in_place

    out, _ = sft_run
    data = tmp_path / "kegg"
    shutil.copytree(ROOT / "hub_cards/datasets/kegg", data, ignore=shutil.ignore_patterns("leak_free*", "held_*"))
    run_dir = _killed_after(out, tmp_path / "run", "checkpoint-20")
    shutil.copytree(out / "final", run_dir / "final")
    short = [f"data.dataset={data}", "training.save_steps=1"]
    with caplog.at_level(logging.WARNING, logger="modeling_bioreason"):
        code, err = _cli_train(capsys, run_dir, encoder_kind, *short, "training.max_steps=1")
    assert code == 0, err
    [previous] = run_dir.glob("previous-*")
    assert f"{run_dir} held an earlier run (checkpoint-20, final, run_identity.json): moved it to {previous}" \
        in caplog.text
    assert {p.name for p in previous.iterdir()} == {"checkpoint-20", "final", "run_identity.json"}
    assert [p.name for p in run_dir.glob("checkpoint-*")] == ["checkpoint-1"]
    assert json.loads((run_dir / "train_metrics.json").read_text())["global_step"] == 1

    shutil.copytree(out / "checkpoint-20", run_dir / "checkpoint-20")  # another run's, higher: never resumed
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="modeling_bioreason"):
        code, err = _cli_train(capsys, run_dir, encoder_kind, *short, "training.max_steps=2", resume=True)
    assert code == 0, err
    assert f"skipping {run_dir / 'checkpoint-20'}: it is not this run's checkpoint" in caplog.text
    assert f"continuing from {run_dir / 'checkpoint-1'}" in caplog.text
    assert "training length changed (training.max_steps: 1 -> 2)" in caplog.text
    assert json.loads((run_dir / "train_metrics.json").read_text())["global_step"] == 2

    # The training file rewritten in place with its old timestamp (cp -p, tar x): the rows read are the new ones
    # (never the datasets cache's old ones), so the run is not this one any more.
    train_file = data / "data" / "train-00000-of-00001.parquet"
    rewrite_in_place(train_file, 0, "question", "Which disease does this variant contribute to, really?")
    code, err = _cli_train(capsys, run_dir, encoder_kind, *short, "training.max_steps=2", resume=True)
    assert code == 2 and "training rows: the dataset's rows changed" in err, err


@RUNNER_MECHANICS  # resuming and exporting a run: the same code for every encoder
def test_sharded_export_rebuilds_the_full_model_from_gathered_weights(sft_run, encoder_kind, tmp_path):
    """The FSDP2/ZeRO-3 path of `finish`: rank 0 receives the gathered full state dict, rebuilds an unsharded model
    and exports it; the result equals the single-process export."""
    from peft import PeftModel
    from safetensors.torch import load_file

    from modeling_bioreason.training.models import load_model
    from modeling_bioreason.training.export import export, unsharded_copy

    out, folder = sft_run
    recipe = _sft_recipe(out, encoder_kind)
    base, processor = load_model(recipe.model)
    torch.manual_seed(123)
    for param in base.parameters():  # the rebuilt copy must take every weight from the gathered dict
        param.data.normal_()
    trained = PeftModel.from_pretrained(base, out / "adapter")
    gathered = {key: value.detach().clone() for key, value in trained.state_dict().items()}
    copy = unsharded_copy(recipe, trained.peft_config, gathered)
    exported = load_file(f"{export(copy, processor, recipe, tmp_path / 'final')}/model.safetensors")
    reference = load_file(f"{folder}/model.safetensors")
    assert exported.keys() == reference.keys()
    rebuilt = load_file(f"{export(trained, processor, recipe, tmp_path / 'direct')}/model.safetensors")
    for key in exported:
        torch.testing.assert_close(exported[key], rebuilt[key])


def test_correctness_reward_regression_for_the_zip_bug():
    case = GOLDEN["grpo_correctness_main_bug_case"]
    completions = [[{"role": "assistant", "content": c}] for c in case["completions"]]
    assert correctness_reward(completions, answer=case["answer_column"], task="kegg_disease") == case["fixed_rule_rewards"]
    right = [[{"role": "assistant", "content": "<think>\nx\n</think>\n\nAnswer: Melanoma."}]]
    assert correctness_reward(right, answer=["melanoma"], task="kegg_disease") == [1.0]
    assert correctness_reward(right, answer=["Pathogenic; melanoma"], task="variant_effect") == [0.0]
    vep = [[{"role": "assistant", "content": "<think>\nx\n</think>\n\nAnswer: likely pathogenic"}]]
    assert correctness_reward(vep, answer=["Pathogenic; cystic fibrosis"], task="variant_effect") == [1.0]
    with pytest.raises(ValueError, match="needs its task"):  # declared, never guessed from the answers
        correctness_reward(vep, answer=["Pathogenic; cystic fibrosis"])
    labels = ["renal cell carcinoma", "clear cell renal cell carcinoma"]
    specific = [[{"role": "assistant", "content": "Answer: clear cell renal cell carcinoma"}]]
    assert correctness_reward(specific, answer=["renal cell carcinoma"], labels=labels) == [0.0]


def test_format_and_concise_rewards_read_multiline_thinking():
    multi = "<think>\nStep 1: a\nStep 2: b\n</think>\n\nAnswer: prion disease"
    assert format_reward([multi, "Answer: prion disease", "<think>\nx"]) == [1.0, 0.0, 0.0]
    long = "<think>\nx\n</think>\n\nAnswer: " + "word " * 11
    assert concise_answer_reward([multi, long, "no answer"]) == [1.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def grpo_trainer(sft_run, encoder_kind, tmp_path_factory):
    _, folder = sft_run
    out = tmp_path_factory.mktemp("grpo")
    return make_grpo_trainer(load_recipe(_smoke(encoder_kind, "grpo"), [f"model.model={folder}",
                                                                       f"training.output_dir={out}"]))


def test_plain_trl_grpo_trainer_is_pointed_to_dna_grpo_trainer(sft_run, tmp_path):
    """TRL's GRPOTrainer generates with the DNA but drops it in its log-prob passes: the error names the fix."""
    from trl import GRPOTrainer

    recipe = load_recipe("cpu-smoke-grpo", [f"model.model={sft_run[1]}", f"training.output_dir={tmp_path}",
                                            "training.max_steps=1"])
    with pytest.raises(ValueError, match=r"trl.GRPOTrainer .*modeling_bioreason.training.DNAGRPOTrainer"):
        make_grpo_trainer(recipe, trainer_class=GRPOTrainer).train()


def test_grpo_learns_with_one_encoding_per_prompt_and_exact_log_probs(grpo_trainer):
    trainer = grpo_trainer
    base = trainer.accelerator.unwrap_model(trainer.model).get_base_model()
    # The SFT export loads through this package's classes, not the code stored in the folder.
    assert type(base).__module__ == "modeling_bioreason.modeling_bioreason"
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    encoder_rows = []
    hook = base.model.dna_encoder.register_forward_hook(lambda m, a, o: encoder_rows.append(a[0].shape[0]))
    try:
        trainer.train()
    finally:
        hook.remove()
    assert trainer.state.global_step == 2
    # The smoke recipe's rewards vary within each group, so every step has a gradient...
    logs = [entry for entry in trainer.state.log_history if "grad_norm" in entry]
    assert len(logs) == 2 and all(entry["grad_norm"] > 0 and entry["reward_std"] > 0 for entry in logs), logs
    # ...and (TRL's own test convention) every trainable parameter moved, the frozen ones did not.
    trainable = {name for name, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    for name, param in trainer.model.named_parameters():
        changed = not torch.equal(param, before[name])
        assert changed == (name in trainable), f"{name}: changed={changed}, trainable={name in trainable}"
    assert not any("dna_encoder" in n or "dna_projector" in n for n in trainable)
    # One encoder call per step, on the step's one prompt's 2 sequences: its G=2 completions share that encoding (not
    # 2 x 2 rows), and the old/reference/policy passes reuse the projected features (no further calls).
    assert encoder_rows == [2, 2]

    rows = [trainer.train_dataset[i] for i in (0, 0, 1, 1)]
    trainer.model.eval()
    batch = trainer._generate_and_score_completions(rows)
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    keep = batch["completion_ids"].shape[1]
    trainer._dna = {k: batch[k] for k in ("dna_embeds", "dna_attention_mask")}
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, keep)
        inputs = trainer.processing_class.apply_chat_template([r["prompt"] for r in rows], add_generation_prompt=True,
                                                              tokenize=True, return_dict=True, return_tensors="pt")
        logits = trainer.model(input_ids=ids, attention_mask=mask, dna_input_ids=inputs["dna_input_ids"],
                               dna_attention_mask=inputs["dna_attention_mask"]).logits
    plain = (logits[:, -keep - 1:-1] / trainer.temperature).log_softmax(-1)  # GRPO scores at the sampling T
    plain = plain.gather(-1, batch["completion_ids"].unsqueeze(-1)).squeeze(-1)
    completion = batch["completion_mask"].bool()
    torch.testing.assert_close(logps[completion], plain[completion], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["kegg_sft_qwen3_4b", "kegg_sft_qwen3_1_7b", "vep_sft_qwen3_4b", "kegg_grpo_paper_v1",
                                  "kegg_grpo_paper_v2", "cpu-smoke-sft", "cpu-smoke-grpo", "kegg_sft_evo2_qwen3_4b",
                                  "vep_sft_evo2_qwen3_4b", "kegg_grpo_evo2_paper_v1", "kegg_grpo_evo2_paper_v2",
                                  "cpu-smoke-sft-evo2", "cpu-smoke-grpo-evo2"])
def test_shipped_recipes_parse_into_trl_configs(name):
    from trl import GRPOConfig, SFTConfig

    recipe = load_recipe(name, ["training.bf16=false"])  # bf16 needs a GPU; everything else is validated here
    config = (SFTConfig if recipe.kind == "sft" else GRPOConfig)(**{"report_to": "none", **recipe.training})
    assert config.output_dir == recipe.training["output_dir"]
    if name == "kegg_grpo_paper_v2":
        assert (config.loss_type, config.num_generations, config.beta, recipe.lora.r) == ("dr_grpo", 8, 0.0, 16)
        assert recipe.rewards == {"correctness": 2.0, "concise": 0.5, "format": 0.5}
    if name == "kegg_sft_qwen3_4b":
        assert (config.learning_rate, config.num_train_epochs, recipe.lora.alpha) == (5e-5, 5, 64)


def test_dna_grpo_trainer_overrides_methods_trl_still_has():
    """Fails loudly if TRL renames or re-signs a method DNAGRPOTrainer overrides (the override would go silent)."""
    import inspect

    from trl import GRPOTrainer

    from modeling_bioreason.training.grpo_trainer import DNAGRPOTrainer

    overridden = [name for name, value in vars(DNAGRPOTrainer).items() if inspect.isfunction(value)]
    assert set(overridden) >= {"_tokenize_prompts", "_generate_and_score_completions", "_compute_loss",
                               "_get_per_token_logps_and_entropies"}
    for name in overridden:
        assert hasattr(GRPOTrainer, name), f"TRL's GRPOTrainer no longer has {name}: DNAGRPOTrainer must follow it."
        ours = inspect.signature(getattr(DNAGRPOTrainer, name)).parameters
        theirs = inspect.signature(getattr(GRPOTrainer, name)).parameters
        named = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in ours.values()) and name == "__init__":
            continue
        theirs_named = [p for p in theirs if theirs[p].kind not in named]
        ours_named = [p for p in ours if ours[p].kind not in named]
        takes_rest = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in ours.values())
        # Ours takes TRL's parameters in TRL's order; a trailing **kwargs may absorb TRL's extra (multimodal) ones.
        assert theirs_named[:len(ours_named)] == ours_named and (takes_rest or theirs_named == ours_named), (
            f"TRL changed the signature of GRPOTrainer.{name}: {list(theirs)} (ours: {list(ours)}).")


def test_grpo_refuses_vllm_up_front(tmp_path):
    from trl import GRPOConfig

    from modeling_bioreason.training.grpo_trainer import DNAGRPOTrainer

    args = GRPOConfig(output_dir=str(tmp_path), use_vllm=True, report_to="none", bf16=False)
    with pytest.raises(ValueError, match="does not support use_vllm=True.*Set use_vllm=False"):
        DNAGRPOTrainer(model=None, reward_funcs=[format_reward], args=args)


def test_recipe_fields_are_typed(tmp_path):
    recipe = tmp_path / "r.yaml"
    text = (ROOT / "modeling_bioreason/training/recipes/cpu-smoke-sft.yaml").read_text()
    recipe.write_text(text.replace("lora: {r: 8, alpha: 16, dropout: 0.0}", 'lora: {enabled: "false", r: 8}'))
    with pytest.raises(ValueError, match=r"lora.enabled must be bool; got 'false'"):
        load_recipe(str(recipe))
    with pytest.raises(ValueError, match="expected true or false"):
        load_recipe("cpu-smoke-sft", ['lora.enabled="false"'])
    assert load_recipe("cpu-smoke-sft", ["lora.enabled=false"]).lora.enabled is False
    with pytest.raises(ValueError, match="expected an integer"):
        load_recipe("cpu-smoke-sft", ["lora.r=2.5"])
    with pytest.raises(ValueError, match=r"training.max_steps=abc.*int"):
        load_recipe("cpu-smoke-sft", ["training.max_steps=abc"])
    with pytest.raises(ValueError, match="SFTConfig has no field 'nokey'"):
        load_recipe("cpu-smoke-sft", ["training.nokey=1"])
    assert load_recipe("cpu-smoke-sft", ["training.max_steps=3"]).training["max_steps"] == 3


def test_recipe_data_paths_resolve_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = load_recipe("cpu-smoke-sft").data.dataset
    assert (ROOT / "hub_cards/datasets/kegg").samefile(dataset)
    (tmp_path / "mine" / "my_rows").mkdir(parents=True)
    (tmp_path / "mine" / "my_rows" / "train.jsonl").write_text("{}\n")
    text = (ROOT / "modeling_bioreason/training/recipes/cpu-smoke-sft.yaml").read_text()
    (tmp_path / "mine" / "r.yaml").write_text(text.replace("dataset: hub_cards/datasets/kegg", "dataset: my_rows"))
    monkeypatch.chdir("/")
    assert (tmp_path / "mine" / "my_rows").samefile(load_recipe(str(tmp_path / "mine" / "r.yaml")).data.dataset)
    with pytest.raises(FileNotFoundError, match="Dataset folder"):
        load_recipe("cpu-smoke-sft", ["data.dataset=./no/such/folder"])


def test_recipe_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="No recipe 'nope'"):
        load_recipe("nope")
    with pytest.raises(ValueError, match="Unknown --set key 'optimizer'"):
        load_recipe("cpu-smoke-sft", ["optimizer=adam"])
    recipe = tmp_path / "r.yaml"
    recipe.write_text((ROOT / "modeling_bioreason/training/recipes/cpu-smoke-sft.yaml").read_text() + "optimizer: adam\n")
    with pytest.raises(ValueError, match="Unknown recipe keys"):
        load_recipe(str(recipe))
    with pytest.raises(ValueError, match="needs both `text_model` and `dna_model`"):
        load_recipe("cpu-smoke-sft", ["model.dna_model=null"])
    with pytest.raises(ValueError, match="projector must stay frozen"):
        from modeling_bioreason.training.grpo import run_grpo

        run_grpo(load_recipe("cpu-smoke-grpo", ["lora.train_projector=true"]))


def test_two_process_sft_matches_a_single_process_run(tmp_path):
    """DDP on CPU (gloo, 2 processes x batch 2) follows the single-process batch-4 run step for step."""
    def losses(folder):
        state = json.loads(next(folder.glob("checkpoint-*/trainer_state.json")).read_text())
        return [entry["loss"] for entry in state["log_history"] if "loss" in entry]

    common = ["--config", "cpu-smoke-sft", "--set", "training.max_steps=4", "--set", "training.save_steps=4"]
    single = subprocess.run(
        [sys.executable, "-m", "modeling_bioreason.cli", "train", "sft", *common, "--set",
         f"training.output_dir={tmp_path / 'single'}"], capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-2000:]
    # First contact: no deprecation noise about gradient checkpointing, no TRL draft card beside ours, one summary
    # whose next command evaluates on the leak-free config
    assert "gradient_checkpointing" not in single.stderr and not (tmp_path / "single" / "README.md").exists()
    assert single.stdout.count("SFT done") == 1 and "--config leak_free" in single.stdout
    assert "--config default" not in single.stdout
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541"]
    double = subprocess.run(
        [*torchrun, "-m", "modeling_bioreason.cli", "train", "sft", *common, "--set",
         f"training.output_dir={tmp_path / 'ddp'}", "--set", "training.per_device_train_batch_size=2", "--set",
         "training.use_cpu=true"], capture_output=True, text=True, timeout=600)
    assert double.returncode == 0, double.stderr[-3000:]
    assert double.stdout.count("SFT done") == 1 and double.stdout.count("Evaluate it:") == 1  # rank 0 only
    state = json.loads(next((tmp_path / "ddp").glob("checkpoint-*/trainer_state.json")).read_text())
    assert state["global_step"] == 4 and (tmp_path / "ddp" / "final" / "model.safetensors").exists()
    assert losses(tmp_path / "ddp") == pytest.approx(losses(tmp_path / "single"), abs=1e-3)


@pytest.mark.parametrize("recipe_name, expected_model_type", [("cpu-smoke-llm-only", "qwen3"),
                                                              ("cpu-smoke-dna-only", "bioreason_dna_only"),
                                                              ("cpu-smoke-dna-only-evo2", "bioreason_dna_only")])
def test_baselines_train_and_get_an_evaluation_report(recipe_name, expected_model_type, tmp_path):
    from modeling_bioreason.evaluation.runner import EvaluationConfig, evaluate

    from modeling_bioreason.training.run import run

    recipe = load_recipe(recipe_name, [f"training.output_dir={tmp_path / 'train'}", "training.max_steps=3",
                                       "training.save_steps=3"])
    folder = run(recipe)
    config = json.loads((tmp_path / "train" / "final" / "config.json").read_text())
    assert config["model_type"] == expected_model_type
    assert "dna_config" not in config or expected_model_type == "bioreason_dna_only"  # LLM-only: no DNA encoder
    if expected_model_type == "bioreason_dna_only":  # read at the recipe's tap (NT-v2: its final LayerNorm, -1)
        assert config["dna_feature_layer"] == (recipe.model.dna_feature_layer or -1)
        card = (tmp_path / "train" / "final" / "README.md").read_text()
        assert "license: apache-2.0" in card and "randomly initialised" in card  # a random encoder: nobody's weights
    report = evaluate(EvaluationConfig(model=folder, dataset=str(ROOT / "hub_cards" / "datasets" / "kegg"),
                                       config="leak_free", split="test", limit=4, batch_size=2, max_new_tokens=6,
                                       trim_per_side=recipe.data.trim_per_side, output_dir=str(tmp_path / "eval")),
                      progress=False)
    assert report["rows"] == 4 and set(report["metrics"]) == {"strict", "paper_lenient"}
    assert (tmp_path / "eval" / "report.md").exists()
    if expected_model_type == "bioreason_dna_only":  # a classifier always names a label
        assert report["metrics"]["strict"]["unparseable"] == 0


def test_llm_only_prompt_carries_the_sequences_as_text(kegg_rows):
    from modeling_bioreason.data.tasks import row_to_messages

    [user] = row_to_messages(kegg_rows[0], trim_per_side=1950, dna_as_text=True)
    assert [block["type"] for block in user["content"]] == ["text"]
    text = user["content"][0]["text"]
    assert kegg_rows[0]["variant_sequence"][1950:-1950] in text and text.endswith(kegg_rows[0]["question"])
