"""The search-efficiency harness (benchmarks/search_efficiency.py): its hypervolume, its trials in
flight, and its quick run as a regression check on the default strategy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from .conftest import load_benchmark


@pytest.fixture(scope="module")
def harness() -> Any:
    return load_benchmark("search_efficiency")


@pytest.fixture(scope="module")
def vehicle(harness: Any) -> Any:
    return harness.load_problem("vehicle")


def _true_front(problem: Any) -> list[list[float]]:
    """The table's non-dominated configurations (2-D: sorted on the first objective, each one better on the second)."""
    values = [problem._mean(row) for row in problem.table.values()]
    points = problem._minimised(values)
    front, best_second = [], np.inf
    for i in np.lexsort((points[:, 1], points[:, 0])):
        if points[i, 1] < best_second:
            front.append(values[i])
            best_second = points[i, 1]
    assert 0 < len(front) < 200, "a 2-objective front of a 30,000-cell table is small"
    return front


def test_the_true_front_scores_one_and_the_median_scores_nothing(vehicle: Any) -> None:
    front = _true_front(vehicle)
    assert vehicle.fraction(front) == pytest.approx(1.0)
    assert any(0.0 < vehicle.fraction([point]) < 1.0 for point in front)
    median = [[-vehicle.high[0], vehicle.high[1]]]  # back to the study's directions
    assert vehicle.fraction(median) == 0.0


def test_a_configuration_is_looked_up_by_its_choices(vehicle: Any) -> None:
    params = {name: choices[0] for name, choices in vehicle.space.items()}
    row = vehicle.table["0" * len(vehicle.space)]
    assert vehicle.evaluate(params) == pytest.approx([np.mean(row["val_acc"]), np.mean(row["train_time"])])


def test_with_four_in_flight_the_sampler_proposes_beside_three_running_trials(harness: Any, vehicle: Any) -> None:
    import optuna

    seen: list[int] = []

    class Watching(optuna.samplers.RandomSampler):
        def before_trial(self, study: optuna.Study, trial: Any) -> None:
            running = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.RUNNING])
            seen.append(len([t for t in running if t.number != trial.number]))  # the others

    harness.STRATEGIES["watching"] = lambda seed: Watching(seed=seed)
    values = harness.run_one(vehicle, "watching", seed=0, trials=12, in_flight=4)
    assert len(values) == 12
    assert seen[:4] == [0, 1, 2, 3]
    assert set(seen[4:]) == {3}  # each later proposal is made while three others still run


def test_quick_run_default_strategy_beats_random_search(harness: Any) -> None:
    result = harness.measure(["vehicle"], ["random", "hpsearch"], seeds=harness.QUICK_SEEDS, trials=30, in_flight=[1],
                             progress=False)
    rows = result["vehicle"]["by_in_flight"]["1"]
    random_hv, default_hv = rows["random"]["25"]["mean"], rows["hpsearch"]["25"]["mean"]
    assert 0.0 < random_hv < 1.0 and 0.0 < default_hv <= 1.0
    assert default_hv > random_hv, f"hpsearch's default HV@25 {default_hv} is no better than random's {random_hv}"


def test_added_rows_replace_only_their_strategy_and_say_which_run_gave_them(harness: Any) -> None:
    def run(command: str, strategies: list[str], warm: list[Any]) -> dict[str, Any]:
        rows = {s: {"50": {"mean": len(command) / 100, "se": 0.0, "seeds": [0.5]}, "seconds": 1.0} for s in strategies}
        return {"command": command, "machine": "m", "date": "d", "optuna": "5", "seeds": 1, "warm_start": warm,
                "problems": {"vehicle": {"title": "v", "by_in_flight": {"1": rows}}}}

    kept = run("first", ["tpe", "hpsearch"], [{"source": "segment", "old": True}])
    merged = harness.add_rows(kept, run("second run", ["gp"], []), ["gp"])
    rows = merged["problems"]["vehicle"]["by_in_flight"]["1"]
    assert set(rows) == {"tpe", "hpsearch", "gp"} and rows["gp"]["50"]["mean"] == 0.1
    assert merged["warm_start"] == [{"source": "segment", "old": True}]  # no warm start in the added run: kept
    again = harness.add_rows(merged, run("third run!", ["hpsearch"], [{"source": "segment", "old": False}]),
                             ["hpsearch"])
    rows = again["problems"]["vehicle"]["by_in_flight"]["1"]
    assert rows["hpsearch"]["50"]["mean"] == 0.1 and rows["tpe"]["50"]["mean"] == 0.05 and "gp" in rows
    assert again["warm_start"] == [{"source": "segment", "old": False}]  # measured again: replaced
    assert [a["strategies"] for a in again["added"]] == [["gp"], ["hpsearch"]]
    assert kept["problems"]["vehicle"]["by_in_flight"]["1"]["hpsearch"]["50"]["mean"] == 0.05  # not changed in place
