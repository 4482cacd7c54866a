"""`hpsearch pareto --format json|csv`: the honest front as data for scripts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import optuna
import pytest

from hpsearch.cli import main

NAMES = ["macro_f1", "f1_gap", "latency_p50_ms"]
DIRECTIONS = ["maximize", "minimize", "minimize"]


def _trial(values: list[float], params: dict[str, Any] | None = None, **attrs: Any) -> optuna.trial.FrozenTrial:
    params = params or {}
    dists = {"learning_rate": optuna.distributions.FloatDistribution(1e-5, 1e-2, log=True),
             "lora_r": optuna.distributions.IntDistribution(2, 32)}
    user_attrs = {"macro_f1": values[0], "f1_gap": values[1], "latency_p50_ms": values[2], "learned": True,
                  "latency_p95_ms": values[2] * 1.5, **attrs}
    return optuna.trial.create_trial(values=values, params=params,
                                     distributions={k: dists[k] for k in params}, user_attrs=user_attrs)


@pytest.fixture
def study_url(tmp_path: Path) -> str:
    """Trials 0..6: a baseline, three on the front, one that did not learn, one dominated, one infeasible."""
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(storage=url, study_name="legal", directions=DIRECTIONS)
    study.set_metric_names(NAMES)
    study.set_user_attr("constraints", ["latency_p95_ms <= 10"])
    ci = {"f1_gap_ci_low": 0.1, "f1_gap_ci_high": 0.3}
    study.add_trial(_trial([0.5, 0.1, 1.0], baseline="head"))                                   # 0 baseline
    study.add_trial(_trial([0.8, 0.2, 2.0], {"learning_rate": 1e-3, "lora_r": 8}, **ci,
                           throughput_per_s=500.0))                                              # 1 front
    study.add_trial(_trial([0.7, 0.1, 1.5], {"learning_rate": 2e-4, "lora_r": 4},
                           f1_gap_ci_low=0.05, f1_gap_ci_high=0.2))                              # 2 front
    study.add_trial(_trial([0.3, 0.0, 0.5], {"learning_rate": 1e-2, "lora_r": 2}, learned=False))  # 3 not learned
    study.add_trial(_trial([0.6, 0.3, 3.0], {"learning_rate": 1e-4, "lora_r": 16}, **ci))      # 4 dominated
    study.add_trial(_trial([0.75, 0.15, 1.0], {"learning_rate": 5e-4}))                          # 5 front, no CI
    study.add_trial(_trial([0.9, 0.05, 0.4], {"learning_rate": 3e-3, "lora_r": 8},
                           latency_p95_ms=50.0))                                                 # 6 infeasible
    return url


def _pareto(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["pareto", "--storage", url, "--study", "legal", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_holds_the_honest_front_and_the_baselines_beside_it(
        study_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _pareto(study_url, capsys, "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)  # nothing but the JSON on stdout
    assert data["study"] == "legal"
    assert data["objectives"] == [{"name": "macro_f1", "direction": "maximize"},
                                  {"name": "f1_gap", "direction": "minimize"},
                                  {"name": "latency_p50_ms", "direction": "minimize"}]
    assert [r["number"] for r in data["front"]] == [1, 2, 5]
    assert [r["number"] for r in data["baselines"]] == [0]
    assert data["baselines"][0]["baseline"] == "head" and data["baselines"][0]["params"] == {}
    assert data["left_off"] == {"not_learned": [3], "collapsed": [], "infeasible": [6]}
    assert data["constraints"] == ["latency_p95_ms <= 10"]

    first = data["front"][0]
    assert first["values"] == {"macro_f1": 0.8, "f1_gap": 0.2, "latency_p50_ms": 2.0}
    assert first["ci"] == {"f1_gap": {"low": 0.1, "high": 0.3}}
    assert first["params"] == {"learning_rate": 1e-3, "lora_r": 8}
    assert (first["latency_p50_ms"], first["latency_p95_ms"], first["throughput_per_s"]) == (2.0, 3.0, 500.0)
    assert first["learned"] is True and "baseline" not in first
    no_ci = data["front"][2]
    assert no_ci["ci"] == {"f1_gap": {"low": None, "high": None}}
    assert no_ci["throughput_per_s"] is None


def test_sort_orders_the_front_best_first_in_the_objective_direction(
        study_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for objective, order in [("macro_f1", [1, 5, 2]), ("f1_gap", [2, 5, 1]), ("latency_p50_ms", [5, 2, 1])]:
        code, out, _ = _pareto(study_url, capsys, "--format", "json", "--sort", objective)
        assert code == 0
        assert [r["number"] for r in json.loads(out)["front"]] == order, objective


def test_csv_has_a_role_column_and_a_column_per_parameter(
        study_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _pareto(study_url, capsys, "--format", "csv", "--sort", "macro_f1")
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["number", "role", "macro_f1", "f1_gap", "latency_p50_ms", "f1_gap_ci_low",
                             "f1_gap_ci_high", "latency_p95_ms", "throughput_per_s", "learned",
                             "param:learning_rate", "param:lora_r"]
    assert [(r["number"], r["role"]) for r in rows] == [("1", "front"), ("5", "front"), ("2", "front"),
                                                       ("0", "baseline:head")]
    assert float(rows[0]["f1_gap_ci_high"]) == 0.3 and rows[1]["f1_gap_ci_high"] == ""
    assert rows[1]["param:lora_r"] == "" and float(rows[1]["param:learning_rate"]) == 5e-4
    assert rows[0]["learned"] == "true"


def test_unknown_sort_objective_is_one_line_naming_the_objectives(
        study_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("json", "csv", "table"):
        code, out, err = _pareto(study_url, capsys, "--format", fmt, "--sort", "accuracy")
        assert code == 2 and out == ""
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --sort: 'accuracy'"), lines
        assert "macro_f1, f1_gap, latency_p50_ms" in lines[0]


def test_unknown_study_names_study_and_the_studies_held(study_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["pareto", "--storage", study_url, "--study", "nope", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --study: no study named 'nope'"), lines
    assert "studies there: legal" in lines[0]


def test_table_format_prints_the_summary(study_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _pareto(study_url, capsys)
    assert code == 0 and "legal" in out
