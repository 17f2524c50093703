"""Answer parsing and metrics under both scoring rules, against BioReason's hand-checked goldens."""

import json
from pathlib import Path

import evaluate
import pytest

from conftest import FIXTURES
from modeling_bioreason.evaluation import UNPARSEABLE, extract_answer, kegg_metrics, map_to_label, variant_effect_metrics
from modeling_bioreason.evaluation.answers import OTHER, paper_clean_gold, paper_kegg_answer
from modeling_bioreason.evaluation.baseline import lookup_answers

GOLDEN = json.loads((FIXTURES / "bioreason" / "reward_and_metric_golden.json").read_text())
METRICS = Path(__file__).parent.parent / "hub_cards" / "metrics"


@pytest.mark.parametrize("case", GOLDEN["kegg_parse_cases"], ids=lambda c: c["id"])
def test_paper_lenient_kegg_parse_matches_bioreason(case):
    predicted = paper_kegg_answer(case["generated_text"])
    assert predicted == case["expected_predicted_answer"]
    assert paper_clean_gold(case["gold_answer"]) == case["expected_ground_truth_cleaned"]
    assert (case["expected_ground_truth_cleaned"] in predicted) == case["expected_is_correct"]


STRICT_CASES = {  # our rule on the same texts: answer span outside <think>, mapped to the label set
    "clean": "parkinson's disease",
    "think_mentions_gold_answer_wrong": "alzheimer's disease",
    "multiple_answer_lines_last_wins": "colorectal cancer",
    "no_answer_marker": UNPARSEABLE,
    "casing_punctuation_parenthetical": "amyotrophic lateral sclerosis",
    "lowercase_marker_not_detected": "melanoma",  # ours reads the marker in any case; BioReason's rule does not
    "gold_is_substring_of_prediction": "clear cell renal cell carcinoma",
    "negated_answer_still_contains_gold": UNPARSEABLE,
    "hyphen_not_normalised": "creutzfeldt-jakob disease",
    "unicode_apostrophe_not_stripped": "alzheimer's disease",
    "more_specific_subtype": "spinocerebellar ataxia",
    "empty_generation": UNPARSEABLE,
    "answer_inside_think_only_unterminated": UNPARSEABLE,
}


def test_strict_rule_on_the_golden_texts():
    labels = sorted({c["gold_answer"] for c in GOLDEN["kegg_parse_cases"]} | {
        "alzheimer's disease", "colorectal cancer", "clear cell renal cell carcinoma", "creutzfeldt-jakob disease"})
    cases = {c["id"]: c for c in GOLDEN["kegg_parse_cases"]}
    for case_id, expected in STRICT_CASES.items():
        assert map_to_label(extract_answer(cases[case_id]["generated_text"]), labels) == expected, case_id


def test_kegg_set10_macro_metrics_both_rules():
    items = GOLDEN["kegg_set10"]["items"]
    expected = GOLDEN["kegg_set10"]["expected"]
    result = kegg_metrics([i["generated_text"] for i in items], [i["gold_answer"] for i in items])
    lenient = result["paper_lenient"]
    assert result["paper_lenient_predictions"] == expected["predicted_disease"]
    assert lenient["accuracy"] == pytest.approx(expected["overall_accuracy"])
    for ours, theirs in (("macro_precision", "precision"), ("macro_recall", "recall"), ("macro_f1", "f1")):
        assert lenient[ours] == pytest.approx(expected["sklearn_macro_labels_gold"][theirs])
    assert lenient["macro_f1"] != pytest.approx(expected["sklearn_macro_all_labels_incl_no"]["f1"])
    per_class = {row["label"]: row for row in lenient["per_class"]}
    for row in expected["per_class"]:
        assert per_class[row["disease"]]["f1"] == pytest.approx(row["f1"])
    strict = result["strict"]
    # with the task's 37 labels a well-formed wrong disease is that disease (a wrong answer), not unparseable;
    # "Final Answer: ALS" names no label of the set: `other`; no `Answer:` at all: unparseable
    assert strict["accuracy"] == pytest.approx(0.4) and strict["unparseable"] == 1 and strict["other"] == 1
    assert result["strict_predictions"][8] == "renal cell carcinoma"
    assert strict["confusion_matrix"]["columns"][-2:] == [OTHER, UNPARSEABLE]
    assert sum(map(sum, strict["confusion_matrix"]["counts"])) == len(items)


