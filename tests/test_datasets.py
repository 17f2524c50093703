"""The Hub-layout datasets load offline with `datasets`, and the leak-free splits really do not leak."""

import re
from pathlib import Path

import datasets
import pandas as pd
import pytest

from modeling_bioreason.data.splits import hash_bucket_split, leak_free_kegg_split
from modeling_bioreason.data.tasks import check_columns, row_to_messages

ROOT = Path(__file__).parent.parent / "hub_cards" / "datasets"
KEGG, VEP, BRCA1 = ROOT / "kegg", ROOT / "variant_effect_clinvar", ROOT / "brca1_sge"
DNA_TASK = ROOT / "dna_substitution"
# md5 of the published wanglab/kegg parquets' rows as `to_csv(index=False)` (the files' sha256 are in the card)
PUBLISHED_CSV_MD5 = {"train": "9bd86ff7f0c3178af515bfbfcb9168d1", "val": "9ea8caf5553205a048f5062895867faa",
                     "test": "5d60dc12d994da7a36f8dd02524a1648"}
# arXiv 2606.16517's network split: train / id_test / ood_test (mims-harvard/bio-mirage build_network_split.py)
NETWORK_CSV_MD5 = {"train": "067c273308a0bba057a3c44ed24656ee", "val": "37c2708d3db3e82d1ce864253e391e59",
                   "test": "5edbf42b62d0ae8825382ca1fea39f0c"}
KEGG_CONFIGS = ("default", "leak_free", "held_out_network", "leak_free_anonymized")


