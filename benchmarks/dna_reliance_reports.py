"""DNA reliance on KEGG and on variant effect: `bioreason evaluate` with all three DNA ablations (issue 23).

    bioreason quickstart                                   # once: its model is the one evaluated here
    python benchmarks/dna_reliance_reports.py [--model runs/quickstart/sft/final] [--rows 16]

Evaluates the model on the first `--rows` rows of the KEGG `leak_free` test split and of the ClinVar variant-effect
test split, each intact and with `--dna-ablation shuffle`, `reference-only` and `zero` (windows trimmed to the central
~200 bp, as the quickstart trains). For contrast, a model that must read its DNA: the `cpu-dna-substitution` recipe
(trained here if `runs/cpu-dna-substitution/final` is missing, ~20 s) on the `dna_substitution` test split, with the
same three ablations. Copies each `report.md` / `report.json` to `--out` and prints the DNA reliance tables with the
machine's load. Run from the repository root: the reports record relative paths.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from modeling_bioreason.evaluation.report import dna_reliance_table
from modeling_bioreason.evaluation.runner import EvaluationConfig, evaluate
from modeling_bioreason.quickstart import EVAL_NEW_TOKENS, TRIM_PER_SIDE, busy_cores

DATASETS = Path("hub_cards/datasets")
# (name, dataset, config, flank trim per side): ~200 bp around the variant in both (4,001-bp and 1,024-bp windows)
RUNS = [("kegg", DATASETS / "kegg", "leak_free", TRIM_PER_SIDE),
        ("variant_effect", DATASETS / "variant_effect_clinvar", "default", 412)]
DNA_TASK_MODEL = Path("runs/cpu-dna-substitution/final")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/quickstart/sft/final")
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=EVAL_NEW_TOKENS)
    parser.add_argument("--work", default="runs/dna_reliance", help="evaluation folders (predictions, resume)")
    parser.add_argument("--out", default="benchmarks/dna_reliance", help="where report.md / report.json are copied")
    args = parser.parse_args()
    if not Path(args.model).is_dir():
        raise SystemExit(f"No model folder {args.model}: run `bioreason quickstart` first (or pass --model).")
    if not DNA_TASK_MODEL.is_dir():
        from modeling_bioreason.training.recipe import load_recipe
        from modeling_bioreason.training.run import run

        run(load_recipe("cpu-dna-substitution"))
    runs = [(name, args.model, dataset, config, trim, args.rows, args.max_new_tokens, 8)
            for name, dataset, config, trim in RUNS]
    runs.append(("dna_substitution", str(DNA_TASK_MODEL), DATASETS / "dna_substitution", "default", 0, None, 12, 64))
    for name, model, dataset, config, trim, rows, new_tokens, batch in runs:
        busy, started = busy_cores(), time.time()
        output = Path(args.work) / name
        report = evaluate(EvaluationConfig(
            model=model, dataset=str(dataset), config=config, split="test", output_dir=str(output), limit=rows,
            batch_size=batch, max_new_tokens=new_tokens, trim_per_side=trim,
            dna_ablation=["shuffle", "reference-only", "zero"]))
        target = Path(args.out) / name
        target.mkdir(parents=True, exist_ok=True)
        for file in ("report.md", "report.json"):
            shutil.copyfile(output / file, target / file)
        print(f"\n{name}: {report['rows']} rows, {time.time() - started:.0f} s (this run: "
              f"{report['rows_generated_this_run']} intact rows generated), cores busy before: "
              f"{busy if busy is None else round(busy, 2)}, load average after: "
              f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("\n".join(dna_reliance_table(report)))


if __name__ == "__main__":
    main()
