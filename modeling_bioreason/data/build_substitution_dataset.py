"""Build `hub_cards/datasets/dna_substitution/`: a task only the DNA can answer (seeded, reproducible).

    python -m modeling_bioreason.data.build_substitution_dataset --out hub_cards/datasets/dna_substitution

Each row takes a real GRCh38 reference window (the reference windows of `variant_effect_clinvar`, which hold the
reference base of a ClinVar site at index 512), cuts `WINDOW` = 17 bases from it with that site at index
`SITE` = 14, and places a synthetic single-nucleotide substitution there. The answer is the base the variant window
carries at the site (A, C, G or T; balanced across rows), and **every row has the same question text**: nothing but
the DNA tells the answers apart, so a model that beats the majority class read the DNA, and with the variant window
replaced by the reference (`--dna-ablation reference-only`) it must be wrong on every row. The substitution's class
(transition or transversion) is kept as a column.

Why 17 bp with the site at 14: NT-v2 reads DNA as non-overlapping 6-mers from the left, with single-base tokens only
for the 1-5 bases left at the end. 17 = two 6-mers + five single bases, and index 14 is the middle of those five: the
substituted base is a token of its own (one of A, C, G, T) at the same token position in every row. At a central
site it would sit inside a 6-mer, and with a random-weight encoder (no package ships NT-v2 weights) a 6-mer never
seen in training carries nothing about which base it holds: the answer could not generalise to test windows. The
LLM-only baseline reads the same 17 bases as text, where the byte-pair tokens shift with the sequence: trained the
same way it reaches 0.25-0.62 over five runs, against 1.0 for BioReason (benchmarks/RESULTS.md).

Why the base and not the class: transition vs transversion is an XOR of the two windows' bases (neither window alone
says anything about it), and a tiny random model trained from scratch sits on that plateau: 700 full SFT steps
stayed at 50% (measured; benchmarks/RESULTS.md). The base is read from one window and is learned in 250 steps.

Splits draw from the source rows' splits (train / val / test of `variant_effect_clinvar`), and no reference window
occurs twice, within or across splits: every test window is new to a model trained on train.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pandas as pd

from .build_hub_datasets import parquet_name, write_dataset_info, write_strings

WINDOW = 17
SITE = 14  # two NT-v2 6-mers, then five single-base tokens: the middle one
SOURCE_SITE = 512  # 0-based index of the ClinVar site in the 1,024-bp source windows
ROWS = {"train": 384, "val": 64, "test": 128}
SEED = 23
QUESTION = "Which base (A, C, G or T) does the variant window carry where it differs from the reference?"  # short
BASES = "ACGT"
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}


def substitution_class(reference: str, alternate: str) -> str:
    """
    `transition` for A<->G and C<->T, `transversion` for any other change of base.

    >>> substitution_class("A", "G"), substitution_class("C", "A")
    ('transition', 'transversion')
    """
    if reference == alternate or {reference, alternate} - set(BASES):
        raise ValueError(f"Not a substitution of two bases: {reference!r} -> {alternate!r}.")
    return "transition" if TRANSITION[reference] == alternate else "transversion"


def build_rows(reference_windows: list[str], count: int, rng: random.Random, where: str, seen: set) -> pd.DataFrame:
    """`count` rows from reference windows not in `seen` (in a seeded order; added to it). Each alternate base is
    the least used so far among the three the reference base allows (ties at random): the answers are balanced."""
    order = list(range(len(reference_windows)))
    rng.shuffle(order)
    rows, used = [], dict.fromkeys(BASES, 0)
    for index in order:
        window = reference_windows[index]
        start = SOURCE_SITE - SITE
        reference = window[start:start + WINDOW].upper()
        if len(reference) != WINDOW or set(reference) - set(BASES) or reference in seen:
            continue
        seen.add(reference)
        base = reference[SITE]
        choices = [b for b in BASES if b != base]
        fewest = min(used[b] for b in choices)
        alternate = rng.choice([b for b in choices if used[b] == fewest])
        used[alternate] += 1
        variant = reference[:SITE] + alternate + reference[SITE + 1:]
        rows.append({"question": QUESTION, "answer": alternate, "reasoning": "", "reference_sequence": reference,
                     "variant_sequence": variant, "reference_base": base, "alternate_base": alternate,
                     "substitution_class": substitution_class(base, alternate), "source_row": f"{where}/{index}"})
        if len(rows) == count:
            break
    if len(rows) < count:
        raise ValueError(f"Only {len(rows)} distinct windows in {where}; {count} asked.")
    rng.shuffle(rows)
    return pd.DataFrame(rows)


def build(source: Path, out: Path, seed: int = SEED, rows: dict | None = None) -> dict:
    """Write the parquet files under `out/data/` from the ClinVar windows in `source`; returns counts per split."""
    rng, seen, stats = random.Random(seed), set(), {}  # no window in two splits
    for split, count in (rows or ROWS).items():
        frame = pd.read_parquet(source / "data" / parquet_name(split), columns=["reference_sequence"])
        part = build_rows(list(frame["reference_sequence"]), count, rng, f"variant_effect_clinvar:{split}", seen)
        write_strings(part, out / "data" / parquet_name(split))
        stats[split] = {"rows": len(part), **part["answer"].value_counts().to_dict()}
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("hub_cards/datasets/variant_effect_clinvar"))
    parser.add_argument("--out", type=Path, default=Path("hub_cards/datasets/dna_substitution"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    stats = build(args.source, args.out, args.seed)
    if (args.out / "README.md").exists():
        write_dataset_info(args.out)
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
