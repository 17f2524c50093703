"""`bioreason quickstart` picks its torch threads from the cores other processes leave free."""

import os

import pytest

from modeling_bioreason import quickstart


@pytest.mark.parametrize("load, expected", [(0.1, 2), (0.9, 1), (1.2, 1), (6.0, 1)])
def test_threads_follow_the_free_cores(monkeypatch, load, expected):
    monkeypatch.delenv("BIOREASON_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    threads, why = quickstart.choose_threads()
    assert threads == expected and "2 cores" in why


def test_threads_override(monkeypatch):
    monkeypatch.setenv("BIOREASON_THREADS", "3")
    assert quickstart.choose_threads() == (3, "BIOREASON_THREADS")