@pytest.mark.parametrize(
    "path, config, counts",
    [
        (KEGG, "default", {"train": 1159, "validation": 144, "test": 146}),
        (KEGG, "leak_free", {"train": 1159, "validation": 145, "test": 145}),
        (KEGG, "held_out_network", {"train": 1159, "validation": 145, "test": 145}),
        (KEGG, "leak_free_anonymized", {"train": 1159, "validation": 145, "test": 145}),
        (VEP, "default", {"train": 4473, "validation": 554, "test": 544}),
        (BRCA1, "default", {"test": 3893}),
        (DNA_TASK, "default", {"train": 384, "val": 64, "test": 128}),
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


def test_dataset_info_is_what_datasets_writes_and_the_old_split_name_still_loads():
    """The cards' `dataset_info`, read back by huggingface_hub's DatasetCard and datasets' own parser: Arrow
    `num_bytes` per split (what `push_to_hub` records), `download_size` = the Parquet bytes, `dataset_size`; the
    validation split is `validation`, and `val` (this project's old name) still loads it."""
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCard

    from modeling_bioreason.data.tasks import load_split

    for path in (KEGG, VEP, BRCA1):
        card = DatasetCard.load(path / "README.md")
        infos = DatasetInfosDict.from_dataset_card_data(card.data)
        for config in card.data["configs"]:
            info, files = infos[config["config_name"]], {e["split"]: path / e["path"] for e in config["data_files"]}
            assert set(info.splits) == set(files) and "val" not in info.splits
            assert info.download_size == sum(f.stat().st_size for f in files.values())
            assert info.dataset_size == sum(split.num_bytes for split in info.splits.values())
    assert {"text-classification", "text-generation"} <= set(DatasetCard.load(BRCA1 / "README.md").data.task_categories)
    assert "biology" in DatasetCard.load(BRCA1 / "README.md").data.tags
    info = DatasetInfosDict.from_dataset_card_data(DatasetCard.load(KEGG / "README.md").data)["leak_free"]
    for split in ("validation", "test"):
        loaded = datasets.load_dataset(str(KEGG), "leak_free", split=split)
        assert info.splits[split].num_bytes == loaded.data.nbytes and info.splits[split].num_examples == len(loaded)
    assert len(load_split(KEGG, "leak_free", "val")) == 145 and len(load_split(KEGG, "leak_free", "val+test")) == 290


def test_default_kegg_config_holds_the_published_rows_in_order():
    from modeling_bioreason.data.build_hub_datasets import network_split_md5

    for split, digest in PUBLISHED_CSV_MD5.items():
        frame = pd.read_parquet(KEGG / "data" / f"{split}-00000-of-00001.parquet")
        assert network_split_md5(frame) == digest
        assert frame["source_row"].tolist() == [f"{split}/{i}" for i in range(len(frame))]


def test_all_configs_share_one_schema_and_concatenate():
    loaded = [datasets.load_dataset(str(KEGG), config, split="test") for config in KEGG_CONFIGS]
    assert all(part.features == loaded[0].features for part in loaded)
    assert {feature.dtype for feature in loaded[0].features.values()} == {"string"}
    assert len(datasets.concatenate_datasets(loaded)) == 146 + 3 * 145


@pytest.mark.parametrize("path", [KEGG, VEP, BRCA1, DNA_TASK])
def test_cards_dataset_info_matches_the_data(path):
    import yaml

    meta = yaml.safe_load((path / "README.md").read_text().split("---", 2)[1])
    infos = {info["config_name"]: info for info in meta["dataset_info"]}
    assert set(infos) == {config["config_name"] for config in meta["configs"]}
    for config in meta["configs"]:
        info = infos[config["config_name"]]
        for entry in config["data_files"]:
            part = datasets.Dataset.from_parquet(str(path / entry["path"]))
            split = next(s for s in info["splits"] if s["name"] == entry["split"])
            assert split["num_examples"] == len(part)
            assert [(f["name"], f["dtype"]) for f in info["features"]] == [
                (name, feature.dtype) for name, feature in part.features.items()]
    assert meta["bioreason_task"] in ("kegg_disease", "variant_effect", "substituted_base")


def _network(question: str) -> str:
    return next(line for line in question.splitlines() if line.startswith("Network Definition of the pathway:"))


def test_held_out_network_is_exactly_the_published_network_split():
    from modeling_bioreason.data.build_hub_datasets import network_split_md5

    splits = _kegg("held_out_network")
    for split, digest in NETWORK_CSV_MD5.items():
        assert network_split_md5(splits[split]) == digest, split
    networks = {s: set(map(_network, f["question"])) for s, f in splits.items()}
    assert not networks["test"] & networks["train"] and len(networks["test"]) == 9  # OOD: unseen networks
    assert networks["val"] <= networks["train"]  # ID: networks seen in training
    assert set(splits["test"]["answer"]) <= set(splits["train"]["answer"])  # every test disease is trained on
    published = _kegg("data")
    for split, frame in splits.items():  # source_row points at the identical published row
        for source, question in zip(frame["source_row"][:20], frame["question"][:20]):
            name, index = source.split("/")
            assert published[name]["question"].iloc[int(index)] == question


def test_leak_free_anonymized_hides_every_pathway_gene():
    from modeling_bioreason.data.build_hub_datasets import anonymize_row, pathway_genes

    plain, anonymized = _kegg("leak_free"), _kegg("leak_free_anonymized")
    for split in plain:
        a, b = plain[split], anonymized[split]
        assert a["answer"].tolist() == b["answer"].tolist() and a["source_row"].tolist() == b["source_row"].tolist()
        assert (a["reference_sequence"] == b["reference_sequence"]).all()
        for question, new_question, new_reasoning in zip(a["question"], b["question"], b["reasoning"]):
            for gene in pathway_genes(question):
                assert not re.search(rf"(?<![A-Za-z0-9]){re.escape(gene)}(?![A-Za-z0-9])", new_question), gene
            placeholders = re.findall(r"GENE_(\d+)", new_question + new_reasoning)
            first_seen = list(dict.fromkeys(int(n) for n in placeholders))
            assert first_seen == list(range(1, len(first_seen) + 1))  # numbered in order of first appearance
    q, r = anonymize_row("Network: TP53* -> MDM2\nGenes in the pathway: TP53; tumor protein p53 | MDM2; MDM2 proto-oncogene"
                         "\nWhat does this TP53 allele do?", "TP53 (tumor protein p53) binds MDM2. TP53BP1 is not it.")
    assert q.startswith("Network: GENE_1* -> GENE_2\nGenes in the pathway: GENE_1; GENE_1 | GENE_2; GENE_2")
    assert r == "GENE_1 (GENE_1) binds GENE_2. TP53BP1 is not it."


def test_dna_only_task_is_rebuilt_identically_and_only_its_dna_tells_the_answers(tmp_path):
    from modeling_bioreason.data.build_substitution_dataset import SITE, build
    from modeling_bioreason.tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

    build(VEP, tmp_path)
    frames = {}
    for split in ("train", "val", "test"):
        name = f"{split}-00000-of-00001.parquet"
        frames[split] = pd.read_parquet(DNA_TASK / "data" / name)
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "data" / name), frames[split])  # seeded
    everything = pd.concat(frames.values(), ignore_index=True)
    assert everything["question"].nunique() == 1 and everything["reference_sequence"].is_unique
    for reference, variant, answer in zip(everything["reference_sequence"], everything["variant_sequence"],
                                          everything["answer"]):
        assert [i for i, (a, b) in enumerate(zip(reference, variant)) if a != b] == [SITE] and variant[SITE] == answer
    tokens = NucleotideTransformerTokenizer().tokenize(everything["variant_sequence"][0])
    assert len(tokens) == 7 and tokens[4] == everything["answer"][0]  # two 6-mers, then one token per base
    for split, frame in frames.items():  # each row's reference window is cut from the named ClinVar row
        clinvar = pd.read_parquet(VEP / "data" / f"{split}-00000-of-00001.parquet")
        for source, reference in zip(frame["source_row"][:10], frame["reference_sequence"][:10]):
            index = int(source.rsplit("/", 1)[1])
            assert clinvar["reference_sequence"][index][512 - SITE:512 - SITE + 17] == reference