def test_vep_both_rules_match_bioreason():
    cases = GOLDEN["vep_cases"]
    result = variant_effect_metrics([c["generated_text"] for c in cases], [c["gold_answer"] for c in cases])
    aggregate = GOLDEN["vep_aggregate_over_vep_cases_main_rule"]
    lenient = result["paper_lenient"]
    assert (lenient["tp"], lenient["fp"], lenient["tn"], lenient["fn"]) == (
        aggregate["TP"], aggregate["FP"], aggregate["TN"], aggregate["FN"])
    for key in ("accuracy", "precision", "recall", "f1"):
        assert lenient[key] == pytest.approx(aggregate[key])
    for case in cases:  # the answer-span variant: KEGG's parse with the VEP gold label
        gold = case["gold_answer"].split(";")[0].strip().lower()
        span = paper_kegg_answer(case["generated_text"])
        assert span == case["answer_span_rule"]["predicted_answer"]
        assert (gold in span) == case["answer_span_rule"]["is_correct"]
    strict = dict(zip([c["id"] for c in cases], result["strict_predictions"]))
    assert strict["benign_inside_likely_benign"] == "benign"
    assert strict["both_words_present_gold_benign"] == UNPARSEABLE
    assert strict["think_mentions_gold_answer_wrong"] == "pathogenic"


def test_bad_inputs_give_clear_errors_or_count_as_unparseable():
    with pytest.raises(ValueError, match="not in the label set"):
        kegg_metrics(["Answer: melanoma"], ["not a disease"], labels=["melanoma"])
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        kegg_metrics(["a", "b"], ["melanoma"])
    with pytest.raises(TypeError, match=r"predictions\[0\] is NoneType"):
        kegg_metrics([None], ["melanoma"])
    with pytest.raises(ValueError, match="Unknown variant-effect label"):
        variant_effect_metrics(["Answer: benign"], ["uncertain significance"])
    result = kegg_metrics(["", "Answer:"], ["melanoma", "melanoma"])
    assert result["strict"]["unparseable"] == 2 and result["strict"]["accuracy"] == 0.0


@pytest.mark.parametrize("name", ["kegg_disease", "variant_effect"])
def test_evaluate_modules_load_offline_and_match_the_library(name):
    metric = evaluate.load(str(METRICS / name))
    if name == "kegg_disease":
        items = GOLDEN["kegg_set10"]["items"]
        out = metric.compute(predictions=[i["generated_text"] for i in items], references=[i["gold_answer"] for i in items])
        assert out["paper_lenient_macro_f1"] == pytest.approx(0.4523809523809523)
        assert out["accuracy"] == pytest.approx(0.4)
    else:
        cases = GOLDEN["vep_cases"]
        out = metric.compute(predictions=[c["generated_text"] for c in cases], references=[c["gold_answer"] for c in cases])
        assert out["paper_lenient_f1"] == pytest.approx(GOLDEN["vep_aggregate_over_vep_cases_main_rule"]["f1"])
    assert (METRICS / name / "README.md").read_text().startswith("---")


def test_lookup_baseline_exact_then_nearest():
    answers, how = lookup_answers(
        ["pathway A with TP53", "pathway A with TP53", "pathway B with APOE"], ["cancer", "cancer", "alzheimer"],
        ["pathway A with TP53", "APOE in pathway B?"])
    assert answers == ["cancer", "alzheimer"] and how == ["exact", "nearest"]
    with pytest.raises(ValueError, match="non-empty training split"):
        lookup_answers([], [], ["q"])


# ----------------------------------------------------------------------------------- the bugs of issue 12, by hand
VEP_NEGATIONS = {  # answer -> strict prediction (never the opposite of what the text says)
    "Not pathogenic": "benign", "non-pathogenic": "benign", "Nonpathogenic.": "benign", "not benign": "pathogenic",
    "Benign, not pathogenic": "benign", "Pathogenic (not benign)": "pathogenic", "likely benign": "benign",
    "benign or pathogenic": UNPARSEABLE, "uncertain significance": UNPARSEABLE, "Either benign or pathogenic": UNPARSEABLE,
    "cannot tell if pathogenic": UNPARSEABLE, "No, it is benign": "benign", "It is not likely pathogenic": "benign",
    "damaging": UNPARSEABLE, "": UNPARSEABLE,
}


@pytest.mark.parametrize("answer", VEP_NEGATIONS)
def test_vep_negations_and_hedges_map_right_or_to_unparseable(answer):
    from modeling_bioreason.tasks import get_task

    assert get_task("variant_effect").parse(f"<think>\nx\n</think>\n\nAnswer: {answer}") == VEP_NEGATIONS[answer]


