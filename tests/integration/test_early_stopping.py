"""Multi-objective early stopping on Ray Tune: stopped trials are PRUNED in the study, never on the front."""

from __future__ import annotations

import uuid
from pathlib import Path

import optuna
import pytest

from hpsearch.cli import main

from ..conftest import need, toy_rows, write_jsonl
from ..study.test_storage import PG, _postgres_up

pytestmark = pytest.mark.integration

SPACE = """name: toy-early
model: {model}
search: early.yaml
objectives: objectives.yaml
baselines: []
dataset:
  path: {data}
  group_columns: group
params:
  learning_rate: {{type: float, low: 5.0e-3, high: 5.0e-3}}
fixed:
  epochs: {epochs}
  max_length: 16
  batch_size: 16
"""

# Every trial trains the same configuration with the same seed, so they tie on macro-F1 after each
# epoch: the first to reach a rung goes on, the later ones are placed after it and stopped; one at a
# time, so that the first trial is the first to reach each rung.
PRESET = """sampler: random
max_concurrent_trials: 1
scheduler:
  name: mo_asha
  options: {grace_period: 1, reduction_factor: 2, metrics: [macro_f1]}
trials: 3
"""

# The default objectives, with collapse stopping off: early stopping alone decides here.
OBJECTIVES = """objectives:
  - {name: macro_f1, direction: maximize}
  - {name: f1_gap, direction: minimize}
  - {name: latency_p50_ms, direction: minimize}
collapse: {patience: 0}
"""


def _space(tmp_path: Path, model: Path, epochs: int) -> Path:
    """The toy space with PRESET and OBJECTIVES beside it, every trial `epochs` long."""
    data = write_jsonl(tmp_path / "toy.jsonl", toy_rows())
    (tmp_path / "early.yaml").write_text(PRESET, encoding="utf-8")
    (tmp_path / "objectives.yaml").write_text(OBJECTIVES, encoding="utf-8")
    space = tmp_path / "toy.yaml"
    space.write_text(SPACE.format(model=model, data=data, epochs=epochs), encoding="utf-8")
    return space


@pytest.fixture(scope="module")
def ray_session():
    import ray

    yield
    ray.shutdown()


def test_trials_stopped_early_are_pruned_with_their_epochs_and_never_on_the_front(
        tmp_path: Path, tiny_model_dir: Path, ray_session, capsys) -> None:
    space = _space(tmp_path, tiny_model_dir, epochs=3)
    url = f"sqlite:///{tmp_path / 'early.db'}"
    assert main(["run", str(space), "--storage", url, "--study", "early"]) == 0
    out = capsys.readouterr().out

    study = optuna.load_study(study_name="early", storage=url)
    states = [t.state for t in study.get_trials()]
    assert states.count(optuna.trial.TrialState.PRUNED) == 2 and len(states) == 3, states
    first, *pruned = study.get_trials()
    assert first.state == optuna.trial.TrialState.COMPLETE
    assert len(first.user_attrs["history"]) == 3  # the first at every rung: it ran its 3 epochs
    # every per-epoch report carried every objective of the study, latency included
    assert {"macro_f1", "f1_gap", "latency_p50_ms"} <= set(first.user_attrs["history"][0])
    for t in pruned:
        assert t.values is None
        assert t.user_attrs["stopped_after_epoch"] == 1
        assert t.user_attrs["pruned_reason"].startswith("stopped early by mo_asha after epoch 1")
        assert set(t.user_attrs["intermediate_values"]) == {"macro_f1", "f1_gap", "latency_p50_ms"}
        assert len(t.user_attrs["history"]) == 1
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.best_trials)
    assert out.count("done: pruned, stopped early by mo_asha after epoch 1") == 2

    from hpsearch.study import honest_front

    front = honest_front(study)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in front.trials)


def test_a_trial_that_reached_a_rung_at_its_last_epoch_is_complete_not_pruned(
        tmp_path: Path, tiny_model_dir: Path, ray_session) -> None:
    # one epoch: the first rung is every trial's end, where the tied trials after the first place last;
    # stopped there they would have trained for nothing and left the front
    space = _space(tmp_path, tiny_model_dir, epochs=1)
    url = f"sqlite:///{tmp_path / 'last.db'}"
    assert main(["run", str(space), "--storage", url, "--study", "last"]) == 0

    trials = optuna.load_study(study_name="last", storage=url).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert all(t.user_attrs["history"][0]["epochs"] == 1.0 and "pruned_reason" not in t.user_attrs for t in trials)


