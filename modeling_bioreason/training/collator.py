"""Batches of task rows -> model inputs with labels (the assistant turn and its `<|im_end|>`), right-padded."""

from __future__ import annotations

from ..data.tasks import row_to_messages


class BioReasonSFTCollator:
    """
    Collate raw task rows (`question`, `answer`, `reasoning`, `reference_sequence`, `variant_sequence`) for SFT.

    The processor renders each row with the chat template and derives `labels` from the template's generation
    blocks in one vectorised pass; prompt and padding tokens are -100.

    >>> collator = BioReasonSFTCollator(processor)  # doctest: +SKIP
    >>> batch = collator(rows[:4])  # doctest: +SKIP
    >>> sorted(batch)  # doctest: +SKIP
    ['attention_mask', 'dna_attention_mask', 'dna_input_ids', 'input_ids', 'labels']
    """

    def __init__(self, processor, trim_per_side: int = 0, max_length: int | None = None,
                 reasoning_lines: int | None = None):
        self.processor = processor
        self.trim_per_side = trim_per_side
        self.max_length = max_length
        self.reasoning_lines = reasoning_lines

    def __call__(self, rows: list[dict]) -> dict:
        conversations = [row_to_messages(row, with_answer=True, trim_per_side=self.trim_per_side,
                                         reasoning_lines=self.reasoning_lines) for row in rows]
        kwargs = {"truncation": True, "max_length": self.max_length} if self.max_length else {}
        batch = self.processor.apply_chat_template(
            conversations, tokenize=True, return_dict=True, return_tensors="pt", return_assistant_tokens_mask=True,
            processor_kwargs=kwargs,
        )
        batch.pop("assistant_masks")
        return dict(batch)
