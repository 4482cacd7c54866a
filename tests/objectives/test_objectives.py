"""The objective registry, and a team's own objective named by module path in YAML."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hpsearch.errors import Problem
from hpsearch.objectives import (
    FAIRNESS_METRICS,
    REGISTRY,
    FairnessConfig,
    ObjectiveError,
    ObjectivesConfig,
    evaluate_predictions,
    evaluate_user_objective,
    load_function,
    load_objectives,
    register_objective,
)

#: Measured by the runner (training, latency, model), not from predictions.
RUNNER_MEASURES = {"latency_p50_ms", "latency_p95_ms", "throughput_per_s", "peak_memory_mb", "model_size_mb",
                   "trainable_params", "train_seconds"}

USER_MODULE = '''
import numpy as np

def recall_of_yes(y_true, y_pred, y_proba, groups):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float((y_pred[y_true == 1] == 1).mean())

def with_parts(y_true, y_pred, y_proba, groups):
    return {"cost": 3.0, "false_alarms": 2, "columns": len(groups)}

def without_own_name(y_true, y_pred, y_proba, groups):
    return {"something": 1.0}

def not_a_number(y_true, y_pred, y_proba, groups):
    return "high"

def fails(y_true, y_pred, y_proba, groups):
    raise ZeroDivisionError("no positives")

NOT_CALLABLE = 3
'''


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module `team_metrics` with objective functions, good and bad."""
    (tmp_path / "team_metrics.py").write_text(USER_MODULE, encoding="utf-8")
    (tmp_path / "broken_metrics.py").write_text("import no_such_dependency\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "team_metrics"
    for name in ("team_metrics", "broken_metrics"):
        sys.modules.pop(name, None)


def objectives_file(tmp_path: Path, body: str) -> tuple[Path, list[Problem], ObjectivesConfig | None]:
    path = tmp_path / "objectives.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    problems: list[Problem] = []
    return path, problems, load_objectives(path, problems)


# --------------------------------------------------------------------------- registry


def test_a_name_registers_once() -> None:
    with pytest.raises(ValueError, match="objective 'macro_f1' is already registered"):
        register_objective("macro_f1", "maximize", "again")
    assert REGISTRY["macro_f1"].description == "macro-averaged F1 on the evaluation split"


def test_registration_checks_name_and_direction() -> None:
    with pytest.raises(ValueError, match="direction must be 'maximize' or 'minimize', got 'up'"):
        register_objective("brand_new", "up", "?")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="letters, digits and '_'.*got 'f1_gap/region'"):
        register_objective("f1_gap/region", "minimize", "?")
    assert "brand_new" not in REGISTRY and "f1_gap/region" not in REGISTRY


