"""The latency objective responds to layers_kept, max_length and quantization (packaged MiniLM).

Timings on a shared 2-core machine are noisy, so each comparison alternates between the two
models round by round and takes the median of the per-round ratios: a burst from elsewhere
slows one round, not the comparison. Torch runs on one thread here; with two threads and
another busy process on the machine, OpenMP's threads wait on each other and a forward pass
can take ten times as long.
"""

from __future__ import annotations

import copy
import multiprocessing
import statistics
import time

import pytest

from hpsearch.objectives import measure_latency
from hpsearch.space import resolve_model
from hpsearch.trial import keep_layers, load_base, quantize_for_inference


@pytest.fixture(scope="module")
def minilm():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tokenizer, model = load_base(resolve_model("minilm"), num_labels=3)
    yield tokenizer, model.eval()
    torch.set_num_threads(threads)


def _batch(tokenizer, length: int, batch_size: int) -> dict:
    text = "a clause that limits the liability of the provider for indirect damages " * 20
    return dict(tokenizer([text] * batch_size, padding="max_length", max_length=length, truncation=True,
                          return_tensors="pt"))


@pytest.fixture
def slot(tmp_path):
    """Hold this node's measurement slot for a whole comparison, so that trials training on the
    machine pause once rather than at every call; the calls inside use a private slot."""
    from hpsearch.objectives import MeasurementSlot

    with MeasurementSlot().exclusive():
        yield MeasurementSlot(str(tmp_path / "locks"))


def _ratio(slot, fast: tuple, slow: tuple, rounds: int = 7) -> float:
    """Median over rounds of latency(fast) / latency(slow); each is (model, batch)."""
    for model, batch in (fast, slow):
        measure_latency(model, batch, warmup=1, repeats=1, slot=slot)
    ratios = []
    for _ in range(rounds):
        a = measure_latency(*fast, warmup=0, repeats=1, slot=slot)["latency_p50_ms"]
        b = measure_latency(*slow, warmup=0, repeats=1, slot=slot)["latency_p50_ms"]
        ratios.append(a / b)
    print(f"ratios {[round(r, 2) for r in ratios]}")
    return statistics.median(ratios)


def test_fewer_layers_are_faster(minilm, slot) -> None:
    tokenizer, model = minilm
    three = copy.deepcopy(model)
    keep_layers(three, 3)
    batch = _batch(tokenizer, 128, 2)
    assert _ratio(slot, (three, batch), (model, batch)) < 0.8  # about 0.55: embeddings and head stay


def test_shorter_inputs_are_faster(minilm, slot) -> None:
    tokenizer, model = minilm
    assert _ratio(slot, (model, _batch(tokenizer, 32, 2)), (model, _batch(tokenizer, 128, 2))) < 0.6


def test_int8_dynamic_is_faster_than_fp32_at_batch_8_by_128(minilm, slot) -> None:
    tokenizer, model = minilm
    int8 = copy.deepcopy(model)
    quantize_for_inference(int8, "int8")
    batch = _batch(tokenizer, 128, 8)
    assert _ratio(slot, (int8, batch), (model, batch), rounds=5) < 0.95  # about 0.75 on an AVX2 CPU


def _steps(slot_dir: str, log: str, stop_at: float) -> None:
    from hpsearch.objectives import MeasurementSlot

    slot = MeasurementSlot(slot_dir)
    with open(log, "a", encoding="utf-8") as fh:
        while time.time() < stop_at:
            with slot.training_step():
                start = time.time()
                sum(i * i for i in range(20_000))
                fh.write(f"{start} {time.time()}\n")
                fh.flush()


def test_a_measurement_pauses_the_other_trials_training_steps(tmp_path) -> None:
    """While one trial holds the node's slot, another trial's steps wait (none overlaps)."""
    import torch

    from hpsearch.objectives import MeasurementSlot

    slot_dir, log = str(tmp_path / "locks"), str(tmp_path / "steps.log")
    slot = MeasurementSlot(slot_dir)
    trainer = multiprocessing.get_context("fork").Process(target=_steps, args=(slot_dir, log, time.time() + 6))
    trainer.start()
    try:
        time.sleep(1.0)
        model = torch.nn.Sequential(torch.nn.Embedding(100, 64), torch.nn.Linear(64, 64))
        batch = {"input_ids": torch.randint(0, 100, (4, 16))}

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = model

            def forward(self, input_ids):
                time.sleep(0.05)
                return self.inner(input_ids)

        started = time.time()
        measure_latency(Wrapped(), batch, warmup=2, repeats=10, slot=slot)
        ended = time.time()
    finally:
        trainer.join()
    steps = [tuple(map(float, line.split())) for line in open(log, encoding="utf-8")]
    assert any(b < started for _, b in steps) and any(a > ended for a, _ in steps)  # it trained around it
    overlapping = [(a, b) for a, b in steps if a < ended - 0.01 and b > started + 0.01]
    assert not overlapping, overlapping
