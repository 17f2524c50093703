"""GRPO rewards with TRL's reward-function signature: `f(completions, answer, **kwargs) -> list[float]`.

The rewards belong to the task objects (`modeling_bioreason.tasks`): `get_task(name).rewards()` returns them bound
to the task's label set and parser (the same parser as the evaluation metrics). The module-level functions below
keep the recipe names working. BioReason's original correctness reward zipped the completions with the characters
of the first answer (`zip(extracted, answer[0])`), so it carried no signal; its format regexes lacked DOTALL, so a
multi-line thinking block never matched; ours is a linear-time scan.

>>> completions = [[{"role": "assistant", "content": "<think>\\nx\\n</think>\\n\\nAnswer: melanoma"}],
...                [{"role": "assistant", "content": "<think>\\nx\\n</think>\\n\\nAnswer: prion disease"}]]
>>> correctness_reward(completions, answer=["melanoma", "melanoma"], task="kegg_disease")
[1.0, 0.0]
>>> format_reward(completions, answer=["melanoma", "melanoma"])
[1.0, 1.0]
"""

from __future__ import annotations

from ..tasks import KeggDiseaseTask, Task, completion_text, get_task
from ..tasks.scoring import VARIANT_EFFECT_LABELS

__all__ = ["REWARD_FUNCTIONS", "completion_text", "concise_answer_reward", "correctness_reward", "format_reward"]


def _kegg_with(labels) -> Task:
    kegg = KeggDiseaseTask()
    kegg.labels = tuple(sorted({label.strip().lower() for label in labels} | set(kegg.labels)))
    return kegg


def correctness_reward(completions, answer, labels=None, task=None, **kwargs) -> list[float]:
    """
    1.0 when the strict parse of a completion is its gold label (the task's rule), else 0.0. The task is declared:
    `task=` (a name or Task; what `get_task(name).rewards()` binds), or `labels=` (a closed label set: the variant
    effect labels, or KEGG diseases added to the shipped set). It is never guessed from the answers.
    """
    if task is not None:
        return get_task(task).correctness_reward(completions, answer)
    if labels is not None:
        chosen = get_task("variant_effect") if set(labels) == set(VARIANT_EFFECT_LABELS) else _kegg_with(labels)
        return chosen.correctness_reward(completions, answer)
    raise ValueError("correctness_reward needs its task: pass task='kegg_disease' or task='variant_effect' (or use "
                     "get_task(name).rewards()['correctness']).")


format_reward = Task.format_reward
concise_answer_reward = Task.concise_answer_reward

REWARD_FUNCTIONS = {
    "correctness": correctness_reward,
    "format": format_reward,
    "concise": concise_answer_reward,
}
