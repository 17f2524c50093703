"""Build the Hub-layout dataset folders under `hub_cards/datasets/` from the project's shared data.

    python -m modeling_bioreason.data.build_hub_datasets --shared ../shared/data --out hub_cards/datasets

KEGG (`kegg/`; every config has the same columns and types: the five published string columns + `source_row`,
`"<split>/<index>"` of the published wanglab/kegg row it came from, all Arrow `string`):
* `default` (`data/`): the published splits, rows and order unchanged.
* `leak_free`: `leak_free_kegg_split` over all 1,449 rows.
* `held_out_network`: exactly the network split of arXiv 2606.16517 (train / val = their `id_test` / test = their
  `ood_test`); the rebuilt CSVs reproduce that paper's published md5s (checked here and in the tests).
* `leak_free_anonymized`: `leak_free` with each row's pathway gene symbols and names replaced by GENE_1, GENE_2, ...
  (order of first appearance, question and reasoning); answers untouched.
ClinVar (`variant_effect_clinvar/`): the 1,024-bp windows in BioReason's VEP format, split by a hash of the
reference window. BRCA1 SGE (`brca1_sge/`): Findlay et al. 2018's 3,893 SNVs as 1,024-bp hg19 windows (test only).

Every card's YAML gets `dataset_info` (features, splits, num_examples) written from the data. Prints the counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .splits import hash_bucket_split, leak_free_kegg_split

SPLITS = ("train", "val", "test")
KEGG_COLUMNS = ("question", "answer", "reasoning", "reference_sequence", "variant_sequence", "source_row")
# md5 of `frame[five published columns].to_csv(index=False)` per split, as published with arXiv 2606.16517
# (mims-harvard/bio-mirage build_network_split.py lines 9-11; prefixes in ../shared/data/README.md).
NETWORK_SPLIT_MD5_PREFIX = {"train": "067c2733", "val": "37c2708d", "test": "5edbf42b"}
NETWORK_SPLIT_NAMES = {"train": "train", "id_test": "val", "ood_test": "test"}
VEP_QUESTION = (
    "Mutation context: a {kind} variant at the centre (0-based index 512) of this 1,024-bp {build} window; the "
    "first sequence is the reference, the second carries the variant. Determine if this variant is likely to be "
    "benign or pathogenic."
)
VARIANT_KINDS = {"single_nucleotide_variant": "single-nucleotide"}
BRCA1_SLICE_START = 41_100_001  # hg19 position of offset 0 in the shared slice
BRCA1_ANSWERS = {"LOF": "pathogenic", "FUNC": "benign", "INT": "intermediate"}


def parquet_name(split: str) -> str:
    return f"{split}-00000-of-00001.parquet"


def write_strings(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame with every text column as Arrow `string` (not `large_string`), so configs concatenate."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [pa.field(c, pa.string() if frame[c].dtype == object or str(frame[c].dtype) in ("str", "string")
                       else pa.from_numpy_dtype(frame[c].dtype)) for c in frame.columns]
    table = pa.Table.from_pandas(frame.reset_index(drop=True), schema=pa.schema(fields), preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


# ----------------------------------------------------------------------------------------------------------- KEGG
def _published(shared: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for split in SPLITS:
        frame = pd.read_parquet(shared / "bioreason_kegg" / parquet_name(split))
        frames[split] = frame.assign(source_row=[f"{split}/{i}" for i in range(len(frame))])
    return frames


GENE_LINE = "Genes in the pathway:"


def pathway_genes(question: str) -> list[str]:
    """Gene symbols and names from the question's `Genes in the pathway: SYM; name | SYM; name ...` line."""
    genes = []
    for line in question.splitlines():
        if line.startswith(GENE_LINE):
            for entry in line[len(GENE_LINE):].split(" | "):
                for part in entry.split(";", 1):
                    if part.strip():
                        genes.append(part.strip())
    return genes


