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
    # a shard draws the same configurations in the same order, and trains only its own
    part = tmp_path / "part1.json"
    sharded = curves.record(toy_space, 2, 0, part, shard=(1, 2))
    assert [c["index"] for c in sharded["configs"]] == [1]
    assert sharded["configs"][0]["values"] == table["configs"][1]["values"]


def test_merge_puts_shards_back_in_the_order_the_configurations_were_drawn(curves: Any, tmp_path) -> None:
    table = _table(n=5)
    for i, config in enumerate(table["configs"]):
        config["index"] = i
    parts = []
    for k in range(2):
        path = tmp_path / f"part{k}.json"
        path.write_text(curves.json.dumps({**table, "space": "s.yaml",
                                           "configs": [c for c in table["configs"] if c["index"] % 2 == k]}))
        parts.append(path)
    merged = curves.merge(parts, tmp_path / "merged.json", device="a test")
    assert [c["index"] for c in merged["configs"]] == [0, 1, 2, 3, 4] and merged["device"] == "a test"
    other = tmp_path / "other.json"
    other.write_text(curves.json.dumps({**table, "space": "other.yaml"}))
    with pytest.raises(SystemExit, match="different spaces"):
        curves.merge([parts[0], other], tmp_path / "bad.json")


def test_replay_on_a_subset_of_objectives_and_either_box(curves: Any) -> None:
    table = _table()
    for config in table["configs"]:
        for e in config["epochs"]:
            e["f1_gap"] = 0.1
    table["names"].append("f1_gap")
    table["directions"].append("minimize")
    two = curves.Curves(table, objectives=["macro_f1", "latency_p50_ms"])
    assert two.names == ["macro_f1", "latency_p50_ms"] and len(two.curves[0][0]) == 2
    finals = two._minimised([c[-1] for c in two.curves])
    assert (two.high == finals.max(axis=0)).all()
    median = curves.Curves(table, box="median", objectives=["macro_f1", "latency_p50_ms"])
    assert median.full_hv > 0 and (median.high < two.high).all()


def test_the_committed_curves_are_real_and_long_enough(curves: Any) -> None:
    """BENCHMARKS.md §2 asks for >= 60 configurations x >= 4 epochs of per-epoch validation objectives."""
    table = curves.json.loads(curves.RESULTS.read_text(encoding="utf-8"))
    assert len(table["configs"]) >= 60
    assert all(len(c["epochs"]) >= 4 for c in table["configs"])
    assert all(set(table["names"]) <= set(e) for c in table["configs"] for e in c["epochs"])
    finals = [c["epochs"][-1]["macro_f1"] for c in table["configs"]]
    assert max(finals) - min(finals) > 0.3  # configurations that learned and ones that did not


