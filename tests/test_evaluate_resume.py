"""Reruns of `bioreason evaluate` that must never report another run's numbers: a model retrained in place, a data
file rewritten under its old timestamp, sampled generations re-batched, bad saved rows, a failed first command."""

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from entry_points import kill_at_batch, rewrite_in_place, saved_folder
from modeling_bioreason.cli import main
from modeling_bioreason.evaluation import runner

KEGG = str(Path(__file__).parent.parent / "hub_cards" / "datasets" / "kegg")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return saved_folder(tmp_path_factory.mktemp("resume"))


def _evaluate(capsys, model, out, *extra, dataset=KEGG, config="leak_free", limit="3"):
    code = main(["evaluate", "--model", str(model), "--dataset", str(dataset), "--config", config, "--limit", limit,
                 "--max-new-tokens", "6", "--trim-per-side", "1024", "--output-dir", str(out), *extra])
    captured = capsys.readouterr()
    report = json.loads((Path(out) / "report.json").read_text()) if code == 0 else None
    return code, captured.err, report


def _generations(out) -> dict[int, str]:
    rows = [json.loads(line) for line in (Path(out) / "predictions.jsonl").read_text().splitlines() if line.strip()]
    return {row["index"]: row["generation"] for row in rows if isinstance(row.get("index"), int)}


def _perturb(folder: Path, name: str) -> None:
    """Change one element of tensor `name` in place: same file size, same header, same timestamp (a retrained
    model written into the same `final/` looks exactly like this from outside)."""
    from safetensors.torch import load_file, save_file

    path = folder / "model.safetensors"
    stat = path.stat()
    tensors = load_file(path)
    tensors[name].view(-1)[0] += 0.5
    save_file(tensors, path, metadata={"format": "pt"})
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("hashing", ["whole", "sampled"])
def test_rerun_with_a_model_retrained_in_place_is_refused(model_dir, tmp_path, capsys, monkeypatch, hashing):
    from modeling_bioreason import sources

    if hashing == "sampled":  # the path a multi-gigabyte model takes: header + probes of every tensor
        monkeypatch.setattr(sources, "FULL_HASH_LIMIT", 0)
    model = shutil.copytree(model_dir, tmp_path / "final")
    out = tmp_path / "eval"
    code, err, first = _evaluate(capsys, model, out, "--limit", "2")
    assert code == 0, err
    code, err, again = _evaluate(capsys, model, out, "--limit", "2")  # the same weights resume: nothing to do
    assert code == 0 and again["rows_generated_this_run"] == 0, err
    _perturb(model, "model.language_model.layers.1.self_attn.k_norm.weight")  # 16 numbers of ~400k
    code, err, _ = _evaluate(capsys, model, out, "--limit", "2")
    assert code == 2 and "Traceback" not in err
    assert f"{out} holds predictions of another model: the weights of {str(model)!r} are not the ones" in err
    assert "retrained or replaced?" in err and "predictions.jsonl to recompute" in err


def test_sampled_generations_do_not_depend_on_batch_size_or_on_a_resume(model_dir, tmp_path, capsys, monkeypatch):
    sample = ["--do-sample", "--seed", "3", "--temperature", "1.0"]
    assert _evaluate(capsys, model_dir, tmp_path / "one", *sample, "--batch-size", "1")[0] == 0
    one = _generations(tmp_path / "one")
    assert _evaluate(capsys, model_dir, tmp_path / "three", *sample, "--batch-size", "3")[0] == 0
    assert _generations(tmp_path / "three") == one

    real = kill_at_batch(monkeypatch, runner, 2)
    with pytest.raises(KeyboardInterrupt):
        _evaluate(capsys, model_dir, tmp_path / "resumed", *sample, "--batch-size", "2")
    monkeypatch.setattr(runner, "_generate", real)
    with open(tmp_path / "resumed" / "predictions.jsonl", "a") as handle:
        handle.write('{"index": 2, "generation": "cut of')  # a write cut off by the kill
    code, err, report = _evaluate(capsys, model_dir, tmp_path / "resumed", *sample, "--batch-size", "2")
    assert code == 0 and report["rows_generated_this_run"] == 1, err
    assert _generations(tmp_path / "resumed") == one

    # Not vacuous: sampled text differs from greedy and from another seed's.
    assert _evaluate(capsys, model_dir, tmp_path / "greedy", "--batch-size", "3")[0] == 0
    assert _generations(tmp_path / "greedy") != one
    assert _evaluate(capsys, model_dir, tmp_path / "seed4", *sample[:1], "--seed", "4", *sample[3:],
                     "--batch-size", "3")[0] == 0
    assert _generations(tmp_path / "seed4") != one


