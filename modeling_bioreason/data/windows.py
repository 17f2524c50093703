"""DNA window helpers."""

from __future__ import annotations


def trim_flanks(sequence: str, per_side: int = 1024) -> str:
    """
    Drop `per_side` bases from each end of a window, keeping the variant-centred middle (BioReason's
    `truncate_dna`: applied only when the window is longer than `2 * per_side + 8`).

    >>> len(trim_flanks("A" * 4001))
    1953
    >>> trim_flanks("ACGT", per_side=1024)
    'ACGT'
    """
    if per_side < 0:
        raise ValueError(f"per_side must be >= 0, got {per_side}.")
    if per_side == 0 or len(sequence) <= 2 * per_side + 8:
        return sequence
    return sequence[per_side:-per_side]
