"""GRPO rewards with TRL's reward-function signature: `f(completions, answer, **kwargs) -> list[float]`.

Each receives the dataset's `answer` column (one gold answer per completion) and parses completions with the same
parser as the evaluation metrics. BioReason's original correctness reward zipped the completions with the characters
of the first answer (`zip(extracted, answer[0])`), so it carried no signal; its format regexes lacked DOTALL, so a
multi-line thinking block never matched.

>>> completions = [[{"role": "assistant", "content": "<think>\\nx\\n</think>\\n\\nAnswer: melanoma"}],
...                [{"role": "assistant", "content": "<think>\\nx\\n</think>\\n\\nAnswer: prion disease"}]]
>>> correctness_reward(completions, answer=["melanoma", "melanoma"])
[1.0, 0.0]
>>> format_reward(completions, answer=["melanoma", "melanoma"])
[1.0, 1.0]
"""

from __future__ import annotations

import re

from ..data.tasks import VEP_ANSWERS
from ..evaluation.answers import extract_answer, map_to_label, normalize_answer

# A thinking block (any content, across lines), then a final answer line; DOTALL so "." crosses newlines.
FORMAT_PATTERN = re.compile(r"^\s*<think>.*?</think>\s*.*?Answer:\s*\S.*$", re.DOTALL)


def completion_text(completion) -> str:
    """The text of one completion, conversational (`[{"role": "assistant", "content": ...}]`) or plain."""
    if isinstance(completion, list):
        return "".join(message.get("content") or "" for message in completion if isinstance(message, dict))
    return completion


def _gold_label(answer: str) -> str:
    label = answer.split(";")[0].strip().lower()
    return label if label in VEP_ANSWERS else answer.strip().lower()


def correctness_reward(completions, answer, labels=None, **kwargs) -> list[float]:
    """
    1.0 when the answer span maps to the gold label (the strict evaluation rule), else 0.0. `labels` is the closed
    label set (KEGG: the 37 diseases); without it, the gold label alone (or pathogenic/benign) is the set.
    """
    if len(answer) != len(completions):
        raise ValueError(f"{len(completions)} completions but {len(answer)} answers.")
    rewards = []
    for completion, gold in zip(completions, answer):
        gold_label = _gold_label(gold)
        label_set = list(VEP_ANSWERS) if gold_label in VEP_ANSWERS else (labels or [gold_label])
        predicted = map_to_label(extract_answer(completion_text(completion)), label_set)
        rewards.append(float(normalize_answer(predicted) == normalize_answer(gold_label)))
    return rewards


def format_reward(completions, **kwargs) -> list[float]:
    """1.0 for a closed thinking block followed by an `Answer:` line, else 0.0."""
    return [float(bool(FORMAT_PATTERN.match(completion_text(c)))) for c in completions]


def concise_answer_reward(completions, max_words: int = 10, **kwargs) -> list[float]:
    """1.0 when the answer span exists and has at most `max_words` words (BioReason's concise reward), else 0.0."""
    rewards = []
    for completion in completions:
        span = extract_answer(completion_text(completion))
        rewards.append(float(span is not None and 0 < len(span.split()) <= max_words))
    return rewards


REWARD_FUNCTIONS = {
    "correctness": correctness_reward,
    "format": format_reward,
    "concise": concise_answer_reward,
}