def test_a_data_file_rewritten_under_its_old_timestamp_is_read_afresh(tmp_path, capsys):
    """The datasets cache keys local files by path and mtime: a file rewritten with `cp -p` must not be served
    from it with its old rows."""
    dataset = tmp_path / "kegg"
    shutil.copytree(KEGG, dataset)
    out = tmp_path / "eval"
    assert _evaluate(capsys, "lookup", out, dataset=dataset, limit="4")[0] == 0
    test_file = dataset / "leak_free" / "test-00000-of-00001.parquet"
    answer = "melanoma" if pd.read_parquet(test_file).loc[1, "answer"] != "melanoma" else "prion disease"
    rewrite_in_place(test_file, 1, "answer", answer)
    code, err, report = _evaluate(capsys, "lookup", out, dataset=dataset, limit="4")
    assert code == 0, err
    assert report["rows_recomputed_because_input_changed"] == [1]
    saved = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [row["answer"] for row in saved if row["index"] == 1][-1] == answer


def test_bad_saved_rows_and_failed_first_commands_never_block_a_rerun(tmp_path, capsys):
    out = tmp_path / "eval"
    code, err, first = _evaluate(capsys, "lookup", out, limit="6")
    assert code == 0, err
    log = out / "predictions.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    rows[1]["generation"] = None
    del rows[2]["generation"]
    rows[3]["score"] = "high"
    log.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, err, again = _evaluate(capsys, "lookup", out, limit="6")
    assert code == 0, err
    assert again["corrupted_prediction_lines"] == [2, 3, 4] and again["metrics"] == first["metrics"]

    # A typo in --model or --dataset is named as missing (not a repo-id format error, not "no task"), writes nothing.
    code, err, _ = _evaluate(capsys, tmp_path / "typo", tmp_path / "a")
    assert code == 2 and f"Model folder {str(tmp_path / 'typo')!r} does not exist" in err
    code, err, _ = _evaluate(capsys, "nobody/no-such-model", tmp_path / "a")
    assert code == 2 and "'nobody/no-such-model' is not a local folder" in err and "HF_HUB_OFFLINE" in err
    code, err, _ = _evaluate(capsys, "lookup", tmp_path / "a", dataset=tmp_path / "no" / "such" / "kegg")
    assert code == 2 and f"Dataset folder {str(tmp_path / 'no' / 'such' / 'kegg')!r} does not exist" in err
    code, err, _ = _evaluate(capsys, "lookup", tmp_path / "a", dataset="nobody/no-such-dataset")
    assert code == 2 and "'nobody/no-such-dataset' is not a local folder" in err
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())

    # A first run that failed after writing its settings (a folder that is no model) binds nothing.
    (tmp_path / "empty").mkdir()
    code, err, _ = _evaluate(capsys, tmp_path / "empty", tmp_path / "b")
    assert code == 2 and (tmp_path / "b" / "run_config.json").exists()
    code, err, report = _evaluate(capsys, "lookup", tmp_path / "b")
    assert code == 0 and report["rows"] == 3, err


def test_an_iupac_code_is_refused_before_a_bioreason_model_generates(model_dir, tmp_path, capsys):
    """BioReason's processor refuses IUPAC codes: the whole split is checked once the model is loaded, before any
    generation (the lookup baseline, which reads no DNA, scores the same rows)."""
    from modeling_bioreason.example import load_example_rows

    rows = [dict(row) for row in load_example_rows()]
    rows[4]["variant_sequence"] = rows[4]["variant_sequence"][:2000] + "Y" + rows[4]["variant_sequence"][2001:]
    (tmp_path / "rows").mkdir()
    (tmp_path / "rows" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    extra = ["--task", "kegg", "--split", "train"]
    code, err, _ = _evaluate(capsys, model_dir, tmp_path / "m", *extra, dataset=tmp_path / "rows", config="default",
                             limit="6")
    assert code == 2 and "row 4: 'variant_sequence' has an IUPAC ambiguity code 'Y' at position 2000" in err, err
    assert not (tmp_path / "m" / "predictions.jsonl").exists()
    assert _evaluate(capsys, "lookup", tmp_path / "l", *extra, dataset=tmp_path / "rows", config="default",
                     limit="6")[0] == 0
