"""Schedulers by name, and MO-ASHA's rule: rungs, ranking by non-dominated front and crowding."""

from __future__ import annotations

import math

import pytest

from hpsearch.errors import Problem
from hpsearch.search import SCHEDULERS, MOSuccessiveHalving, SearchConfig, check_sampler, make_scheduler, register_scheduler
from hpsearch.search._schedulers import crowding_distance, non_dominated_fronts, rank

NAMES = ["macro_f1", "latency_p50_ms"]
DIRECTIONS = ["maximize", "minimize"]


def _rule(**options: object) -> MOSuccessiveHalving:
    rule = make_scheduler("mo_asha", NAMES, DIRECTIONS, options)
    assert isinstance(rule, MOSuccessiveHalving)
    return rule


def test_rungs_are_the_grace_period_times_powers_of_the_reduction_factor() -> None:
    assert [e for e in range(1, 30) if _rule(grace_period=1, reduction_factor=3).is_rung(e)] == [1, 3, 9, 27]
    assert [e for e in range(1, 30) if _rule(grace_period=2, reduction_factor=2).is_rung(e)] == [2, 4, 8, 16]


def test_fronts_then_crowding_then_arrival() -> None:
    points = [[1.0, 5.0], [2.0, 2.0], [5.0, 1.0], [3.0, 3.0], [2.0, 2.0]]
    assert non_dominated_fronts(points) == [[0, 1, 2, 4], [3]]
    distance = crowding_distance([points[i] for i in (0, 1, 2, 4)])
    assert distance[0] == distance[2] == math.inf and 0 < distance[1] == distance[3] < math.inf
    assert rank(points) == [0, 2, 1, 4, 3]  # the equal points 1 and 4: by arrival


def test_a_trial_dominated_at_its_rung_stops_with_the_reason_and_the_first_always_goes_on() -> None:
    rule = _rule(grace_period=1, reduction_factor=2)
    assert rule.decide("a", {"epoch": 1.0, "macro_f1": 0.5, "latency_p50_ms": 10.0}) is None
    reason = rule.decide("b", {"epoch": 1.0, "macro_f1": 0.4, "latency_p50_ms": 11.0})
    assert reason is not None and "after epoch 1" in reason and "placed 2 of the 2" in reason
    # a trade-off with the first is on the first front: it goes on (top ceil(3/2) = 2 of 3)
    assert rule.decide("c", {"epoch": 1.0, "macro_f1": 0.6, "latency_p50_ms": 12.0}) is None
    # between rungs nothing is decided, and a report without the time key is the final one
    assert rule.decide("c", {"epoch": 3.0, "macro_f1": 0.0, "latency_p50_ms": 99.0}) is None
    assert rule.decide("d", {"macro_f1": 0.0, "latency_p50_ms": 99.0}) is None


def test_a_tie_goes_to_the_trial_that_reached_the_rung_first() -> None:
    rule = _rule(grace_period=1, reduction_factor=2, metrics=["macro_f1"])
    assert rule.decide("a", {"epoch": 1, "macro_f1": 0.5}) is None
    assert rule.decide("b", {"epoch": 1, "macro_f1": 0.5}) is not None


def test_a_trial_at_its_last_epoch_is_never_stopped_but_still_placed_for_those_after_it() -> None:
    # epochs 1, 3, 9 are rungs: a 3-epoch trial reaches rung 3 at its end, with nothing left to save
    rule = _rule(grace_period=1, reduction_factor=3, metrics=["macro_f1"])
    assert rule.decide("a", {"epoch": 3, "epochs": 9, "macro_f1": 0.5}) is None
    assert rule.decide("b", {"epoch": 3, "epochs": 3, "macro_f1": 0.4}) is None  # placed 2 of 2: kept
    assert [t for t, _, _ in rule.rungs[3]] == ["a", "b"]
    # the same place a rung before the end stops it; and the last trial's value counts for the next
    assert rule.decide("c", {"epoch": 3, "epochs": 9, "macro_f1": 0.45}) is not None
    assert "placed 3 of the 4" in rule.decide("d", {"epoch": 3, "epochs": 9, "macro_f1": 0.42})


