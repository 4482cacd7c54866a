"""The other successive-halving rules (benchmarks/stopping_rules.py), replayed like mo_asha."""

from __future__ import annotations

import math
from typing import Any

import pytest

from .conftest import load_benchmark
from .test_learning_curves import _table

NAMES, DIRECTIONS = ["macro_f1", "latency_p50_ms"], ["maximize", "minimize"]


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_benchmark("stopping_rules")


def _report(epoch: int, f1: float, latency: float, epochs: int = 9) -> dict[str, Any]:
    return {"epoch": epoch, "epochs": epochs, "macro_f1": f1, "latency_p50_ms": latency}


def _rule(rules: Any, keep: str, protected: bool) -> Any:
    return rules.rule_class(keep, protected)(NAMES, DIRECTIONS, grace_period=1, reduction_factor=3)


def test_the_default_variant_is_the_scheduler_s_rule_decision_for_decision(rules: Any) -> None:
    curves = rules.learning_curves.Curves(_table())
    for seed in range(3):
        order = list(range(40))
        __import__("random").Random(seed).shuffle(order)
        plain = rules.learning_curves.replay(curves, order, {"grace_period": 1, "reduction_factor": 3})
        variant = rules.learning_curves.replay(curves, order, {"grace_period": 1, "reduction_factor": 3},
                                               rules.rule_class("ceil", False))
        assert variant == plain


def test_floor_stops_the_second_of_four_that_ceil_lets_go_on(rules: Any) -> None:
    # four trials reach epoch 1, each worse than the ones before on both objectives
    for keep, second_goes_on in (("ceil", True), ("floor", False)):
        rule = _rule(rules, keep, False)
        decisions = [rule.decide(str(i), _report(1, 0.5 - 0.1 * i, 10 + i)) for i in (0, 2, 3)]
        assert decisions[0] is None and decisions[1] is not None  # the first goes on, 2 of 2 stops
        fourth = rule.decide("1", _report(1, 0.45, 10.5))  # placed 2 of 4: ceil(4/3) = 2 go on, 4 // 3 = 1
        assert (fourth is None) is second_goes_on


def test_protected_lets_a_trial_no_one_dominates_go_on_past_the_first_rung_only(rules: Any) -> None:
    for epoch, protected, faster_goes_on in ((3, False, False), (3, True, True), (1, True, False)):
        rule = _rule(rules, "ceil", protected)
        assert rule.decide("accurate", _report(epoch, 0.60, 50.0)) is None
        # non-dominated (faster), placed 2 of 2 (a tie on crowding goes to the earlier), 1 goes on
        assert (rule.decide("faster", _report(epoch, 0.50, 40.0)) is None) is faster_goes_on
        assert rule.decide("dominated", _report(epoch, 0.40, 60.0)) is not None


def test_predicted_stops_a_trial_the_finished_trials_dominate_at_its_best_which_mo_asha_lets_go_on(
        rules: Any) -> None:
    # finished trials: whatever their macro-F1 after epoch 1, they end at 0.9, all faster than the newcomer
    for finished, stops in ((rules.PREDICT_AFTER, True), (rules.PREDICT_AFTER - 1, False)):
        plain, predicted = _rule(rules, "ceil", False), rules.rule_class("ceil", False, True)(
            NAMES, DIRECTIONS, grace_period=1, reduction_factor=3)
        for rule in (plain, predicted):
            for i in range(finished):  # (each goes on after epoch 1 here: each is faster than those before)
                assert rule.decide(f"done{i}", _report(1, 0.1 + 0.1 * i, 10.0 - i)) is None
                assert rule.decide(f"done{i}", _report(9, 0.9, 10.0 - i)) is None  # a last epoch never stops
        # the best macro-F1 after epoch 1 so far: first on its rung, it goes on under mo_asha's rule; at its
        # best it ends at 0.9 and slower than every finished trial, which predicted sees
        assert plain.decide("new", _report(1, 0.65, 20.0)) is None
        said = predicted.decide("new", _report(1, 0.65, 20.0))
        assert (said == "the finished trials dominate its optimistic end") is stops and (said is None) is not stops


