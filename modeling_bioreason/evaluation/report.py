"""Human-readable evaluation outputs: a markdown table and a per-class bar chart."""

from __future__ import annotations

from pathlib import Path

RULES = {"strict": "strict (answer span → label set)", "paper_lenient": "paper-lenient (BioReason's substring rule)"}


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def headline_columns(report: dict) -> list[str]:
    """The metrics a report's table shows: accuracy and (macro) F1, P, R."""
    if report["task"] == "kegg":
        return ["accuracy", "macro_f1", "macro_precision", "macro_recall"]
    return ["accuracy", "f1", "precision", "recall"]


def evaluation_table(report: dict, columns: list[str] | None = None, unparseable: bool = True) -> list[str]:
    """
    The markdown table of a `report.json`: one row per system (this model, the lookup baseline) and scoring rule.
    The one renderer for both `report.md` and the model card's evaluation section (which shows fewer `columns`).
    """
    columns = columns or headline_columns(report)
    lines = ["| system | rule | " + " | ".join(columns) + (" | unparseable |" if unparseable else " |"),
             "|---|---|" + "---|" * (len(columns) + unparseable)]
    for system, metrics in (("this model", report["metrics"]), ("lookup baseline", report["lookup_baseline"])):
        for rule in RULES:
            values = metrics[rule]
            lines.append(f"| {system} | {rule.replace('_', '-')} | " + " | ".join(_fmt(values.get(c, "–")) for c in columns)
                         + (f" | {values.get('unparseable', '–')} |" if unparseable else " |"))
    return lines


def write_markdown(report: dict, path: Path) -> None:
    kegg = report["task"] == "kegg"
    lines = [
        f"# {report['task']} evaluation: `{report['model']}`",
        "",
        f"Dataset `{report['dataset']}`, config `{report['config']}`, split `{report['split']}`, {report['rows']} rows.",
        "",
        *evaluation_table(report),
        "",
        "Rules: " + "; ".join(f"{rule.replace('_', '-')} = {label}" for rule, label in RULES.items()) + ".",
    ]
    exact = report["lookup_baseline"]["exact_question_matches"]
    lines += [
        "",
        f"The lookup baseline answers with the answer of the most similar `{report['settings']['baseline_split']}` "
        f"question; {exact} of {report['rows']} evaluation questions occur verbatim there. A model that does not beat "
        "it has not shown that it uses the DNA.",
    ]
    if kegg:
        lines += ["", "## Per class (strict)", "", "| disease | support | precision | recall | f1 |", "|---|---|---|---|---|"]
        for row in report["details"]["strict"]["per_class"]:
            lines.append(f"| {row['label']} | {row['support']} | {row['precision']:.3f} | {row['recall']:.3f} | "
                         f"{row['f1']:.3f} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_per_class_chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if report["task"] == "kegg":
        strict = {row["label"]: row["f1"] for row in report["details"]["strict"]["per_class"]}
        lenient = {row["label"]: row["f1"] for row in report["details"]["paper_lenient"]["per_class"]}
        labels = list(strict)
        values = {"strict": [strict[l] for l in labels],
                  "paper-lenient": [lenient.get(l.replace("'", ""), 0.0) for l in labels]}
        title, ylabel = "KEGG per-class F1", "F1"
    else:
        labels = ["accuracy", "precision", "recall", "f1"]
        values = {name: [report["metrics"][rule][k] for k in labels]
                  for name, rule in (("strict", "strict"), ("paper-lenient", "paper_lenient"))}
        title, ylabel = "Variant effect (pathogenic = positive)", "score"
    figure, axis = plt.subplots(figsize=(max(6, 0.45 * len(labels) + 2), 4.5))
    width = 0.4
    for offset, (name, heights) in enumerate(values.items()):
        axis.bar([i + (offset - 0.5) * width for i in range(len(labels))], heights, width, label=name)
    axis.set_xticks(range(len(labels)), labels, rotation=60 if len(labels) > 6 else 0, ha="right", fontsize=8)
    axis.set_ylim(0, 1.22)
    axis.set_ylabel(ylabel)
    axis.set_title(f"{title}: {report['model']} on {report['config']}/{report['split']} (n={report['rows']})")
    axis.legend(loc="upper right", ncol=2, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
