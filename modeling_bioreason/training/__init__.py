"""Training: recipes, TRL trainers (SFT with `BioReasonDataCollator`, GRPO with `DNAGRPOTrainer`), the baselines."""

from .collator import BioReasonDataCollator, task_row_to_conversation

__all__ = ["BioReasonDataCollator", "task_row_to_conversation"]