def test_a_resumed_search_stops_its_trials_against_the_earlier_run_s(
        tmp_path: Path, tiny_model_dir: Path, ray_session) -> None:
    # the first run completes one trial; the resumed run's trial ties with it after epoch 1. A rule that
    # knew only its own run would let it go on (the first to reach the rung); the study has the other
    space = _space(tmp_path, tiny_model_dir, epochs=3)
    url = f"sqlite:///{tmp_path / 'resumed.db'}"
    assert main(["run", str(space), "--storage", url, "--study", "resumed", "--trials", "1"]) == 0
    assert main(["run", str(space), "--storage", url, "--study", "resumed", "--trials", "2"]) == 0

    first, second = optuna.load_study(study_name="resumed", storage=url).get_trials()
    assert first.state == optuna.trial.TrialState.COMPLETE and len(first.user_attrs["history"]) == 3
    assert second.state == optuna.trial.TrialState.PRUNED
    assert second.user_attrs["pruned_reason"].startswith(
        "stopped early by mo_asha after epoch 1: placed 2 of the 2 trials that reached epoch 1")


def test_a_trial_breaking_a_latency_constraint_is_stopped_before_it_trains(
        tmp_path: Path, tiny_model_dir: Path, ray_session, capsys) -> None:
    # latency_p95_ms is no objective here: it is measured for the constraint, once, on the deployed
    # model before the first epoch (training does not change it) and reported as epoch 0; no trial of
    # this model serves a request in 1 µs. The first trial would otherwise go on at every rung (above)
    space = _space(tmp_path, tiny_model_dir, epochs=3)
    (tmp_path / "objectives.yaml").write_text(OBJECTIVES + 'constraints: ["latency_p95_ms <= 0.001"]\n',
                                              encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    assert main(["run", str(space), "--storage", url, "--study", "slow", "--trials", "2"]) == 0
    out = capsys.readouterr().out

    trials = optuna.load_study(study_name="slow", storage=url).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 2
    for t in trials:
        assert t.user_attrs["stopped_after_epoch"] == 0
        assert [row["epoch"] for row in t.user_attrs["history"]] == [0.0]  # not an epoch trained
        assert t.user_attrs["pruned_reason"].startswith(
            "stopped early by mo_asha before training: breaks latency_p95_ms <= 0.001 (latency_p95_ms ")
        # how far it was, for the samplers (gp_pool's constraint models learn from it)
        latency = t.user_attrs["history"][0]["latency_p95_ms"]
        assert t.constraints == {"latency_p95_ms <= 0.001": pytest.approx(latency - 0.001)} and latency > 0.001
    assert out.count("breaks latency_p95_ms <= 0.001") >= 2
    assert "2 trial(s), 2 before training (breaking latency_p95_ms <= 0.001: 2); 6 of the 6 epochs" in " ".join(
        out.split())  # as the console wraps it


def test_a_trial_meeting_the_constraint_trains_with_its_measurement_from_before(
        tmp_path: Path, tiny_model_dir: Path, ray_session) -> None:
    space = _space(tmp_path, tiny_model_dir, epochs=3)
    (tmp_path / "objectives.yaml").write_text(OBJECTIVES + 'constraints: ["model_size_mb <= 100000"]\n',
                                              encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'fits.db'}"
    assert main(["run", str(space), "--storage", url, "--study", "fits", "--trials", "1"]) == 0
    (trial,) = optuna.load_study(study_name="fits", storage=url).get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert [row["epoch"] for row in trial.user_attrs["history"]] == [1.0, 2.0, 3.0]  # epoch 0: the scheduler's
    assert trial.constraints["model_size_mb <= 100000"] == trial.user_attrs["model_size_mb"] - 100000


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_without_early_stopping_a_trial_breaking_a_budget_is_still_stopped_before_it_trains(
        tmp_path: Path, tiny_model_dir: Path, ray_session, backend: str) -> None:
    space = _space(tmp_path, tiny_model_dir, epochs=3)
    (tmp_path / "early.yaml").write_text(PRESET.replace("name: mo_asha", "name: fifo").replace(
        "  options: {grace_period: 1, reduction_factor: 2, metrics: [macro_f1]}\n", ""), encoding="utf-8")
    (tmp_path / "objectives.yaml").write_text(OBJECTIVES + 'constraints: ["model_size_mb <= 0.001"]\n',
                                              encoding="utf-8")
    url, name = f"sqlite:///{tmp_path / 'fifo.db'}", "fifo"
    if backend == "postgresql":  # the team's shared database takes the PRUNED trial's constraint the same way
        need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
        url, name = PG, f"fifo-{uuid.uuid4().hex[:8]}"
    try:
        assert main(["run", str(space), "--storage", url, "--study", name, "--trials", "2"]) == 0
        _check_stopped_before_training(optuna.load_study(study_name=name, storage=url).get_trials())
    finally:
        if backend == "postgresql":
            optuna.delete_study(study_name=name, storage=url)


def _check_stopped_before_training(trials: list[optuna.trial.FrozenTrial]) -> None:
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 2
    for t in trials:
        assert t.user_attrs["pruned_reason"].startswith("stopped early before training: breaks model_size_mb <= 0.001")
        # fifo asks no per-epoch objectives: epoch 0 carries the budget's measurement alone
        assert t.user_attrs["history"] == [{"epoch": 0.0, "epochs": 3.0, "step": 0.0,
                                            "model_size_mb": pytest.approx(t.constraints["model_size_mb <= 0.001"]
                                                                           + 0.001)}]
