"""`bioreason evaluate`: batched generation, resume after a kill with each row exactly once, reports."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ENCODER_KINDS, RUNNER_MECHANICS
from entry_points import kill_at_batch
from modeling_bioreason.evaluation import runner
from modeling_bioreason.evaluation.runner import EvaluationConfig, evaluate
from modeling_bioreason.hub import save_bioreason

KEGG = str(Path(__file__).parent.parent / "hub_cards" / "datasets" / "kegg")


@pytest.fixture(scope="module")
def model_dir(tiny_of_kind, encoder_kind, tmp_path_factory):
    return str(save_bioreason(*tiny_of_kind, tmp_path_factory.mktemp("eval") / f"tiny-bioreason-{encoder_kind}"))


@pytest.fixture(scope="module")
def trim(encoder_kind) -> int:
    return ENCODER_KINDS[encoder_kind]["kegg_trim"]


def _config(model_dir, out, trim, **overrides):
    settings = dict(model=model_dir, dataset=KEGG, config="leak_free", split="test", output_dir=str(out), limit=6,
                    batch_size=2, max_new_tokens=5, trim_per_side=trim)
    return EvaluationConfig(**{**settings, **overrides})


def _lines(out):
    return [json.loads(line) for line in (Path(out) / "predictions.jsonl").read_text().splitlines()]


def _comparable(report):
    return {k: report[k] for k in ("metrics", "lookup_baseline", "details", "rows", "labels", "task")}


@pytest.fixture(scope="module")
def uninterrupted(model_dir, trim, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_full")
    return out, evaluate(_config(model_dir, out, trim), progress=False)


def test_report_files_and_contents(uninterrupted, trim):
    out, report = uninterrupted
    assert {"report.json", "report.md", "per_class.png", "predictions.jsonl", "run_config.json"} <= {
        p.name for p in out.iterdir()}
    assert report["task"] == "kegg_disease" and report["rows"] == 6 and len(report["labels"]) == 37
    assert set(report["metrics"]) == {"strict", "paper_lenient"}
    assert report["lookup_baseline"]["exact_question_matches"] == 0  # leak-free: no test question in train
    assert report["settings"]["trim_per_side"] == trim and report["settings"]["seed"] == 0
    assert "lookup baseline" in (out / "report.md").read_text()
    assert (out / "per_class.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(row["index"] for row in _lines(out)) == list(range(6))


@RUNNER_MECHANICS
def test_interrupted_run_resumes_without_recomputing(model_dir, uninterrupted, trim, tmp_path, monkeypatch):
    _, full = uninterrupted
    real_generate = kill_at_batch(monkeypatch, runner, 2)
    with pytest.raises(KeyboardInterrupt):
        evaluate(_config(model_dir, tmp_path, trim), progress=False)
    first_batch = [row["index"] for row in _lines(tmp_path)]
    assert len(first_batch) == 2
    monkeypatch.setattr(runner, "_generate", real_generate)
    with open(tmp_path / "predictions.jsonl", "a") as handle:
        handle.write('{"index": 5, "answer": "mel')  # a write cut off by the kill
    resumed = evaluate(_config(model_dir, tmp_path, trim), progress=False)
    assert resumed["rows_generated_this_run"] == 4
    assert sorted(row["index"] for row in _lines(tmp_path)) == list(range(6))
    assert _comparable(resumed) == _comparable(full)
    again = evaluate(_config(model_dir, tmp_path, trim, batch_size=3), progress=False)  # nothing left to do
    assert again["rows_generated_this_run"] == 0 and len(_lines(tmp_path)) == 6


@RUNNER_MECHANICS
def test_sigkilled_cli_run_resumes_to_the_same_report(model_dir, uninterrupted, trim, tmp_path):
    _, full = uninterrupted
    command = [sys.executable, "-m", "modeling_bioreason.cli", "evaluate", "--model", model_dir, "--dataset", KEGG,
               "--config", "leak_free", "--limit", "6", "--batch-size", "1", "--max-new-tokens", "5",
               "--trim-per-side", str(trim), "--output-dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    predictions = tmp_path / "predictions.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if predictions.exists() and predictions.read_text().count("\n") >= 2:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait()
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert sorted(row["index"] for row in _lines(tmp_path)) == list(range(6))
    assert _comparable(json.loads((tmp_path / "report.json").read_text())) == _comparable(full)


def test_cli_evaluates_in_bf16(model_dir, trim, tmp_path):
    """The paper's precision: the model loaded in bfloat16 (what CUDA gets by default) generates and is scored."""
    from modeling_bioreason.cli import main

    out = tmp_path / "bf16"
    assert main(["evaluate", "--model", model_dir, "--dataset", KEGG, "--config", "leak_free", "--limit", "2",
                 "--batch-size", "2", "--max-new-tokens", "4", "--trim-per-side", str(trim), "--dtype", "bfloat16",
                 "--output-dir", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["rows"] == 2 and report["settings"]["dtype"] == "bfloat16" and len(_lines(out)) == 2


def test_batched_and_one_at_a_time_predictions_are_identical(model_dir, trim, tmp_path):
    one = evaluate(_config(model_dir, tmp_path / "one", trim, batch_size=1, limit=3), progress=False)
    batched = evaluate(_config(model_dir, tmp_path / "batched", trim, batch_size=3, limit=3), progress=False)
    by_index = lambda rows: sorted(rows, key=lambda row: row["index"])  # noqa: E731
    assert by_index(_lines(tmp_path / "one")) == by_index(_lines(tmp_path / "batched"))
    assert _comparable(one) == _comparable(batched)


@RUNNER_MECHANICS
def test_changed_settings_and_bad_datasets_are_refused(model_dir, uninterrupted, trim, tmp_path):
    out, _ = uninterrupted
    with pytest.raises(ValueError, match="max_new_tokens: 5 -> 9"):
        evaluate(_config(model_dir, out, trim, max_new_tokens=9), progress=False)
    bad = tmp_path / "bad_dataset"
    bad.mkdir()
    pd.DataFrame({"question": ["q"], "answer": ["melanoma"], "reference_sequence": ["ACGT"]}).to_parquet(
        bad / "test.parquet")
    with pytest.raises(ValueError, match=r"lacks required column\(s\) \['variant_sequence'\]"):
        evaluate(_config(model_dir, tmp_path / "x", trim, dataset=str(bad), config="default", task="kegg"),
                 progress=False)
    with pytest.raises(ValueError, match="does not declare its task"):
        evaluate(_config(model_dir, tmp_path / "y", trim, dataset=str(bad), config="default"), progress=False)
    with pytest.raises(ValueError, match="--limit 0: must be >= 1"):
        _config(model_dir, tmp_path, trim, limit=0)


def test_lookup_only_run_reproduces_the_leak(tmp_path):
    report = evaluate(EvaluationConfig(model="lookup", dataset=KEGG, config="default", split="test",
                                       output_dir=str(tmp_path)), progress=False)
    assert report["lookup_baseline"]["exact_question_matches"] == 145
    assert report["metrics"]["paper_lenient"]["accuracy"] > 0.95


def _kegg_report(classes: int) -> dict:
    from modeling_bioreason.tasks.kegg import kegg_labels

    names = sorted(kegg_labels(), key=len, reverse=True)[:classes]  # the longest names first
    per_class = [{"label": name, "support": 2, "precision": 0.0, "recall": 0.0, "f1": [0.0, 1.0, 0.5, 0.93][i % 4]}
                 for i, name in enumerate(names)]
    return {"task": "kegg_disease", "model": "/a/rather/long/machine/path/to/runs/quickstart/sft/final-checkpoint",
            "config": "leak_free", "split": "test", "rows": 145, "metrics": {},
            "details": {"strict": {"per_class": per_class},
                        "paper_lenient": {"per_class": [dict(row, f1=0.0) for row in per_class]}}}


@pytest.mark.parametrize("classes", [2, 5, 37])
def test_per_class_chart_text_is_inside_the_figure_and_never_overlaps(classes):
    """Every text of the rendered figure (title, class names, values, legend, ticks) by matplotlib's own extents."""
    import itertools

    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from modeling_bioreason.evaluation.report import per_class_figure

    figure = per_class_figure(_kegg_report(classes))
    figure.canvas.draw()
    renderer, frame = figure.canvas.get_renderer(), figure.bbox
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    cut = [text for text, box in boxes if box.x0 < frame.x0 or box.y0 < frame.y0 or box.x1 > frame.x1
           or box.y1 > frame.y1]
    assert not cut, f"text cut off at the figure's edge: {cut}"
    overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
    assert not overlapping, overlapping
    axis = figure.axes[0]
    assert axis.get_xlim() == (0.0, 1.0)
    shown = [t.get_text() for t in axis.texts]
    assert len(shown) == 2 * classes and shown.count("0.00") >= classes  # every bar has its value, zeros too
    assert len(axis.get_yticklabels()) == classes
    plt.close(figure)


def test_report_table_names_what_each_count_column_counts():
    from modeling_bioreason.evaluation.report import metric_table

    metrics = {"strict": {"accuracy": 0.5, "unparseable": 2, "other": 1},
               "paper_lenient": {"accuracy": 0.6, "unparseable": 3, "other": 0}}
    header, _, strict, lenient = metric_table("kegg_disease", [("this model", metrics)])
    columns = [c.strip() for c in header.strip("|").split("|")]
    cells = lambda row: dict(zip(columns, [c.strip() for c in row.strip("|").split("|")]))  # noqa: E731
    assert cells(strict)["unparseable"] == "2" and cells(strict)["other (no KEGG label)"] == "1"
    assert cells(strict)["no gold class named"] == "–"
    assert cells(lenient)["unparseable"] == "–" and cells(lenient)["no gold class named"] == "3"


def test_cli_evaluate_from_another_folder_finds_its_default_dataset(tmp_path, monkeypatch, capsys):
    """`bioreason evaluate` without --dataset, run outside the repository: KEGG resolved as recipes resolve it, on its
    leak-free config; a bad --dataset-repo-id is one line before any work."""
    from modeling_bioreason.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--model", "lookup", "--limit", "2", "--output-dir", "out"]) == 0
    out = capsys.readouterr().out
    assert "config 'leak_free'" in out and "config 'default'" not in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert Path(report["dataset"]).samefile(KEGG) and report["config"] == "leak_free" and report["rows"] == 2
    assert report["dataset_repo_id"] is None  # the leak-free config has no Hub home: results would say so
    assert main(["evaluate", "--model", "lookup", "--limit", "2", "--output-dir", "out2", "--config", "default",
                 "--dataset-repo-id", "hub_cards/datasets/kegg"]) == 2
    assert "--dataset-repo-id 'hub_cards/datasets/kegg' is not a Hub repo id" in capsys.readouterr().err
    assert main(["evaluate", "--model", "lookup", "--dataset", "no/such/folder/here"]) == 2
    assert "Dataset folder 'no/such/folder/here' not found" in capsys.readouterr().err
