"""Baselines (trials with values and no parameters) do not empty the space samplers sample together."""

from __future__ import annotations

import optuna
import pytest

from hpsearch.search import make_sampler
from hpsearch.search._space import searched_space


def _objective(trial: optuna.Trial) -> tuple[float, float]:
    x = trial.suggest_int("x", 0, 9)
    op = trial.suggest_categorical("op", ["a", "b", "c"])
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    if op == "b":
        trial.suggest_int("rank", 4, 16)  # conditional: not in every trial, so never sampled together
    return x + lr, 10 - x


@pytest.mark.parametrize("name, options", [("tpe", {"multivariate": True, "n_startup_trials": 3}),
                                           ("tpe_local", {"n_startup_trials": 3}),
                                           ("gp_pool", {"n_startup_trials": 3}),
                                           ("nsga2", {"population_size": 4})])
def test_a_baseline_does_not_make_the_sampler_sample_each_knob_alone(name: str, options: dict) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(name, 0, options))
    study.add_trial(optuna.trial.create_trial(values=[50.0, 0.0]))  # a TF-IDF baseline
    study.optimize(_objective, n_trials=10)
    sampled: list[list[str]] = []
    inner = study.sampler
    while hasattr(inner, "base"):  # down the wrappers to Optuna's sampler (or gp_pool's model)
        inner = inner.base
    relative = inner.sample_relative

    def spy(study: optuna.Study, trial: optuna.trial.FrozenTrial, search_space: dict) -> dict:
        sampled.append(sorted(search_space))
        return relative(study, trial, search_space)

    inner.sample_relative = spy  # type: ignore[method-assign]
    study.optimize(_objective, n_trials=4)
    assert sampled and all(space == ["lr", "op", "x"] for space in sampled), sampled


def test_the_searched_space_leaves_out_parameterless_trials_and_single_values() -> None:
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(value=1.0))
    fixed = optuna.distributions.IntDistribution(3, 3)
    for x in (0.1, 0.5):
        study.add_trial(optuna.trial.create_trial(
            value=x, params={"x": x, "k": 3},
            distributions={"x": optuna.distributions.FloatDistribution(0, 1), "k": fixed}))
    assert list(searched_space(study.trials)) == ["x"]
    assert searched_space([study.trials[0]]) == {}
