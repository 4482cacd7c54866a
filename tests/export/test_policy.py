"""`hpsearch export --policy`: the policy as written, each mistake as one line naming its token and
position, the metrics it may name, and the trial it picks (or why none) from trials shaped as hpsearch
records them: every measured metric a user attribute, the objectives also the trial's values."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from hpsearch.errors import UserError
from hpsearch.export import (
    Condition,
    Policy,
    check_metrics,
    explain_no_pick,
    metric_value,
    parse_policy,
    pick,
)

NAMES = ["macro_f1", "f1_gap", "latency_p50_ms"]
DIRECTIONS = dict(zip(NAMES, ["maximize", "minimize", "minimize"]))


def trial(number: int, f1: float, gap: float, p50: float, **attrs: Any) -> optuna.trial.FrozenTrial:
    """A complete trial: its objectives as values, every metric (`attrs` too) as user attributes."""
    user_attrs = {"macro_f1": f1, "f1_gap": gap, "latency_p50_ms": p50, "latency_p95_ms": 1.5 * p50,
                  "test/macro_f1": f1 - 0.05, **attrs}
    made = optuna.trial.create_trial(values=[f1, gap, p50], user_attrs={k: v for k, v in user_attrs.items()
                                                                       if v is not None})
    made.number = number
    return made


def refusal(text: str) -> str:
    with pytest.raises(UserError) as caught:
        parse_policy(text)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------------------- parsing


def test_parses_the_documented_examples() -> None:
    assert parse_policy("max macro_f1 where latency_p95_ms <= 20 and f1_gap <= 0.05") == Policy(
        "max", "macro_f1", (Condition("latency_p95_ms", "<=", 20.0), Condition("f1_gap", "<=", 0.05)))
    assert parse_policy("min latency_p50_ms where macro_f1 >= 0.8") == Policy(
        "min", "latency_p50_ms", (Condition("macro_f1", ">=", 0.8),))


def test_whitespace_is_free_and_numbers_take_signs_and_exponents() -> None:
    policy = parse_policy("\tmax   group/lang=de/macro_f1 where x==1e-3 and y>-2.5 and and_z<.5  and w<1E+2"
                          " tie min f1_gap,max accuracy ")
    assert policy == Policy("max", "group/lang=de/macro_f1",
                            (Condition("x", "==", 0.001), Condition("y", ">", -2.5),
                             Condition("and_z", "<", 0.5), Condition("w", "<", 100.0)),
                            (("min", "f1_gap"), ("max", "accuracy")))


@pytest.mark.parametrize("text", [
    "max macro_f1",
    "min latency_p95_ms where macro_f1 > 0.8 and f1_gap < 1e-07 and layers == 6",
    "max macro_f1 tie min latency_p50_ms, min f1_gap",
    "max accuracy where x >= -0.125 tie max macro_f1",
])
def test_str_reads_back_as_the_same_policy(text: str) -> None:
    assert str(parse_policy(text)) == text
    assert parse_policy(str(parse_policy(text))) == parse_policy(text)


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty; a policy reads 'max|min <metric>"),
    ("   ", "is empty; a policy reads 'max|min <metric>"),
    ("maximize macro_f1", "expected 'max' or 'min' at position 1, got 'maximize' (did you mean 'max'?)"),
    ("Max macro_f1", "expected 'max' or 'min' at position 1, got 'Max' (did you mean 'max'?)"),
    ("max", "expected a metric name after 'max' at position 4, got the end of the policy"),
    ("max where x < 1", "expected a metric name after 'max' at position 5, got keyword 'where'"),
    ("max (macro_f1)", "expected a metric name after 'max' at position 5, got '(macro_f1)'"),
    ("max macro_f1 wher x < 1",
     "expected 'where', 'tie' or the end of the policy after 'macro_f1' at position 14, got 'wher' "
     "(did you mean 'where'?)"),
    ("max macro_f1 f1_gap", "expected 'where', 'tie' or the end of the policy after 'macro_f1' at position 14, "
                            "got 'f1_gap'"),
    ("max macro_f1 where", "expected a metric name after 'where' at position 19, got the end of the policy"),
    ("max f1 where latency_p95_ms is 20",
     "expected an operator (<=, <, >=, >, ==) after 'latency_p95_ms' at position 29, got 'is'"),
    ("max f1 where x = 3", "expected an operator (<=, <, >=, >, ==) after 'x' at position 16, got '=' "
                           "(did you mean '=='?)"),
    ("max f1 where x =< 3", "expected an operator (<=, <, >=, >, ==) after 'x' at position 16, got '=<' "
                            "(did you mean '<='?)"),
    ("max f1 where x != 3", "expected an operator (<=, <, >=, >, ==) after 'x' at position 16, got '!='"),
    ("max f1 where x=3", "expected an operator (<=, <, >=, >, ==) after 'x=3' at position 17, got the end of "
                         "the policy (to compare, write 'x == 3')"),
    ("max f1 where x <=", "expected a number after '<=' at position 18, got the end of the policy"),
    ("max f1 where x <= 2o", "expected a number after '<=' at position 19, got '2o'"),
    ("max f1 where x <= 1.2.3", "expected a number after '<=' at position 19, got '1.2.3'"),
    ("max f1 where x <= inf", "expected a number after '<=' at position 19, got 'inf'"),
    ("max f1 where x <= +5", "expected a number after '<=' at position 19, got '+5'"),
    ("max f1 where x <= y", "expected a number after '<=' at position 19, got 'y'"),
    ("max f1 where x <= 1e999", "expected a finite number after '<=' at position 19, got '1e999'"),
    ("max f1 where x <= 1 or y < 2",
     "expected 'and', 'tie' or the end of the policy after '1' at position 21, got 'or'"),
    ("max f1 where x <= 1 and", "expected a metric name after 'and' at position 24, got the end of the policy"),
    ("max f1 tie", "expected 'max' or 'min' after 'tie' at position 11, got the end of the policy"),
    ("max f1 tie f1_gap", "expected 'max' or 'min' after 'tie' at position 12, got 'f1_gap'"),
    ("max f1 tie min a,", "expected 'max' or 'min' after ',' at position 18, got the end of the policy"),
    ("max f1 tie min a and max b",
     "expected ',' or the end of the policy after 'a' at position 18, got keyword 'and'"),
    ("max f1 tie min a where x < 1", "expected ',' or the end of the policy after 'a' at position 18, "
                                     "got keyword 'where'"),
    ("max f1 tie max f1", "'f1' at position 16 is ranked already; a policy ranks each metric once"),
    ("max f1 tie min a, max a", "'a' at position 23 is ranked already; a policy ranks each metric once"),
])
def test_each_mistake_is_one_line_naming_the_token_and_its_position(text: str, message: str) -> None:
    assert refusal(text).startswith(f"--policy: {message}")


def test_errors_name_the_source_given() -> None:
    with pytest.raises(UserError, match=r"^export\.yaml: policy: expected"):
        parse_policy("max", source="export.yaml: policy")


def test_describe_states_the_tie_break() -> None:
    assert parse_policy("max macro_f1").describe() == (
        "max macro_f1; ties go to the study's other objectives in their directions, then the lowest trial number")
    assert parse_policy("max macro_f1").describe(DIRECTIONS) == (
        "max macro_f1; ties go to min f1_gap, then min latency_p50_ms, then the lowest trial number")
    assert parse_policy("min latency_p50_ms tie max macro_f1").describe(DIRECTIONS) == (
        "min latency_p50_ms tie max macro_f1; ties go to max macro_f1, then the lowest trial number")


# ------------------------------------------------------------------------------- metrics it names


KNOWN = {"macro_f1", "f1_gap", "latency_p50_ms", "latency_p95_ms", "accuracy", "test/macro_f1", "test/accuracy"}


def test_known_metrics_pass() -> None:
    check_metrics(parse_policy("max macro_f1 where latency_p95_ms <= 20 tie max accuracy"), KNOWN)


def test_an_unknown_metric_is_named_with_its_close_matches() -> None:
    with pytest.raises(UserError) as caught:
        check_metrics(parse_policy("max macro_f where latency_p95 <= 20"), KNOWN)
    assert str(caught.value).splitlines() == [
        "--policy: unknown metric 'macro_f'; did you mean 'macro_f1'?",
        "--policy: unknown metric 'latency_p95'; did you mean 'latency_p95_ms' or 'latency_p50_ms'?",
    ]


def test_an_unknown_metric_with_nothing_close_lists_what_was_recorded() -> None:
    with pytest.raises(UserError, match=r"unknown metric 'zzz'; the trials recorded accuracy, f1_gap, "
                                        r"latency_p50_ms, latency_p95_ms, macro_f1$"):
        check_metrics(parse_policy("max zzz"), KNOWN)


@pytest.mark.parametrize(("text", "message"), [
    ("max test/macro_f1", "policies pick on validation metrics only; test/macro_f1 is measured on the test split, "
                          "which stays unseen until a model is chosen; use 'macro_f1', its validation score"),
    ("max macro_f1 where test/accuracy >= 0.5", "policies pick on validation metrics only; test/accuracy is "
                                                "measured on the test split"),
    ("max macro_f1 tie max test_f1", "policies pick on validation metrics only; test_f1 is measured on the test"),
])
def test_a_test_split_metric_is_refused(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        check_metrics(parse_policy(text), KNOWN)
    assert str(caught.value).startswith(f"--policy: {message}")


# ------------------------------------------------------------------------------------------ picking


FRONT = [trial(0, 0.80, 0.02, 10.0), trial(1, 0.85, 0.08, 12.0), trial(2, 0.90, 0.03, 16.0),
         trial(3, 0.70, 0.01, 8.0)]


def test_picks_the_best_trial_meeting_every_condition() -> None:
    policy = parse_policy("max macro_f1 where latency_p95_ms <= 20 and f1_gap <= 0.05")
    found = pick(policy, FRONT, DIRECTIONS)
    assert found.trial is FRONT[0]
    assert found.excluded == [(policy.conditions[0], 1), (policy.conditions[1], 1)]
    assert (found.total, found.qualified, found.closest, explain_no_pick(found, policy)) == (4, 2, None, [])
    assert pick(parse_policy("min latency_p50_ms where macro_f1 >= 0.8"), FRONT, DIRECTIONS).trial is FRONT[0]
    assert pick(parse_policy("max macro_f1"), FRONT, DIRECTIONS).trial is FRONT[2]


def test_default_tie_break_follows_the_objectives_in_their_order_then_the_trial_number() -> None:
    tied = [trial(2, 0.8, 0.04, 5.0), trial(5, 0.8, 0.03, 9.0)]
    policy = parse_policy("max macro_f1")
    assert pick(policy, tied, DIRECTIONS).trial is tied[1]  # f1_gap first: lower wins
    latency_first = {"macro_f1": "maximize", "latency_p50_ms": "minimize", "f1_gap": "minimize"}
    assert pick(policy, tied, latency_first, NAMES).trial is tied[0]
    same = [trial(7, 0.8, 0.03, 9.0), trial(4, 0.8, 0.03, 9.0), trial(6, 0.8, 0.03, 9.0)]
    assert pick(policy, same, DIRECTIONS).trial is same[1]


def test_an_explicit_tie_break_replaces_the_objectives() -> None:
    tied = [trial(2, 0.8, 0.04, 5.0, accuracy=0.7), trial(5, 0.8, 0.03, 9.0, accuracy=0.9)]
    assert pick(parse_policy("max macro_f1 tie min latency_p50_ms"), tied, DIRECTIONS).trial is tied[0]
    assert pick(parse_policy("max macro_f1 tie max accuracy"), tied, DIRECTIONS).trial is tied[1]
    # a trial lacking a tie-break metric ranks after those that have it, not out
    lacking = [trial(1, 0.8, 0.01, 1.0), trial(3, 0.8, 0.05, 9.0, accuracy=0.1)]
    found = pick(parse_policy("max macro_f1 tie max accuracy"), lacking, DIRECTIONS)
    assert (found.trial, found.missing) == (lacking[1], {})


def test_a_metric_not_recorded_as_an_attribute_is_read_from_the_values() -> None:
    bare = optuna.trial.create_trial(values=[0.95, 0.01, 3.0], user_attrs={"latency_p95_ms": 4.0})
    bare.number = 9
    assert metric_value(bare, "macro_f1", NAMES) == 0.95
    assert metric_value(bare, "macro_f1") is None
    policy = parse_policy("max macro_f1 where f1_gap <= 0.05")
    assert pick(policy, [*FRONT, bare], DIRECTIONS).trial is bare
    assert pick(policy, [*FRONT, bare], DIRECTIONS, objective_names=["accuracy"]).trial is FRONT[2]


def test_trials_lacking_a_metric_are_excluded_and_counted() -> None:
    flagged = [trial(0, 0.9, 0.01, 5.0, learned=True), trial(1, 0.8, 0.01, 5.0, score=float("nan")),
               trial(2, 0.7, 0.01, 5.0, score=0.5)]
    policy = parse_policy("max macro_f1 where score >= 0 and learned == 1")  # a bool is no number
    found = pick(policy, flagged, DIRECTIONS)
    assert (found.trial, found.missing) == (None, {"score": 2, "learned": 3})
    assert found.excluded == [(policy.conditions[0], 2), (policy.conditions[1], 3)]
    assert explain_no_pick(found, policy) == ["score >= 0 excluded 2 of 3 trials (2 of them lack score)",
                                              "learned == 1 excluded 3 of 3 trials (3 of them lack learned)"]


def test_when_nothing_qualifies_it_says_what_each_condition_excluded_and_the_closest_trial() -> None:
    trials = [*FRONT, trial(4, 0.95, 0.0, 1.0, latency_p95_ms=None)]
    policy = parse_policy("max macro_f1 where latency_p95_ms <= 13 and f1_gap <= 0.005")
    found = pick(policy, trials, DIRECTIONS)
    assert found.trial is None
    assert found.excluded == [(policy.conditions[0], 4), (policy.conditions[1], 4)]
    assert found.closest is FRONT[3]  # f1_gap 2x its bound beats trial 0: latency 15% and f1_gap 4x over
    assert found.closest_misses == ["f1_gap 0.01 (needs <= 0.005)"]
    assert explain_no_pick(found, policy) == [
        "latency_p95_ms <= 13 excluded 4 of 5 trials (1 of them lacks latency_p95_ms)",
        "f1_gap <= 0.005 excluded 4 of 5 trials",
        "closest: trial 3 with f1_gap 0.01 (needs <= 0.005)",
    ]
    strict = parse_policy("max macro_f1 where latency_p95_ms < 12 and f1_gap == 0.01")
    found = pick(strict, trials, DIRECTIONS)  # trial 3 misses by nothing but equality: still the closest
    assert (found.closest, found.closest_misses) == (FRONT[3], ["latency_p95_ms 12 (needs < 12)"])


def test_a_near_miss_shows_the_digits_that_miss() -> None:
    close = [trial(0, 0.8, 0.02, 13.333338)]
    found = pick(parse_policy("max macro_f1 where latency_p50_ms <= 13.33333"), close, DIRECTIONS)
    assert found.closest_misses == ["latency_p50_ms 13.33334 (needs <= 13.33333)"]


def test_nothing_to_pick_from() -> None:
    policy = parse_policy("max macro_f1 where f1_gap <= 0.05")
    nothing = pick(policy, [], DIRECTIONS)
    assert explain_no_pick(nothing, policy) == ["there is no complete feasible trial to pick from"]
    bare = optuna.trial.create_trial(values=[0.5], user_attrs={})
    found = pick(parse_policy("max accuracy"), [bare], {"macro_f1": "maximize"})
    assert explain_no_pick(found, parse_policy("max accuracy")) == ["accuracy is missing on 1 of 1 trial"]
