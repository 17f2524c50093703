"""Answer extraction and normalisation: re-exported from `modeling_bioreason.tasks.scoring`, the one parser used by
the metrics, the GRPO rewards, the reports and the sealed Hub metric modules."""

from __future__ import annotations

from ..tasks.scoring import (  # noqa: F401
    ANSWER_MARKER,
    OTHER,
    UNPARSEABLE,
    answer_prefix,
    extract_answer,
    map_to_label,
    normalize_answer,
    paper_clean_gold,
    paper_kegg_answer,
    paper_vep_contains,
    split_reasoning,
)
