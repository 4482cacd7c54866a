"""Inference latency of a trained model as a request sees it, measured so that it can be compared
between trials and baselines.

A request is one raw text, served alone (batch size 1) at its own length: no padding, truncated
at the trial's max_length; the figures are percentiles over many requests cycling through the
validation texts. Throughput is examples per second when the validation texts are served in
batches, each padded to its longest. The timing functions take a prediction function, so a
fine-tuned transformer and a scikit-learn baseline are timed by the same code.

Trials that share a node would distort each other's timings. A per-node measurement slot
prevents that: while one trial times its model, every other trial on the node pauses between
training steps (see :class:`MeasurementSlot`), and no two trials time at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:
    from hpsearch.objectives._schema import LatencyConfig

LOCK_DIR = os.path.join(tempfile.gettempdir(), "hpsearch-locks")


@contextlib.contextmanager
def flocked(path: str, mode: int) -> Iterator[None]:
    """Hold a POSIX file lock (`fcntl.LOCK_SH` or `LOCK_EX`) on `path`, created if missing, for the block.
    Raises OSError where the file cannot be opened."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


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

    @contextlib.contextmanager
    def training_step(self) -> Iterator[None]:
        """Wrap one training step: waits while another trial on this node is measuring."""
        import fcntl

        with flocked(self.gate_path, fcntl.LOCK_SH):
            pass
        with flocked(self.busy_path, fcntl.LOCK_SH):
            yield

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the node for a measurement: no other trial trains or measures meanwhile."""
        import fcntl

        with flocked(self.gate_path, fcntl.LOCK_EX), flocked(self.busy_path, fcntl.LOCK_EX):
            yield


# --------------------------------------------------------------------------- what a request sees

#: How a request is timed, recorded with every trial and baseline under ``latency_method``.
PADDING = "none (each request at its own length)"


def _timed(call: Callable[[Any], Any], argument: Any, synchronize: Callable[[], None] | None) -> float:
    """Seconds ``call(argument)`` takes, with the device's queue drained before and after (CUDA)."""
    if synchronize is not None:
        synchronize()
    start = time.perf_counter()
    call(argument)
    if synchronize is not None:
        synchronize()
    return time.perf_counter() - start


def _request_times(predict_one: Callable[[Any], Any], requests: Sequence[Any], warmup: int, count: int,
                   synchronize: Callable[[], None] | None) -> list[float]:
    if not requests:
        raise ValueError("latency needs at least one request, got none")
    for i in range(warmup):
        predict_one(requests[i % len(requests)])
    return [_timed(predict_one, requests[i % len(requests)], synchronize) * 1000.0 for i in range(count)]


def _throughput(predict_batch: Callable[[Sequence[Any]], Any], batches: Sequence[Sequence[Any]], warmup: int,
                synchronize: Callable[[], None] | None, error: float = 0.0, at_least: int = 3) -> tuple[float, int]:
    """(examples per second, examples timed) over `batches` in turn, after one untimed batch where
    `warmup` > 0. With `error` > 0 it stops once at least `at_least` batches are timed and the standard
    error of their seconds per example is at most `error` times its mean: more batches would only
    confirm the figure (a batch of 32 texts on one CPU thread takes about a second)."""
    import statistics

    if not batches:
        raise ValueError("throughput needs at least one batch, got none")
    for batch in batches[:min(warmup, 1)]:
        predict_batch(batch)
    seconds, served, per_example = 0.0, 0, []
    for batch in batches:
        took = _timed(predict_batch, batch, synchronize)
        seconds, served = seconds + took, served + len(batch)
        per_example.append(took / len(batch))
        if error > 0 and len(per_example) >= max(at_least, 2) and \
                statistics.stdev(per_example) / len(per_example) ** 0.5 <= error * statistics.fmean(per_example):
            break
    return served / seconds, served


def measure_request_latency(
    predict_one: Callable[[Any], Any], requests: Sequence[Any], *, warmup: int, count: int,
    slot: MeasurementSlot | None = None, synchronize: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Median and 95th-percentile milliseconds of one request, as a client waits for it.

    `predict_one` serves one request (a raw text: tokenisation or vectorisation included) and
    is called `warmup` times untimed, then `count` times timed, cycling through `requests`; all
    on the node's exclusive `slot` (None: this node's). Any model: a transformer or scikit-learn.
    """
    with (slot or MeasurementSlot()).exclusive():
        values = _request_times(predict_one, requests, warmup, count, synchronize)
    return _percentiles(values)


def measure_throughput(
    predict_batch: Callable[[Sequence[Any]], Any], batches: Sequence[Sequence[Any]], *, warmup: int = 1,
    slot: MeasurementSlot | None = None, synchronize: Callable[[], None] | None = None,
) -> dict[str, float]:
    """``throughput_per_s``: examples per second when `predict_batch` serves each of `batches`
    (lists of requests) in turn, after one untimed batch where `warmup` > 0."""
    with (slot or MeasurementSlot()).exclusive():
        return {"throughput_per_s": _throughput(predict_batch, batches, warmup, synchronize)[0]}


def measure_latency(
    predict_one: Callable[[Any], Any], predict_batch: Callable[[Sequence[Any]], Any], texts: Sequence[Any],
    config: LatencyConfig, *, slot: MeasurementSlot | None = None, synchronize: Callable[[], None] | None = None,
    device: str = "cpu", tokens: Sequence[int] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Request latency and throughput of one model over `texts` (the validation texts), in one
    hold of the slot: (metrics, ``latency_method``).

    Metrics: ``latency_p50_ms``, ``latency_p95_ms`` (batch size 1, `config.requests` timed
    requests after `config.warmup`), ``throughput_per_s`` (the first `config.throughput_examples`
    texts in batches of `config.throughput_batch_size`, each padded by `predict_batch` to its
    longest, until the figure is known to within `config.throughput_error`: :func:`_throughput`), and, given
    `tokens` (each text's length in tokens after truncation), ``latency_mean_tokens`` and
    ``latency_seq_len``: the mean and the longest request timed.
    """
    import torch

    size = config.throughput_batch_size
    served = texts[:config.throughput_examples]
    batches = [served[i:i + size] for i in range(0, len(served), size)]
    with (slot or MeasurementSlot()).exclusive():
        values = _request_times(predict_one, texts, config.warmup, config.requests, synchronize)
        metrics = _percentiles(values)
        metrics["throughput_per_s"], timed_examples = _throughput(predict_batch, batches, config.warmup, synchronize,
                                                                  config.throughput_error)
    if tokens:
        timed = [tokens[i % len(tokens)] for i in range(config.requests)]
        metrics["latency_mean_tokens"] = sum(timed) / len(timed)
        metrics["latency_seq_len"] = float(max(timed))
    method = {
        "threads": torch.get_num_threads(), "device": device, "batch_size": 1, "requests": config.requests,
        "warmup": config.warmup, "throughput_batch_size": size, "throughput_examples": timed_examples,
        "throughput_error": config.throughput_error,
        "padding": PADDING,
        "request": "one raw text in, one label out: tokenisation or vectorisation, forward pass, argmax",
    }
    return metrics, method


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    import numpy as np

    return {"latency_p50_ms": float(np.percentile(values, 50)), "latency_p95_ms": float(np.percentile(values, 95))}
