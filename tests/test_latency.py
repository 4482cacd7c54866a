"""The latency objective responds to layers_kept, max_length and quantization (packaged MiniLM)."""

from __future__ import annotations

import copy
import multiprocessing
import time

import pytest

from hpsearch.latency import measure_latency
from hpsearch.models import keep_layers, load_base, quantize_for_inference, resolve_model


@pytest.fixture(scope="module")
def minilm():
    import torch

    torch.set_num_threads(2)
    tokenizer, model = load_base(resolve_model("minilm"), num_labels=3)
    return tokenizer, model.eval()


def _latency(tokenizer, model, length: int, batch_size: int = 2) -> float:
    batch = tokenizer(["a clause that limits the liability of the provider"] * batch_size, padding="max_length",
                      max_length=length, truncation=True, return_tensors="pt")
    return measure_latency(model, dict(batch), warmup=2, repeats=8)["latency_p50_ms"]


def _best_of(runs: dict[str, tuple], tokenizer, rounds: int = 2) -> dict[str, float]:
    """Each configuration's fastest median over rounds that alternate between configurations.

    The machine is shared and noisy: a burst from elsewhere slows one round, not every round.
    """
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, (model, length) in runs.items():
            best[name] = min(best[name], _latency(tokenizer, model, length))
    return best


def _busy(stop_at: float) -> None:
    while time.time() < stop_at:
        sum(i * i for i in range(10_000))


def test_latency_orders_layers_length_and_quantization(minilm) -> None:
    tokenizer, model = minilm
    three = copy.deepcopy(model)
    keep_layers(three, 3)
    int8 = copy.deepcopy(model)
    quantize_for_inference(int8, "int8")
    t = _best_of({"full": (model, 128), "three": (three, 128), "short": (model, 32), "int8": (int8, 128)},
                 tokenizer)
    assert t["three"] < 0.8 * t["full"]
    assert t["short"] < 0.6 * t["full"]
    assert t["int8"] < t["full"]


def test_ordering_holds_with_another_trial_running_beside_it(minilm) -> None:
    """Another process hogging a core must not flip the ordering (one timed slot per node)."""
    tokenizer, model = minilm
    three = copy.deepcopy(model)
    keep_layers(three, 3)
    hog = multiprocessing.get_context("fork").Process(target=_busy, args=(time.time() + 30,))
    hog.start()
    try:
        t = _best_of({"full": (model, 128), "three": (three, 128)}, tokenizer)
        assert t["three"] < t["full"]
    finally:
        hog.terminate()
        hog.join()


def _steps(slot_dir: str, log: str, stop_at: float) -> None:
    from hpsearch.latency import MeasurementSlot

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

    from hpsearch.latency import MeasurementSlot

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