def test_registry_names_what_is_measured() -> None:
    """Every flat metric evaluate_predictions gives is registered, and every registered one is given."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.where(rng.random(400) < 0.8, y, 1 - y)
    proba = np.column_stack([1 - (p * 0.7 + 0.15), p * 0.7 + 0.15])
    groups = {"region": list(rng.choice(["n", "s"], 400))}
    values, _ = evaluate_predictions(y, p, proba, ["no", "yes"], groups, FairnessConfig())
    flat = {k for k in values if "/" not in k}
    assert flat - set(REGISTRY) == set()
    assert set(REGISTRY) - flat == RUNNER_MEASURES
    for name in FAIRNESS_METRICS:
        assert REGISTRY[name].needs_groups and REGISTRY[f"{name}_ci_high"].needs_groups
        assert REGISTRY[f"{name}_ci_low"].direction == REGISTRY[name].direction
    assert REGISTRY["sensitivity"].binary_only and not REGISTRY["auroc"].binary_only
    assert {n for n in RUNNER_MEASURES if REGISTRY[n].direction == "minimize"} == RUNNER_MEASURES - {"throughput_per_s"}
    assert REGISTRY["throughput_per_s"].direction == "maximize"


def test_shipped_objectives_files_load() -> None:
    root = Path(__file__).resolve().parents[2] / "objectives"
    for path in sorted(root.glob("*.yaml")):
        problems: list[Problem] = []
        config = load_objectives(path, problems)
        assert problems == [] and config is not None, problems
        assert path.read_text(encoding="utf-8").startswith(f"# hpsearch validate objectives/{path.name}")
    constrained = load_objectives(root / "constrained.yaml", [])
    assert constrained is not None
    assert [str(c) for c in constrained.parsed_constraints()] == [
        "latency_p95_ms <= 25", "f1_gap_ci_high <= 0.1", "macro_f1 >= 0.6"]
    assert constrained.fairness.bootstrap == 500


def test_fairness_settings_are_checked(tmp_path: Path) -> None:
    _, problems, _ = objectives_file(tmp_path, """\
        objectives: [{name: f1_gap}]
        fairness: {bootstrap: 10, confidence: 95, seed: x}
    """)
    lines = [str(p) for p in problems]
    assert any("fairness.bootstrap: must be 0 (no confidence intervals) or at least 50, got 10" in s for s in lines)
    assert any("fairness.confidence: must be < 1, got 95" in s for s in lines)
    assert any("fairness.seed: must be a valid integer, got 'x'" in s for s in lines)
    assert ObjectivesConfig(objectives=[{"name": "f1_gap"}]).fairness == FairnessConfig(
        min_group_size=5, bootstrap=200, seed=0, confidence=0.95)


# --------------------------------------------------------------------------- a team's own objective


def test_own_objective_by_module_path(tmp_path: Path, user_module: str) -> None:
    path, problems, config = objectives_file(tmp_path, f"""\
        objectives:
          - {{name: macro_f1}}
          - {{name: recall_of_yes, module: "{user_module}:recall_of_yes", direction: maximize}}
        constraints: ["recall_of_yes >= 0.9"]
    """)
    assert problems == [] and config is not None
    assert config.directions() == ["maximize", "maximize"]
    assert [o.name for o in config.module_objectives()] == ["recall_of_yes"]
    assert "recall_of_yes" not in REGISTRY  # a file's own objective stays out of the global registry
    y, p = [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1]
    values, _ = evaluate_predictions(y, p, None, ["no", "yes"], {}, config.fairness,
                                     user_objectives=config.module_objectives())
    assert values["recall_of_yes"] == 0.75 and values["macro_f1"] > 0


def test_own_objective_may_return_several_values(user_module: str) -> None:
    values = evaluate_user_objective("cost", f"{user_module}:with_parts", [0], [0], None, {"g": ["a"]})
    assert values == {"cost": 3.0, "cost/false_alarms": 2.0, "cost/columns": 1.0}


@pytest.mark.parametrize("function, message", [
    ("without_own_name", "returned a dict without its own name 'x'"),
    ("not_a_number", "must return a number or a dict of numbers, got str"),
    ("fails", "raised ZeroDivisionError: no positives"),
])
def test_own_objective_that_misbehaves_fails_the_trial_saying_why(
        user_module: str, function: str, message: str) -> None:
    with pytest.raises(ObjectiveError, match=message) as info:
        evaluate_user_objective("x", f"{user_module}:{function}", [0, 1], [0, 1], None, {})
    assert f"objective 'x' ({user_module}:{function})" in str(info.value)


def test_own_objective_that_fails_on_the_data_stops_the_run_before_any_trial(
        tmp_path: Path, user_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from hpsearch.cli import main
    from hpsearch.errors import UserError
    from hpsearch.plan import load_plan

    from ..conftest import toy_rows, write_jsonl

    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(60))
    space = tmp_path / "s.yaml"
    space.write_text(f"name: s\nmodel: minilm\nobjectives: o.yaml\ndataset: {{path: {data}}}\n", encoding="utf-8")
    objectives = tmp_path / "o.yaml"
    for function, says in (("fails", "raised ZeroDivisionError: no positives"),
                           ("not_a_number", "must return a number or a dict of numbers, got str")):
        objectives.write_text(f"objectives:\n  - {{name: macro_f1}}\n  - {{name: mine, module: "
                              f"'{user_module}:{function}', direction: maximize}}\n", encoding="utf-8")
        with pytest.raises(UserError) as info:
            load_plan(space)
        assert [str(p) for p in info.value.problems] == [
            f"{objectives}: objectives[1].module: objective 'mine' ({user_module}:{function}) {says}, called with "
            "the validation split's labels as the predictions, before any trial"]
    monkeypatch.chdir(tmp_path)  # run says so in one line, exit 2, and writes no study
    assert main(["run", str(space), "--storage", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    assert "objectives[1].module" in capsys.readouterr().err and not (tmp_path / "x.db").exists()
    objectives.write_text(f"objectives:\n  - {{name: mine, module: '{user_module}:recall_of_yes', "
                          "direction: maximize}\n", encoding="utf-8")
    assert load_plan(space).objectives.names() == ["mine"]  # one that works on the data passes


@pytest.mark.parametrize("module, message", [
    ("no_such_package.metrics:compute", "cannot import module 'no_such_package.metrics': No module named "
                                        "'no_such_package'"),
    ("team_metrics:missing", "module 'team_metrics' has no 'missing', got 'team_metrics:missing'"),
    ("team_metrics:NOT_CALLABLE", "must name a function, got 'team_metrics:NOT_CALLABLE', which is a int"),
    ("team_metrics.recall_of_yes", "must read 'package.module:function'"),
    ("os:system; rm -rf /", "must read 'package.module:function'"),
    ("broken_metrics:f", "cannot import module 'broken_metrics': No module named 'no_such_dependency'"),
])
def test_an_import_problem_names_the_file_and_key(tmp_path: Path, user_module: str, module: str,
                                                  message: str) -> None:
    path, problems, config = objectives_file(tmp_path, f"""\
        objectives:
          - {{name: macro_f1}}
          - {{name: mine, module: "{module}", direction: maximize}}
    """)
    assert config is None
    assert len(problems) == 1 and str(problems[0]).startswith(f"{path}: objectives[1].module: {message}"), problems


def test_own_objective_needs_its_own_name_and_a_direction(tmp_path: Path, user_module: str) -> None:
    path, problems, _ = objectives_file(tmp_path, f"""\
        objectives:
          - {{name: macro_f1, module: "{user_module}:recall_of_yes", direction: maximize}}
          - {{name: recall, module: "{user_module}:recall_of_yes"}}
          - {{name: my recall, module: "{user_module}:recall_of_yes", direction: minimize}}
          - {{name: macro_f2}}
    """)
    lines = [str(p) for p in problems]
    assert f"{path}: objectives[0].module: must be left out for the built-in objective 'macro_f1'" in lines[0]
    assert f"{path}: objectives[1].direction: is required for your own objective 'recall'" in lines[1]
    assert f"{path}: objectives[2].name: must be letters, digits and '_' for your own objective, got " \
           "'my recall'" in lines[2]
    assert f"{path}: objectives[3].name: unknown objective 'macro_f2' (did you mean 'macro_f1'?)" in lines[3]
    assert "or give module: 'package.module:function'" in lines[3]
    assert len(lines) == 4


def test_load_function_imports_without_evaluating() -> None:
    assert load_function("os.path:join") is __import__("os").path.join
    with pytest.raises(ValueError, match="must read 'package.module:function'"):
        load_function("__import__('os').system('true')")
