"""DNA window helpers."""

from __future__ import annotations

import re

from ..processing_bioreason import IUPAC_AMBIGUITY_CODES

_NOT_A_BASE = re.compile(r"[^ACGTNacgtn]")
_NOT_A_CODE = re.compile(f"[^ACGTN{IUPAC_AMBIGUITY_CODES}acgtn{IUPAC_AMBIGUITY_CODES.lower()}]")


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


def sequence_problem(sequence: str, trim_per_side: int = 0, iupac_ok: bool = False) -> str | None:
    """
    What is wrong with a dataset's DNA window, checked on the whole window before any flank is trimmed (a line
    break or header in a trimmed flank would shift the kept middle), or None. Bases are A, C, G, T, N in either case;
    IUPAC ambiguity codes only where the consumer reads them as N (`iupac_ok`).

    >>> sequence_problem("ACGTn") is None
    True
    >>> sequence_problem("ACXGT")
    "has the character 'X' at position 2; allowed: A, C, G, T, N"
    """
    found = (_NOT_A_CODE if iupac_ok else _NOT_A_BASE).search(sequence)
    if found is None:
        return None
    char, position = found.group(), found.start()
    kind = "a line break" if char in "\r\n" else "whitespace" if char.isspace() else "a FASTA header mark" \
        if char == ">" else "an IUPAC ambiguity code" if char.upper() in IUPAC_AMBIGUITY_CODES else "the character"
    trimmed = trim_per_side > 0 and len(sequence) > 2 * trim_per_side + 8 and (
        position < trim_per_side or position >= len(sequence) - trim_per_side)
    where = (f" (in the flank that trim_per_side={trim_per_side} removes: it would shift the kept window)"
             if trimmed else "")
    return f"has {kind} {char!r} at position {position}{where}; allowed: A, C, G, T, N"
