"""Warm start: an earlier study's front enqueued in a new study, to be measured anew."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpsearch.cli import main
from hpsearch.study._warm import contains, enqueue_warm_start, warm_start_configs

LR = FloatDistribution(1e-3, 1e-2, log=True)
BATCH = CategoricalDistribution([8, 16])
WIDE = FloatDistribution(1e-4, 1.0, log=True)  # the earlier study searched a wider range


def _trial(number: int, values: list[float], lr: float, batch: int, learned: bool = True) -> optuna.trial.FrozenTrial:
    trial = optuna.trial.create_trial(values=values, params={"learning_rate": lr, "batch_size": batch},
                                      distributions={"learning_rate": WIDE, "batch_size": BATCH},
                                      user_attrs={"learned": learned})
    trial.number = number
    return trial


def test_contains_follows_the_distribution() -> None:
    assert contains(LR, 5e-3) and not contains(LR, 0.5) and not contains(LR, "x")
    assert contains(BATCH, 16) and not contains(BATCH, 32)
    assert contains(IntDistribution(2, 10, step=2), 4) and not contains(IntDistribution(2, 10, step=2), 5)


def test_configs_spread_along_the_first_objective_and_leave_out_of_range_values_to_the_sampler() -> None:
    front = [_trial(n, [f1, lat], lr, 8) for n, f1, lat, lr in
             [(0, 0.9, 30.0, 1e-2), (1, 0.8, 20.0, 5e-3), (2, 0.7, 10.0, 0.5), (3, 0.6, 5.0, 2e-3)]]
    configs = warm_start_configs(front, {"learning_rate": LR, "batch_size": BATCH}, True, 3)
    assert [n for _, n in configs] == [0, 2, 3]  # the best, one between, the other extreme
    assert configs[0][0] == {"learning_rate": 1e-2, "batch_size": 8}
    assert configs[1][0] == {"batch_size": 8}  # 0.5 is outside the new range: the sampler picks the rate


def test_the_front_is_enqueued_once_and_trials_that_did_not_learn_are_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    source = optuna.create_study(study_name="src", storage=url, directions=["maximize", "minimize"])
    source.add_trial(_trial(0, [0.9, 30.0], 5e-3, 8))
    source.add_trial(_trial(1, [0.95, 10.0], 2e-3, 16, learned=False))
    target = optuna.create_study(study_name="new", storage=url, directions=["maximize", "minimize"])
    assert enqueue_warm_start(target, source, {"learning_rate": LR, "batch_size": BATCH}, 5) == [0]
    assert enqueue_warm_start(target, source, {"learning_rate": LR, "batch_size": BATCH}, 5) == []
    (waiting,) = target.get_trials()
    assert waiting.state == optuna.trial.TrialState.WAITING and waiting.user_attrs["warm_start_of"] == "src#0"


def test_an_unknown_source_study_is_one_line_and_nothing_is_written(toy_space: Path, capsys) -> None:
    text = toy_space.read_text(encoding="utf-8") + "warm_start: {study: nope, top_k: 2}\n"
    toy_space.write_text(text, encoding="utf-8")
    db = toy_space.parent / "warm.db"
    url = f"sqlite:///{db}"
    assert main(["run", str(toy_space), "--storage", url, "--study", "toy"]) == 2  # no database there yet
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "warm_start.study: no study 'nope'" in line and "(no database there yet" in line and not db.exists()
    optuna.create_study(study_name="other", storage=url)
    assert main(["run", str(toy_space), "--storage", url, "--study", "toy"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "warm_start.study: no study 'nope'" in line and "(studies: other)" in line
    assert optuna.get_all_study_names(url) == ["other"]


@pytest.mark.integration
def test_a_run_measures_the_enqueued_configurations_first(toy_space: Path) -> None:
    import ray

    url = f"sqlite:///{toy_space.parent / 'warm.db'}"
    source = optuna.create_study(study_name="src", storage=url, directions=["maximize", "minimize", "minimize"])
    source.add_trial(optuna.trial.create_trial(
        values=[0.9, 0.1, 5.0], params={"learning_rate": 4e-3, "batch_size": 16},
        distributions={"learning_rate": LR, "batch_size": BATCH}, user_attrs={"learned": True}))
    text = toy_space.read_text(encoding="utf-8") + "baselines: []\nwarm_start: {study: src, top_k: 2}\n"
    toy_space.write_text(text, encoding="utf-8")
    try:
        assert main(["run", str(toy_space), "--storage", url, "--study", "warm", "--trials", "1"]) == 0
    finally:
        ray.shutdown()
    (trial,) = optuna.load_study(study_name="warm", storage=url).get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.params == {"learning_rate": 4e-3, "batch_size": 16}
    assert trial.user_attrs["warm_start_of"] == "src#0" and trial.user_attrs["proposed_by"] == "warm start from src#0"
    assert trial.values != [0.9, 0.1, 5.0]  # measured on this data, not copied
