"""Variant-effect scores (model answer slot, zero-shot NT-v2 LLR), resume fingerprints, corrupted logs, bad rows."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import FIXTURES
from modeling_bioreason.evaluation.runner import EvaluationConfig, evaluate
from modeling_bioreason.hub import save_bioreason

ROOT = Path(__file__).parent.parent
CLINVAR = str(ROOT / "hub_cards" / "datasets" / "variant_effect_clinvar")
GOLDEN_NT = FIXTURES / "nt_v2_golden"
CARD = "---\nbioreason_task: variant_effect\n---\n"


def _dataset(folder: Path, rows: list[dict], train: list[dict] | None = None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(CARD)
    pd.DataFrame(rows).to_parquet(folder / "test.parquet")
    pd.DataFrame(train or rows).to_parquet(folder / "train.parquet")
    return str(folder)


def _row(reference, variant, answer, question="Is this variant pathogenic or benign?"):
    return {"question": question, "answer": answer, "reference_sequence": reference, "variant_sequence": variant}


# ------------------------------------------------------------------------------------------- zero-shot DNA baseline
REF = "ATTCCGATTCCGATTCCGGAGTTCGAGAGCAGCGTGATCAACATGGAG"  # 8 six-mers


def _hand_llr(reference: str, variant: str) -> float:
    """The masked-marginal LLR computed by hand: tokenize, mask the differing tokens, one MLM pass."""
    from modeling_bioreason.modeling_nucleotide_transformer import NucleotideTransformerForMaskedLM
    from modeling_bioreason.tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

    tokenizer = NucleotideTransformerTokenizer.from_pretrained(GOLDEN_NT)
    model = NucleotideTransformerForMaskedLM.from_pretrained(GOLDEN_NT).eval()
    ref_ids, var_ids = tokenizer(reference)["input_ids"], tokenizer(variant)["input_ids"]
    positions = [i for i, (a, b) in enumerate(zip(ref_ids, var_ids)) if a != b]
    masked = list(ref_ids)
    for p in positions:
        masked[p] = tokenizer.mask_token_id
    with torch.no_grad():
        log_probs = model(torch.tensor([masked])).logits[0].log_softmax(-1)
    return sum(float(log_probs[p, ref_ids[p]] - log_probs[p, var_ids[p]]) for p in positions)


def test_published_nt_v2_folder_is_a_zero_shot_baseline_matching_a_hand_computation(tmp_path):
    config = json.loads((GOLDEN_NT / "config.json").read_text())
    assert "model_type" not in config and "auto_map" in config  # a published InstaDeep folder, upstream code unused
    snv = REF[:20] + ("A" if REF[20] != "A" else "C") + REF[21:]
    two_tokens = REF[:5] + ("T" if REF[5] != "T" else "G") + REF[6:8] + ("A" if REF[8] != "A" else "C") + REF[9:]
    rows = [_row(REF, snv, "Pathogenic; x"), _row(REF, two_tokens, "Benign"), _row(REF, REF[:10] + REF[11:], "Benign"),
            _row(REF, REF, "Pathogenic"), _row(REF[::-1], REF[::-1][:7] + "N" + REF[::-1][8:], "Benign")]
    dataset = _dataset(tmp_path / "ve", rows)
    report = evaluate(EvaluationConfig(model=str(GOLDEN_NT), dataset=dataset, config="default", split="test",
                                       output_dir=str(tmp_path / "out"), batch_size=2), progress=False)
    saved = {r["index"]: r for r in map(json.loads, (tmp_path / "out" / "predictions.jsonl").read_text().splitlines())}
    assert saved[0]["score"] == pytest.approx(_hand_llr(REF, snv), abs=1e-5)
    assert saved[1]["score"] == pytest.approx(_hand_llr(REF, two_tokens), abs=1e-5)
    assert (saved[2]["score"], saved[2]["skipped"]) == (None, "indel")
    assert (saved[3]["score"], saved[3]["skipped"]) == (None, "no_difference")
    assert (saved[4]["score"], saved[4]["skipped"]) == (None, "token_boundaries_differ")
    assert report["kind"] == "zero_shot_dna"
    assert report["metrics"]["ranking"]["n_scored"] == 2 and report["metrics"]["ranking"]["auroc"] in (0.0, 1.0)
    assert report["skipped"] == {"indel": 1, "no_difference": 1, "token_boundaries_differ": 1}
    text = (tmp_path / "out" / "report.md").read_text()
    assert "auroc" in text and "indel: 1" in text and "How to read this" in text


def test_saved_nt_masked_lm_folder_works_through_the_cli_and_kegg_is_refused(tmp_path):
    from modeling_bioreason.modeling_nucleotide_transformer import NucleotideTransformerForMaskedLM
    from modeling_bioreason.tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

    ours = tmp_path / "ours"
    NucleotideTransformerForMaskedLM.from_pretrained(GOLDEN_NT).save_pretrained(ours)
    NucleotideTransformerTokenizer.from_pretrained(GOLDEN_NT).save_pretrained(ours)
    assert json.loads((ours / "config.json").read_text())["model_type"] == "nucleotide_transformer"
    command = [sys.executable, "-m", "modeling_bioreason.cli", "evaluate", "--model", str(ours), "--dataset", CLINVAR,
               "--split", "test", "--limit", "12", "--output-dir", str(tmp_path / "cli")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert report["task"] == "variant_effect" and report["metrics"]["ranking"]["n_scored"] >= 8
    kegg = [sys.executable, "-m", "modeling_bioreason.cli", "evaluate", "--model", str(ours), "--dataset",
            str(ROOT / "hub_cards" / "datasets" / "kegg"), "--limit", "2", "--output-dir", str(tmp_path / "k")]
    refused = subprocess.run(kegg, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "zero-shot DNA baseline" in refused.stderr


# ------------------------------------------------------------------------------------------- BioReason model scores
@pytest.fixture(scope="module")
def model_dir(tiny, tmp_path_factory):
    return str(save_bioreason(*tiny, tmp_path_factory.mktemp("ve") / "tiny-bioreason"))


def test_model_rows_get_an_answer_slot_score_and_reports_give_auroc(model_dir, tiny, tmp_path):
    config = EvaluationConfig(model=model_dir, dataset=CLINVAR, split="test", output_dir=str(tmp_path / "o"),
                              limit=4, batch_size=2, max_new_tokens=4)
    report = evaluate(config, progress=False)
    saved = [json.loads(line) for line in (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()]
    assert all(isinstance(row["score"], float) for row in saved) and len(saved) == 4
    ranking = report["metrics"]["ranking"]
    assert ranking["n_scored"] == 4 and set(report["metrics"]) == {"strict", "paper_lenient", "ranking"}
    strict = report["metrics"]["strict"]
    assert strict["tp"] + strict["fp"] + strict["tn"] + strict["fn"] + strict["unparseable"] == 4
    assert "auroc" in (tmp_path / "o" / "report.md").read_text()

    # the score is log P(" pathogenic") - log P(" benign") after the model's own text: recompute one by hand
    from modeling_bioreason.tasks.scoring import answer_prefix

    model, processor = tiny
    row = pd.read_parquet(Path(CLINVAR) / "data" / "test-00000-of-00001.parquet").iloc[saved[0]["index"]].to_dict()
    messages = [[{"role": "user", "content": [{"type": "dna", "sequence": row["reference_sequence"]},
                                              {"type": "dna", "sequence": row["variant_sequence"]},
                                              {"type": "text", "text": row["question"]}]}]]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)[0]
    totals = []
    for label in (" pathogenic", " benign"):
        prefix = processor(text=[prompt + answer_prefix(saved[0]["generation"])],
                           dna_sequences=[[row["reference_sequence"], row["variant_sequence"]]], return_tensors="pt")
        label_ids = processor.tokenizer(label, add_special_tokens=False)["input_ids"]
        ids = torch.cat([prefix["input_ids"], torch.tensor([label_ids])], 1)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), dna_input_ids=prefix["dna_input_ids"],
                           dna_attention_mask=prefix["dna_attention_mask"]).logits[0].log_softmax(-1)
        start = prefix["input_ids"].shape[1]
        totals.append(sum(float(logits[start - 1 + t, tok]) for t, tok in enumerate(label_ids)))
    assert saved[0]["score"] == pytest.approx(totals[0] - totals[1], abs=1e-4)


# ------------------------------------------------------------------------------------------- resume you can trust
def test_resume_recomputes_rows_whose_input_changed_and_says_so(tmp_path, caplog):
    rows = [_row(REF, REF[:20] + "A" + REF[21:], "Pathogenic"), _row(REF, REF[:25] + "T" + REF[26:], "Benign"),
            _row(REF, REF[:30] + "G" + REF[31:], "Benign")]
    dataset = _dataset(tmp_path / "ve", rows)
    config = EvaluationConfig(model="lookup", dataset=dataset, config="default", split="test",
                              output_dir=str(tmp_path / "out"))
    evaluate(config, progress=False)
    changed = [dict(rows[0]), rows[1], dict(rows[2], answer="Pathogenic")]
    changed[0]["variant_sequence"] = REF[:21] + "C" + REF[22:]
    _dataset(tmp_path / "ve", changed, train=rows)
    with caplog.at_level("WARNING"):
        report = evaluate(config, progress=False)
    assert report["rows_recomputed_because_input_changed"] == [0, 2]
    assert "rows 0, 2" in caplog.text and "recomputing" in caplog.text
    saved = {}
    for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines():
        saved[json.loads(line)["index"]] = json.loads(line)
    assert saved[2]["answer"] == "Pathogenic"


def test_corrupted_lines_are_reported_by_number_and_never_delete_good_rows(tmp_path, caplog):
    rows = [_row(REF, REF[:20 + i] + "A" + REF[21 + i:], "Benign" if i % 2 else "Pathogenic") for i in range(6)]
    dataset = _dataset(tmp_path / "ve", rows)
    config = EvaluationConfig(model="lookup", dataset=dataset, config="default", split="test",
                              output_dir=str(tmp_path / "out"))
    first = evaluate(config, progress=False)
    log = tmp_path / "out" / "predictions.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:2] + [b"\n", b"garbage {\n", b"\xff\xfe bad utf-8\n"] + lines[2:5]))
    with caplog.at_level("WARNING"):
        again = evaluate(config, progress=False)
    assert again["corrupted_prediction_lines"] == [4, 5]
    assert "line 4" in caplog.text and "line 5" in caplog.text
    assert again["rows_generated_this_run"] == 0  # lookup: nothing generated; row 5 rewritten from the baseline
    text = log.read_bytes()
    assert text.count(b'"index"') == 6 and b"garbage" in text  # the good rows and the evidence are kept
    assert again["metrics"] == first["metrics"]


def test_bad_rows_are_refused_before_any_work_with_the_dataset_row_index(tmp_path):
    rows = [_row(REF, REF[:20] + "A" + REF[21:], "Benign"), _row(REF, REF[:21] + "A" + REF[22:], "Benign"),
            _row(REF, "", "Benign"), _row(REF, REF, None)]
    dataset = _dataset(tmp_path / "ve", rows, train=rows[:2])
    with pytest.raises(ValueError, match=r"row 2: 'variant_sequence' is empty"):
        evaluate(EvaluationConfig(model="lookup", dataset=dataset, config="default", split="test",
                                  output_dir=str(tmp_path / "o")), progress=False)
    _dataset(tmp_path / "ve2", [rows[0], rows[1], rows[3]], train=rows[:2])
    with pytest.raises(ValueError, match=r"row 2: 'answer' is NoneType"):
        evaluate(EvaluationConfig(model="lookup", dataset=str(tmp_path / "ve2"), config="default", split="test",
                                  output_dir=str(tmp_path / "o2")), progress=False)
    assert not (tmp_path / "o2" / "predictions.jsonl").exists()
    with pytest.raises(ValueError, match="Task mismatch"):
        evaluate(EvaluationConfig(model="lookup", dataset=dataset, task="kegg", config="default", split="test",
                                  output_dir=str(tmp_path / "o3")), progress=False)
    kegg = shutil.copytree(ROOT / "hub_cards" / "datasets" / "variant_effect_clinvar", tmp_path / "nocard")
    (Path(kegg) / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n"
                                          "    path: data/test-00000-of-00001.parquet\n  - split: train\n"
                                          "    path: data/train-00000-of-00001.parquet\n---\n")
    with pytest.raises(ValueError, match=r"row 0: .*not one of the 37 KEGG diseases.*Is this a 'kegg_disease'"):
        evaluate(EvaluationConfig(model="lookup", dataset=str(kegg), task="kegg", split="test", limit=3,
                                  output_dir=str(tmp_path / "o4")), progress=False)


def test_dna_only_baseline_score_is_its_classifier_log_odds(tmp_path):
    from modeling_bioreason.configuration_nucleotide_transformer import NucleotideTransformerConfig
    from modeling_bioreason.tokenization_nucleotide_transformer import NucleotideTransformerTokenizer
    from modeling_bioreason.training.baselines import DNAOnlyClassifier, DNAOnlyConfig

    torch.manual_seed(0)
    dna = NucleotideTransformerConfig.from_pretrained(GOLDEN_NT)
    config = DNAOnlyConfig(dna_config=dna, classifier_hidden=16, id2label={0: "benign", 1: "pathogenic"},
                           label2id={"benign": 0, "pathogenic": 1})
    folder = tmp_path / "dna_only"
    DNAOnlyClassifier(config).eval().save_pretrained(folder)
    NucleotideTransformerTokenizer.from_pretrained(GOLDEN_NT).save_pretrained(folder)
    report = evaluate(EvaluationConfig(model=str(folder), dataset=CLINVAR, split="test", limit=6, batch_size=3,
                                       output_dir=str(tmp_path / "out")), progress=False)
    saved = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert report["kind"] == "dna_only" and report["metrics"]["ranking"]["n_scored"] == 6
    for row in saved:  # the argmax label and the sign of the log-odds agree
        assert (row["score"] > 0) == (row["generation"] == "Answer: pathogenic")


def test_llm_only_baseline_rows_get_an_answer_slot_score(tmp_path):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from modeling_bioreason.example import tiny_tokenizer
    from modeling_bioreason.training.baselines import prepare_text_tokenizer

    tokenizer = tiny_tokenizer()
    model = Qwen3ForCausalLM(Qwen3Config(vocab_size=len(tokenizer) + 8, hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                         head_dim=16))
    prepare_text_tokenizer(model, tokenizer)
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    report = evaluate(EvaluationConfig(model=str(tmp_path / "m"), dataset=CLINVAR, split="test", limit=3,
                                       batch_size=3, max_new_tokens=3, trim_per_side=480,
                                       output_dir=str(tmp_path / "o")), progress=False)
    saved = [json.loads(line) for line in (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()]
    assert report["kind"] == "llm_only" and report["metrics"]["ranking"]["n_scored"] == 3
    assert all(isinstance(row["score"], float) for row in saved)


def test_fixed_length_windows_around_indels_are_skipped_as_indels():
    from modeling_bioreason.evaluation.zero_shot import ZeroShotDNAScorer

    scorer = ZeroShotDNAScorer.from_pretrained(GOLDEN_NT)
    shifted = REF[:20] + REF[21:] + "A"  # a 1-bp deletion in a window kept at the same length
    scores, reasons = scorer.score_pairs([(REF, shifted), (REF, REF[:20] + "A" + REF[21:] if REF[20] != "A" else REF)])
    assert reasons[0] == "indel" and scores[0] is None


def test_reports_carry_a_zero_shot_baseline_row_beside_the_model(tmp_path):
    report = evaluate(EvaluationConfig(model="lookup", dataset=CLINVAR, split="test", limit=40,
                                       zero_shot_baseline=str(GOLDEN_NT), output_dir=str(tmp_path / "o")),
                      progress=False)
    zero_shot = report["zero_shot_baseline"]
    assert zero_shot["ranking"]["n_scored"] + sum(zero_shot["skipped"].values()) == 40
    assert zero_shot["ranking"]["auroc"] is not None
    text = (tmp_path / "o" / "report.md").read_text()
    assert "zero-shot DNA baseline" in text and "lookup baseline" in text
