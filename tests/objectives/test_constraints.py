"""Constraints: parsed without eval, checked in YAML, applied by Optuna and by the reports."""

from __future__ import annotations

import math
import textwrap
import warnings
from pathlib import Path

import optuna
import pytest

from hpsearch.cli import main
from hpsearch.objectives import (
    MISSING_VIOLATION,
    REGISTRY,
    STRICT_EQUALITY_VIOLATION,
    Constraint,
    ObjectivesConfig,
    parse_constraint,
    violations,
)
from hpsearch.search import make_sampler
from hpsearch.study import feasible_front, record_constraints, set_trial_constraints, study_constraints

KNOWN = set(REGISTRY)
GROUPED = {name for name, spec in REGISTRY.items() if spec.needs_groups}


def parse(text: object) -> Constraint:
    return parse_constraint(text, KNOWN, GROUPED)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("text, metric, op, bound", [
    ("latency_p95_ms <= 25", "latency_p95_ms", "<=", 25.0),
    ("f1_gap<0.05", "f1_gap", "<", 0.05),
    ("  macro_f1 >= 8e-1  ", "macro_f1", ">=", 0.8),
    ("worst_group_f1 > .5", "worst_group_f1", ">", 0.5),
    ("latency_p50_ms < +30", "latency_p50_ms", "<", 30.0),
    ("f1_gap/region <= 0.1", "f1_gap/region", "<=", 0.1),
    ("equalized_odds_difference_ci_high <= 0.2", "equalized_odds_difference_ci_high", "<=", 0.2),
    ("f1_gap <= 0.123456789", "f1_gap", "<=", 0.123456789),
])
def test_good_constraints_parse(text: str, metric: str, op: str, bound: float) -> None:
    constraint = parse(text)
    assert constraint == Constraint(metric, op, bound)  # type: ignore[arg-type]
    assert parse(str(constraint)) == constraint  # what is stored on a study reads back the same


