"""The trial runner on its own (no Ray): tiny random models built from configs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hpsearch.plan import load_plan
from hpsearch.space import resolve_model
from hpsearch.trial import Worker


def _worker(toy_space: Path, model: Path | None = None) -> Worker:
    if model is not None:
        text = toy_space.read_text(encoding="utf-8")
        head, _, rest = text.partition("\nmodel: ")
        toy_space.write_text(head + f"\nmodel: {model}\n" + rest.partition("\n")[2], encoding="utf-8")
    worker = Worker(load_plan(toy_space), threads=1)
    worker.plan.objectives.collapse.patience = 0  # a tiny random model collapses; these tests count epochs
    return worker


def test_lora_trial_reports_each_epoch_and_measures_everything(toy_space: Path) -> None:
    worker = _worker(toy_space)
    rows: list[dict] = []
    result = worker.run({"learning_rate": 5e-3, "epochs": 2, "batch_size": 16, "max_length": 16}, rows.append)
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    m = result.metrics
    for key in ("macro_f1", "accuracy", "f1_gap", "worst_group_f1", "latency_p50_ms", "latency_p95_ms",
                "group/group=a/macro_f1", "group/group=b/n", "f1/bug", "trainable_params"):
        assert math.isfinite(m[key]), key
    assert m["f1_gap"] == pytest.approx(abs(m["group/group=a/macro_f1"] - m["group/group=b/macro_f1"]))
    assert m["latency_p95_ms"] >= m["latency_p50_ms"] > 0
    assert result.attrs["device"]["torch"] and len(result.attrs["history"]) == 2


def test_the_same_seed_gives_the_same_trial(toy_space: Path) -> None:
    worker = _worker(toy_space)
    values = {"learning_rate": 5e-3, "epochs": 1, "batch_size": 8, "max_length": 16, "seed": 3}
    a, b = worker.run(values), worker.run(values)
    assert a.attrs["history"] == b.attrs["history"]


def test_lora_on_the_packaged_minilm_learns_the_task(toy_space: Path) -> None:
    worker = _worker(toy_space, Path(resolve_model("minilm")))
    result = worker.run({"learning_rate": 5e-3, "epochs": 3, "batch_size": 8, "max_length": 16})
    assert result.metrics["macro_f1"] > 0.8  # predicting the majority class gets 1/6


def test_decoder_model_through_the_same_path(toy_space: Path, tiny_llama_dir: Path) -> None:
    worker = _worker(toy_space, tiny_llama_dir)
    assert worker.base_model.config.model_type == "llama"
    result = worker.run({"learning_rate": 5e-3, "epochs": 1, "batch_size": 8, "max_length": 16})
    assert math.isfinite(result.metrics["macro_f1"]) and result.metrics["latency_p50_ms"] > 0


def test_a_bf16_checkpoint_trains_in_fp32_unless_the_trial_says_bf16(toy_space: Path, tmp_path: Path) -> None:
    """Decoders are mostly saved in bf16 and transformers loads a checkpoint's own dtype: the runner
    loads fp32, so `precision: fp32` means fp32 and the trained weights are never bf16."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from hpsearch.space import TrialConfig

    from ..conftest import save_tiny_model

    path = save_tiny_model(tmp_path / "bf16-llama", "LlamaConfig", "LlamaForSequenceClassification",
                           num_key_value_heads=2)
    model = AutoModelForSequenceClassification.from_pretrained(path).to(torch.bfloat16)
    model.save_pretrained(path)
    assert AutoModelForSequenceClassification.from_pretrained(path).dtype == torch.bfloat16  # as transformers loads it
    AutoTokenizer.from_pretrained(path)
    worker = _worker(toy_space, path)
    assert {p.dtype for p in worker.base_model.parameters()} == {torch.float32}
    built = worker.build_model(TrialConfig.from_values({"learning_rate": 5e-3, "method": "lora", "max_length": 16}))
    assert {p.dtype for p in built.parameters()} == {torch.float32}
    result = worker.run({"learning_rate": 5e-3, "epochs": 1, "batch_size": 16, "max_length": 16, "precision": "fp32"})
    assert result.attrs["config"]["precision"] == "fp32" and math.isfinite(result.metrics["macro_f1"])


def test_trials_that_share_a_worker_leak_nothing_into_each_other(toy_space: Path) -> None:
    """Ray reuses a worker for many trials: base weights, optimiser state and random state must not
    carry over. A trial run after others on one worker equals the same trial on a fresh worker."""
    import torch

    shared = _worker(toy_space)
    base = {k: v.clone() for k, v in shared.base_model.state_dict().items()}
    values = {"learning_rate": 5e-3, "epochs": 2, "batch_size": 8, "max_length": 16, "seed": 3,
              "lora_dropout": 0.1}
    other = {"learning_rate": 1e-2, "epochs": 1, "batch_size": 16, "max_length": 16, "seed": 7, "method": "full"}
    shared.run(other)
    torch.rand(5)  # the global random state moved, as anything else in the process may move it
    after_other = shared.run(values)
    fresh = _worker(toy_space).run(values)
    assert after_other.attrs["history"] == fresh.attrs["history"]
    for key in ("macro_f1", "accuracy", "f1_gap", "trainable_params"):
        assert after_other.metrics[key] == fresh.metrics[key], key
    for key, tensor in shared.base_model.state_dict().items():  # a full fine-tune trains a copy
        assert torch.equal(tensor, base[key]), key
