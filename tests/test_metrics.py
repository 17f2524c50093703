"""Answer parsing and metrics under both scoring rules, against BioReason's hand-checked goldens."""

import json
from pathlib import Path

import evaluate
import pytest

from conftest import FIXTURES
from modeling_bioreason.evaluation import UNPARSEABLE, extract_answer, kegg_metrics, map_to_label, variant_effect_metrics
from modeling_bioreason.evaluation.answers import paper_clean_gold, paper_kegg_answer
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
    "lowercase_marker_not_detected": UNPARSEABLE,
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
    assert strict["accuracy"] == pytest.approx(0.4) and strict["unparseable"] == 2
    assert strict["confusion_matrix"]["columns"][-1] == UNPARSEABLE


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
