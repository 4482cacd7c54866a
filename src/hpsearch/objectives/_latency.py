"""Inference latency of a trained model, measured so that it can be compared between trials.

Trials that share a node would distort each other's timings. A per-node measurement slot
prevents that: while one trial times its model, every other trial on the node pauses between
training steps (see :class:`MeasurementSlot`), and no two trials time at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from typing import Any, Iterator

LOCK_DIR = os.path.join(tempfile.gettempdir(), "hpsearch-locks")


class MeasurementSlot:
    """An exclusive timing slot per node, built on two POSIX file locks.

    * a training step holds the *busy* lock shared, after passing the *gate* (shared, at once
      released);
    * a measurement holds the gate exclusively (new steps wait at it), then the busy lock
      exclusively (steps in flight finish first), and times with the node to itself.
    """

    def __init__(self, directory: str = LOCK_DIR) -> None:
        os.makedirs(directory, exist_ok=True)
        self.gate_path = os.path.join(directory, "gate.lock")
        self.busy_path = os.path.join(directory, "busy.lock")

    @staticmethod
    @contextlib.contextmanager
    def _locked(path: str, mode: int) -> Iterator[None]:
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextlib.contextmanager
    def training_step(self) -> Iterator[None]:
        """Wrap one training step: waits while another trial on this node is measuring."""
        import fcntl

        with self._locked(self.gate_path, fcntl.LOCK_SH):
            pass
        with self._locked(self.busy_path, fcntl.LOCK_SH):
            yield

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the node for a measurement: no other trial trains or measures meanwhile."""
        import fcntl

        with self._locked(self.gate_path, fcntl.LOCK_EX), self._locked(self.busy_path, fcntl.LOCK_EX):
            yield


def measure_latency(
    model: Any, batch: dict[str, Any], *, warmup: int, repeats: int, slot: MeasurementSlot | None = None
) -> dict[str, float]:
    """Median and 95th-percentile milliseconds per example over `repeats` timed batches."""
    import numpy as np
    import torch

    model.eval()
    n = int(batch["input_ids"].shape[0])
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    cuda = device.type == "cuda"
    timings = []
    with (slot or MeasurementSlot()).exclusive(), torch.inference_mode():
        for _ in range(warmup):
            model(**batch)
        for _ in range(repeats):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(**batch)
            if cuda:
                torch.cuda.synchronize()
            timings.append((time.perf_counter() - start) * 1000.0 / n)
    values = np.asarray(timings)
    return {
        "latency_p50_ms": float(np.percentile(values, 50)),
        "latency_p95_ms": float(np.percentile(values, 95)),
        "latency_batch_size": float(n),
        "latency_seq_len": float(batch["input_ids"].shape[1]),
    }
