"""How many trials run on this node now, so that a trial's torch threads can follow it.

Two trials at a time on half a node each leave half of it idle whenever one runs alone (the last
trial of a study, or while the other starts, is stopped early or fails). A trial whose worker was
given room to grow holds a file lock in a per-node directory while it runs; between training steps
it counts the locks held and takes the node's CPUs divided among the trials running, never fewer
than its own share. A process that dies releases its lock with it, so a dead trial is never counted.
It grows only into CPUs the load average says are idle: OpenMP threads on cores busy with other
work wait on each other (benchmarks/concurrency.py measured a loaded node 4x slower that way).
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
                 load: Callable[[], float] = lambda: os.getloadavg()[0]) -> None:
        self.share, self.node = max(1, share), max(1, node, share)
        self.occupancy = occupancy or NodeOccupancy()
        self.every_s = every_s
        self.load = load  # the node's load average over the last minute
        self.changes: list[list[int]] = []  # [training step, threads] each time they changed
        self._checked = -float("inf")

    def wanted(self, current: int) -> int:
        """The trials' share of the node now, counting as busy the CPUs that work besides this trial's
        `current` threads keeps busy (the load average, which lags a minute, rounded)."""
        fair = self.node // max(1, self.occupancy.count())
        if fair <= self.share:
            return self.share
        free = self.node - max(0.0, self.load() - current)
        return max(self.share, min(fair, int(free + 0.5)))

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
    def fixed(self) -> Iterator[None]:
        """Run the block on the trial's own share (latency is timed on the same threads in every trial)."""
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(self.share)
        try:
            yield
        finally:
            torch.set_num_threads(before)

