"""The learning-curve replay (benchmarks/learning_curves.py): MO-ASHA on recorded curves."""

from __future__ import annotations

import random
from typing import Any

import pytest

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def curves() -> Any:
    return load_benchmark("learning_curves")


def _table(n: int = 40, epochs: int = 4) -> dict:
    """Configurations whose quality shows from the first epoch (each curve rises towards its level)."""
    rng = random.Random(0)
    configs = []
    for _ in range(n):
        level, latency = rng.random(), rng.uniform(5, 50)
        configs.append({"values": {}, "epochs": [{"epoch": e, "macro_f1": level * (0.5 + 0.5 * e / epochs),
                                                  "latency_p50_ms": latency} for e in range(1, epochs + 1)]})
    return {"names": ["macro_f1", "latency_p50_ms"], "directions": ["maximize", "minimize"], "configs": configs}


def test_without_stopping_every_trial_runs_its_epochs_and_the_last_reaches_the_full_front(curves: Any) -> None:
    table = curves.Curves(_table())
    costs, fractions = curves.replay(table, list(range(40)), None)
    assert costs[-1] == 40 * 4 and fractions[-1] == pytest.approx(1.0)
    assert fractions == sorted(fractions)


def test_stopping_spends_fewer_epochs_and_never_puts_a_stopped_trial_on_the_front(curves: Any) -> None:
    table = curves.Curves(_table())
    off = curves.replay(table, list(range(40)), None)
    on = curves.replay(table, list(range(40)), {"grace_period": 1, "reduction_factor": 3})
    assert on[0][-1] < off[0][-1]
    assert all(f <= 1.0 + 1e-9 for f in on[1])
    result = curves.measure(_table(), orders=5, grace_period=1, reduction_factor=3)
    assert result["reached_with_stopping"] >= 1 and result["ratio"] < 1.0


def test_record_keeps_every_objective_after_every_epoch_and_resumes(curves: Any, toy_space, tmp_path) -> None:
    toy_space.write_text(toy_space.read_text(encoding="utf-8").replace("epochs: 1", "epochs: 2"), encoding="utf-8")
    out = tmp_path / "curves.json"
    curves.record(toy_space, 1, 0, out)
    table = curves.record(toy_space, 2, 0, out)  # resumes: one more configuration
    assert len(table["configs"]) == 2 and table["configs"][0]["values"] != table["configs"][1]["values"]
    for config in table["configs"]:
        epochs = [e["epoch"] for e in config["epochs"]]
        assert epochs == [1.0, 2.0] or (epochs == [1.0] and not config["learned"])  # a collapse stops it
        assert {"macro_f1", "f1_gap", "latency_p50_ms", "seconds"} <= set(config["epochs"][0])