def test_a_finished_trial_s_reports_are_placed_at_their_rungs_and_nothing_else_is() -> None:
    rule = _rule(grace_period=1, reduction_factor=3, metrics=["macro_f1"])
    for row in ({"epoch": 1, "macro_f1": 0.6}, {"epoch": 2, "macro_f1": 0.7}, {"epoch": 3, "macro_f1": 0.8},
                {"epoch": 1, "macro_f1": 0.1}, {"epoch": 3}):  # again, off a rung, twice, without the objective
        rule.observe("7", row)
    rule.observe("8", {"epoch": 3, "accuracy": 0.9})  # a row of a trial run without per-epoch objectives
    assert {e: [(t, v) for t, v, _ in rung] for e, rung in rule.rungs.items()} == {1: [("7", [-0.6])],
                                                                                   3: [("7", [-0.8])]}
    assert "placed 2 of the 2" in rule.decide("9", {"epoch": 1, "macro_f1": 0.5})


def test_a_report_without_an_objective_is_an_error_not_a_silent_continue() -> None:
    with pytest.raises(ValueError, match="carries no latency_p50_ms"):
        _rule().decide("a", {"epoch": 1, "macro_f1": 0.5})


def test_fifo_stops_nothing_and_names_are_taken_once() -> None:
    assert make_scheduler("fifo", NAMES, DIRECTIONS, {}) is None
    with pytest.raises(ValueError, match="already registered"):
        register_scheduler("mo_asha", MOSuccessiveHalving)
    assert set(SCHEDULERS) >= {"fifo", "mo_asha"}


def test_metrics_must_be_objectives_of_the_study() -> None:
    with pytest.raises(ValueError, match="metrics must be objectives of the study"):
        _rule(metrics=["f1_gap"])


@pytest.mark.parametrize("scheduler, key, message", [
    ({"name": "mo_asha", "options": {"reduction_factor": 1}}, "scheduler.options.reduction_factor",
     "greater than or equal to 2"),
    ({"name": "mo_asha", "options": {"grace": 1}}, "scheduler.options.grace", "Extra inputs are not permitted"),
    ({"name": "fifo", "options": {"grace_period": 1}}, "scheduler.options", "takes no options"),
])
def test_a_bad_option_is_one_problem_naming_its_key(scheduler: dict, key: str, message: str, tmp_path) -> None:
    problems: list[Problem] = []
    check_sampler(tmp_path / "s.yaml", SearchConfig(scheduler=scheduler), problems)
    assert [(p.key, message in p.message) for p in problems] == [(key, True)]


def test_a_collapsed_trial_ranks_after_every_trial_that_did_not_collapse() -> None:
    rule = _rule(grace_period=1, reduction_factor=2)
    assert rule.decide("a", {"epoch": 1, "macro_f1": 0.5, "latency_p50_ms": 30.0}) is None
    # faster and no worse on anything it is compared on, but its predictions collapsed to one class
    assert rule.decide("b", {"epoch": 1, "macro_f1": 0.5, "latency_p50_ms": 5.0, "collapsed": 1.0}) is not None
    assert rank([[0.0, 0.0], [1.0, 1.0]], [False, True]) == [1, 0]


def _latency_rule(**options: object) -> MOSuccessiveHalving:
    from hpsearch.objectives import parse_constraint

    rule = make_scheduler("mo_asha", NAMES, DIRECTIONS, options,
                          [parse_constraint("latency_p50_ms <= 10"), parse_constraint("latency_p95_ms <= 20")])
    assert isinstance(rule, MOSuccessiveHalving)
    return rule