def test_static_median_stops_a_trial_slower_than_the_first_rung_s_median_and_counts_it_at_the_later_rungs(
        rules: Any) -> None:
    static = rules.rule_class("ceil", False, False, ("latency_p50_ms",))(NAMES, DIRECTIONS, grace_period=1,
                                                                         reduction_factor=3)
    plain = _rule(rules, "ceil", False)
    for rule in (plain, static):
        for name, f1, latency in (("a", 0.30, 10.0), ("b", 0.10, 11.0), ("c", 0.05, 12.0)):
            rule.decide(name, _report(1, f1, latency))
    # the most accurate after epoch 1, placed 2 of 4 (ceil(4/3) = 2 go on), slower than the median (11.5)
    assert plain.decide("d", _report(1, 0.50, 20.0)) is None
    assert static.decide("d", _report(1, 0.50, 20.0)) == ("worse than the median trial on an objective training "
                                                          "does not change")
    assert static.rungs[3] == [("d (stopped)", [math.inf, math.inf], False)] and 3 not in plain.rungs
    assert static.decide("e", _report(1, 0.60, 11.0)) is None  # at the median (11.0 of 10, 11, 11, 12, 20) goes on
    assert static.decide("d", _report(9, 0.60, 20.0)) is None  # a last epoch never stops
    assert rules.static_objectives({"names": ["macro_f1", "latency_p50_ms"], "configs": [
        {"epochs": [{"macro_f1": 0.1, "latency_p50_ms": 3.0}, {"macro_f1": 0.2, "latency_p50_ms": 3.0}]},
        {"epochs": [{"macro_f1": 0.1, "latency_p50_ms": 4.0}]}]}) == ("latency_p50_ms",)


def test_the_docs_say_in_how_many_orders_the_default_stops_a_configuration_of_the_full_budget_front(
        rules: Any) -> None:
    import re

    table = _table()
    # the best at its end, but nothing after epoch 1 and slower than most there: the default stops it
    table["configs"].append({"values": {}, "epochs": [{"epoch": e, "macro_f1": 0.0 if e == 1 else 1.0,
                                                       "latency_p50_ms": 45.0} for e in range(1, 5)]})
    said = rules.front_stopped(table, 20, ["macro_f1", "latency_p50_ms"], "max")
    front = re.search(r"holds (\d+) configurations \(indexes ([\d, ]+) of the table\)", said)
    assert front and "40" in front.group(2).split(", ") and int(front.group(1)) == len(front.group(2).split(", "))
    kept, hit = map(int, re.search(r"In (\d+) of the 20 orders mo_asha stops none of them.*; in (\d+) it stops",
                                   said).groups())
    assert kept + hit == 20 and hit >= 10 and re.search(r"\(40 in \d+", said), said


