"""Each knob changes what the trial really does (tiny random BERT; seconds)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hpsearch.config import load_study
from hpsearch.knobs import KNOBS, TrialConfig
from hpsearch.runner import TrialFailed, Worker

BASE = {"learning_rate": 5e-3, "epochs": 1, "batch_size": 16, "max_length": 16}


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Worker:
    from .conftest import toy_rows, write_jsonl

    tmp = tmp_path_factory.mktemp("knobs")
    rows = toy_rows(120)
    rows = [r for i, r in enumerate(rows) if r["label"] != "question" or i % 9 == 2]  # imbalanced
    data = write_jsonl(tmp / "toy.jsonl", rows)
    space = tmp / "space.yaml"
    space.write_text(f"name: k\nmodel: {tiny_model_dir}\ndataset: {{path: {data}, group_columns: group}}\n")
    return Worker(load_study(space), threads=1)


def run(worker: Worker, **values) -> tuple[dict, dict]:
    result = worker.run({**BASE, **values})
    return result.metrics, result.attrs


def trainable_names(model) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_every_knob_has_a_default_its_check_accepts() -> None:
    for knob in KNOBS.values():
        assert knob.problem(knob.default) is None, knob.name
    assert TrialConfig().method == "lora"


def test_method_decides_what_is_trained(worker: Worker) -> None:
    def build(method: str):
        return worker.build_model(TrialConfig.from_values({**BASE, "method": method}))

    head, full, lora = trainable_names(build("head")), trainable_names(build("full")), trainable_names(build("lora"))
    assert head == {"classifier.weight", "classifier.bias"}
    assert full == {n for n, _ in build("full").named_parameters()} and len(full) > 20
    assert any("lora_A" in n for n in lora) and any("classifier" in n for n in lora)
    assert not any(n.endswith(("query.weight", "key.weight")) and "base_layer" not in n for n in lora)
    counts = {m: run(worker, method=m)[0]["trainable_params"] for m in ("head", "lora", "full")}
    assert counts["head"] < counts["lora"] < counts["full"]


def test_lora_does_not_touch_the_cached_base_weights(worker: Worker) -> None:
    before = {n: p.clone() for n, p in worker.base_model.named_parameters()}
    run(worker, method="full", learning_rate=1e-2)
    run(worker, method="lora", learning_rate=1e-2)
    for n, p in worker.base_model.named_parameters():
        assert p.equal(before[n]), n


def _adapted(worker: Worker, **values) -> set[str]:
    model = worker.build_model(TrialConfig.from_values({**BASE, **values}))
    return {n.rsplit(".lora_A", 1)[0] for n, _ in model.named_modules() if n.endswith(".lora_A")}


def test_target_modules_sets_differ(worker: Worker) -> None:
    attention = _adapted(worker, target_modules="attention")
    mlp = _adapted(worker, target_modules="attention+mlp")
    every = _adapted(worker, target_modules="all-linear")
    assert attention < mlp <= every
    assert any(n.endswith("attention.self.query") for n in attention)
    assert any(n.endswith("intermediate.dense") for n in mlp - attention)


def test_lora_layers_puts_adapters_only_in_the_top_layers(worker: Worker) -> None:
    every = _adapted(worker, lora_layers=0)
    top = _adapted(worker, lora_layers=1)
    assert top and top < every
    assert all(".layer.1." in n for n in top) and any(".layer.0." in n for n in every)
    with pytest.raises(TrialFailed, match="lora_layers=5, but the model has 2 layers"):
        worker.build_model(TrialConfig.from_values({**BASE, "lora_layers": 5}))


def test_layers_kept_drops_the_top_layers(worker: Worker) -> None:
    model = worker.build_model(TrialConfig.from_values({**BASE, "layers_kept": 1, "method": "full"}))
    assert len(model.bert.encoder.layer) == 1 and model.config.num_hidden_layers == 1
    assert run(worker, layers_kept=1)[0]["layers"] == 1.0
    assert len(worker.base_model.bert.encoder.layer) == 2  # the cached base is untouched
    with pytest.raises(TrialFailed, match="layers_kept=3, but the model has 2 layers"):
        worker.build_model(TrialConfig.from_values({**BASE, "layers_kept": 3}))


def test_lora_layers_counts_from_the_top_of_the_kept_layers(worker: Worker) -> None:
    assert all(".layer.0." in n for n in _adapted(worker, layers_kept=1, lora_layers=1))


def test_max_length_is_the_latency_sequence_length(worker: Worker) -> None:
    assert run(worker, max_length=8)[0]["latency_seq_len"] == 8.0
    assert run(worker, max_length=32)[0]["latency_seq_len"] == 32.0


def test_epochs_batch_size_and_max_steps_set_the_number_of_steps(worker: Worker) -> None:
    n = len(worker.splits.train)
    metrics, attrs = run(worker, epochs=2, batch_size=8)
    assert metrics["train_steps"] == 2 * math.ceil(n / 8) and len(attrs["history"]) == 2
    metrics, attrs = run(worker, max_steps=3, batch_size=8, epochs=5)
    assert metrics["train_steps"] == 3 and len(attrs["history"]) == 1


def _lrs(worker: Worker, **values) -> list[float]:
    return [h["learning_rate"] for h in run(worker, epochs=3, **values)[1]["history"]]


def test_scheduler_and_warmup_shape_the_learning_rate(worker: Worker) -> None:
    linear, constant, cosine = (_lrs(worker, scheduler=s) for s in ("linear", "constant", "cosine"))
    assert constant == [5e-3] * 3
    assert linear[-1] == 0.0 and linear[0] > linear[1]
    assert cosine != linear and cosine[0] > cosine[1]
    warm = run(worker, warmup_ratio=0.5, scheduler="constant_with_warmup", epochs=1, batch_size=8)
    assert warm[1]["history"][0]["learning_rate"] == 5e-3
    slow = run(worker, warmup_ratio=0.9, scheduler="constant_with_warmup", epochs=2, batch_size=8)
    assert slow[1]["history"][0]["learning_rate"] < 5e-3 == slow[1]["history"][1]["learning_rate"]


def _loss(worker: Worker, **values) -> float:
    return run(worker, **values)[1]["history"][0]["train_loss"]


@pytest.mark.parametrize("knob, a, b", [
    ("label_smoothing", 0.0, 0.3),
    ("class_weighting", "none", "balanced"),
    ("seed", 0, 1),
    ("learning_rate", 1e-4, 1e-2),
    ("lora_r", 2, 16),
    ("lora_alpha", 1.0, 64.0),
    ("lora_dropout", 0.0, 0.5),
    ("weight_decay", 0.0, 10.0),
])
def test_training_knobs_change_the_training(worker: Worker, knob: str, a: object, b: object) -> None:
    assert _loss(worker, **{knob: a}) != _loss(worker, **{knob: b})


def test_balanced_class_weights_follow_inverse_frequency(worker: Worker) -> None:
    from collections import Counter

    weights = worker.class_weights().tolist()
    counts = Counter(worker.splits.train.labels)
    rare = min(counts, key=counts.get)
    common = max(counts, key=counts.get)
    assert weights[rare] > 1 > weights[common]
    assert weights[rare] * counts[rare] == pytest.approx(weights[common] * counts[common])


@pytest.mark.parametrize("kind", ["int8", "nf4", "fp4"])
def test_quantization_on_cpu_quantizes_the_deployed_model(worker: Worker, kind: str) -> None:
    plain, _ = run(worker)
    metrics, attrs = run(worker, quantization=kind)
    assert attrs["quantization_applied"].startswith(kind)
    assert metrics["model_size_mb"] < plain["model_size_mb"]
    assert math.isfinite(metrics["macro_f1"])
