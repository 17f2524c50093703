"""Build the Hub-layout dataset folders under `hub_cards/datasets/` from the project's shared data.

    python -m modeling_bioreason.data.build_hub_datasets --shared ../shared/data --out hub_cards/datasets

* `kegg/data/`: the published wanglab/kegg splits, copied byte for byte (config `default`).
* `kegg/leak_free/`: `leak_free_kegg_split` over all 1,449 rows (config `leak_free`), with `original_split` and
  `original_index` columns pointing back at the published rows.
* `variant_effect_clinvar/data/`: the ClinVar 1,024-bp windows in BioReason's VEP format, split by a hash of the
  reference window so identical windows stay on one side.

Prints the counts that the dataset cards report.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

from .splits import hash_bucket_split, leak_free_kegg_split

SPLITS = ("train", "val", "test")
VEP_QUESTION = (
    "Mutation context: a {kind} variant at the centre (0-based index 512) of this 1,024-bp GRCh38 window; the first "
    "sequence is the reference, the second carries the variant. Determine if this variant is likely to be benign or "
    "pathogenic."
)

VARIANT_KINDS = {"single_nucleotide_variant": "single-nucleotide"}


def parquet_name(split: str) -> str:
    return f"{split}-00000-of-00001.parquet"


def build_kegg(shared: Path, out: Path) -> dict:
    (out / "data").mkdir(parents=True, exist_ok=True)
    frames = []
    for split in SPLITS:
        source = shared / "bioreason_kegg" / parquet_name(split)
        shutil.copyfile(source, out / "data" / parquet_name(split))
        frame = pd.read_parquet(source)
        frames.append(frame.assign(original_split=split, original_index=range(len(frame))))
    leak_free = leak_free_kegg_split(pd.concat(frames, ignore_index=True))
    (out / "leak_free").mkdir(exist_ok=True)
    for split, frame in leak_free.items():
        frame.to_parquet(out / "leak_free" / parquet_name(split), index=False)
    shutil.copyfile(shared / "bioreason_kegg" / "kegg_disease_label_map.json", out / "kegg_disease_label_map.json")
    return kegg_stats(leak_free)


def kegg_stats(splits: dict[str, pd.DataFrame]) -> dict:
    train_classes = set(splits["train"]["answer"])
    return {
        split: {"rows": len(frame), "classes": frame["answer"].nunique(),
                "classes_also_in_train": len(set(frame["answer"]) & train_classes)}
        for split, frame in splits.items()
    }


def build_variant_effect(shared: Path, out: Path) -> dict:
    source = pd.read_parquet(shared / "clinvar_windows_1024" / "my_processed_clinvar.parquet")
    frame = pd.DataFrame({
        "question": [VEP_QUESTION.format(kind=VARIANT_KINDS.get(kind, str(kind).lower())) for kind in source["variant_type"]],
        "answer": source["CLNSIG"].str.lower(),
        "reference_sequence": source["ref"],
        "variant_sequence": source["alt"],
        "variant_type": source["variant_type"],
        "clinvar_significance": source["CLNSIG"],
        "source_index": range(len(source)),
    })
    split_of = hash_bucket_split(frame["reference_sequence"])
    (out / "data").mkdir(parents=True, exist_ok=True)
    stats = {}
    for split in SPLITS:
        part = frame[split_of == split].reset_index(drop=True)
        part.to_parquet(out / "data" / parquet_name(split), index=False)
        stats[split] = {"rows": len(part), **part["answer"].value_counts().to_dict()}
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True, help="the shared/data folder")
    parser.add_argument("--out", type=Path, default=Path("hub_cards/datasets"))
    args = parser.parse_args()
    stats = {"kegg_leak_free": build_kegg(args.shared, args.out / "kegg"),
             "variant_effect_clinvar": build_variant_effect(args.shared, args.out / "variant_effect_clinvar")}
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