def test_every_rule_is_replayed_on_every_setting_and_the_docs_say_which_beats_the_default(
        rules: Any, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table()
    table["names"] += ["f1_gap"]
    table["directions"] += ["minimize"]
    for i, config in enumerate(table["configs"]):
        for e in config["epochs"]:
            e["f1_gap"] = 0.05 + (i % 7) / 20
    results = rules.measure_all(table, orders=3)
    assert len(results) == len(rules.RULES) * len(rules.SETTINGS)
    assert {(r["rule"], tuple(r["objectives"]), r["box"]) for r in results} == {
        (name, tuple(o), box) for o, box in rules.SETTINGS for name, *_ in rules.RULES}
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Early stopping on several objectives: a live run\n\nx\n", encoding="utf-8")
    monkeypatch.setattr(rules, "DOCS", docs)
    rules.write_docs(results, "CMD", 3)
    text = docs.read_text(encoding="utf-8")
    assert text.index(rules.SECTION) < text.index("## Early stopping on several objectives: a live run")
    assert "`CMD`" in text and text.count("| mo_asha (default) |") == len(rules.SETTINGS)
    assert all(f"- {name}: better (less compute, no order lost) on " in text for name, *_ in rules.RULES[1:])


def test_a_rule_is_better_only_where_it_costs_less_and_loses_no_order(rules: Any) -> None:
    def row(rule: str, setting: tuple, reached: int, ratio: float) -> dict[str, Any]:
        return {"rule": rule, "objectives": setting[0], "box": setting[1], "reached_with_stopping": reached,
                "ratio": ratio}

    names = [name for name, *_ in rules.RULES]
    results = []
    for setting in rules.SETTINGS:
        results.append(row(names[0], setting, 100, 0.36))
        results.append(row(names[1], setting, 100, 0.30))            # less compute everywhere, nothing lost
        results.append(row(names[2], setting, 90, 0.30))             # less compute, orders lost
        results += [row(n, setting, 100, 0.36) for n in names[3:]]   # the same as the default
    assert rules.better_everywhere(results) == [names[1]]
    lines = rules.verdict(results)
    assert lines[0].startswith(f"- {names[1]}: better (less compute, no order lost) on 4 of 4 settings (")
    assert lines[1].startswith(f"- {names[2]}: better (less compute, no order lost) on 0 of 4 settings; fewer orders "
                               "reach 95% on macro_f1 + latency_p50_ms, box median;")
    assert lines[2] == f"- {names[3]}: better (less compute, no order lost) on 0 of 4 settings"


def test_epsilon_net_places_the_most_accurate_first_then_the_farthest_then_the_dominated_and_the_collapsed(
        rules: Any) -> None:
    # minimised (-macro_f1, latency): one front of four, one point they dominate, one collapsed trial
    points = [[-0.1, 1.0], [-0.5, 5.0], [-0.85, 9.5], [-0.9, 10.0], [-0.4, 6.0], [-0.95, 0.5]]
    feasible = [True, True, True, True, True, False]
    # crowding places the front's two ends first by arrival (0 before 3); the epsilon-net starts at the
    # most accurate (3), then the farthest from it (0), then the one farthest from both (1), then 2
    assert rules.rank(points, feasible)[:2] == [0, 3]
    assert rules.epsilon_net(points, feasible) == [3, 0, 1, 2, 4, 5]
    rule = rules.rule_class("ceil", False, ranking="epsnet")(NAMES, DIRECTIONS, grace_period=1, reduction_factor=3)
    for i, (f1, latency) in enumerate(((0.1, 1.0), (0.5, 5.0), (0.85, 9.5))):
        rule.decide(str(i), _report(1, f1, latency))
    # the most accurate arrives fourth: placed first of 4 by the epsilon-net (crowding: second), 2 go on
    assert rule.decide("3", _report(1, 0.9, 10.0)) is None
    assert rule.decide("4", _report(1, 0.4, 6.0)) is not None  # dominated by 1: placed 5 of 5


def test_the_docs_say_what_the_search_as_it_ships_needs_against_the_target(rules: Any) -> None:
    def row(rule: str, reached: int, ratio: float) -> dict[str, Any]:
        objectives, box = rules.SETTINGS[0]
        return {"rule": rule, "objectives": objectives, "box": box, "reached_with_stopping": reached,
                "ratio": ratio, "ratio_se": 0.01, "orders": 300}

    for shipped, met in ((0.342, False), (0.31, True)):
        said = rules.as_shipped([row(rules.RULES[0].name, 292, 0.359), row(rules.RULES[-2].name, 300, 0.631),
                                 row(rules.RULES[-1].name, 287, shipped)])
        assert f"with the collapse watch needs {shipped:.3f} ± 0.010 of the compute (287/300 orders" in said
        assert "mo_asha alone 0.359 ± 0.010 (292/300), the watch alone (fifo) 0.631 ± 0.010 (300/300)" in said
        assert said.endswith("is met." if met else "is not met.")
    assert rules.RULES[-1].patience == 1 and rules.RULES[-2].patience == 1 and not rules.RULES[-2].scheduler


def test_halved_among_the_learning_counts_a_third_of_the_trials_whose_predictions_had_not_collapsed(
        rules: Any) -> None:
    for learning_only, second_goes_on in ((False, True), (True, False)):
        rule = rules.rule_class("ceil", False, learning_only=learning_only)(NAMES, DIRECTIONS, grace_period=1,
                                                                           reduction_factor=3)
        for i in range(3):  # collapsed: placed after every learning trial, stopped by the watch
            rule.decide(f"c{i}", {**_report(1, 0.05, 5.0 + i), "collapsed": True})
        assert rule.decide("a", _report(1, 0.5, 10.0)) is None
        # placed 2 of 5: ceil(5 / 3) = 2 go on; among the 2 learning trials ceil(2 / 3) = 1
        assert (rule.decide("b", _report(1, 0.4, 11.0)) is None) is second_goes_on