def test_a_bad_space_is_one_line_and_exit_2(curves: Any, tmp_path, capsys) -> None:
    out = tmp_path / "curves.json"
    assert curves.run(["record", str(tmp_path / "nope.yaml"), "--configs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nope.yaml: file not found" in err[0]
    assert not out.exists()


def test_gpu_sharing_figures_come_from_the_dmon_samples_and_the_table(curves: Any) -> None:
    dmon = ("# gpu sm mem enc dec jpg ofa fb bar1 ccpm\n# Idx % % % % % % MB MB MB\n"
            "    0   90   10    0    0    0    0  4000    1    0\n"
            "    0    0    0    0    0    0    0   100    1    0\n"
            "    0   60    5    0    0    0    0  9000    1    0\n")
    table = {"configs": [{"seconds": 60.0, "train_seconds": 50.0, "peak_memory_mb": 300.0},
                         {"seconds": 80.0, "train_seconds": 70.0, "peak_memory_mb": 500.0}]}
    g = curves.gpu_sharing(table, dmon)
    assert g["samples"] == 3 and g["busy_mean"] == pytest.approx(50.0) and g["busy_when_running"] == pytest.approx(75.0)
    assert g["memory_in_use_max_mb"] == 9000 and g["wall_s"] == 6.0 and g["trials_per_hour"] == pytest.approx(1200.0)
    assert (g["trial_s_median"], g["peak_mb_min"], g["peak_mb_max"]) == (70.0, 300.0, 500.0)


def test_the_halving_floor_is_what_a_trial_costs_when_exactly_one_in_r_goes_on(curves: Any) -> None:
    rule = __import__("hpsearch.search", fromlist=["MOSuccessiveHalving"]).MOSuccessiveHalving
    for epochs, grace, factor in ((9, 1, 3), (9, 1, 4), (9, 2, 3), (4, 1, 2)):
        # a trial count where every rung keeps exactly 1 in `factor`: run them through the rung schedule
        is_rung = rule(["a"], ["minimize"], grace_period=grace, reduction_factor=factor).is_rung
        trials, cost, going = factor ** 4, 0.0, float(factor ** 4)
        for epoch in range(1, epochs + 1):
            cost += going
            if is_rung(epoch) and epoch < epochs:
                going /= factor
        assert curves.halving_floor(epochs, grace, factor) == pytest.approx(cost / trials)


def test_the_rule_that_knows_the_end_spends_no_more_than_any_replayed_rule(curves: Any) -> None:
    table = _table()
    oracle = curves.oracle_ratio(table, orders=5, box="max", objectives=None)
    assert 0.0 < oracle < 1.0
    for grace, factor in ((1, 2), (1, 3), (2, 2)):
        result = curves.measure(table, orders=5, grace_period=grace, reduction_factor=factor)
        if result["reached_with_stopping"] == 5:
            assert oracle <= result["ratio"] + 1e-9
    # one configuration better than the others, which all end at the box's worst value (no hypervolume):
    # the oracle runs only that one to its end (4 epochs) and every trial before it for 1 epoch
    alone = {"names": ["macro_f1"], "directions": ["maximize"], "configs": [
        {"values": {}, "epochs": [{"epoch": e, "macro_f1": (0.9 if i == 0 else 0.1) * e / 4}
                                  for e in range(1, 5)]} for i in range(10)]}
    shares = []
    for seed in range(3):
        order = list(range(10))
        random.Random(seed).shuffle(order)
        before = order.index(0)
        shares.append((before + 4) / (4 * (before + 1)))
    assert curves.oracle_ratio(alone, orders=3, box="max", objectives=None) == pytest.approx(sum(shares) / 3)


def test_promotion_runs_a_trial_on_only_once_it_is_among_the_best_of_its_rung(curves: Any) -> None:
    # 3 configurations, 3 epochs, rungs at 1 (then 3 = the end): the best after epoch 1 is the last to
    # arrive; promotion waits for all three at rung 1 (1 epoch each) and then runs only that one on
    # (2 more epochs): 5 epochs, against 9 for all three to their ends (the goal needs that one alone)
    table = {"names": ["macro_f1"], "directions": ["maximize"],
             "configs": [{"epochs": [{"macro_f1": f1 * e / 3} for e in (1, 2, 3)]} for f1 in (0.3, 0.2, 0.9)]}
    ratio, reached = curves.promotion_ratio(table, orders=1, box="max", objectives=None, grace_period=1,
                                            reduction_factor=3)
    assert reached == 1
    order = [0, 1, 2]
    random.Random(0).shuffle(order)
    off = curves.compute_to_reach(*curves.replay(curves.Curves(table, "max"), order, None), 0.95)
    assert ratio == pytest.approx(5 / off)


def test_the_docs_say_when_one_configuration_holds_the_goal_alone(curves: Any) -> None:
    # one configuration better than the others, which all end at the box's worst value: the goal is
    # reached exactly when it ends, in every order, and the ratio per order is c/4 + (1 - c/4) / p
    alone = {"names": ["macro_f1"], "directions": ["maximize"], "configs": [
        {"values": {}, "learned": True, "epochs": [{"epoch": e, "macro_f1": (0.9 if i == 0 else 0.1) * e / 4}
                                                   for e in range(1, 5)]} for i in range(10)]}
    result = curves.measure(alone, orders=4, grace_period=1, reduction_factor=2)
    text = curves.held_alone(result, alone)
    assert "one configuration holds 100% of the full-budget hypervolume alone (index 0 of the table)" in text
    positions = []
    for seed in range(4):
        order = list(range(10))
        random.Random(seed).shuffle(order)
        positions.append(order.index(0) + 1)
    assert f"mean 1/p = {sum(1 / p for p in positions) / 4:.3f}" in text
    assert "In 4 of the 4 orders the goal is reached as that configuration ends" in text
    assert "in the other" not in text


def test_the_collapse_watch_stops_a_trial_after_patience_collapsed_epochs_in_a_row_with_or_without_a_rule(
        curves: Any) -> None:
    table = _table(n=3, epochs=4)
    # 0: collapsed after epoch 1 only; 1: after epochs 2 and 3; 2: after its last epoch only
    for i, collapsed in enumerate(([1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1])):
        for row, flag in zip(table["configs"][i]["epochs"], collapsed):
            row["collapsed"] = float(flag)
    watched = curves.Curves(table)
    for patience, spent in ((0, [4, 8, 12]), (1, [1, 3, 7]), (2, [1 + 3, 4 + 3, 7 + 4])):
        assert curves.replay(watched, [0, 1, 2], None, patience=patience)[0] == spent, patience
    # the rule hears the report first (the collapsed trial is placed at its rung), then the watch stops it
    heard: list[tuple[str, int]] = []

    from hpsearch.search import MOSuccessiveHalving

    class Heard(MOSuccessiveHalving):
        def decide(self, trial_id: str, result: Any) -> str | None:
            heard.append((trial_id, result["epoch"]))
            return super().decide(trial_id, result)

    curves.replay(watched, [0, 1, 2], {"grace_period": 1, "reduction_factor": 3}, Heard, patience=1)
    assert ("0", 1) in heard and ("0", 2) not in heard
    # measured: with the watch the search with stopping spends less, and its rows say what it ran
    plain = curves.measure(table, orders=3, grace_period=1, reduction_factor=3)
    watch = curves.measure(table, orders=3, grace_period=1, reduction_factor=3, patience=1, scheduler=False)
    assert watch["patience"] == 1 and watch["scheduler"] is False and plain["patience"] == 0
    assert watch["on_epochs"] <= watch["off_epochs"]
