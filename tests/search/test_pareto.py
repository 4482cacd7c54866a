"""hpsearch's Pareto sorting of a list of trials agrees with Optuna's `study.best_trials`."""

from __future__ import annotations

import random

import optuna
import pytest

from hpsearch.search._pareto import pareto_front


@pytest.mark.parametrize("directions", [["maximize", "minimize"], ["maximize", "minimize", "minimize"],
                                        ["minimize", "minimize"]])
def test_the_front_of_every_trial_is_optunas_best_trials(directions: list[str]) -> None:
    rng = random.Random(len(directions))
    study = optuna.create_study(directions=directions)
    for _ in range(60):
        # objectives that trade off (what is better in the first is worse in the others), on a coarse
        # grid so that ties and equal points occur
        x = rng.randint(0, 6) / 6
        trade = [x if d != directions[0] else 1 - x for d in directions[1:]]
        study.add_trial(optuna.trial.create_trial(values=[x] + [v + rng.randint(0, 2) / 6 for v in trade]))
    trials = study.get_trials(deepcopy=False)
    ours = [t.number for t in pareto_front(trials, study.directions)]
    assert ours == sorted(t.number for t in study.best_trials)
    assert 1 < len(ours) < len(trials)


def test_the_front_of_a_subset_and_of_nothing() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for values in ([0.9, 5.0], [0.8, 1.0], [0.95, 9.0], [0.7, 2.0]):
        study.add_trial(optuna.trial.create_trial(values=values))
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in pareto_front(trials, study.directions)] == [0, 1, 2]
    assert [t.number for t in pareto_front(trials[2:], study.directions)] == [2, 3]
    assert pareto_front([], study.directions) == []
