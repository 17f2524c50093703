"""The task object: everything evaluation, reports, GRPO and baselines need to know about one benchmark task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import scoring

REQUIRED_COLUMNS = ("question", "answer", "reference_sequence", "variant_sequence")


def completion_text(completion) -> str:
    """The text of one completion, conversational (`[{"role": "assistant", "content": ...}]`) or plain."""
    if isinstance(completion, list):
        return "".join(message.get("content") or "" for message in completion if isinstance(message, dict))
    return completion


class Task:
    """
    One benchmark task: prompt/messages, label set, gold-label rule, answer parser, metrics (strict and
    paper-lenient), GRPO rewards and report columns. Subclasses set `name`, `labels` and the rules.

    Example:

    >>> from modeling_bioreason.tasks import get_task
    >>> task = get_task("variant_effect")
    >>> task.parse("<think>\\n...\\n</think>\\n\\nAnswer: Not pathogenic")
    'benign'
    >>> task.gold_label("Pathogenic; Cystic fibrosis")
    'pathogenic'
    """

    name: str = ""
    description: str = ""
    labels: tuple = ()
    required_columns: tuple = REQUIRED_COLUMNS
    report_columns: tuple = ()
    has_score: bool = False  # whether the task ranks rows by a per-row score (AUROC/AUPRC)

    # -------------------------------------------------------------------------------------------- prompt
    def messages(self, row: Mapping, with_answer: bool = False, trim_per_side: int = 0,
                 reasoning_lines: int | None = None, dna_as_text: bool = False) -> list[dict]:
        """Chat messages for one row: the user turn (reference DNA, variant DNA, question), optionally the target."""
        from ..data.tasks import row_to_messages

        return row_to_messages(row, with_answer=with_answer, trim_per_side=trim_per_side,
                               reasoning_lines=reasoning_lines, dna_as_text=dna_as_text)

    # -------------------------------------------------------------------------------------------- labels
    def gold_label(self, answer: str):
        raise NotImplementedError

    def paper_lenient_gold(self, answer: str):
        """What a row's `paper_lenient_predictions` entry equals when the row is right under that rule (per-row
        correctness, e.g. for paired tests); the strict gold label unless the rule cleans the answer otherwise."""
        return self.gold_label(answer)

    def parse(self, generation: str) -> str:
        """The strict prediction of a generated text: a label, `unparseable` (or `other` for KEGG)."""
        raise NotImplementedError

    # -------------------------------------------------------------------------------------------- checks
    def check_rows(self, rows: Sequence[Mapping], where: str = "dataset", offset: int = 0, trim_per_side: int = 0,
                   iupac_ok: bool = False) -> None:
        """
        Check every row before any work starts: required columns present, strings, non-empty sequences of bases
        (checked whole, before `trim_per_side` cuts the flanks; IUPAC codes only with `iupac_ok`), a gold answer this
        task knows. Errors name the dataset row index (`offset` + position).
        """
        from ..data.windows import sequence_problem

        if not rows:
            raise ValueError(f"The {where} is empty: nothing to evaluate.")
        missing = [c for c in self.required_columns if c not in rows[0]]
        if missing:
            raise ValueError(f"The {where} lacks column(s) {missing} that the {self.name!r} task needs; it has "
                             f"{sorted(rows[0])}.")
        for position, row in enumerate(rows):
            index = offset + position
            for column in self.required_columns:
                value = row.get(column)
                if not isinstance(value, str):
                    raise ValueError(f"The {where}, row {index}: {column!r} is {type(value).__name__} "
                                     f"({value!r:.40}), expected a non-empty string.")
                if not value.strip():
                    raise ValueError(f"The {where}, row {index}: {column!r} is empty.")
                if column.endswith("_sequence") and (problem := sequence_problem(value, trim_per_side, iupac_ok)):
                    raise ValueError(f"The {where}, row {index}: {column!r} {problem}.")
            try:
                self.gold_label(row["answer"])
            except (ValueError, TypeError) as error:
                raise ValueError(f"The {where}, row {index}: {error} Is this a {self.name!r} dataset? Declare the "
                                 "task with --task or in the dataset card.") from None

    # -------------------------------------------------------------------------------------------- metrics
    def metrics(self, predictions: Sequence[str], references: Sequence[str], scores=None) -> dict:
        raise NotImplementedError

    def headline(self, metrics: dict) -> dict:
        """The report columns of one rule's metrics."""
        return {k: metrics[k] for k in self.report_columns if k in metrics}

    # -------------------------------------------------------------------------------------------- rewards
    def correctness_reward(self, completions, answer, **kwargs) -> list[float]:
        """1.0 when the strict parse of a completion is the gold label, else 0.0 (TRL reward signature)."""
        if len(answer) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(answer)} answers.")
        return [float(self.parse(completion_text(c)) == self.gold_label(g)) for c, g in zip(completions, answer)]

    @staticmethod
    def format_reward(completions, **kwargs) -> list[float]:
        """1.0 for a closed thinking block followed by an `Answer:` with text, else 0.0 (linear-time scan)."""
        return [float(scoring.format_ok(completion_text(c))) for c in completions]

    @staticmethod
    def concise_answer_reward(completions, max_words: int = 10, **kwargs) -> list[float]:
        """1.0 when the answer span exists and has at most `max_words` words (BioReason's concise reward)."""
        rewards = []
        for completion in completions:
            span = scoring.extract_answer(completion_text(completion))
            rewards.append(float(span is not None and 0 < len(span.split()) <= max_words))
        return rewards

    def rewards(self) -> dict:
        """The named GRPO rewards of this task, `f(completions, answer, **kwargs) -> list[float]`."""
        def correctness(completions, answer, **kwargs):
            return self.correctness_reward(completions, answer, **kwargs)

        def format(completions, **kwargs):  # noqa: A001 - the reward's recipe name
            return self.format_reward(completions, **kwargs)

        def concise(completions, **kwargs):
            return self.concise_answer_reward(completions, **kwargs)

        return {"correctness": correctness, "format": format, "concise": concise}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, labels={len(self.labels)})"
