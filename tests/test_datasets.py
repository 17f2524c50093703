"""The Hub-layout datasets load offline with `datasets`, and the leak-free splits really do not leak."""

import hashlib
import re
from pathlib import Path

import datasets
import pandas as pd
import pytest

from modeling_bioreason.data.splits import hash_bucket_split, leak_free_kegg_split
from modeling_bioreason.data.tasks import check_columns, infer_task, row_to_messages

ROOT = Path(__file__).parent.parent / "hub_cards" / "datasets"
KEGG, VEP = ROOT / "kegg", ROOT / "variant_effect_clinvar"
PUBLISHED_SHA256 = {
    "train": "748073b24ba85b0c2bd7f29232a97b811d3b7a8f655b6a4589a36aa27c87dd2d",
    "val": "0b4fd81fb6634f61691fbe05a9ecbb7f90d64aa496761ca5a99efa5f8f88cec9",
    "test": "9e24e2e29c9583d3208bc042a446ac38211ec81478dc5352f72f3cc9054962d7",
}


@pytest.mark.parametrize(
    "path, config, counts",
    [
        (KEGG, "default", {"train": 1159, "val": 144, "test": 146}),
        (KEGG, "leak_free", {"train": 1159, "val": 145, "test": 145}),
        (VEP, "default", {"train": 4473, "val": 554, "test": 544}),
    ],
)
def test_every_config_loads_offline_with_its_row_counts(path, config, counts):
    loaded = datasets.load_dataset(str(path), config)
    assert {split: len(rows) for split, rows in loaded.items()} == counts
    for split in loaded.values():
        check_columns(split.column_names)
    card = (path / "README.md").read_text()
    for split, n in counts.items():  # the card's table states the same counts
        assert re.search(rf"\b{n:,}\b", card), (config, split, n)


def test_default_kegg_config_is_the_published_files_byte_for_byte():
    for split, digest in PUBLISHED_SHA256.items():
        assert hashlib.sha256((KEGG / "data" / f"{split}-00000-of-00001.parquet").read_bytes()).hexdigest() == digest


def _kegg(config):
    return {s: pd.read_parquet(KEGG / config / f"{s}-00000-of-00001.parquet") for s in ("train", "val", "test")}


def test_leak_free_split_shares_no_question_or_sequence_pair():
    splits = _kegg("leak_free")
    keys = {s: (set(f["question"]), set(zip(f["reference_sequence"], f["variant_sequence"]))) for s, f in splits.items()}
    for a, b in (("test", "train"), ("test", "val"), ("val", "train")):
        assert not keys[a][0] & keys[b][0], f"{a}/{b} share questions"
        assert not keys[a][1] & keys[b][1], f"{a}/{b} share sequence pairs"
    train_classes = set(splits["train"]["answer"])
    assert set(splits["test"]["answer"]) <= train_classes and set(splits["val"]["answer"]) <= train_classes
    # The published split leaks, which is why leak_free exists.
    published = _kegg("data")
    assert published["test"]["question"].isin(set(published["train"]["question"])).sum() == 145


def test_leak_free_split_is_deterministic_and_order_independent():
    published = _kegg("data")
    rows = pd.concat([f.assign(original_split=s, original_index=range(len(f))) for s, f in published.items()],
                     ignore_index=True)
    committed = _kegg("leak_free")
    for frame in (rows, rows.sample(frac=1.0, random_state=1).reset_index(drop=True)):
        rebuilt = leak_free_kegg_split(frame)
        for split in committed:
            key = ["original_split", "original_index"]
            assert sorted(map(tuple, rebuilt[split][key].values.tolist())) == sorted(
                map(tuple, committed[split][key].values.tolist()))


def test_variant_effect_split_keeps_identical_reference_windows_together():
    splits = {s: pd.read_parquet(VEP / "data" / f"{s}-00000-of-00001.parquet") for s in ("train", "val", "test")}
    refs = {s: set(f["reference_sequence"]) for s, f in splits.items()}
    assert not refs["train"] & refs["test"] and not refs["train"] & refs["val"] and not refs["val"] & refs["test"]
    everything = pd.concat(splits.values())
    assert len(everything) == 5571 and set(everything["answer"]) == {"pathogenic", "benign"}
    assert (everything["reference_sequence"].str.len() == 1024).all()
    assert (hash_bucket_split(splits["test"]["reference_sequence"]) == "test").all()
    assert infer_task(everything["answer"]) == "variant_effect" and infer_task(splits["train"]["answer"][:0]) == "kegg"


def test_rows_become_sft_and_prompt_messages(kegg_rows):
    row = kegg_rows[0]
    prompt = row_to_messages(row)
    assert [b["type"] for b in prompt[0]["content"]] == ["dna", "dna", "text"]
    assert prompt[0]["content"][0]["sequence"] == row["reference_sequence"]
    trimmed = row_to_messages(row, with_answer=True, trim_per_side=1024)
    assert len(trimmed[0]["content"][1]["sequence"]) == len(row["variant_sequence"]) - 2048
    assert trimmed[1] == {"role": "assistant", "reasoning_content": row["reasoning"].strip(),
                          "content": f"Answer: {row['answer']}"}
    with pytest.raises(ValueError, match=r"lacks required column\(s\) \['variant_sequence'\]"):
        check_columns(["question", "answer", "reference_sequence"])