def anonymize_row(question: str, reasoning: str) -> tuple[str, str]:
    """
    Replace the pathway's gene symbols and names by GENE_1, GENE_2, ... in order of first appearance in the
    question then the reasoning; a symbol and its name share one placeholder. Matches are case-sensitive whole
    tokens (not inside a longer symbol); longer strings are replaced first.
    """
    entries = []
    for line in question.splitlines():
        if line.startswith(GENE_LINE):
            for entry in line[len(GENE_LINE):].split(" | "):
                parts = [p.strip() for p in entry.split(";", 1) if p.strip()]
                if parts:
                    entries.append(parts)
    gene_of = {}
    for number, parts in enumerate(entries):
        for part in parts:
            gene_of.setdefault(part, number)
    if not gene_of:
        return question, reasoning
    names = sorted(gene_of, key=len, reverse=True)
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9])")
    text = question + "\x00" + reasoning
    order = {}
    for match in pattern.finditer(text):
        order.setdefault(gene_of[match.group(0)], len(order) + 1)
    text = pattern.sub(lambda m: f"GENE_{order[gene_of[m.group(0)]]}", text)
    question, reasoning = text.split("\x00", 1)
    return question, reasoning


def network_split(shared: Path, published: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    mapping = pd.read_csv(shared / "kegg_network_split" / "network_split_to_wanglab_kegg.csv")
    splits = {}
    for theirs, ours in NETWORK_SPLIT_NAMES.items():
        rows = mapping[mapping["network_split"] == theirs].sort_values("network_row")
        frame = pd.concat([published[s].iloc[[r]] for s, r in zip(rows["wanglab_kegg_split"], rows["wanglab_kegg_row"])],
                          ignore_index=True)
        if list(frame["answer"]) != list(rows["answer"]):
            raise ValueError(f"network split {theirs}: answers do not match the mapping's")
        splits[ours] = frame
    for split, frame in splits.items():
        digest = network_split_md5(frame)
        if not digest.startswith(NETWORK_SPLIT_MD5_PREFIX[split]):
            raise ValueError(f"held_out_network/{split}: md5 {digest} is not the published {NETWORK_SPLIT_MD5_PREFIX[split]}…")
    return splits


def network_split_md5(frame: pd.DataFrame) -> str:
    """md5 of the split as arXiv 2606.16517 wrote it (the five published columns, `to_csv(index=False)`)."""
    columns = ["question", "answer", "reasoning", "reference_sequence", "variant_sequence"]
    return hashlib.md5(frame[columns].to_csv(index=False).encode("utf-8")).hexdigest()


def build_kegg(shared: Path, out: Path) -> dict:
    published = _published(shared)
    configs = {"default": ("data", published)}
    everything = pd.concat(list(published.values()), ignore_index=True)
    leak_free = leak_free_kegg_split(everything)
    configs["leak_free"] = ("leak_free", leak_free)
    configs["held_out_network"] = ("held_out_network", network_split(shared, published))
    anonymized = {}
    for split, frame in leak_free.items():
        pairs = [anonymize_row(q, r) for q, r in zip(frame["question"], frame["reasoning"])]
        anonymized[split] = frame.assign(question=[p[0] for p in pairs], reasoning=[p[1] for p in pairs])
    configs["leak_free_anonymized"] = ("leak_free_anonymized", anonymized)
    stats = {}
    for config, (folder, splits) in configs.items():
        for split, frame in splits.items():
            write_strings(frame[list(KEGG_COLUMNS)], out / folder / parquet_name(split))
        stats[config] = kegg_stats(splits)
    shutil.copyfile(shared / "bioreason_kegg" / "kegg_disease_label_map.json", out / "kegg_disease_label_map.json")
    return stats


def kegg_stats(splits: dict[str, pd.DataFrame]) -> dict:
    train_classes = set(splits["train"]["answer"])
    return {
        split: {"rows": len(frame), "classes": frame["answer"].nunique(),
                "classes_also_in_train": len(set(frame["answer"]) & train_classes)}
        for split, frame in splits.items()
    }


# ----------------------------------------------------------------------------------------------- variant effect
def build_variant_effect(shared: Path, out: Path) -> dict:
    source = pd.read_parquet(shared / "clinvar_windows_1024" / "my_processed_clinvar.parquet")
    frame = pd.DataFrame({
        "question": [VEP_QUESTION.format(kind=VARIANT_KINDS.get(kind, str(kind).lower()), build="GRCh38")
                     for kind in source["variant_type"]],
        "answer": source["CLNSIG"].str.lower(),
        "reference_sequence": source["ref"],
        "variant_sequence": source["alt"],
        "variant_type": source["variant_type"],
        "clinvar_significance": source["CLNSIG"],
        "source_index": range(len(source)),
    })
    split_of = hash_bucket_split(frame["reference_sequence"])
    stats = {}
    for split in SPLITS:
        part = frame[split_of == split].reset_index(drop=True)
        write_strings(part, out / "data" / parquet_name(split))
        stats[split] = {"rows": len(part), **part["answer"].value_counts().to_dict()}
    return stats


def build_brca1(shared: Path, out: Path) -> dict:
    """BRCA1 SGE SNVs as 512 + allele + 511 windows built by `variant_windows` from the hg19 slice (upper-cased)."""
    from .genome import Variant, variant_windows

    table = pd.read_csv(shared / "brca1_findlay2018" / "findlay2018_brca1_sge_snvs.csv")
    with tempfile.TemporaryDirectory() as folder:  # the FASTA index is written beside the FASTA
        fasta = Path(folder) / "hg19_slice.fa"
        shutil.copyfile(shared / "brca1_findlay2018" / "hg19_chr17_41100001_41300000.fa", fasta)
        variants = [Variant("chr17", int(p) - BRCA1_SLICE_START + 1, r, a)
                    for p, r, a in zip(table["position (hg19)"], table["reference"], table["alt"])]
        windows = variant_windows(fasta, variants, flank=(512, 511))
    frame = pd.DataFrame({
        "question": [VEP_QUESTION.format(kind="single-nucleotide", build="GRCh37 (hg19)")] * len(table),
        "answer": [BRCA1_ANSWERS[c] for c in table["func.class"]],
        "reference_sequence": [w.reference_sequence for w in windows],
        "variant_sequence": [w.variant_sequence for w in windows],
        "func_class": table["func.class"],
        "function_score": table["function.score.mean"].astype(float),
        "position_hg19": table["position (hg19)"].astype("int64"),
        "reference_allele": table["reference"],
        "alternate_allele": table["alt"],
        "transcript_variant": table["transcript_variant"].fillna(""),
        "protein_variant": table["protein_variant"].fillna(""),
        "consequence": table["consequence"].fillna(""),
        "source_row": [f"table/{i}" for i in range(len(table))],
    })
    write_strings(frame, out / "data" / parquet_name("test"))
    return {"test": {"rows": len(frame), **frame["func_class"].value_counts().to_dict()}}


# ----------------------------------------------------------------------------------------------- dataset_info
def write_dataset_info(card_dir: Path) -> list[dict]:
    """
    Rewrite the card's `dataset_info` from the Parquet files its `configs` point at, as `datasets` writes it on a
    push (serialised by `datasets.DatasetInfo` itself): per split `num_bytes` (the Arrow size, `_estimate_nbytes`,
    what `push_to_hub` records) and `num_examples`; per config `download_size` (the Parquet files' bytes) and
    `dataset_size` (the splits' Arrow bytes).
    """
    import datasets
    import yaml

    card = card_dir / "README.md"
    text = card.read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front)
    infos = []
    for config in meta["configs"]:
        splits, features, download_size = datasets.SplitDict(), None, 0
        for entry in config["data_files"]:
            path = card_dir / entry["path"]
            part = datasets.Dataset.from_parquet(str(path))
            features = features or part.features
            if part.features != features:
                raise ValueError(f"{path}: features differ from the config's other splits")
            splits.add(datasets.SplitInfo(name=entry["split"], num_bytes=part._estimate_nbytes(),
                                          num_examples=len(part)))
            download_size += path.stat().st_size
        info = datasets.DatasetInfo(features=features, splits=splits, download_size=download_size,
                                    dataset_size=sum(split.num_bytes for split in splits.values()))
        infos.append({"config_name": config["config_name"], **info._to_yaml_dict()})
    meta["dataset_info"] = infos
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=120)
    card.write_text(f"---\n{front}---{body}", encoding="utf-8")
    return infos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True, help="the shared/data folder")
    parser.add_argument("--out", type=Path, default=Path("hub_cards/datasets"))
    args = parser.parse_args()
    stats = {"kegg": build_kegg(args.shared, args.out / "kegg"),
             "variant_effect_clinvar": build_variant_effect(args.shared, args.out / "variant_effect_clinvar"),
             "brca1_sge": build_brca1(args.shared, args.out / "brca1_sge")}
    for name in ("kegg", "variant_effect_clinvar", "brca1_sge"):
        if (args.out / name / "README.md").exists():
            write_dataset_info(args.out / name)
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