def test_unparseable_is_never_a_true_negative_and_counts_sum_to_n():
    metric = evaluate.load(str(METRICS / "variant_effect"))
    out = metric.compute(predictions=["...Answer: benign or pathogenic", "...Answer: benign"],
                         references=["benign", "benign"])
    assert out["accuracy"] == 0.5 and out["tn"] == 1 and out["unparseable"] == 1
    result = variant_effect_metrics(["Answer: Not pathogenic", "Answer: non-pathogenic", "Answer: pathogenic",
                                     "no answer", "Answer: benign"],
                                    ["Pathogenic; x", "Benign", "Benign", "Pathogenic", "Pathogenic"])
    strict = result["strict"]
    assert (strict["tp"], strict["fp"], strict["tn"], strict["fn"], strict["unparseable"]) == (0, 1, 1, 2, 1)
    assert strict["tp"] + strict["fp"] + strict["tn"] + strict["fn"] + strict["unparseable"] == result["n"] == 5
    assert strict["recall"] == 0.0 and strict["accuracy"] == pytest.approx(0.2)


def test_variant_effect_scores_accumulate_batch_by_batch_with_add_batch():
    """`evaluate`'s streaming door: scores are an input like predictions (a batch without them has none)."""
    metric = evaluate.load(str(METRICS / "variant_effect"))
    rows = [("Answer: benign", "Benign", -1.0), ("Answer: pathogenic", "Pathogenic; x", 2.0),
            ("Answer: benign", "Pathogenic", 0.5), ("Answer: pathogenic", "Benign", 1.0)]
    for start in (0, 2):
        batch = rows[start:start + 2]
        metric.add_batch(predictions=[r[0] for r in batch], references=[r[1] for r in batch],
                         scores=[r[2] for r in batch])
    streamed = metric.compute()
    at_once = variant_effect_metrics(*map(list, zip(*rows)))
    assert streamed["auroc"] == pytest.approx(at_once["ranking"]["auroc"]) and streamed["n_scored"] == 4
    assert streamed["f1"] == pytest.approx(at_once["strict"]["f1"])
    metric.add_batch(predictions=["Answer: benign"], references=["Benign"])  # no scores: predictions alone
    metric.add_batch(predictions=["Answer: pathogenic"], references=["Pathogenic"], scores=[3.0])
    mixed = metric.compute()
    assert mixed["n"] == 2 and mixed["n_scored"] == 1 and mixed["auroc"] is None
    assert "auroc" not in metric.compute(predictions=["Answer: benign"], references=["Benign"])


@pytest.mark.parametrize("marker", ["Answer:", "ANSWER:", "answer:", "AnSwEr:"])
def test_the_answer_marker_is_read_in_any_case_by_both_task_parsers(marker):
    from modeling_bioreason.tasks import get_task
    from modeling_bioreason.tasks.scoring import answer_prefix, format_ok

    text = f"<think>\nStep 1\n</think>\n\n{marker} "
    assert get_task("kegg_disease").parse(text + "Parkinson's disease") == "parkinson's disease"
    assert get_task("variant_effect").parse(text + "Likely benign") == "benign"
    assert answer_prefix(text + "benign") == text.rstrip() and format_ok(text + "benign")
    assert paper_kegg_answer(text + "melanoma") == ("melanoma" if marker == "Answer:" else "")  # BioReason's, exact
    out = evaluate.load(str(METRICS / "kegg_disease")).compute(predictions=[text + "melanoma"], references=["melanoma"])
    assert out["accuracy"] == 1.0 and out["unparseable"] == 0


def test_well_formed_wrong_kegg_disease_is_wrong_not_unparseable():
    out = evaluate.load(str(METRICS / "kegg_disease")).compute(
        predictions=["Answer: prion disease", "Answer: gout", "Answer: melanoma or prion disease"],
        references=["melanoma", "melanoma", "melanoma"])
    assert (out["accuracy"], out["unparseable"], out["other"]) == (0.0, 1, 1)
    assert out["strict_details"]["confusion_matrix"]["columns"] == ["melanoma", OTHER, "prion disease", UNPARSEABLE]


