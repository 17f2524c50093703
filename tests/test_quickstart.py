"""`bioreason quickstart` picks its torch threads from the cores other processes leave free, and re-decides while it
runs."""

import os

import pytest

from modeling_bioreason import quickstart


@pytest.mark.parametrize("busy, expected", [(0.1, 2), (0.3, 1), (0.9, 1), (1.2, 1), (6.0, 1)])
def test_threads_follow_the_cores_busy_now(monkeypatch, busy, expected):
    monkeypatch.delenv("BIOREASON_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(quickstart, "busy_cores", lambda seconds: busy)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))  # a trailing average is not what runs now
    threads, why = quickstart.choose_threads()
    assert threads == expected and "2 cores" in why and "busy now" in why


def test_threads_fall_back_to_the_load_average(monkeypatch):
    monkeypatch.delenv("BIOREASON_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(quickstart, "busy_cores", lambda seconds: None)  # no /proc/stat (not Linux)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert quickstart.choose_threads() == (1, "2 cores, 1.2 load average")


def test_busy_cores_reads_this_machine():
    busy = quickstart.busy_cores(0.05)
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1) + 1e-6


def test_threads_override(monkeypatch):
    monkeypatch.setenv("BIOREASON_THREADS", "3")
    assert quickstart.choose_threads() == (3, "BIOREASON_THREADS")


def test_the_governor_follows_other_processes_while_the_work_runs(monkeypatch):
    """A job that starts beside a running stage takes a thread away at the next check; when it ends the core comes
    back. What this process uses itself never counts as busy."""
    import torch

    clock = {"wall": 0.0, "cpu": 0.0, "idle": [0, 0], "total": [0, 0]}
    monkeypatch.setattr(quickstart.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(quickstart.time, "process_time", lambda: clock["cpu"])
    monkeypatch.setattr(quickstart, "_core_times", lambda: {c: (clock["idle"][c], clock["total"][c]) for c in (0, 1)})

    def run(seconds, own_cores, other_cores):  # both cores tick 100 jiffies a second
        clock["wall"] += seconds
        clock["cpu"] += own_cores * seconds
        busy = own_cores + other_cores
        for core in (0, 1):
            clock["total"][core] += 100 * seconds
            clock["idle"][core] += int(100 * seconds * (1 - min(1.0, busy / 2)))

    before = torch.get_num_threads()
    try:
        governor = quickstart.ThreadGovernor(cores=2, interval=0.0)
        governor.set(2, "idle at the start")
        run(4, own_cores=2.0, other_cores=0.0)
        assert governor.update() == 2  # only we are busy: both cores stay ours
        run(4, own_cores=1.3, other_cores=0.7)
        assert governor.update() == 1 and torch.get_num_threads() == 1  # another job started
        run(0.2, own_cores=1.0, other_cores=0.0)
        assert governor.update() == 1  # too short to tell: no decision
        run(4, own_cores=1.0, other_cores=0.0)
        assert governor.update() == 2  # it ended
        assert [c["threads"] for c in governor.changes] == [2, 1, 2]
        layer = torch.nn.Linear(2, 2)
        with governor.watch():  # re-checked from the main thread's module calls
            run(4, own_cores=1.0, other_cores=1.0)
            layer(torch.zeros(1, 2))
        assert governor.threads == 1
        layer(torch.zeros(1, 2))  # the hook is gone after the stage
        assert len(governor.changes) == 4
    finally:
        torch.set_num_threads(before)


class _Stop(Exception):
    pass


def test_quickstart_resumes_only_what_an_interrupted_run_left(tmp_path, monkeypatch):
    """A first run starts fresh (no talk of a --resume the user never passed); a rerun after a kill continues from
    its complete checkpoint."""
    from pathlib import Path

    from modeling_bioreason.training import sft

    calls = []

    def fake_run_sft(recipe, resume=False):
        calls.append(resume)
        raise _Stop

    monkeypatch.setattr(sft, "run_sft", fake_run_sft)
    monkeypatch.setattr(quickstart, "choose_threads", lambda: (1, "test"))
    import torch

    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # the test process keeps its threads
    datasets = str(Path(__file__).parent.parent / "hub_cards" / "datasets")
    with pytest.raises(_Stop):
        quickstart.run_quickstart(str(tmp_path / "qs"), datasets)
    checkpoint = tmp_path / "qs" / "sft" / "checkpoint-20"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    (checkpoint / "adapter_model.safetensors").write_bytes(b"\0")
    with pytest.raises(_Stop):
        quickstart.run_quickstart(str(tmp_path / "qs"), datasets)
    assert calls == [False, True]
