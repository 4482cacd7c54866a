"""A trained model as a server runs it: requests on raw texts, and their latency and throughput,
timed once per deployed shape on a worker, and once per node for the trials of one run
(:class:`NodeTimings`): two trials side by side that deploy the same shape time it once."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from hpsearch.space import TrialConfig
from hpsearch.trial._hardware import cpu_name
from hpsearch.trial._reading import Reading, flatten

if TYPE_CHECKING:
    from hpsearch.trial._worker import Worker

Timing = tuple[dict[str, float], dict[str, Any]]

REUSED = ("measured once on this worker for the same deployed shape (layers, quantization, pooling, reading); "
          "trained weights do not change a request's time")
REUSED_ON_NODE = ("measured once on this node by another trial of this run for the same deployed shape (layers, "
                  "quantization, pooling, reading) on the same chip and as many threads; trained weights do not "
                  "change a request's time")


class NodeTimings:
    """The timings of the trials of one run (`scope`: the driver's id) on one node, kept as files
    beside the node's measurement slot, so that workers in other processes reuse them.

    :meth:`claim` holds a shape's lock while its timing is looked up and, if missing, measured: a trial
    that finishes training while its neighbour times the same shape waits for that timing instead
    of timing it again (each timing holds the node: the neighbour pauses for it). Runs older than a
    week are removed when a run's directory is made.
    """

    def __init__(self, scope: str, directory: str | None = None) -> None:
        from hpsearch.objectives._latency import LOCK_DIR

        root = os.path.join(directory or LOCK_DIR, "timings")
        self.directory = os.path.join(root, "".join(c for c in scope if c.isalnum() or c in "-_") or "run")
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory, exist_ok=True)
            _remove_older(root, days=7.0, keep=self.directory)

    @contextlib.contextmanager
    def claim(self, key: Any) -> Iterator[Timing | None]:
        """Under `key`'s lock: the timing recorded for it, or None (measure it and :meth:`put` it)."""
        import fcntl

        from hpsearch.objectives._latency import flocked

        path = self._path(key)
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(flocked(path + ".lock", fcntl.LOCK_EX))
            except OSError:  # a directory this user cannot write: the trial times its shape itself
                yield None
                return
            try:
                with open(path + ".json", encoding="utf-8") as f:
                    found = json.load(f)
                timing: Timing | None = (found["timed"], found["method"])
            except (OSError, ValueError, KeyError, TypeError):  # none yet (or unreadable): measure it
                timing = None
            yield timing

    def _path(self, key: Any) -> str:
        return os.path.join(self.directory, hashlib.sha256(repr(key).encode()).hexdigest()[:32])

    def put(self, key: Any, timing: Timing) -> None:
        path = self._path(key)
        with contextlib.suppress(OSError):  # not kept: the next trial of that shape times it again
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump({"key": repr(key), "timed": timing[0], "method": timing[1]}, f)
            os.replace(path + ".tmp", path + ".json")


def _remove_older(root: str, days: float, keep: str) -> None:
    import shutil

    for name in os.listdir(root):
        path = os.path.join(root, name)
        with contextlib.suppress(OSError):
            if path != keep and time.time() - os.path.getmtime(path) > days * 86400:
                shutil.rmtree(path, ignore_errors=True)


def request_calls(
    worker: "Worker", forward: Callable[[dict[str, Any]], Any], reading: Reading | int,
    finish: Callable[[Any], Any] | None = None,
) -> tuple[Callable[[str], Any], Callable[[Sequence[str]], Any]]:
    """(predict_one, predict_batch) for raw texts, as a server would run them: tokenise and cut
    as `reading` says (an int: the first that many tokens), pad a batch's pieces to the longest
    (a single piece not at all), `forward` them on the worker's device in inference mode, pool
    the pieces' outputs (a tensor per piece) into one per text where the reading is chunked,
    and `finish` the result (logits to labels, say)."""
    import torch

    if isinstance(reading, int):
        reading = Reading("head", reading)
    read = reading

    def predict_batch(texts: Sequence[str]) -> Any:
        pieces, owners = flatten(read.encode(texts, worker.tokenizer, worker.frame))
        batch = worker.tokenizer.pad({"input_ids": pieces}, padding="longest", return_tensors="pt")
        with torch.inference_mode():
            out = forward({k: v.to(worker.device) for k, v in batch.items()})
            if read.pooled:
                out = read.pool(out, torch.tensor(owners, device=out.device), len(texts))
        return out if finish is None else finish(out)

    return (lambda text: predict_batch([text])), predict_batch


def time_requests(worker: "Worker", predict_one: Callable[[str], Any], predict_batch: Callable[[Sequence[str]], Any],
                  tokens: list[int] | None = None) -> Timing:
    """Latency per request and throughput on the validation texts, with the node to itself."""
    import torch

    from hpsearch.objectives import measure_latency

    sync = torch.cuda.synchronize if worker.device.type == "cuda" else None
    started = time.perf_counter()
    # on the trial's own share of threads, whatever it trained on: every trial is timed the same way
    with worker.thread_plan.fixed() if worker.thread_plan is not None else contextlib.nullcontext():
        timed, method = measure_latency(predict_one, predict_batch, worker.splits.validation.texts,
                                        worker.plan.objectives.latency, slot=worker.slot, synchronize=sync,
                                        device=str(worker.device), tokens=tokens)
    return timed, {**method, "seconds": round(time.perf_counter() - started, 3)}  # waiting for the slot included


def deployed_timing(worker: "Worker", model: Any, config: TrialConfig, timings: dict[tuple[Any, ...], Timing]) -> Timing:
    """Latency and throughput of a deployed trial model (:func:`time_requests`), measured once per
    deployed shape and kept in `timings` (the worker's) for the trials after it.

    A request's time depends on what the deployed model computes — its layers, quantisation,
    pooling and how a text is read — not on the values of its trained weights: adapters are
    merged, so a LoRA rank or a learning rate changes nothing a request runs. Measuring again
    would only sample the noise again; the method says when a measurement was reused. Where the
    worker has the node's timings of its run (``worker.node_timings``), a shape another worker of
    the run timed on this node, on the same chip and as many threads, is reused too.
    """
    import torch

    reading = Reading.of(config)
    shape = (config.layers_kept, config.quantization, config.pooling, reading,
             config.method == "lora" and worker.kbit_training and config.quantization != "none")
    if shape in timings:
        timed, method = timings[shape]
        return dict(timed), {**method, "reused": REUSED}
    node: NodeTimings | None = worker.node_timings
    threads = worker.thread_plan.share if worker.thread_plan is not None else torch.get_num_threads()
    chip = torch.cuda.get_device_name(worker.device) if worker.device.type == "cuda" else cpu_name()
    key = (shape, worker.model_path, chip, threads, worker.plan.objectives.latency.model_dump())
    with node.claim(key) if node is not None else contextlib.nullcontext() as found:
        if found is not None:
            timings[shape] = found
            return dict(found[0]), {**found[1], "reused": REUSED_ON_NODE}
        tokens = [sum(map(len, pieces)) for pieces in worker.read("validation", worker.splits.validation, reading)]
        timings[shape] = time_requests(
            worker, *request_calls(worker, lambda batch: model(**batch).logits, reading,
                                   lambda out: out.argmax(-1).tolist()), tokens=tokens)
        if node is not None:
            node.put(key, timings[shape])
    return timings[shape]
