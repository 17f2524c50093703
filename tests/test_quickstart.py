"""`bioreason quickstart` picks its torch threads from the cores other processes leave free right now."""

import os

import pytest

from modeling_bioreason import quickstart


@pytest.mark.parametrize("busy, expected", [(0.1, 2), (0.45, 2), (0.9, 1), (1.2, 1), (6.0, 1)])
def test_threads_follow_the_cores_busy_now(monkeypatch, busy, expected):
    monkeypatch.delenv("BIOREASON_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(quickstart, "busy_cores", lambda: busy)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))  # a trailing average is not what runs now
    threads, why = quickstart.choose_threads()
    assert threads == expected and "2 cores" in why and "busy now" in why


def test_threads_fall_back_to_the_load_average(monkeypatch):
    monkeypatch.delenv("BIOREASON_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(quickstart, "busy_cores", lambda: None)  # no /proc/stat (not Linux)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert quickstart.choose_threads() == (1, "2 cores, 1.2 load average")


def test_busy_cores_reads_this_machine():
    busy = quickstart.busy_cores(0.05)
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1) + 1e-6


def test_threads_override(monkeypatch):
    monkeypatch.setenv("BIOREASON_THREADS", "3")
    assert quickstart.choose_threads() == (3, "BIOREASON_THREADS")
