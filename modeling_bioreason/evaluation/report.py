"""Human-readable evaluation outputs: a markdown table and a per-class bar chart."""

from __future__ import annotations

from pathlib import Path

from ..tasks import get_task

RULES = {"strict": "strict (answer span → label set)", "paper_lenient": "paper-lenient (BioReason's substring rule)"}
HOW_TO_READ = {
    "kegg_disease": "How to read this: strict accuracy is the number to compare; a model that does not beat the lookup "
                    "baseline (answer of the most similar training question) has not shown that it uses the DNA.",
    "variant_effect": "How to read this: AUROC/AUPRC rank rows by the per-row score (higher = more pathogenic) and "
                      "need no threshold; compare them with a zero-shot DNA baseline (NT-v2 masked-marginal LLR, or "
                      "Evo 2's log P(reference window) - log P(variant window)). "
                      "Accuracy/F1 use the parsed answer (unparseable = wrong); n_scored says how many rows had a score.",
    "substituted_base": "How to read this: every row asks the same question, so only the DNA tells the answers apart "
                        "(four balanced bases: the majority class scores about 25%). Accuracy above that means the "
                        "model read the DNA; shuffled DNA should fall back to about 25%, and the reference window in "
                        "place of the variant to about 0% (the reference base is never the answer).",
}


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


# A column of the table: its header and, per scoring rule, the metric key it shows ("–" where the rule has none).
# Under the paper-lenient rule nothing is unparseable: its count is of answers that name no gold class of the rows.
KEGG_COLUMNS = [(name, {"strict": name, "paper_lenient": name})
                for name in ("accuracy", "macro_f1", "macro_precision", "macro_recall")] + [
    ("unparseable", {"strict": "unparseable"}),
    ("other (no KEGG label)", {"strict": "other"}),
    ("no gold class named", {"paper_lenient": "unparseable"}),
]
VARIANT_EFFECT_COLUMNS = [(name, {"strict": name, "paper_lenient": name}) for name in
                          ("accuracy", "f1", "precision", "recall")] + [("unparseable", {"strict": "unparseable"})]
SUBSTITUTED_BASE_COLUMNS = [(name, {"strict": name, "paper_lenient": name})
                            for name in ("accuracy", "macro_f1", "macro_precision", "macro_recall")] + [
    ("unparseable", {"strict": "unparseable"}),
    ("other (no base named)", {"strict": "other"}),
    ("no base named", {"paper_lenient": "unparseable"}),
]
TASK_COLUMNS = {"kegg_disease": KEGG_COLUMNS, "variant_effect": VARIANT_EFFECT_COLUMNS,
                "substituted_base": SUBSTITUTED_BASE_COLUMNS}
COLUMN_NOTES = {
    "kegg_disease": "unparseable (strict) = no answer, a hedge, a negated or several labels; other = a well-formed "
                    "answer naming none of the 37 KEGG diseases; no gold class named (paper-lenient) = the answer "
                    "text contains no gold disease of the evaluated rows (BioReason's `no`). All count as wrong.",
    "variant_effect": "unparseable (strict) = no answer, a hedge or both labels; the paper-lenient rule reads every "
                      "text as a prediction.",
    "substituted_base": "unparseable (strict) = no answer, or a negated or several bases; other = an answer naming no "
                        "base; no base named (paper-lenient) = the answer text names no base as a word. All count as "
                        "wrong.",
}


def metric_table(task: str, systems: list[tuple[str, dict]]) -> list[str]:
    """
    Markdown rows, one per (system, rule): the task's columns; variant effect adds AUROC/AUPRC/n_scored. The one
    renderer of evaluation tables: `report.md` and the model card's evaluation section both use it.
    """
    task_object = get_task(task)
    columns = TASK_COLUMNS[task_object.name]
    ranking = ["auroc", "auprc", "n_scored"] if task_object.has_score else []
    lines = ["| system | rule | " + " | ".join([name for name, _ in columns] + ranking) + " |",
             "|---|---|" + "---|" * (len(columns) + len(ranking))]
    for system, metrics in systems:
        rank = metrics.get("ranking") or {}
        rules = [r for r in RULES if r in metrics] or ["ranking"]
        for rule in rules:
            values = metrics.get(rule, {})
            cells = [_fmt(values.get(keys[rule])) if rule in keys else "–" for _, keys in columns]
            cells += [_fmt(rank.get(c)) for c in ranking]
            label = rule.replace("_", "-") if rule in RULES else "score ranking only"
            lines.append(f"| {system} | {label} | " + " | ".join(cells) + " |")
    return lines


def report_systems(report: dict) -> list[tuple[str, dict]]:
    """The (system, metrics) rows of a report: the model, the lookup baseline, the zero-shot DNA baseline if any."""
    lookup = report["lookup_baseline"]
    systems = [("this model", report["metrics"])] + ([] if lookup.get("unavailable") else [("lookup baseline", lookup)])
    if report.get("zero_shot_baseline"):
        systems.append((f"zero-shot DNA baseline (`{report['zero_shot_baseline']['model']}`)",
                        {"ranking": report["zero_shot_baseline"]["ranking"]}))
    return systems


