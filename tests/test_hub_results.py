"""Evaluation results reach the Hub's metadata: `model-index` that huggingface_hub parses, and `.eval_results/`."""

import json

import pytest
import yaml

from modeling_bioreason.hub_results import add_results_to_folder, eval_result_files, model_index_from_reports

KEGG = {"task": "kegg", "model": "runs/x/final", "dataset": "hub_cards/datasets/kegg", "config": "leak_free",
        "split": "test", "rows": 40, "settings": {"max_new_tokens": 64, "baseline_split": "train"},
        "metrics": {"strict": {"accuracy": 0.25, "macro_f1": 0.2, "macro_precision": 0.3, "macro_recall": 0.22,
                               "unparseable": 3, "other": 2},
                    "paper_lenient": {"accuracy": 0.5, "macro_f1": 0.4, "macro_precision": 0.45, "macro_recall": 0.41,
                                      "unparseable": 0}},
        "lookup_baseline": {"strict": {"accuracy": 0.7, "macro_f1": 0.6, "unparseable": 0},
                            "paper_lenient": {"accuracy": 0.7, "macro_f1": 0.6, "unparseable": 0}}}
VEP = {**KEGG, "task": "variant_effect", "dataset": "me/variant_effect_clinvar", "config": "default", "rows": 100,
       "metrics": {"strict": {"accuracy": 0.61, "f1": 0.58, "auroc": 0.66, "unparseable": 1},
                   "paper_lenient": {"accuracy": 0.63, "f1": 0.6, "unparseable": 0}}}


def test_model_index_round_trips_through_huggingface_hub():
    from huggingface_hub.repocard_data import model_index_to_eval_results

    index = model_index_from_reports([KEGG, VEP], "me/bioreason", dataset_ids={"hub_cards/datasets/kegg": "me/kegg"})
    name, results = model_index_to_eval_results(index)
    assert name == "me/bioreason" and len(results) == 8 + 5
    strict_acc = [r for r in results if r.dataset_type == "me/kegg" and r.metric_config == "strict"
                  and r.metric_type == "accuracy"]
    assert [(r.metric_value, r.dataset_config, r.dataset_split) for r in strict_acc] == [(0.25, "leak_free", "test")]
    assert any(r.metric_type == "auroc" and r.metric_value == 0.66 for r in results)
    assert not any(r.metric_type in ("unparseable", "other") for r in results)  # counts are not results
    with pytest.raises(ValueError, match="no numeric metrics"):
        model_index_from_reports([{**KEGG, "metrics": {}}], "me/x", dataset_ids={KEGG["dataset"]: "me/kegg"})


def test_results_cite_a_hub_dataset_id_from_the_card_or_the_evaluation_never_a_path(tmp_path):
    """Every exported dataset id passes huggingface_hub's own validator; a local dataset without one is refused."""
    from huggingface_hub import parse_eval_result_entries
    from huggingface_hub.repocard_data import model_index_to_eval_results
    from huggingface_hub.utils import validate_repo_id

    from conftest import FIXTURES

    kegg_folder = str(FIXTURES.parent.parent / "hub_cards" / "datasets" / "kegg")
    on_default = {**KEGG, "dataset": kegg_folder, "config": "default"}  # the card: `default` is wanglab/kegg
    _, results = model_index_to_eval_results(model_index_from_reports([on_default], "me/m"))
    [entries] = eval_result_files([on_default]).values()
    ids = {r.dataset_type for r in results} | {e.dataset_id for e in parse_eval_result_entries(entries)}
    assert ids == {"wanglab/kegg"}
    for hub_id in ids:
        validate_repo_id(hub_id)
    with pytest.raises(ValueError, match=r"names no Hub dataset id.*--dataset-repo-id"):  # leak_free has no Hub home
        model_index_from_reports([{**KEGG, "dataset": kegg_folder}], "me/m")
    recorded = {**KEGG, "dataset": kegg_folder, "dataset_repo_id": "me/kegg"}  # evaluate --dataset-repo-id me/kegg
    assert {r.dataset_type for r in model_index_to_eval_results(model_index_from_reports([recorded], "me/m"))[1]} == {
        "me/kegg"}
    with pytest.raises(ValueError, match="is not a Hub repo id"):
        model_index_from_reports([{**KEGG, "dataset_repo_id": "hub_cards/datasets/kegg"}], "me/m")


def test_eval_results_files_follow_the_hub_format():
    from huggingface_hub import parse_eval_result_entries

    files = eval_result_files([KEGG], dataset_ids={"hub_cards/datasets/kegg": "me/kegg"})
    [(path, entries)] = files.items()
    assert path == ".eval_results/kegg_leak_free_test.yaml"
    [entry] = parse_eval_result_entries(yaml.safe_load(yaml.safe_dump(entries)))
    assert (entry.dataset_id, entry.task_id, entry.value) == ("me/kegg", "leak_free", 0.25)
    assert "strict answer rule" in entry.notes


def test_exported_folder_card_carries_model_index_and_eval_results(tiny, tmp_path):
    from huggingface_hub import ModelCard

    from modeling_bioreason.hub import evaluation_section, save_bioreason

    folder = save_bioreason(*tiny, tmp_path / "model", evaluation=evaluation_section(KEGG))
    (tmp_path / "report.json").write_text(json.dumps(KEGG))
    written = add_results_to_folder(folder, [tmp_path / "report.json"], {"hub_cards/datasets/kegg": "me/kegg"},
                                    model_name="me/tiny-bioreason")
    assert written == ["README.md", ".eval_results/kegg_leak_free_test.yaml"]
    card = ModelCard.load(tmp_path / "model" / "README.md")
    assert card.data.model_name == "me/tiny-bioreason" and len(card.data.eval_results) == 8
    assert card.data.library_name == "transformers" and "custom_code" in card.data.tags  # the header is kept
    assert "| this model | strict | 0.250 | 0.200 |" in card.text  # and the body's table
