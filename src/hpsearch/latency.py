"""Inference latency of a trained model, measured so that it can be compared between trials.

One measurement at a time per node: a file lock in the temporary directory serialises the timed
section across the trials (processes) of a node, so two trials never time each other.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

LOCK_PATH = os.path.join(tempfile.gettempdir(), "hpsearch-latency.lock")


def measure_latency(model: Any, batch: dict[str, Any], *, warmup: int, repeats: int) -> dict[str, float]:
    """Median and 95th-percentile milliseconds per example over `repeats` timed batches."""
    import numpy as np
    import torch
    from filelock import FileLock

    model.eval()
    n = int(batch["input_ids"].shape[0])
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    cuda = device.type == "cuda"
    timings = []
    with FileLock(LOCK_PATH), torch.inference_mode():
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