def _signed(value) -> str:
    return "–" if value is None else f"{value:+.3f}"


def dna_reliance_table(report: dict) -> list[str]:
    """
    Markdown rows of the DNA ablations (`--dna-ablation`), one per (mode, rule): accuracy and F1 (AUROC for variant
    effect) with their change against the intact run, answers changed, the discordant pairs and McNemar's exact p.
    Used by `report.md` and the model card's evaluation section. Empty without ablations.
    """
    reliance = report.get("dna_reliance") or {}
    modes = reliance.get("modes") or {}
    if not modes:
        return []
    ranking = any("ranking" in result for result in modes.values())
    f1 = "f1" if any("f1" in result["strict"] for result in modes.values()) else "macro_f1"
    columns = ["accuracy", "Δ accuracy", f1.replace("_", " "), f"Δ {f1.replace('_', ' ')}"] + (
        ["AUROC", "Δ AUROC"] if ranking else []) + ["answers changed", "right only intact / only ablated",
                                                    "McNemar p"]
    lines = ["| DNA ablation | rule | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for mode, result in modes.items():
        for rule in RULES:
            values = result[rule]
            cells = [_fmt(values["accuracy"]), _signed(values["change"]["accuracy"]), _fmt(values[f1]),
                     _signed(values["change"][f1])]
            if ranking:
                rank = result.get("ranking") or {}
                cells += [_fmt(rank.get("auroc")), _signed((rank.get("change") or {}).get("auroc"))]
            cells += [str(values["answers_changed"]), f"{values['right_only_intact']} / {values['right_only_ablated']}",
                      f"{values['mcnemar_p']:.2g}"]
            lines.append(f"| {mode} | {rule.replace('_', '-')} | " + " | ".join(cells) + " |")
    return lines


def dna_reliance_notes(report: dict) -> list[str]:
    """What the ablation table means, what each mode did, and what was not ablated."""
    reliance = report["dna_reliance"]
    notes = ["Each mode re-ran the same rows with the DNA altered, as an evaluation of its own (in the evaluation's "
             "`dna_ablation/<mode>/` folder): "
             + "; ".join(f"`{mode}`: {result['description']}" for mode, result in reliance["modes"].items())
             + f"; seed {reliance['seed']}. p: McNemar's exact test on per-row correctness against the intact run "
             "(two-sided binomial test on the rows right in only one of the two). A model that uses its DNA loses "
             "accuracy under every ablation with a small p; no change means its answers do not depend on the DNA."]
    unchanged = {mode: report["rows"] - result["rows_with_dna_changed"] for mode, result in reliance["modes"].items()
                 if result["rows_with_dna_changed"] < report["rows"]}
    if unchanged:
        notes.append("Rows whose DNA the ablation left as it was (identical windows): "
                     + ", ".join(f"{mode}: {n}" for mode, n in unchanged.items()) + ".")
    notes.append("Not ablated: " + "; ".join(reliance["not_ablated"]) + ".")
    return notes


ABLATED = {"shuffle": "shuffled DNA", "reference-only": "the reference window as variant", "zero": "zeroed DNA features"}


def dna_reliance_summary(report: dict, mode: str = "shuffle") -> str:
    """
    One line: the intact and ablated strict accuracy of `mode`, answers changed and McNemar's p, next to the lookup
    baseline (the number a model must beat to have shown that it uses its DNA).
    """
    result = report["dna_reliance"]["modes"][mode]["strict"]
    lookup = (report["lookup_baseline"].get("strict") or {}).get("accuracy")
    return (f"DNA reliance ({mode}): strict accuracy {report['metrics']['strict']['accuracy']:.3f} intact -> "
            f"{result['accuracy']:.3f} with {ABLATED[mode]} ({result['change']['accuracy']:+.3f}), "
            f"{result['answers_changed']} of {report['rows']} answers changed, McNemar p = {result['mcnemar_p']:.2g}; "
            + ("no lookup baseline." if lookup is None else f"lookup baseline {lookup:.3f}."))


def write_markdown(report: dict, path: Path) -> None:
    task = report["task"]
    ablated = (report.get("settings") or {}).get("ablation")
    lines = [
        f"# {task} evaluation: `{report['model']}` ({report.get('kind', 'model')})"
        + (f", DNA ablation `{ablated}`" if ablated else ""),
        "",
        f"Dataset `{report['dataset']}`, config `{report['config']}`, split `{report['split']}`, {report['rows']} rows"
        + (f" ({report['excluded_from_metrics']} excluded from the metrics: intermediate)"
           if report.get("excluded_from_metrics") else "") + ".",
        "",
        report.get("how_to_read", ""),
        "",
    ]
    lookup = report["lookup_baseline"]
    lines += metric_table(task, report_systems(report))
    lines += ["", "Rules: " + "; ".join(f"{rule.replace('_', '-')} = {label}" for rule, label in RULES.items()) + ". "
              + COLUMN_NOTES[get_task(task).name]]
    if report.get("skipped"):
        rule = report.get("scoring_rule") or "NT-v2 masked-marginal LLR (indels are not scored)"
        lines += ["", "Rows without a score: " + ", ".join(f"{k}: {v}" for k, v in report["skipped"].items())
                  + f" (scored by the {rule})."]
    exact = report["lookup_baseline"]["exact_question_matches"]
    if lookup.get("unavailable"):
        lines += ["", f"No lookup baseline: the dataset has {lookup['unavailable']} to look answers up in."]
    else:
        lines += [
            "",
            f"The lookup baseline answers with the answer of the most similar `{report['settings']['baseline_split']}` "
            f"question; {exact} of {report['rows']} evaluation questions occur verbatim there. A model that does not "
            "beat it has not shown that it uses the DNA.",
        ]
    if report.get("dna_reliance"):
        lines += ["", "## DNA reliance", "", *dna_reliance_table(report), ""]
        lines += "\n\n".join(dna_reliance_notes(report)).split("\n")
    if task == "kegg_disease" and "strict" in report.get("details", {}):
        lines += ["", "## Per class (strict)", "", "| disease | support | precision | recall | f1 |", "|---|---|---|---|---|"]
        for row in report["details"]["strict"]["per_class"]:
            lines.append(f"| {row['label']} | {row['support']} | {row['precision']:.3f} | {row['recall']:.3f} | "
                         f"{row['f1']:.3f} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def chart_values(report: dict) -> tuple[list[str], dict[str, list[float]], str, str]:
    """`(labels, {rule: values}, title, axis label)` of the per-class chart: per-class F1 for a closed label set (KEGG,
    the DNA-only synthetic task), or the variant-effect metrics, under both rules (a missing value is 0)."""
    if "per_class" in report["details"].get("strict", {}):
        strict = {row["label"]: row["f1"] for row in report["details"]["strict"]["per_class"]}
        lenient = {row["label"]: row["f1"] for row in report["details"]["paper_lenient"]["per_class"]}
        labels = list(strict)
        values = {"strict": [strict[l] for l in labels],
                  "paper-lenient": [lenient.get(l.replace("'", ""), 0.0) for l in labels]}
        name = "KEGG" if report["task"] == "kegg_disease" else report["task"]
        return labels, values, f"{name} per-class F1", "F1"
    labels = ["accuracy", "precision", "recall", "f1", "auroc", "auprc"]
    ranking = report["metrics"].get("ranking") or {}
    values = {}
    for name, rule in (("strict", "strict"), ("paper-lenient", "paper_lenient")):
        metrics = report["metrics"].get(rule, {})
        values[name] = [(metrics.get(k) if k in metrics else ranking.get(k)) or 0.0 for k in labels]
    return labels, values, "Variant effect (pathogenic = positive)", "score"


def per_class_figure(report: dict):
    """
    The per-class chart as a matplotlib figure: one row per class (horizontal bars, so any number of long names stays
    readable), both rules side by side with each value written at its bar's end (a zero shows as "0.00"), a [0, 1]
    axis and a title wrapped to the figure's width.
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values, title, xlabel = chart_values(report)
    rows, bar = len(labels), 0.38
    width = 8.0
    figure, axis = plt.subplots(figsize=(width, 1.6 + 0.42 * rows), layout="constrained", dpi=120)
    colors = {"strict": "#1f77b4", "paper-lenient": "#ff7f0e"}
    for offset, (name, heights) in enumerate(values.items()):
        positions = [i + (offset - 0.5) * bar for i in range(rows)]
        axis.barh(positions, heights, bar, label=name, color=colors.get(name))
        for y, value in zip(positions, heights):  # the value at the bar's end: inside a long bar, else after it
            inside = value > 0.88
            axis.text(value - 0.01 if inside else value + 0.01, y, f"{value:.2f}", va="center",
                      ha="right" if inside else "left", fontsize=7, color="white" if inside else "black")
    axis.set_yticks(range(rows), [textwrap.fill(label, 28) for label in labels], fontsize=8)
    axis.invert_yaxis()  # first class on top
    axis.set_ylim(rows - 0.5, -0.5 - (0.9 if rows < 4 else 0.0))  # room above the bars for the legend
    axis.set_xlim(0, 1)
    axis.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    axis.set_xlabel(xlabel)
    axis.grid(axis="x", alpha=0.3)
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    heading = f"{title}: {report['model']} on {report['config']}/{report['split']} (n={report['rows']})"
    figure.suptitle(textwrap.fill(heading, 85), fontsize=10)
    return figure


def write_per_class_chart(report: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure = per_class_figure(report)
    figure.savefig(path)
    plt.close(figure)
