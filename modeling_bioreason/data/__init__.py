"""Data: DNA windows, task rows to chat messages, collation."""

from .windows import trim_flanks

__all__ = ["trim_flanks"]
