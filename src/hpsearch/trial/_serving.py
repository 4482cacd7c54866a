"""A trained model as a server runs it: requests on raw texts, and their latency and throughput,
timed once per deployed shape on a worker."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from hpsearch.space import TrialConfig
from hpsearch.trial._reading import Reading, flatten

if TYPE_CHECKING:
    from hpsearch.trial._worker import Worker

Timing = tuple[dict[str, float], dict[str, Any]]

REUSED = ("measured once on this worker for the same deployed shape (layers, quantization, pooling, reading); "
          "trained weights do not change a request's time")


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
    would only sample the noise again; the method says when a measurement was reused.
    """
    reading = Reading.of(config)
    shape = (config.layers_kept, config.quantization, config.pooling, reading,
             config.method == "lora" and worker.kbit_training and config.quantization != "none")
    if shape in timings:
        timed, method = timings[shape]
        return dict(timed), {**method, "reused": REUSED}
    tokens = [sum(map(len, pieces)) for pieces in worker.read("validation", worker.splits.validation, reading)]
    timings[shape] = time_requests(
        worker, *request_calls(worker, lambda batch: model(**batch).logits, reading,
                               lambda out: out.argmax(-1).tolist()), tokens=tokens)
    return timings[shape]
