"""Evaluation results in the Hub's metadata: `model-index` in the model card and `.eval_results/*.yaml` files.

Both are built with `huggingface_hub`'s own classes (`EvalResult` / `ModelCardData` for `model-index`,
`EvalResultEntry` for the `.eval_results/` format of https://huggingface.co/docs/hub/eval-results), from the
`report.json` files that `bioreason evaluate` writes.

Example:

```python
>>> from modeling_bioreason.hub_results import add_results_to_folder  # doctest: +SKIP
>>> add_results_to_folder("runs/quickstart/sft/final", ["runs/quickstart/evaluate/report.json"],
...                       dataset_ids={"hub_cards/datasets/kegg": "me/kegg"})  # doctest: +SKIP
```

Results cite the dataset by its Hub id, never a local path: `dataset_ids` (a report's dataset -> Hub id), else the
id the evaluation recorded (`bioreason evaluate --dataset-repo-id`, a Hub dataset, or the dataset card's
`bioreason_hub_id`); a report without one is refused, saying how to give it. Only real metrics are exported
(accuracy, F1, precision, recall, AUROC, AUPRC), never counts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

TASK_NAMES = {"kegg_disease": "KEGG disease prediction", "kegg": "KEGG disease prediction",
              "variant_effect": "Variant effect prediction",
              "substituted_base": "Substituted base (DNA-only, synthetic)"}
RULE_NAMES = {"strict": "strict answer rule", "paper_lenient": "paper-lenient answer rule (BioReason's substring)"}
# The metric of the `.eval_results/` entry (one value per benchmark task): accuracy under the strict rule.
HEADLINE = ("strict", "accuracy")
# What a result may be: scores of the model. Counts (unparseable, other, n_scored, tp...) stay in the report.
REAL_METRICS = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "f1", "precision", "recall", "auroc",
                "auprc")


def _load(report: dict | str | os.PathLike) -> dict:
    return report if isinstance(report, dict) else json.loads(Path(report).read_text(encoding="utf-8"))


def _dataset_id(report: dict, dataset_ids: dict[str, str] | None) -> str:
    """The Hub id a report's results cite; raises when the report's dataset has none."""
    from .tasks import dataset_repo_id

    given = (dataset_ids or {}).get(report["dataset"]) or report.get("dataset_repo_id")
    hub_id = dataset_repo_id(report["dataset"], report["config"], given)
    if hub_id is None:
        raise ValueError(
            f"The report of {report.get('model')!r} on {report['dataset']!r} (config {report['config']!r}) names no "
            "Hub dataset id, and the Hub rejects a local path: push the dataset (`bioreason push dataset FOLDER "
            "--repo-id owner/name`) and rerun `bioreason evaluate ... --dataset-repo-id owner/name`, or pass "
            "dataset_ids={report_dataset: 'owner/name'}.")
    return hub_id


def eval_results_from_reports(reports, dataset_ids: dict[str, str] | None = None) -> list:
    """
    `huggingface_hub.EvalResult`s for every metric of every report: each scoring rule's accuracy, (macro) F1,
    precision and recall, and AUROC/AUPRC where a report has them (`REAL_METRICS`; counts are not results), with the
    dataset's Hub id (see `_dataset_id`), config and split.
    """
    from huggingface_hub import EvalResult

    results = []
    for report in map(_load, reports):
        dataset_id = _dataset_id(report, dataset_ids)
        for rule, metrics in report["metrics"].items():
            if not isinstance(metrics, dict):
                continue
            for metric, value in metrics.items():
                if metric not in REAL_METRICS or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                results.append(EvalResult(
                    task_type="text-generation", task_name=TASK_NAMES.get(report["task"], report["task"]),
                    dataset_type=dataset_id, dataset_name=f"{report['task']} ({report['config']})",
                    dataset_config=report["config"], dataset_split=report["split"],
                    metric_type=metric.removeprefix("macro_"), metric_name=f"{metric} ({RULE_NAMES.get(rule, rule)})",
                    metric_value=round(float(value), 4), metric_config=rule,
                    metric_args={"rows": report["rows"], **{k: v for k, v in report.get("settings", {}).items()
                                                            if k in ("max_new_tokens", "do_sample")}},
                ))
    return results


def model_index_from_reports(reports, model_name: str, dataset_ids: dict[str, str] | None = None) -> list[dict]:
    """
    The `model-index` YAML value for a model card, from `report.json` files (paths or loaded dicts).

    Built and checked with `huggingface_hub` (`eval_results_to_model_index`, then parsed back with
    `model_index_to_eval_results`), so the Hub shows the scores on the model page.
    """
    from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

    results = eval_results_from_reports(reports, dataset_ids)
    if not results:
        raise ValueError("The reports hold no numeric metrics to put in model-index.")
    model_index = eval_results_to_model_index(model_name, results)
    name, parsed = model_index_to_eval_results(model_index)
    if name != model_name or len(parsed) != len(results):
        raise ValueError(f"model-index did not round-trip through huggingface_hub ({len(parsed)} of {len(results)}).")
    return model_index


def eval_result_files(reports, dataset_ids: dict[str, str] | None = None, source_url: str | None = None
                      ) -> dict[str, list[dict]]:
    """
    `{".eval_results/<task>_<config>_<split>.yaml": entries}` in the Hub's eval-results format: one entry per report,
    the strict-rule accuracy, with the evaluation setup in `notes`.
    """
    from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

    files = {}
    for report in map(_load, reports):
        rule, metric = HEADLINE
        entry = EvalResultEntry(
            dataset_id=_dataset_id(report, dataset_ids), task_id=report["config"],
            value=round(float(report["metrics"][rule][metric]), 4), source_url=source_url,
            notes=f"{metric}, {RULE_NAMES[rule]}; split {report['split']}, {report['rows']} rows, greedy decoding, "
                  f"{report.get('settings', {}).get('max_new_tokens', '?')} new tokens",
        )
        files[f".eval_results/{report['task']}_{report['config']}_{report['split']}.yaml"] = (
            eval_result_entries_to_yaml([entry]))
    return files


def add_results_to_folder(folder: str | os.PathLike, reports, dataset_ids: dict[str, str] | None = None,
                          model_name: str | None = None) -> list[str]:
    """
    Put evaluation results into a saved model folder: `model-index` in `README.md`'s YAML header (the card's body is
    kept) and `.eval_results/*.yaml` files. Returns the paths written, relative to the folder.
    """
    import yaml
    from huggingface_hub import ModelCard

    folder = Path(folder)
    reports = [_load(report) for report in reports]
    card = ModelCard.load(folder / "README.md")
    name = model_name or card.data.get("model_name") or folder.resolve().name
    model_index_from_reports(reports, name, dataset_ids)  # checks the round trip through huggingface_hub
    card.data.model_name = name
    card.data.eval_results = eval_results_from_reports(reports, dataset_ids)  # serialised as `model-index`
    card.save(folder / "README.md")
    written = ["README.md"]
    for path, entries in eval_result_files(reports, dataset_ids).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
