"""How many trials run on this node now, so that a trial's torch threads can follow it.

Two trials at a time on half a node each leave half of it idle whenever one runs alone (the last
trial of a study, or while the other starts, is stopped early or fails). A trial whose worker was
given room to grow holds a file lock in a per-node directory while it runs; between training steps
it counts the locks held and takes the node's CPUs divided among the trials running, never fewer
than its own share. A process that dies releases its lock with it, so a dead trial is never counted.
It grows only into CPUs that were idle since its last look (Linux's /proc/stat; elsewhere it keeps
its share): OpenMP threads on cores busy with other work wait on each other (benchmarks/concurrency.py
measured a loaded node 4x slower that way).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
import uuid
from typing import Callable, Iterator

from hpsearch.objectives._latency import LOCK_DIR


class NodeOccupancy:
    """The trials running on this node: one held lock file each under `directory`."""

    def __init__(self, directory: str = os.path.join(LOCK_DIR, "running")) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = directory

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Count this process's trial as running on the node while the block runs."""
        import fcntl

        path = os.path.join(self.directory, f"{os.getpid()}-{uuid.uuid4().hex}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def count(self) -> int:
        """Trials running on the node now (lock files whose lock is held); stale files are removed."""
        import fcntl

        held = 0
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:  # gone meanwhile: that trial ended
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                held += 1
            else:  # nobody holds it: left by a process that died before removing it
                with contextlib.suppress(OSError):
                    os.unlink(path)
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        return held


class ThreadPlan:
    """A trial's torch threads between its own share and the node's CPUs, following the trials
    running on the node (checked at most every `every_s` seconds), with every change kept."""

    def __init__(self, share: int, node: int, occupancy: NodeOccupancy | None = None, every_s: float = 1.0,
                 idle: Callable[[], float | None] | None = None) -> None:
        self.share, self.node = max(1, share), max(1, node, share)
        self.occupancy = occupancy or NodeOccupancy()
        self.every_s = every_s
        self.idle = idle or IdleCPUs()  # CPUs idle since the last look (None: not known)
        self.changes: list[list[int]] = []  # [training step, threads] each time they changed
        self._checked = -float("inf")

    def wanted(self, current: int) -> int:
        """This trial's threads now, from `current`: its fair part of the node (the node's CPUs divided
        among the trials running there, never below its share), grown only by CPUs seen idle."""
        fair = max(self.share, self.node // max(1, self.occupancy.count()))
        idle = self.idle()  # looked at every time, so that the next look covers only the time since
        if current >= fair:
            return fair
        if idle is None:
            return current
        return min(fair, current + int(idle + 0.5))

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """One trial, counted on the node while it runs: no changes yet, the node looked at now (so
        that its first training step, after the model is built, sees how idle the node was
        meanwhile), and that step checks."""
        with self.occupancy.running():
            self.changes = []
            self.idle()
            self._checked = -float("inf")
            yield

    def follow(self, step: int, now: bool = False) -> None:
        """Between training steps: set torch's threads to this trial's share of the node now
        (`now`: whenever it was last checked)."""
        clock = time.monotonic()
        if not now and clock - self._checked < self.every_s:
            return
        self._checked = clock
        import torch

        want = self.wanted(torch.get_num_threads())
        if want != torch.get_num_threads():
            torch.set_num_threads(want)
            self.changes.append([step, want])

    @contextlib.contextmanager
    def taken(self) -> Iterator[int]:
        """Work that is not a trial (the study's baselines, which run before its trials): counted on
        the node while it runs, on the node's CPUs divided among what runs there (yielded), never
        below the share; what it times is still timed on the share (:meth:`fixed`)."""
        import torch

        with self.occupancy.running():
            before = torch.get_num_threads()
            threads = max(self.share, self.node // max(1, self.occupancy.count()))
            torch.set_num_threads(threads)
            try:
                yield threads
            finally:
                torch.set_num_threads(before)

    @contextlib.contextmanager
    def fixed(self) -> Iterator[None]:
        """Run the block on the trial's own share (latency is timed on the same threads in every trial)."""
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(self.share)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def thread_plan(threads: int | None, node_threads: int | None, device: str) -> ThreadPlan | None:
    """A worker's plan of threads between its share and its node's CPUs (only on a CPU, and only
    where the node has more than the share); None: its threads stay at `threads`."""
    if threads and node_threads and node_threads > threads and device == "cpu":
        return ThreadPlan(int(threads), int(node_threads))
    return None


class IdleCPUs:
    """CPUs idle on this machine since the previous call, from /proc/stat (None on the first call,
    and where there is no /proc/stat)."""

    def __init__(self, path: str = "/proc/stat") -> None:
        self.path = path
        self._last: tuple[int, int] | None = None

    def __call__(self) -> float | None:
        try:
            with open(self.path, encoding="ascii") as fh:
                ticks = [int(v) for v in fh.readline().split()[1:9]]  # user .. steal (guest is in user)
        except (OSError, ValueError):
            return None
        idle, total = ticks[3] + ticks[4], sum(ticks)  # idle and iowait
        last, self._last = self._last, (idle, total)
        if last is None or total <= last[1]:
            return None
        return (idle - last[0]) / (total - last[1]) * (os.cpu_count() or 1)
