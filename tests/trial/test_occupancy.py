"""A trial's threads follow the trials running on its node (hpsearch.trial._occupancy)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpsearch.trial._occupancy import NodeOccupancy, ThreadPlan

HOLD = """
import sys, time
from hpsearch.trial._occupancy import NodeOccupancy
with NodeOccupancy(sys.argv[1]).running():
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(directory: Path) -> subprocess.Popen[str]:
    """Another process with a trial running on the node (a lock held) until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_the_node_counts_running_trials_and_forgets_one_that_died(tmp_path: Path) -> None:
    occupancy = NodeOccupancy(str(tmp_path))
    assert occupancy.count() == 0
    with occupancy.running():
        assert occupancy.count() == 1
        other = _holder(tmp_path)
        try:
            assert occupancy.count() == 2
        finally:
            os.kill(other.pid, signal.SIGKILL)  # dies without removing its file
            other.wait()
        assert len(list(tmp_path.iterdir())) == 2  # its file is still there, its lock went with it
        assert occupancy.count() == 1
        assert len(list(tmp_path.iterdir())) == 1  # the stale file is cleared
    assert occupancy.count() == 0 and not list(tmp_path.iterdir())


def test_threads_grow_to_the_node_alone_and_fall_to_the_share_when_another_trial_runs(tmp_path: Path) -> None:
    import torch

    before = torch.get_num_threads()
    occupancy = NodeOccupancy(str(tmp_path))
    plan = ThreadPlan(share=1, node=2, occupancy=occupancy, every_s=0.0, idle=lambda: 2.0 - torch.get_num_threads())
    torch.set_num_threads(1)  # as a worker given one thread starts (the node idle but for this trial's threads)
    try:
        with occupancy.running():
            plan.follow(0)
            assert torch.get_num_threads() == 2  # alone on the node
            other = _holder(tmp_path)
            try:
                plan.follow(5)
                assert torch.get_num_threads() == 1
                with plan.fixed():
                    assert torch.get_num_threads() == 1
            finally:
                other.kill()
                other.wait()
            plan.follow(9)
            assert torch.get_num_threads() == 2
            with plan.fixed():  # timing: on the trial's own share, whatever it trains on
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == 2
        assert plan.changes == [[0, 2], [5, 1], [9, 2]]
    finally:
        torch.set_num_threads(before)


def test_a_trial_alone_grows_only_into_cpus_seen_idle(tmp_path: Path) -> None:
    occupancy = NodeOccupancy(str(tmp_path))
    idle: list[float | None] = [None]
    plan = ThreadPlan(share=2, node=8, occupancy=occupancy, idle=lambda: idle[0])
    with occupancy.running():
        assert plan.wanted(current=2) == 2  # nothing known yet: as it is
        idle[0] = 6.0  # the rest of the node was idle
        assert plan.wanted(current=2) == 8
        idle[0] = 3.2  # other work kept about 3 CPUs busy
        assert plan.wanted(current=2) == 5
        idle[0] = 0.3
        assert plan.wanted(current=2) == 2 and plan.wanted(current=5) == 5  # no idle CPU: no growth
        other = _holder(tmp_path)
        try:
            idle[0] = 6.0
            assert plan.wanted(current=8) == 4  # two trials: half the node each, idle or not
            assert plan.wanted(current=2) == 4
        finally:
            other.kill()
            other.wait()


def test_idle_cpus_are_read_from_proc_stat_between_two_looks(tmp_path: Path) -> None:
    from hpsearch.trial._occupancy import IdleCPUs

    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n")
    idle = IdleCPUs(str(stat))
    assert idle() is None  # one look: nothing to compare with
    stat.write_text("cpu  400 0 100 1450 50 0 0 0 0 0\n")  # 350 busy ticks, 650 idle of 1000
    assert idle() == pytest.approx(0.65 * (os.cpu_count() or 1))
    assert IdleCPUs(str(tmp_path / "none"))() is None


def test_threads_are_checked_at_most_every_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    occupancy = NodeOccupancy(str(tmp_path))
    counted = []
    monkeypatch.setattr(occupancy, "count", lambda: counted.append(time.monotonic()) or 1)
    plan = ThreadPlan(share=1, node=1, occupancy=occupancy, every_s=60.0)
    for step in range(50):
        plan.follow(step)
    assert len(counted) == 1
    plan.follow(50, now=True)
    assert len(counted) == 2


def test_a_trial_records_the_threads_it_trained_on_and_times_requests_on_its_share(
        toy_space: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    from hpsearch.plan import load_plan
    from hpsearch.trial import Worker

    text = toy_space.read_text(encoding="utf-8")
    head, _, rest = text.partition("\nmodel: ")
    toy_space.write_text(head + f"\nmodel: {tiny_model_dir}\n" + rest.partition("\n")[2], encoding="utf-8")
    before = torch.get_num_threads()
    try:
        worker = Worker(load_plan(toy_space), threads=1, node_threads=2)
        assert worker.thread_plan is not None
        worker.thread_plan.occupancy = NodeOccupancy(str(tmp_path / "running"))
        worker.thread_plan.idle = lambda: 2.0 - torch.get_num_threads()  # the node quiet but for this trial
        values = {"learning_rate": 5e-3, "epochs": 1, "batch_size": 16, "max_length": 16}
        alone = worker.run(values)
        assert alone.attrs["threads"] == {"share": 1, "node": 2, "changes": [[0, 2]]}  # from its first step
        assert alone.attrs["latency_method"]["threads"] == 1
        other = _holder(tmp_path / "running")
        try:
            shared = worker.run(values)
        finally:
            other.kill()
            other.wait()
        assert shared.attrs["threads"]["changes"] == [[0, 1]]
        assert not list((tmp_path / "running").iterdir()) or NodeOccupancy(str(tmp_path / "running")).count() == 0
    finally:
        torch.set_num_threads(before)
    fixed = Worker(load_plan(toy_space), threads=1)  # no room to grow (a preset's cpus_per_trial): as before
    assert fixed.thread_plan is None and "threads" not in fixed.run(values).attrs
