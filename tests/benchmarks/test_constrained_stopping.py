"""Early stopping under a latency constraint (benchmarks/constrained_stopping.py), replayed."""

from __future__ import annotations

from typing import Any

import pytest

from hpsearch.objectives import parse_constraint
from hpsearch.search import MOSuccessiveHalving

from .conftest import load_benchmark
from .test_learning_curves import _table


@pytest.fixture(scope="module")
def bench() -> Any:
    return load_benchmark("constrained_stopping")


def test_a_configuration_breaking_the_constraint_never_counts_towards_the_front(bench: Any) -> None:
    table, budget = _table(), [parse_constraint("latency_p50_ms <= 25")]
    curves = bench.learning_curves.Curves(table, "max", bench.OBJECTIVES, budget)
    fast = [c["epochs"][-1]["latency_p50_ms"] <= 25 for c in table["configs"]]
    assert curves.learned == fast and 0 < sum(fast) < len(fast)
    costs, fractions = bench.learning_curves.replay(curves, list(range(40)), None)
    assert costs[-1] == 40 * 4 and fractions[-1] == pytest.approx(1.0)


def test_the_rule_told_the_constraint_spends_less_than_the_rule_blind_to_it(bench: Any) -> None:
    table, budget = _table(), [parse_constraint("latency_p50_ms <= 25")]
    curves = bench.learning_curves.Curves(table, "max", bench.OBJECTIVES, budget)
    order = list(range(40))
    blind = bench.learning_curves.replay(curves, order, {"grace_period": 1, "reduction_factor": 3})
    stops: dict[int, float] = {}

    class Watched(MOSuccessiveHalving):
        def decide(self, trial_id: str, result: Any) -> str | None:
            said = super().decide(trial_id, result)
            if said is not None:
                stops[int(trial_id)] = result["epoch"]
            return said

    told = bench.learning_curves.replay(curves, order, {"grace_period": 1, "reduction_factor": 3,
                                                        "constraints": budget}, Watched)
    slow = {i for i, c in enumerate(table["configs"]) if c["epochs"][-1]["latency_p50_ms"] > 25}
    assert told[0][-1] < blind[0][-1]
    assert {i for i, e in stops.items() if e == 0} == slow  # every slow configuration, before it trains
    result = bench._measure((table, 5, "latency_p50_ms <= 25", "max", "mo_asha"))
    assert result["feasible"] == 40 - len(slow) and result["rule"] == "mo_asha" and 0 < result["ratio"] < 1
    # fifo told the budget spends nothing on the slow configurations and every epoch on the others
    fifo = bench._measure((table, 5, "latency_p50_ms <= 25", "max", "fifo"))
    off = bench.learning_curves.replay(curves, order, None)
    told_fifo = bench.learning_curves.replay(curves, order, {"grace_period": 1, "reduction_factor": 3,
                                                             "constraints": budget}, bench._fifo)
    assert told_fifo[0][-1] == off[0][-1] - 4 * len(slow) and told_fifo[1] == off[1]
    assert 0 < fifo["ratio"] < 1


def test_the_docs_section_has_a_row_per_budget_box_and_rule(bench: Any, tmp_path, monkeypatch) -> None:
    table = _table()
    assert [b.rsplit(" ", 1)[0] for b in bench.budgets(table)] == ["latency_p50_ms <="] * 3
    results = bench.measure_all(table, orders=3)
    docs = tmp_path / "benchmarks.md"
    monkeypatch.setattr(bench, "DOCS", docs)
    bench.write_docs(results, "cmd", 3)
    text = docs.read_text(encoding="utf-8")
    rows = [text.count(f"| {rule} |") for rule in ("mo_asha, blind", "mo_asha", "fifo")]
    assert rows == [3 * len(bench.BOXES)] * 3
    assert text.count("of the compute, ") == 3 * len(bench.BOXES) and "Reproduce: `cmd`" in text
    under = [line for line in bench.verdict(results) if "at most 1/3, no order lost" in line]
    assert f"as blind to it on {len(under)} of the {3 * len(bench.BOXES)} settings." in text