def test_auroc_and_auprc_match_scikit_learn_with_ties_and_missing_scores():
    from sklearn.metrics import average_precision_score, roc_auc_score

    gold = ["pathogenic", "benign", "benign", "pathogenic", "benign", "pathogenic", "benign", "Intermediate"]
    scores = [0.9, 0.1, 0.9, 0.4, 0.4, None, -2.0, 5.0]
    result = variant_effect_metrics(["Answer: benign"] * len(gold), gold, scores)
    assert result["excluded"] == 1 and result["n"] == 7
    ranking = result["ranking"]
    y = [1, 0, 0, 1, 0, 0]
    s = [0.9, 0.1, 0.9, 0.4, 0.4, -2.0]
    assert ranking["n_scored"] == 6 and ranking["auroc"] == pytest.approx(roc_auc_score(y, s))
    assert ranking["auprc"] == pytest.approx(average_precision_score(y, s))
    assert variant_effect_metrics(["x"], ["benign"], [0.3])["ranking"]["auroc"] is None  # one class: undefined


def test_kegg_label_set_has_one_source():
    from modeling_bioreason.tasks import get_task
    from modeling_bioreason.tasks.kegg import LABEL_MAP, kegg_labels

    dataset_copy = Path(__file__).parent.parent / "hub_cards" / "datasets" / "kegg" / "kegg_disease_label_map.json"
    assert LABEL_MAP.read_bytes() == dataset_copy.read_bytes()
    assert len(get_task("kegg").labels) == 37 and get_task("kegg").labels == kegg_labels()
    namespace = {}
    source = (METRICS / "kegg_disease" / "kegg_disease.py").read_text()
    start = source.index("KEGG_DISEASES = [")
    exec(source[start:source.index("]", start) + 1], namespace)  # noqa: S102 - our own literal list
    assert tuple(namespace["KEGG_DISEASES"]) == kegg_labels()


def test_metric_modules_carry_the_library_scoring_byte_for_byte():
    library = (Path(__file__).parent.parent / "modeling_bioreason" / "tasks" / "scoring.py").read_bytes()
    for name in ("kegg_disease", "variant_effect"):
        assert (METRICS / name / "bioreason_scoring.py").read_bytes() == library, (
            f"{name}/bioreason_scoring.py is stale: run modeling_bioreason.tasks.sync_metric_modules()")
        requirements = (METRICS / name / "requirements.txt").read_text()
        assert "bioreason" not in requirements.lower()
        for source in (METRICS / name).glob("*.py"):
            assert "modeling_bioreason" not in "".join(
                line for line in source.read_text().splitlines(True) if line.startswith(("import", "from")))


ISOLATED = r'''
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("modeling_bioreason", "bioreason_hub_cards"):
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
import evaluate
args = json.loads(sys.argv[2])
print(json.dumps(evaluate.load(sys.argv[1]).compute(**args)))
'''


@pytest.mark.parametrize("name", ["kegg_disease", "variant_effect"])
def test_metric_modules_run_where_the_package_cannot_be_imported(name, tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    folder = shutil.copytree(METRICS / name, tmp_path / name)  # a folder outside the repo, as downloaded
    if name == "kegg_disease":
        items = GOLDEN["kegg_set10"]["items"]
        args = {"predictions": [i["generated_text"] for i in items], "references": [i["gold_answer"] for i in items]}
        library = kegg_metrics(**args)
        expected = {"accuracy": library["strict"]["accuracy"], "macro_f1": library["strict"]["macro_f1"],
                    "paper_lenient_macro_f1": library["paper_lenient"]["macro_f1"]}
    else:
        cases = GOLDEN["vep_cases"]
        args = {"predictions": [c["generated_text"] for c in cases], "references": [c["gold_answer"] for c in cases],
                "scores": [float(i % 3) for i in range(len(cases))]}
        library = variant_effect_metrics(**args)
        expected = {"f1": library["strict"]["f1"], "tn": library["strict"]["tn"],
                    "paper_lenient_f1": library["paper_lenient"]["f1"], "auroc": library["ranking"]["auroc"]}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", ISOLATED, str(folder), json.dumps(args)], cwd=tmp_path,
                               capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    for key, value in expected.items():
        assert out[key] == pytest.approx(value), key


@pytest.mark.parametrize("text", [
    "<think>\nStep 1\n</think>\n\nAnswer: melanoma", "<think>\ncut off by max_new_tokens", "Answer: benign",
    "", "</think>Answer: x", "<think>a</think>b</think>c", "<think><think>nested</think>Answer: y",
])
def test_the_two_sealed_copies_of_split_reasoning_agree(text):
    """The processor (a Hub file) and tasks/scoring.py (copied into the metric modules) each carry the thinking/answer
    split, since neither may import the other; they must stay one rule."""
    from modeling_bioreason.processing_bioreason import split_reasoning as in_processor
    from modeling_bioreason.tasks.scoring import split_reasoning as in_scoring

    assert in_processor(text) == in_scoring(text)
