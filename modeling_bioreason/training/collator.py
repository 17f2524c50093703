"""Conversational rows -> model inputs with labels: the data collator for `trl.SFTTrainer` (TRL's VLM recipe).

TRL tokenizes text itself and would drop the DNA; with `dataset_kwargs={"skip_prepare_dataset": True}` and
`remove_unused_columns=False` it hands the raw rows to this collator, which renders them with the processor (DNA
included) and supervises the assistant turns only.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..data.tasks import row_to_messages


def task_row_to_conversation(row: Mapping, trim_per_side: int = 0, reasoning_lines: int | None = None) -> dict:
    """
    A task row (`question`, `answer`, `reasoning`, `reference_sequence`, `variant_sequence`) as a conversational row
    (`messages`), every turn's content a list of blocks (the layout `datasets` stores for TRL's VLM format).
    """
    user, assistant = row_to_messages(row, with_answer=True, trim_per_side=trim_per_side,
                                      reasoning_lines=reasoning_lines)
    assistant = {**assistant, "content": [{"type": "text", "text": assistant["content"]}]}
    return {"messages": [user, assistant]}


class BioReasonDataCollator:
    """
    Collate conversational rows for SFT: each row's `messages` column holds chat turns whose user content has
    `{"type": "dna", "sequence": ...}` blocks next to `{"type": "text", ...}` blocks (TRL's vision-language format,
    with DNA for images). The processor renders them, tokenizes the DNA, and labels the assistant turns (reasoning,
    answer and the closing `<|im_end|>`); prompt and padding tokens are -100.

    Use it with TRL exactly as TRL's VLM recipe does:

    ```python
    >>> from trl import SFTConfig, SFTTrainer
    >>> trainer = SFTTrainer(
    ...     model, processing_class=processor, train_dataset=dataset,  # a `messages` column
    ...     data_collator=BioReasonDataCollator(processor),
    ...     args=SFTConfig(output_dir="runs/sft", remove_unused_columns=False,
    ...                    dataset_kwargs={"skip_prepare_dataset": True}),
    ... )  # doctest: +SKIP
    >>> trainer.train()  # doctest: +SKIP
    ```

    `max_length` truncates the text tokens (DNA placeholders are never cut: too short a limit is an error).
    """

    def __init__(self, processor, max_length: int | None = None):
        self.processor = processor
        self.max_length = max_length

    def __call__(self, rows: list[Mapping]) -> dict:
        if any("messages" not in row for row in rows):
            raise ValueError(
                f"BioReasonDataCollator needs a `messages` column (chat turns with DNA blocks); got columns "
                f"{sorted(rows[0])}. Convert task rows with `dataset.map(task_row_to_conversation)` and keep the "
                "column: SFTConfig(remove_unused_columns=False, dataset_kwargs={'skip_prepare_dataset': True})."
            )
        conversations = [[_drop_nulls(message) for message in row["messages"]] for row in rows]
        kwargs = {"truncation": True, "max_length": self.max_length} if self.max_length else {}
        batch = self.processor.apply_chat_template(
            conversations, tokenize=True, return_dict=True, return_tensors="pt", return_assistant_tokens_mask=True,
            processor_kwargs=kwargs,
        )
        batch.pop("assistant_masks")
        return dict(batch)


def _drop_nulls(message: Mapping) -> dict:
    """`datasets` stores turns as structs: absent keys come back as None (e.g. a text block's `sequence`)."""
    message = {key: value for key, value in message.items() if value is not None}
    if isinstance(message.get("content"), list):
        message["content"] = [{k: v for k, v in block.items() if v is not None} for block in message["content"]]
    return message
