"""tpe_local: multivariate TPE with small steps from the front, never repeating a configuration."""

from __future__ import annotations

import optuna
import pytest

from hpsearch.search import make_sampler

CHOICES = ["a", "b", "c", "d"]


def _objective(trial: optuna.Trial) -> tuple[float, float]:
    x = trial.suggest_int("x", 0, 9)
    op = trial.suggest_categorical("op", CHOICES)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return x + CHOICES.index(op) + lr, 10 - x + lr


def _study(options: dict) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler("tpe_local", 0, options))


def test_after_its_start_a_proposal_is_a_step_from_a_front_trial() -> None:
    study = _study({"n_startup_trials": 3, "local_share": 1.0, "local_after": 5})
    study.optimize(_objective, n_trials=12)
    sampler = study.sampler
    for trial in study.trials[5:]:
        reason = sampler.proposal_reason(trial.number)
        assert reason is not None and reason.startswith("local search: "), (trial.number, reason)
        parent = study.trials[int(reason.rsplit(" ", 1)[1])]
        changed = [k for k in trial.params if trial.params[k] != parent.params[k]]
        assert 1 <= len(changed) <= 2 and reason.split(": ")[1].split(" changed")[0] == ", ".join(sorted(changed))
        if "x" in changed:
            assert abs(trial.params["x"] - parent.params["x"]) == 1  # the next integer, up or down
    assert sampler.proposal_reason(0) is None  # the start: TPE's own
    keys = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(keys)) == len(keys)


def test_a_step_never_repeats_a_running_configuration() -> None:
    study = _study({"n_startup_trials": 2, "local_share": 1.0, "local_after": 3})
    study.optimize(_objective, n_trials=3)
    running = [study.ask() for _ in range(6)]
    for trial in running:
        _objective(trial)
    keys = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(keys)) == len(keys)


def test_with_no_local_share_it_is_multivariate_tpe() -> None:
    study = _study({"n_startup_trials": 3, "local_share": 0.0})
    study.optimize(_objective, n_trials=8)
    tpe = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.TPESampler(
        seed=0, multivariate=True, constant_liar=True, n_startup_trials=3))
    tpe.optimize(_objective, n_trials=8)
    assert [t.params for t in study.trials] == [t.params for t in tpe.trials]


@pytest.mark.parametrize("options, message", [({"local_share": 2}, "local_share must be in"),
                                              ({"local_after": 0}, "local_after must be at least 1")])
def test_bad_options_say_what_must_hold(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_sampler("tpe_local", 0, options)


def test_trials_without_parameters_on_the_front_are_never_stepped_from() -> None:
    study = _study({"n_startup_trials": 2, "local_share": 1.0, "local_after": 2})
    study.add_trial(optuna.trial.create_trial(values=[100.0, 0.0]))  # a baseline: dominates, has no parameters
    study.optimize(_objective, n_trials=8)
    reasons = [study.sampler.proposal_reason(t.number) for t in study.trials[1:]]
    assert sum(bool(r) for r in reasons) >= 4 and all(r is None or "front trial 0" not in r for r in reasons)


def test_the_front_it_steps_from_is_optunas_best_trials_constraints_included() -> None:
    """tpe_local reads the front without study.best_trials' deep copy of every trial: the same trials."""
    import random

    import optuna

    from hpsearch.search._pareto import pareto_front

    rng = random.Random(0)
    study = optuna.create_study(directions=["maximize", "minimize"])
    for i in range(60):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        trial.set_constraint("learned", rng.choice([-1.0, 0.0, 0.5]))
        values = [round(rng.random(), 1), round(rng.random(), 1)]  # ties, as real metrics have
        study.tell(trial, values)
    complete = [t for t in study.get_trials(deepcopy=False) if all(v <= 0 for v in t.constraints.values())]
    mine = pareto_front(complete, study.directions)
    assert [t.number for t in mine] == [t.number for t in study.best_trials]
