"""Deterministic, leak-free splits.

The published KEGG split is random over rows: most test variants and almost every test question also occur in train.
`leak_free_kegg_split` groups rows that share a question or a (reference, variant) pair (connected components) and
assigns whole groups to splits, so no test (or val) variant or question appears in another split. Assignment depends
only on the set of rows, not on their order.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import pandas as pd


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def connected_groups(frame: pd.DataFrame, keys: list[pd.Series]) -> list[list[int]]:
    """Row positions grouped so that rows sharing any key value end up in one group (union-find)."""
    parent = list(range(len(frame)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for key in keys:
        first: dict[str, int] = {}
        for position, value in enumerate(key):
            if value in first:
                parent[find(position)] = find(first[value])
            else:
                first[value] = position
    groups: dict[int, list[int]] = {}
    for position in range(len(frame)):
        groups.setdefault(find(position), []).append(position)
    return list(groups.values())


def leak_free_kegg_split(frame: pd.DataFrame, val_fraction: float = 0.1, test_fraction: float = 0.1) -> dict:
    """
    Split KEGG rows into train/val/test with no shared question or sequence pair across splits.

    Groups are visited in the order of a hash of their sorted questions; a group goes to test (then val) while the
    split stays within its target size and every class in the group keeps at least one other group in train, so
    each evaluated class is also trained on.
    """
    pair = frame["reference_sequence"] + "\n" + frame["variant_sequence"]
    groups = connected_groups(frame, [frame["question"], pair])
    groups.sort(key=lambda g: _digest("\n".join(sorted(set(frame["question"].iloc[g])))))
    classes_of = [set(frame["answer"].iloc[g]) for g in groups]
    train_groups_with = Counter(c for classes in classes_of for c in classes)
    assignment = ["train"] * len(groups)
    for split, fraction in (("test", test_fraction), ("val", val_fraction)):
        target, filled = round(len(frame) * fraction), 0
        for index, group in enumerate(groups):
            if assignment[index] != "train" or filled + len(group) > target:
                continue
            if any(train_groups_with[c] <= 1 for c in classes_of[index]):
                continue
            assignment[index] = split
            filled += len(group)
            for c in classes_of[index]:
                train_groups_with[c] -= 1
    split_of = pd.Series("train", index=range(len(frame)))
    for index, group in enumerate(groups):
        split_of.iloc[group] = assignment[index]
    return {name: frame[split_of.values == name].reset_index(drop=True) for name in ("train", "val", "test")}


def hash_bucket_split(keys: pd.Series, val_percent: int = 10, test_percent: int = 10) -> pd.Series:
    """Assign each row a split from a hash of its key: identical keys always land on the same side."""
    buckets = keys.map(lambda k: int(_digest(k)[:8], 16) % 100)
    return pd.Series(
        ["test" if b < test_percent else "val" if b < test_percent + val_percent else "train" for b in buckets],
        index=keys.index,
    )
