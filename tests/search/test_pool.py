"""gp_pool: Gaussian processes and expected hypervolume improvement over a pool of candidates."""

from __future__ import annotations

import itertools
import time

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpsearch.search import make_sampler
from hpsearch.search._gp import Encoder
from hpsearch.search._hypervolume import expected_improvement, improvement, nondominated_boxes

OPS = ["a", "b", "c", "d"]


def _objective(trial: optuna.Trial) -> tuple[float, float]:
    """Two objectives with a front made of neighbours: more of `x` costs, `op` adds accuracy unevenly."""
    x = trial.suggest_int("x", 0, 9)
    op = trial.suggest_categorical("op", OPS)
    y = trial.suggest_categorical("y", OPS)
    return x * [0.2, 1.0, 0.5, 0.1][OPS.index(op)] + (y == "c"), x + OPS.index(op) * 0.5


def _study(options: dict, seed: int = 0) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(directions=["maximize", "minimize"],
                               sampler=make_sampler("gp_pool", seed, {"max_share": None, **options}))


def _hv(points: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume by inclusion and exclusion: exact, for a handful of minimisation points."""
    points = points[np.all(points < ref, axis=1)]
    total = 0.0
    for size in range(1, len(points) + 1):
        for subset in itertools.combinations(points, size):
            total += (-1) ** (size + 1) * float(np.prod(ref - np.max(subset, axis=0)))
    return total


@pytest.mark.parametrize("objectives", [2, 3])
def test_improvement_is_the_hypervolume_a_point_adds(objectives: int) -> None:
    rng = np.random.RandomState(objectives)
    ref = np.ones(objectives)
    for _ in range(5):
        front = rng.rand(6, objectives)
        front = front[[not np.any(np.all(front <= p, axis=1) & np.any(front < p, axis=1)) for p in front]]
        points = rng.rand(40, objectives) * 1.2 - 0.1  # some past the reference, some below 0
        got = improvement(points, nondominated_boxes(front, ref))
        want = [_hv(np.vstack([front, p]), ref) - _hv(front, ref) for p in points]
        assert got == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("objectives", [2, 3])
def test_expected_improvement_is_the_mean_improvement_of_normal_draws(objectives: int) -> None:
    rng = np.random.RandomState(10 + objectives)
    ref = np.ones(objectives)
    front = rng.rand(8, objectives)
    front = front[[not np.any(np.all(front <= p, axis=1) & np.any(front < p, axis=1)) for p in front]]
    cells = nondominated_boxes(front, ref)
    mean = rng.rand(6, objectives) * 1.2 - 0.1
    std = rng.rand(6, objectives) * 0.3 + np.array([0.0, 0.01, 0.2][:objectives])  # one nearly certain
    draws = mean[:, None, :] + std[:, None, :] * rng.standard_normal((6, 100_000, objectives))
    sampled = improvement(draws.reshape(-1, objectives), cells).reshape(6, -1)
    got = expected_improvement(mean, std, cells)
    assert np.all(np.abs(got - sampled.mean(1)) <= 4 * sampled.std(1) / np.sqrt(100_000) + 1e-9)
    # no spread: the improvement of the point itself
    assert expected_improvement(mean, np.zeros_like(std), cells) == pytest.approx(improvement(mean, cells), abs=1e-9)


def test_the_encoder_gives_back_what_it_was_given() -> None:
    dists = [CategoricalDistribution(["q", 4, None]), IntDistribution(2, 10, step=2),
             FloatDistribution(1e-5, 1e-2, log=True), FloatDistribution(0.0, 0.3), IntDistribution(1, 64, log=True)]
    encoder = Encoder(["c", "i", "lr", "d", "r"], dists)
    params = {"c": None, "i": 6, "lr": 3e-4, "d": 0.12, "r": 16}
    back = encoder.decode(encoder.encode([params])[0])
    assert back["c"] is None and back["i"] == 6 and back["r"] == 16
    assert back["lr"] == pytest.approx(3e-4) and back["d"] == pytest.approx(0.12)
    assert encoder.sizes() is None  # floats: drawn, not enumerated
    assert Encoder(["c", "i"], dists[:2]).sizes() == [3, 5]


def test_after_its_start_it_proposes_by_the_model_and_never_repeats_a_configuration() -> None:
    study = _study({"n_startup_trials": 5})
    study.optimize(_objective, n_trials=40)
    reasons = [study.sampler.proposal_reason(t.number) or "" for t in study.trials]
    assert all(r.startswith("random start") for r in reasons[:5])
    assert all(r.startswith("model-based") for r in reasons[5:]), reasons[5:]
    keys = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(keys)) == len(keys)


def _steps(a: dict, b: dict) -> int:
    return abs(a["x"] - b["x"]) + (a["op"] != b["op"]) + (a["y"] != b["y"])


def _front_before(study: optuna.Study, number: int) -> list[dict]:
    done = [t for t in study.trials if t.number < number and t.state == optuna.trial.TrialState.COMPLETE]
    return [t.params for t in done
            if not any(o.values[0] >= t.values[0] and o.values[1] <= t.values[1] and o.values != t.values
                       for o in done)]


@pytest.mark.parametrize("trust_steps", [2, 1])
def test_in_an_enumerated_space_it_proposes_within_trust_steps_of_the_front(trust_steps: int) -> None:
    """A step is one value of an integer knob or another choice of a categorical one; every model-based
    proposal is that close to a trial on the front as it stood when the trial was asked."""
    study = _study({"n_startup_trials": 5, "trust_steps": trust_steps})
    study.optimize(_objective, n_trials=20)
    for t in study.trials[5:]:
        assert min(_steps(t.params, f) for f in _front_before(study, t.number)) <= trust_steps, t.number
    whole = _study({"n_startup_trials": 5, "trust_steps": 0})  # 0: the whole space, as before
    whole.optimize(_objective, n_trials=20)
    assert max(min(_steps(t.params, f) for f in _front_before(whole, t.number)) for t in whole.trials[5:]) > 1
    with pytest.raises(ValueError, match="trust_steps"):
        make_sampler("gp_pool", 0, {"trust_steps": -1})


def test_it_finds_more_of_the_front_than_random_search() -> None:
    def hv(study: optuna.Study) -> float:
        points = np.array([[-t.values[0], t.values[1]] for t in study.best_trials]) / np.array([10.0, 12.0])
        points = points[np.argsort(points[:, 0])]
        ref, area, last = np.array([0.0, 1.0]), 0.0, 1.0
        for p in points:  # a 2-D staircase against (0, 1)
            if p[1] < last:
                area += (ref[0] - p[0]) * (last - p[1])
                last = p[1]
        return area

    model, rand = [], []
    for seed in range(3):
        study = _study({"n_startup_trials": 5}, seed)
        study.optimize(_objective, n_trials=25)
        model.append(hv(study))
        random = optuna.create_study(directions=["maximize", "minimize"],
                                     sampler=optuna.samplers.RandomSampler(seed=seed))
        random.optimize(_objective, n_trials=25)
        rand.append(hv(random))
    assert np.mean(model) > np.mean(rand), (model, rand)


def test_baselines_without_parameters_do_not_turn_it_into_random_search() -> None:
    study = _study({"n_startup_trials": 3})
    study.add_trial(optuna.trial.create_trial(values=[5.0, 2.0]))  # a TF-IDF baseline: values, no parameters
    study.optimize(_objective, n_trials=8)
    reasons = [study.sampler.proposal_reason(t.number) or "" for t in study.trials[4:]]
    assert all(r.startswith("model-based (expected hypervolume improvement") for r in reasons), reasons


def test_baselines_better_than_every_trial_leave_it_improving_the_trials_own_front() -> None:
    """TF-IDF beats every fine-tuned trial (as on legal_unfair_tos): the search still seeks the best of
    fine-tuning, not the least known configuration."""

    def own_front_hv(study: optuna.Study) -> float:
        points = sorted((t.values[0] / 10.0, t.values[1] / 12.0) for t in study.trials if t.params)
        area, best = 0.0, 0.0  # a 2-D staircase against (accuracy 0, cost 1): accuracy up, cost down
        for accuracy, cost in sorted(points, key=lambda p: p[1]):
            if accuracy > best:
                area += (accuracy - best) * (1.0 - cost)
                best = accuracy
        return area

    model, rand = [], []
    for seed in range(3):
        study = _study({"n_startup_trials": 5}, seed)
        study.add_trial(optuna.trial.create_trial(values=[50.0, -5.0]))  # dominates every configuration
        study.optimize(_objective, n_trials=20)
        reasons = [study.sampler.proposal_reason(t.number) or "" for t in study.trials[6:]]
        assert all("the trials' own front: the baselines dominate it" in r for r in reasons), reasons
        model.append(own_front_hv(study))
        random = optuna.create_study(directions=["maximize", "minimize"],
                                     sampler=optuna.samplers.RandomSampler(seed=seed))
        random.optimize(_objective, n_trials=20)
        rand.append(own_front_hv(random))
    assert np.mean(model) > np.mean(rand), (model, rand)


def test_it_stays_away_from_where_the_constraints_break() -> None:
    """Trials with x above 20 break a constraint, and look best (as a collapsed model looks fair and fast)."""

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_int("x", 0, 29)
        op = trial.suggest_categorical("op", OPS)
        trial.set_constraint("learned", x - 20.5)
        return (40.0 + x, 0.0) if x > 20 else (x / 3 + OPS.index(op), 29 - x)

    study = _study({"n_startup_trials": 8})
    study.optimize(objective, n_trials=30)
    later = [t.params["x"] for t in study.trials[8:]]
    # past the boundary's neighbours (21, 22: where the chance is worth a probe) at most once;
    # random search sends 23% of its trials there, the model without the constraints all of them
    assert sum(x > 22 for x in later) <= 1, later
    assert any("model-based (expected" in (study.sampler.proposal_reason(t.number) or "") for t in study.trials[8:])


def test_trials_in_flight_are_believed_and_not_proposed_twice() -> None:
    study = _study({"n_startup_trials": 5})
    study.optimize(_objective, n_trials=6)
    running = [study.ask() for _ in range(4)]
    for trial in running:
        _objective(trial)  # sampled, not told: all four run at once
    keys = {tuple(sorted(t.params.items())) for t in running}
    assert len(keys) == 4
    assert "3 running" in (study.sampler.proposal_reason(running[-1].number) or "")


def test_trials_shorter_than_the_model_get_the_cheap_sampler() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    quick = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=make_sampler("gp_pool", 0, {"n_startup_trials": 3}))
    quick.optimize(_objective, n_trials=10)  # trials of no time: the model pays once, then tpe_local
    reasons = [quick.sampler.proposal_reason(t.number) or "" for t in quick.trials]
    assert reasons[3].startswith("model-based")
    assert all("would cost over 5% of a trial" in r for r in reasons[4:]), reasons

    def slow(trial: optuna.Trial) -> tuple[float, float]:
        time.sleep(0.05)
        return _objective(trial)

    patient = optuna.create_study(directions=["maximize", "minimize"],
                                  sampler=make_sampler("gp_pool", 0, {"n_startup_trials": 3, "max_share": 1e6}))
    patient.optimize(slow, n_trials=6)
    assert all((patient.sampler.proposal_reason(t.number) or "").startswith("model-based") for t in patient.trials[3:])


def test_by_default_improving_the_front_past_a_typical_configuration_is_worth_nothing() -> None:
    """The hypervolume's box reaches to the median of the start-up trials (a random sample of the
    space): a point sure to be worse than that on one objective adds nothing however far it takes the
    other one, where the front's own nadir would count it (the vehicle table's searches spent trials on
    models a thousand times slower than the typical one, a little more accurate)."""
    from hpsearch.search._pool import PoolEHVISampler

    start = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]])  # median (2, 2)
    later = np.array([[-2.0, 1.0], [1.0, -2.0], [-3.0, 6.0]])  # the last: best on objective 0, slow
    y = np.vstack([start, later])
    front = y[[5, 6, 7]]
    far = np.array([[-5.0, 5.0]])  # better than every trial on objective 0, worse than the median on 1
    near = np.array([[-1.0, -1.0]])  # inside the box, not dominated by the front
    certain = np.full((1, 2), 1e-6)

    def gain(reference: str, point: np.ndarray) -> float:
        sampler = PoolEHVISampler(n_startup_trials=5, reference=reference)
        return float(sampler._expected(y, front, point, certain, np.ones(1))[0][0])

    assert gain("startup", far) == pytest.approx(0.0, abs=1e-9)
    assert gain("startup", near) > 0.0
    assert gain("nadir", far) > 0.0  # the front's nadir: past its slowest point, so `far` counts
    assert PoolEHVISampler().reference == "startup"


def test_a_bad_option_is_refused() -> None:
    with pytest.raises(ValueError, match="reference must be one of 'startup', 'nadir', 'median'"):
        make_sampler("gp_pool", 0, {"reference": "ideal"})
    with pytest.raises(ValueError, match="max_share must be above 0"):
        make_sampler("gp_pool", 0, {"max_share": 0})
    with pytest.raises(TypeError):
        make_sampler("gp_pool", 0, {"n_ei_candidates": 24})


def test_the_random_start_is_at_most_a_third_of_the_budget_unless_the_preset_names_it() -> None:
    from hpsearch.search import fit_to_budget

    assert fit_to_budget("gp_pool", {}, 10) == {"n_startup_trials": 3}
    assert fit_to_budget("gp_pool", {}, 100) == {"n_startup_trials": 10}  # the sampler's own default
    assert fit_to_budget("tpe", {"seed": 1}, 4) == {"seed": 1, "n_startup_trials": 2}  # never below 2
    assert fit_to_budget("gp_pool", {"n_startup_trials": 7}, 10) == {"n_startup_trials": 7}
    assert fit_to_budget("nsga2", {}, 10) == {}  # a population, not a random start


def test_it_learns_where_a_constraint_breaks_from_trials_stopped_for_it() -> None:
    """Trials with x above 20 break a latency budget: the early-stopping rule stops them after their first
    epoch, PRUNED with how far they were (never COMPLETE), and larger x looks better on both objectives."""

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_int("x", 0, 29)
        op = trial.suggest_categorical("op", OPS)
        if x > 20:
            trial.set_constraint("latency_p50_ms <= 3", x - 20.5)
            raise optuna.TrialPruned()
        return x / 3 + OPS.index(op), 29.0 - x

    study = _study({"n_startup_trials": 8})
    study.optimize(objective, n_trials=30)
    assert all(t.constraints for t in study.trials if t.state == optuna.trial.TrialState.PRUNED)
    later = [t.params["x"] for t in study.trials if t.number >= 8 and "model-based" in (
        study.sampler.proposal_reason(t.number) or "")]
    # the model without the stopped trials' constraints goes on proposing x > 20 (it never sees it fail)
    assert len(later) >= 10 and sum(x > 22 for x in later) <= 1, later