@pytest.mark.parametrize("text, message", [
    ("", "is empty; a constraint reads '<metric> <op> <number>'"),
    ("f1_gap", "needs a comparison <=, <, >= or > after the metric, got nothing after 'f1_gap'"),
    ("f1_gap == 0.05", "must compare with <=, <, >= or >, got '==' in 'f1_gap == 0.05'; equality cannot"),
    ("f1_gap =< 0.05", "'=<' is not a comparison; did you mean '<='? got 'f1_gap =< 0.05'"),
    ("f1_gap => 0.05", "'=>' is not a comparison; did you mean '>='?"),
    ("f1_gap <= abc", "must compare with a number, got 'abc'"),
    ("f1_gap <= macro_f1", "must compare with a number, got 'macro_f1'; a constraint compares a metric with a "
                           "constant, not with another metric"),
    ("0.05 >= f1_gap", "must start with the metric name (a constraint reads"),
    ("f1_gapp <= 0.05", "must name a metric hpsearch measures, got 'f1_gapp' (did you mean 'f1_gap'?)"),
    ("f1_gap <= 0.05 and macro_f1 >= 0.8", "must be one comparison, got 'and macro_f1 >= 0.8' after '0.05'; "
                                           "list each constraint as its own item"),
    ("0.01 < f1_gap < 0.1", "must start with the metric name"),
    ("f1_gap <= inf", "must compare with a finite number, got 'inf'"),
    ("f1_gap <= 1e999", "must compare with a finite number, got '1e999'"),
    ("f1_gap <= 5%", "must compare with a plain number, got '5%'; write a fraction, e.g. 0.05 for 5%"),
    ("macro_f1/region >= 0.5", "only fairness metrics (accuracy_gap, "),
    ("__import__('os').system('x') <= 1", "needs a comparison <=, <, >= or > after the metric, got "),
    ("f1_gap <=", "needs a number after '<=', got nothing"),
    (25, "must be a string (a constraint reads"),
])
def test_bad_constraints_say_what_is_wrong(text: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(text)
    assert message in str(info.value), str(info.value)


def test_a_reversed_constraint_is_shown_the_right_way_round() -> None:
    with pytest.raises(ValueError, match="; write f1_gap <= 0.05$"):
        parse("0.05 >= f1_gap")


# --------------------------------------------------------------------------- in an objectives file


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "objectives.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_an_objectives_file_reports_every_bad_constraint_at_its_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, """\
        objectives: [{name: macro_f1}, {name: f1_gap}]
        constraints:
          - latency_p95_ms <= 25
          - f1_gap =< 0.05
          - latency <= 25
          - f1_gap <= 5
          - macro_f1 > 1
          - latency_p95_ms < 0
          - latency_p95_ms <= 25.0
    """)
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"error: {path}: constraints[1]: '=<' is not a comparison; did you mean '<='? got 'f1_gap =< 0.05'",
        f"error: {path}: constraints[2]: must name a metric hpsearch measures, got 'latency' (did you mean "
        "'latency_p95_ms'?); the metrics are " + lines[1].split("; the metrics are ", 1)[-1],
        f"error: {path}: constraints[3]: always holds: f1_gap takes values [0, 1], got 'f1_gap <= 5'; "
        "for 5% write 0.05",
        f"error: {path}: constraints[4]: can never hold: macro_f1 takes values [0, 1], got 'macro_f1 > 1'",
        f"error: {path}: constraints[5]: can never hold: latency_p95_ms takes values >= 0, got "
        "'latency_p95_ms < 0'",
        f"error: {path}: constraints[6]: is listed twice, got 'latency_p95_ms <= 25.0' at constraints[0] too",
    ]
    assert "latency_p50_ms, latency_p95_ms, macro_f1" in lines[1]


def test_a_constraint_that_is_not_a_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, """\
        objectives: [{name: macro_f1}]
        constraints: [{latency_p95_ms: 25}]
    """)
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path}: constraints[0]: must be a string, got {{latency_p95_ms: 25}}"]


def test_constraints_parse_into_the_config() -> None:
    config = ObjectivesConfig.model_validate({
        "objectives": [{"name": "macro_f1"}],
        "constraints": "f1_gap/region <= 0.1",  # one constraint may be given without a list
    })
    assert config.parsed_constraints() == [Constraint("f1_gap/region", "<=", 0.1)]
    assert config.used() == [("objective 'macro_f1'", "macro_f1", None),
                             ("constraint 'f1_gap/region <= 0.1'", "f1_gap", "region")]
    assert ObjectivesConfig(objectives=[{"name": "macro_f1"}]).constraints == []


# --------------------------------------------------------------------------- violations


def test_violation_is_optunas_convention() -> None:
    at_most, below = Constraint("latency_p95_ms", "<=", 25.0), Constraint("latency_p95_ms", "<", 25.0)
    at_least, above = Constraint("macro_f1", ">=", 0.8), Constraint("macro_f1", ">", 0.8)
    assert at_most.violation(20.0) == -5.0 and at_most.violation(25.0) == 0.0 and at_most.violation(30) == 5.0
    assert below.violation(25.0) == STRICT_EQUALITY_VIOLATION > 0 and below.violation(24.0) == -1.0
    assert at_least.violation(0.9) == pytest.approx(-0.1) and at_least.violation(0.8) == 0.0
    assert above.violation(0.8) == STRICT_EQUALITY_VIOLATION and above.violation(0.7) == pytest.approx(0.1)
    for missing in (None, float("nan"), "fast", True):
        assert at_most.violation(missing) == MISSING_VIOLATION
    assert at_most.violation(math.inf) == MISSING_VIOLATION and math.isfinite(at_least.violation(-math.inf))


def test_trial_constraints_are_recorded_the_optuna_5_way() -> None:
    """Trial.set_constraint, keyed by the constraint as written; a metric not measured is violated."""
    trial = optuna.trial.create_trial(values=[0.8], user_attrs={"latency_p95_ms": 30.0})
    set_trial_constraints(trial, [parse("latency_p95_ms <= 25"), parse("f1_gap <= 0.1")], trial.user_attrs)
    assert trial.constraints == {"latency_p95_ms <= 25": 5.0, "f1_gap <= 0.1": MISSING_VIOLATION}
    study = optuna.create_study(directions=["maximize"])
    study.add_trial(trial)
    assert study.best_trials == []  # Optuna itself reads them: the only trial is infeasible


def test_a_trial_that_did_not_learn_is_infeasible_to_the_sampler() -> None:
    """The `learned` constraint: the margin minus the gain over the trivial predictors."""
    learned = optuna.trial.create_trial(values=[0.5], user_attrs={"gain_over_trivial": 0.3})
    collapsed = optuna.trial.create_trial(values=[0.9], user_attrs={"gain_over_trivial": 0.01})
    unmeasured = optuna.trial.create_trial(values=[0.95], user_attrs={})
    for trial in (learned, collapsed, unmeasured):
        set_trial_constraints(trial, [], trial.user_attrs, min_gain=0.1)
    assert learned.constraints == {"learned": pytest.approx(-0.2)}
    assert collapsed.constraints == {"learned": pytest.approx(0.09)}
    assert unmeasured.constraints == {"learned": 1.0}
    study = optuna.create_study(directions=["maximize"])
    for trial in (learned, collapsed, unmeasured):
        study.add_trial(trial)
    assert [t.values for t in study.best_trials] == [[0.5]]  # the collapsed 0.9 is not best anywhere


# --------------------------------------------------------------------------- with a real study

#: (macro_f1, latency_p95_ms, f1_gap or None) for trials A-F, under latency <= 25 and f1_gap <= 0.1:
#: A too slow, E's gap not measured, F's gap too wide; of B, C, D (feasible) D is dominated by C.
TRIALS = {
    "A": (0.90, 30.0, 0.05),
    "B": (0.80, 20.0, 0.05),
    "C": (0.70, 10.0, 0.08),
    "D": (0.60, 15.0, 0.02),
    "E": (0.95, 5.0, None),
    "F": (0.85, 12.0, 0.20),
}
CONSTRAINTS = ["latency_p95_ms <= 25", "f1_gap <= 0.1"]


def run_study(sampler: optuna.samplers.BaseSampler,
              constraints: list[Constraint] | None = None) -> tuple[optuna.Study, dict[str, int]]:
    """Ask/tell as the driver does: the metrics become user attributes, and the violations of
    `constraints` trial constraints, before `tell`."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    numbers = {}
    for name, (f1, latency, gap) in TRIALS.items():
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        for key, value in {"macro_f1": f1, "latency_p95_ms": latency, "f1_gap": gap}.items():
            if value is not None:
                trial.set_user_attr(key, value)
        set_trial_constraints(trial, constraints or [], trial.user_attrs)
        study.tell(trial, [f1, latency])
        numbers[name] = trial.number
    return study, numbers


def names(trials: list[optuna.trial.FrozenTrial], numbers: dict[str, int]) -> list[str]:
    by_number = {n: name for name, n in numbers.items()}
    return sorted(by_number[t.number] for t in trials)


@pytest.mark.parametrize("sampler", ["tpe", "tpe_local", "gp_pool", "nsga2", "gp", "random"])
def test_every_sampler_keeps_infeasible_trials_off_the_front(sampler: str) -> None:
    constraints = [parse(c) for c in CONSTRAINTS]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated constraints_func anywhere
        built = make_sampler(sampler, 0, {})
        study, numbers = run_study(built, constraints)
    assert names(study.best_trials, numbers) == ["B", "C"]
    assert names(feasible_front(study, constraints), numbers) == ["B", "C"]
    trials = {name: study.trials[n] for name, n in numbers.items()}
    assert violations(trials["A"], constraints) == {"latency_p95_ms <= 25": 5.0, "f1_gap <= 0.1": pytest.approx(-0.05)}
    assert violations(trials["E"], constraints)["f1_gap <= 0.1"] == MISSING_VIOLATION
    assert violations(trials["F"], constraints)["f1_gap <= 0.1"] == pytest.approx(0.1)
    assert len(study.trials) == 6  # infeasible trials stay in the study, with their violations


def test_a_study_without_trial_constraints_still_gets_the_front_from_the_recorded_ones() -> None:
    constraints = [parse(c) for c in CONSTRAINTS]
    study, numbers = run_study(make_sampler("random", 0, {}))  # e.g. trials written before constraints were set
    assert names(study.best_trials, numbers) == ["E"]  # E dominates everything, but breaks a constraint
    assert feasible_front(study) == study.best_trials  # nothing recorded on the study: no constraints
    record_constraints(study, constraints)
    assert study.user_attrs["constraints"] == CONSTRAINTS
    assert study_constraints(study) == constraints
    assert names(feasible_front(study), numbers) == ["B", "C"]


def test_nothing_feasible_gives_an_empty_front() -> None:
    study, _ = run_study(optuna.samplers.RandomSampler(seed=0))
    assert feasible_front(study, [parse("macro_f1 >= 0.99")]) == []


def test_constraints_func_is_not_a_sampler_option() -> None:
    with pytest.raises(ValueError, match="constraints_func cannot be a sampler option"):
        make_sampler("tpe", 0, {"constraints_func": "mine"})