def test_brca1_windows_are_centred_on_the_reference_allele():
    frame = pd.read_parquet(BRCA1 / "data" / "test-00000-of-00001.parquet")
    assert len(frame) == 3893 and frame["func_class"].value_counts().to_dict() == {"FUNC": 2821, "LOF": 823, "INT": 249}
    assert (frame["reference_sequence"].str.len() == 1024).all() and (frame["variant_sequence"].str.len() == 1024).all()
    assert (frame["reference_sequence"].str[512] == frame["reference_allele"]).all()
    assert (frame["variant_sequence"].str[512] == frame["alternate_allele"]).all()
    assert (frame["reference_sequence"].str[:512] == frame["variant_sequence"].str[:512]).all()
    assert (frame["reference_sequence"].str[513:] == frame["variant_sequence"].str[513:]).all()
    assert frame["reference_sequence"].str.fullmatch("[ACGT]+").all()  # upper-cased soft-masked bases
    answers = dict(zip(frame["func_class"], frame["answer"]))
    assert answers == {"LOF": "pathogenic", "FUNC": "benign", "INT": "intermediate"}
    # neighbouring positions overlap consistently: the same genome under every window
    by_position = frame.drop_duplicates("position_hg19").set_index("position_hg19")["reference_sequence"]
    positions = sorted(by_position.index)
    for left, right in zip(positions[:200], positions[1:201]):
        shift = right - left
        if shift < 1024:
            assert by_position[left][shift:] == by_position[right][:1024 - shift]


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
    rows = pd.concat(list(published.values()), ignore_index=True)
    committed = _kegg("leak_free")
    for frame in (rows, rows.sample(frac=1.0, random_state=1).reset_index(drop=True)):
        rebuilt = leak_free_kegg_split(frame)
        for split in committed:
            assert sorted(rebuilt[split]["source_row"]) == sorted(committed[split]["source_row"])


def test_variant_effect_split_keeps_identical_reference_windows_together():
    splits = {s: pd.read_parquet(VEP / "data" / f"{s}-00000-of-00001.parquet") for s in ("train", "val", "test")}
    refs = {s: set(f["reference_sequence"]) for s, f in splits.items()}
    assert not refs["train"] & refs["test"] and not refs["train"] & refs["val"] and not refs["val"] & refs["test"]
    everything = pd.concat(splits.values())
    assert len(everything) == 5571 and set(everything["answer"]) == {"pathogenic", "benign"}
    assert (everything["reference_sequence"].str.len() == 1024).all()
    assert (hash_bucket_split(splits["test"]["reference_sequence"]) == "test").all()


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