def test_a_trial_breaking_a_constraint_training_does_not_change_stops_at_once_grace_period_or_not() -> None:
    rule = _latency_rule(grace_period=2, reduction_factor=3)
    # epoch 1 is no rung, and the first trial would go on at its rung, but no epoch makes it faster
    reason = rule.decide("a", {"epoch": 1, "epochs": 6, "macro_f1": 0.9, "latency_p50_ms": 12.5})
    assert reason == ("stopped early by mo_asha after epoch 1: breaks latency_p50_ms <= 10 (latency_p50_ms 12.5, "
                      "measured on the deployed model: training does not change it)")
    # off a rung: counted at the next, epoch 2, after the trials meeting it
    assert {e: [(t, ok) for t, _, ok in rung] for e, rung in rule.rungs.items()} == {2: [("a", False)]}
    # measured before training (the trainer's epoch 0 where a constraint needs the deployed model)
    assert rule.decide("a0", {"epoch": 0, "epochs": 6, "latency_p50_ms": 12.5}).startswith(
        "stopped early by mo_asha before training: breaks latency_p50_ms <= 10")
    assert rule.decide("b0", {"epoch": 0, "epochs": 6, "latency_p50_ms": 9.0}) is None
    assert [(t, ok) for t, _, ok in rule.rungs[2]] == [("a", False), ("a0", False)]
    # a constraint on a value the report does not carry is not broken (yet); one it carries is
    assert rule.decide("b", {"epoch": 1, "epochs": 6, "macro_f1": 0.1, "latency_p50_ms": 9.0}) is None
    assert "breaks latency_p95_ms <= 20" in rule.decide(
        "c", {"epoch": 1, "epochs": 6, "macro_f1": 0.1, "latency_p50_ms": 9.0, "latency_p95_ms": 25.0})
    # at its last epoch nothing is left to save: it ends, and the study keeps it off the front
    assert rule.decide("d", {"epoch": 6, "epochs": 6, "macro_f1": 0.9, "latency_p50_ms": 12.5}) is None
    assert [(t, ok) for t, _, ok in rule.rungs[6]] == [("d", False)]


def test_a_trial_stopped_for_a_constraint_counts_at_its_rung_after_those_meeting_it() -> None:
    rule = _latency_rule(grace_period=1, reduction_factor=2)
    assert "breaks latency_p95_ms <= 20" in rule.decide("a", {"epoch": 1, "epochs": 4, "macro_f1": 0.9,
                                                               "latency_p50_ms": 5.0, "latency_p95_ms": 25.0})
    # a dominates b on the objectives, but a breaks a constraint: b is placed first of the 2 and goes on
    # (the best ceil(2 / 2) = 1); without the constraint a would have stopped it
    assert rule.decide("b", {"epoch": 1, "epochs": 4, "macro_f1": 0.5, "latency_p50_ms": 9.0}) is None
    assert [(t, ok) for t, _, ok in rule.rungs[1]] == [("a", False), ("b", True)]
    # halved against every trial that reached the rung, a included: 2 of 3 go on, then 2 of 4
    assert rule.decide("c", {"epoch": 1, "epochs": 4, "macro_f1": 0.4, "latency_p50_ms": 9.5}) is None
    assert "placed 3 of the 4" in rule.decide("d", {"epoch": 1, "epochs": 4, "macro_f1": 0.3, "latency_p50_ms": 9.8})
    # a finished trial of the study that broke one is placed after those meeting them too
    rule.observe("7", {"epoch": 2, "macro_f1": 0.95, "latency_p50_ms": 30.0})
    assert rule.decide("e", {"epoch": 2, "epochs": 4, "macro_f1": 0.5, "latency_p50_ms": 9.0}) is None
    assert [(t, ok) for t, _, ok in rule.rungs[2]] == [("7", False), ("e", True)]
    # and one stopped before training, at the first rung it would have reached
    rule.observe("8", {"epoch": 0.0, "epochs": 4.0, "latency_p50_ms": 30.0})
    assert [(t, ok) for t, _, ok in rule.rungs[1]][-1] == ("8", False) and len(rule.rungs[1]) == 5


def test_fifo_stops_only_a_trial_breaking_a_budget_and_before_it_trains() -> None:
    from hpsearch.objectives import parse_constraint

    assert make_scheduler("fifo", NAMES, DIRECTIONS, {}) is None
    rule = make_scheduler("fifo", NAMES, DIRECTIONS, {}, [parse_constraint("model_size_mb <= 80")])
    assert rule is not None and not rule.needs_epoch_objectives and not rule.decides_at(1)
    assert rule.decide("a", {"epoch": 0, "epochs": 4, "model_size_mb": 86.1}) == (
        "stopped early before training: breaks model_size_mb <= 80 (model_size_mb 86.1, measured on the deployed "
        "model: training does not change it)")
    assert rule.decide("b", {"epoch": 0, "epochs": 4, "model_size_mb": 66.0}) is None
    # nothing else: the worst trial at every epoch goes on, as fifo's do
    assert all(rule.decide("b", {"epoch": e, "epochs": 4, "macro_f1": 0.0, "latency_p50_ms": 1e9}) is None
               for e in (1, 2, 3, 4))
