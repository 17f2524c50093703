"""Does the model use its DNA? `bioreason evaluate --dna-ablation` (shuffle / reference-only / zero, each a resumable
run of its own, McNemar's exact test against the intact run), and a task that only the DNA can answer, learned end to
end through `bioreason train sft` + `bioreason evaluate` on CPU (hub_cards/datasets/dna_substitution)."""

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from entry_points import saved_folder
from modeling_bioreason.cli import main
from modeling_bioreason.evaluation import ablation
from modeling_bioreason.evaluation.runner import EvaluationConfig, evaluate, row_fingerprint

DATASETS = Path(__file__).parent.parent / "hub_cards" / "datasets"
DNA_TASK, KEGG, VEP = DATASETS / "dna_substitution", DATASETS / "kegg", DATASETS / "variant_effect_clinvar"
MODES = ["--dna-ablation", "shuffle", "--dna-ablation", "reference-only", "--dna-ablation", "zero"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------------------------------------------- the DNA-only task, through the CLI
@pytest.fixture(scope="module")
def dna_task_runs(tmp_path_factory):
    """BioReason and the LLM-only baseline trained the same way (one shipped recipe), evaluated through the CLI."""
    out = tmp_path_factory.mktemp("dna_task")
    train = ["train", "sft", "--config", "cpu-dna-substitution", "--set"]
    assert main([*train, f"training.output_dir={out / 'bioreason'}"]) == 0
    assert main([*train, f"training.output_dir={out / 'llm_only'}", "model.architecture=llm_only"]) == 0

    def evaluate_cli(model: Path, name: str, *flags: str) -> int:
        return main(["evaluate", "--model", str(model / "final"), "--dataset", str(DNA_TASK), "--split", "test",
                     "--max-new-tokens", "12", "--batch-size", "64", "--output-dir", str(out / name), *flags])

    assert evaluate_cli(out / "bioreason", "eval", *MODES) == 0
    assert evaluate_cli(out / "llm_only", "eval_llm_only") == 0
    return out, evaluate_cli


def test_a_task_only_the_dna_answers_is_learned_and_lost_under_every_ablation(dna_task_runs):
    out, _ = dna_task_runs
    report = json.loads((out / "eval" / "report.json").read_text())
    llm_only = json.loads((out / "eval_llm_only" / "report.json").read_text())
    answers = pd.read_parquet(DNA_TASK / "data" / "test-00000-of-00001.parquet")["answer"]
    majority = max(Counter(answers).values()) / len(answers)  # every row asks the same question: no text shortcut
    accuracy = report["metrics"]["strict"]["accuracy"]
    assert report["task"] == "substituted_base" and report["rows"] == 128 and majority < 0.3
    assert accuracy >= majority + 0.4, (accuracy, majority)
    assert accuracy >= llm_only["metrics"]["strict"]["accuracy"] + 0.15, (accuracy, llm_only["metrics"])
    modes = report["dna_reliance"]["modes"]
    shuffle, reference, zero = (modes[m]["strict"] for m in ("shuffle", "reference-only", "zero"))
    assert shuffle["accuracy"] <= majority + 0.15 and shuffle["change"]["accuracy"] <= -0.3, shuffle
    assert shuffle["mcnemar_p"] < 1e-6 and shuffle["right_only_intact"] > 10 * shuffle["right_only_ablated"]
    assert reference["accuracy"] <= 0.1, reference  # the reference base is never the answer
    assert zero["accuracy"] <= majority + 0.05 and zero["mcnemar_p"] < 1e-6, zero
    # zero features leave nothing row-specific (the same question everywhere): one answer for every row
    zeroed = _lines(out / "eval" / "dna_ablation" / "zero" / "predictions.jsonl")
    assert len(zeroed) == 128 and len({row["generation"] for row in zeroed}) == 1
    text = (out / "eval" / "report.md").read_text()
    assert "## DNA reliance" in text and "McNemar" in text and "| shuffle | paper-lenient |" in text


def test_zero_ablation_of_the_llm_only_baseline_is_refused_before_generating(dna_task_runs, capsys):
    out, evaluate_cli = dna_task_runs
    assert evaluate_cli(out / "llm_only", "llm_zero", "--dna-ablation", "zero") == 2
    assert "LLM-only baseline reads the sequences as text" in capsys.readouterr().err
    assert not (out / "llm_zero" / "predictions.jsonl").exists()


# ------------------------------------------------------------------------------- KEGG and variant effect, tiny model
@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return str(saved_folder(tmp_path_factory.mktemp("tiny")))


def _config(model, out, dataset, **overrides):
    settings = dict(model=model, dataset=str(dataset), split="test", output_dir=str(out), limit=4, batch_size=4,
                    max_new_tokens=4, trim_per_side=448, dna_ablation=["shuffle", "reference-only", "zero"])
    return EvaluationConfig(**{**settings, **overrides})


def test_kegg_ablations_are_runs_of_their_own_that_resume(tiny_folder, tmp_path):
    config = _config(tiny_folder, tmp_path, KEGG, config="leak_free", trim_per_side=1950)
    report = evaluate(config, progress=False)
    reliance = report["dna_reliance"]
    assert list(reliance["modes"]) == ["shuffle", "reference-only", "zero"]
    rows = pd.read_parquet(KEGG / "leak_free" / "test-00000-of-00001.parquet").head(4).to_dict("records")
    for mode, result in reliance["modes"].items():
        folder = tmp_path / "dna_ablation" / mode
        assert json.loads((folder / "run_config.json").read_text())["ablation"] == mode
        saved = {row["index"]: row for row in _lines(folder / "predictions.jsonl")}
        ablated = ablation.ablate_rows(rows, mode, seed=0)
        assert [saved[i]["fingerprint"] for i in range(4)] == [row_fingerprint(row) for row in ablated]
        for rule in ("strict", "paper_lenient"):
            values = result[rule]
            assert {"accuracy", "macro_f1", "change", "answers_changed", "mcnemar_p"} <= set(values)
            assert values["mcnemar_p"] == ablation.mcnemar_exact(values["right_only_intact"],
                                                                 values["right_only_ablated"])
    assert "## DNA reliance" in (tmp_path / "report.md").read_text()
    # a kill that cost the zero run its last row: only that row is generated again, the comparison is the same
    zero_log = tmp_path / "dna_ablation" / "zero" / "predictions.jsonl"
    zero_log.write_text("".join(line + "\n" for line in zero_log.read_text().splitlines()[:-1]))
    again = evaluate(config, progress=False)
    assert again["rows_generated_this_run"] == 0 and again["dna_reliance"] == reliance
    generated = {mode: json.loads((tmp_path / "dna_ablation" / mode / "report.json").read_text())[
        "rows_generated_this_run"] for mode in reliance["modes"]}
    assert generated == {"shuffle": 0, "reference-only": 0, "zero": 1}
    with pytest.raises(ValueError, match="seed: 0 -> 1"):  # another seed is another derangement: a new run
        evaluate(_config(tiny_folder, tmp_path, KEGG, config="leak_free", trim_per_side=1950, seed=1), progress=False)


def test_variant_effect_ablations_report_auroc_and_the_zeroed_model_is_scored(tiny_folder, tmp_path):
    report = evaluate(_config(tiny_folder, tmp_path, VEP), progress=False)
    zero = report["dna_reliance"]["modes"]["zero"]
    assert zero["ranking"]["n_scored"] == 4 and "auroc" in zero["ranking"]["change"] and "f1" in zero["strict"]
    scores = [row["score"] for row in _lines(tmp_path / "dna_ablation" / "zero" / "predictions.jsonl")]
    intact = [row["score"] for row in _lines(tmp_path / "predictions.jsonl")]
    assert all(isinstance(s, float) for s in scores) and scores != intact  # the answer slot saw zero features
    text = (tmp_path / "report.md").read_text()
    assert "AUROC | Δ AUROC" in text and "| reference-only | strict |" in text


def test_a_card_shows_the_dna_reliance_section_of_an_in_memory_model(tmp_path):
    from entry_points import small_bioreason

    from modeling_bioreason.evaluation.report import dna_reliance_summary
    from modeling_bioreason.hub import evaluation_section

    config = _config("small-bioreason (in memory)", tmp_path, KEGG, config="leak_free", limit=2, trim_per_side=1950,
                     dna_ablation=["shuffle"])
    report = evaluate(config, *small_bioreason(), progress=False)
    assert evaluate(config, *small_bioreason(), progress=False)["dna_reliance"] == report["dna_reliance"]  # resumes
    section = evaluation_section(report)
    assert "### DNA reliance" in section and "| shuffle | strict |" in section and "McNemar" in section
    line = dna_reliance_summary(report)  # what the quickstart prints next to its lookup baseline
    assert line.startswith("DNA reliance (shuffle): strict accuracy") and "lookup baseline" in line


# ------------------------------------------------------------------------------- bad input, through the CLI
def test_bad_ablation_input_is_refused_up_front_with_the_reason(tiny_folder, tmp_path, capsys):
    from modeling_bioreason.data.build_hub_datasets import write_dataset_info

    def refused(*args) -> str:
        assert main(["evaluate", *args, "--output-dir", str(tmp_path / "out")]) == 2
        return capsys.readouterr().err

    no_reference = tmp_path / "no_reference"
    (no_reference / "data").mkdir(parents=True)
    (no_reference / "README.md").write_text((DNA_TASK / "README.md").read_text())
    for split in ("train", "val", "test"):
        name = f"{split}-00000-of-00001.parquet"
        pd.read_parquet(DNA_TASK / "data" / name).drop(columns="reference_sequence").to_parquet(
            no_reference / "data" / name)
    write_dataset_info(no_reference)
    message = refused("--model", tiny_folder, "--dataset", str(no_reference), "--dna-ablation", "reference-only")
    assert "'reference_sequence' column" in message and "reference-only" in message
    message = refused("--model", tiny_folder, "--dataset", str(DNA_TASK), "--limit", "1",
                      "--dna-ablation", "shuffle")
    assert "at least 2 rows" in message and "has 1" in message
    message = refused("--model", str(Path(__file__).parent / "fixtures" / "nt_v2_golden"), "--dataset", str(VEP),
                      "--dna-ablation", "shuffle")
    assert "zero-shot DNA baselines (an NT-v2 masked LM, Evo 2) are not ablatable" in message
    assert "lookup baseline is not ablatable" in refused("--model", "lookup", "--dataset", str(DNA_TASK),
                                                         "--dna-ablation", "zero")
    assert not (tmp_path / "out" / "predictions.jsonl").exists()


# ------------------------------------------------------------------------------- the statistics
def test_mcnemar_exact_is_the_two_sided_binomial_test_on_discordant_pairs():
    assert ablation.mcnemar_exact(10, 2) == pytest.approx(2 * 79 / 4096)  # 2 P(X <= 2), X ~ Binomial(12, 1/2)
    assert ablation.mcnemar_exact(0, 0) == 1.0 and ablation.mcnemar_exact(3, 3) == 1.0
    assert ablation.mcnemar_exact(0, 20) == pytest.approx(2 / 2 ** 20)
    scipy_stats = pytest.importorskip("scipy.stats")
    for b, c in [(10, 2), (7, 1), (0, 5), (13, 9), (40, 25)]:
        assert ablation.mcnemar_exact(b, c) == pytest.approx(scipy_stats.binomtest(b, b + c, 0.5).pvalue)


def test_shuffle_is_a_seeded_derangement_and_reference_only_copies_the_reference():
    rows = [{"question": f"q{i}", "answer": "A", "reference_sequence": f"R{i}", "variant_sequence": f"V{i}"}
            for i in range(7)]
    shuffled = ablation.ablate_rows(rows, "shuffle", seed=3)
    donors = [int(row["reference_sequence"][1:]) for row in shuffled]
    assert sorted(donors) == list(range(7)) and all(i != j for i, j in enumerate(donors))
    assert all(row["variant_sequence"] == f"V{j}" for row, j in zip(shuffled, donors))  # the pair moves together
    assert [row["question"] for row in shuffled] == [row["question"] for row in rows]
    assert ablation.ablate_rows(rows, "shuffle", seed=3) == shuffled != ablation.ablate_rows(rows, "shuffle", seed=4)
    reference = ablation.ablate_rows(rows, "reference-only", seed=0)
    assert all(row["variant_sequence"] == row["reference_sequence"] for row in reference)
    assert rows[0]["variant_sequence"] == "V0"  # the caller's rows are left alone
