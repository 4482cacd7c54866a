"""A Gaussian-process sampler for several objectives that scores a whole pool of candidates.

Each objective gets its own Gaussian process over the searched knobs (one length scale per knob: a
categorical knob's distance is 0 or 1, a number's is its difference on its own scale, log where the
distribution is), its hyperparameters fitted by marginal likelihood. A proposal is the untried
candidate with the largest expected hypervolume improvement over the current front (exact, in closed
form over the processes' predictions: ``_hypervolume.expected_improvement``), where the trials still
running count as done at the value the processes predict for them (a "believer": four trials in
flight do not all go to the same place).

The models learn the ranks of the values, not the values (``_gp.normal_scores``): a table's outliers
(a network that did not learn, a trial ten times slower) do not throw them. The candidates are every
configuration of the space where it holds few enough (categorical and integer knobs only), otherwise
random configurations and one- or two-knob steps from the trials done. Where the space is enumerated,
the candidates are its untried configurations within ``trust_steps`` steps of a trial on the front (a
step: one value of an integer knob, or another choice of a categorical one), a trust region that
follows the front (``trust_steps: 0``: the whole space), measured in docs/benchmarks.md. The
hypervolume is taken in a box per objective from the best value seen to the reference: by default the
median of the start-up trials (``reference: startup``; the first ``n_startup_trials`` complete ones, by
number: a random sample of the space, so a point past it is worse than a typical configuration on that
objective and improving it adds nothing; a warm start's configurations, tried first, are among them,
which puts the reference nearer the front); ``nadir`` puts it just past the worst point of the front, which
spent trials making the front's extremes better still (a model a thousand times slower than the
typical one, a little more accurate), ``median`` at the median of every trial so far, which moves towards
the front as the search closes in on it.

Measured against Optuna's samplers in ``benchmarks/search_efficiency.py`` (docs/benchmarks.md).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import StudyDirection
from optuna.trial import TrialState

from hpsearch.search._gp import GP, Encoder, distances, normal_scores
from hpsearch.search._hypervolume import expected_improvement, nondominated_boxes
from hpsearch.search._pareto import nondominated
from hpsearch.search._snapshot import trials_for
from hpsearch.search._space import searched_space

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

_REFERENCES = ("startup", "nadir", "median")
_PENDING = (TrialState.RUNNING, TrialState.WAITING)
_SEEN = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING, TrialState.PRUNED, TrialState.FAIL)


class PoolEHVISampler(BaseSampler):
    """Gaussian processes and expected hypervolume improvement over a pool of candidates.

    `fallback` proposes instead where the model would cost more than `max_share` of a trial's wall
    time (the median of the last ten complete trials, against what the last model proposal took):
    trials that take no time (a no-op benchmark, a table) get the cheap sampler; fine-tuning trials,
    minutes long, always the model. ``max_share=None`` always uses the model.
    """

    def __init__(self, n_startup_trials: int = 10, enumerate_up_to: int = 40_000, pool_size: int = 4000,
                 reference: str = "startup", trust_steps: int = 2,
                 fallback: BaseSampler | None = None, max_share: float | None = 0.05,
                 seed: int | None = None) -> None:
        if reference not in _REFERENCES:
            raise ValueError(f"reference must be one of {', '.join(map(repr, _REFERENCES))}, got {reference!r}")
        if trust_steps < 0:
            raise ValueError(f"trust_steps must be 0 (the whole space) or more, got {trust_steps}")
        if n_startup_trials < 2:
            raise ValueError(f"n_startup_trials must be at least 2, got {n_startup_trials}")
        if max_share is not None and max_share <= 0.0:
            raise ValueError(f"max_share must be above 0 (or null: always the model), got {max_share}")
        self.n_startup_trials = n_startup_trials
        self.enumerate_up_to = enumerate_up_to
        self.pool_size = pool_size
        self.reference = reference
        self.trust_steps = trust_steps
        self.fallback = fallback
        self.max_share = max_share
        self._rng = np.random.RandomState(seed)
        self._random = RandomSampler(seed=seed)
        self._reasons: dict[int, str] = {}
        self._delegated: set[int] = set()  # trials the fallback proposes
        self._cost: float | None = None  # seconds the last model proposal took
        self._grid: dict[tuple[Any, ...], np.ndarray] = {}
        self._theta: dict[tuple[Any, ...], np.ndarray] = {}  # each model's last hyperparameters

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._random.reseed_rng()
        if self.fallback is not None:
            self.fallback.reseed_rng()

    def proposal_reason(self, number: int) -> str | None:
        if number in self._delegated:
            theirs = getattr(self.fallback, "proposal_reason", lambda n: None)(number)
            return "; ".join(r for r in (self._reasons.get(number), theirs) if r) or None
        return self._reasons.get(number)

    def before_trial(self, study: optuna.Study, trial: "FrozenTrial") -> None:
        self._delegated.discard(trial.number)
        done = sum(1 for t in trials_for(study, trial) if t.state == TrialState.COMPLETE and t.params)
        if done < self.n_startup_trials:
            self._reasons[trial.number] = f"random start ({done} of the {self.n_startup_trials} start-up trials done)"
        if self.fallback is None:
            return
        self.fallback.before_trial(study, trial)
        if self.max_share is None or self._cost is None:
            return
        durations = [(t.datetime_complete - t.datetime_start).total_seconds()
                     for t in trials_for(study, trial)[::-1]
                     if t.state == TrialState.COMPLETE and t.datetime_start and t.datetime_complete and t.params][:10]
        if durations and self._cost > self.max_share * float(np.median(durations)):
            self._delegated.add(trial.number)
            self._reasons[trial.number] = (f"the model's proposal ({self._cost:.2f} s) would cost over "
                                           f"{self.max_share:.0%} of a trial ({float(np.median(durations)):.2f} s)")

    def after_trial(self, study: optuna.Study, trial: "FrozenTrial", state: TrialState, values: Any) -> None:
        if self.fallback is not None:
            self.fallback.after_trial(study, trial, state, values)

    def infer_relative_search_space(self, study: optuna.Study, trial: "FrozenTrial") -> dict[str, BaseDistribution]:
        if trial.number in self._delegated:
            assert self.fallback is not None
            return self.fallback.infer_relative_search_space(study, trial)
        return searched_space(trials_for(study, trial))  # baselines left out (``_space``)

    def sample_independent(self, study: optuna.Study, trial: "FrozenTrial", param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if trial.number in self._delegated:
            assert self.fallback is not None
            return self.fallback.sample_independent(study, trial, param_name, param_distribution)
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def sample_relative(self, study: optuna.Study, trial: "FrozenTrial",
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if trial.number in self._delegated:
            assert self.fallback is not None
            return self.fallback.sample_relative(study, trial, search_space)
        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        # small matrices: BLAS threads only wait on each other (3x slower on 2 busy cores)
        with threadpool_limits(limits=1):
            proposed = self._propose(study, trial, search_space)
        if proposed:
            self._cost = time.perf_counter() - started
        return proposed

    def _propose(self, study: optuna.Study, trial: "FrozenTrial",
                 search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        trials = [t for t in trials_for(study, trial) if t.state in _SEEN]
        searched = [t for t in trials if all(n in t.params for n in search_space)]
        complete = [t for t in searched if t.state == TrialState.COMPLETE and t.values is not None]
        if len(complete) < self.n_startup_trials:
            self._reasons[trial.number] = (f"random start ({len(complete)} of the {self.n_startup_trials} "
                                           "start-up trials done)")
            return {}
        names = sorted(search_space)
        encoder = Encoder(names, [search_space[n] for n in names])
        signs = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in study.directions])
        # values as ranks among every complete trial; the front holds the feasible ones, with the
        # parameterless baselines (a proposal has to beat TF-IDF too)
        everything = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]
        scores = normal_scores(np.array([t.values for t in complete + [t for t in everything if not t.params]],
                                         dtype=float) * signs)  # every objective minimised, as ranks
        y, baselines = scores[: len(complete)], scores[len(complete):]
        feasible = np.array([not t.constraints or all(c <= 0.0 for c in t.constraints.values()) for t in complete])
        x = encoder.encode([t.params for t in complete])
        # the objectives' models learn from the feasible trials (a collapsed model's small fairness gap
        # says nothing of a model that learned), from all while fewer than 2 are; the constraints' own
        # models say where trials break them
        learn = feasible if feasible.sum() >= 2 else np.ones(len(complete), dtype=bool)
        own_front = [complete[i] for i in np.flatnonzero(feasible)[sorted(nondominated(y[feasible]))]] \
            if feasible.any() else []
        candidates = self._candidates(encoder, trials, search_space, [t.params for t in complete],
                                      [t.params for t in own_front])
        if len(candidates) == 0:
            return {}
        models = [GP.fit(x[learn], y[learn, k], encoder.groups, self._theta.get((tuple(names), k)))
                  for k in range(y.shape[1])]
        self._theta.update({(tuple(names), k): m.theta for k, m in enumerate(models)})
        pending = [t for t in searched if t.state in _PENDING and t.number != trial.number]
        xp = encoder.encode([t.params for t in pending]) if pending else x[:0]
        # a trial stopped for breaking a constraint on what training does not change records how far
        # it was (the early-stopping rule's): the constraints' models learn where that is too
        stopped = [t for t in searched if t.state == TrialState.PRUNED and t.constraints]
        feasibility, pending_feasible = self._feasibility(complete + stopped, encoder, candidates, xp)
        own = y[feasible]
        if pending:  # running trials count as done, at the value the models expect of them (a kriging
            # believer: in the front where they are likely feasible, and in the models, whose
            # uncertainty around them goes)
            expect = np.column_stack([m.predict(xp)[0] for m in models])
            own = np.vstack([own, expect[pending_feasible >= 0.5]])
            x = np.vstack([x[learn], xp])
            models = [GP(x, np.concatenate([y[learn, k], expect[:, k]]), encoder.groups, m.theta)
                      for k, m in enumerate(models)]
        else:
            x = x[learn]
        d = distances(candidates, x, np.array(encoder.groups))
        predicted = [m.predict(candidates, d) for m in models]
        mean = np.column_stack([p[0] for p in predicted])
        std = np.column_stack([p[1] for p in predicted])
        beaten = ""
        if len(own) and len(baselines) and all(
                np.any(np.all(baselines <= o, axis=1) & np.any(baselines < o, axis=1)) for o in own):
            # the baselines dominate every trial: a chance of beating them is only the models' doubt,
            # and chasing it is chasing the least known; improve the trials' own front instead (the way
            # to beat the baselines, if fine-tuning can), so the search learns what fine-tuning does best
            expected, std_n = self._expected(y, own, mean, std, feasibility)
            beaten = ", the trials' own front: the baselines dominate it"
        else:
            expected, std_n = self._expected(y, np.vstack([own, baselines]), mean, std, feasibility)
        if expected.max() <= 0.0:  # nothing is expected to improve the front: the most uncertain candidate
            best = int(np.argmax(std_n.sum(axis=1) * feasibility))
            why = "model-based (no candidate expected to improve the front: the least known)"
        else:
            best = int(np.argmax(expected))
            why = (f"model-based (expected hypervolume improvement{beaten}, from {len(complete)} trials, "
                   f"{len(pending)} running)")
        self._reasons[trial.number] = why
        return encoder.decode(candidates[best])

    def _expected(self, y: np.ndarray, believed: np.ndarray, mean: np.ndarray, std: np.ndarray,
                  feasibility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(every candidate's expected hypervolume improvement over `believed`'s front times
        `feasibility`, their normalised standard deviations)."""
        if len(believed) == 0:
            believed = y
        low, ref = self._box(y, believed)
        normalised = (believed - low) / (ref - low)
        front = normalised[sorted(nondominated(normalised))]
        mean_n, std_n = (mean - low) / (ref - low), std / (ref - low)
        cells = nondominated_boxes(front, np.ones(len(ref)))
        return expected_improvement(mean_n, std_n, cells) * feasibility, std_n  # times the chance the constraints hold

    @staticmethod
    def _feasibility(measured: list["FrozenTrial"], encoder: Encoder, candidates: np.ndarray,
                     xp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The chance that every constraint holds (value <= 0) at each candidate and each running trial:
        a Gaussian process per constraint some trial broke (a collapsed trial breaks ``learned``; its
        tiny fairness gap and quick latency would otherwise draw the search to where models collapse),
        fitted on the `measured` trials that recorded it (a stopped trial records only some)."""
        from scipy.special import ndtr

        at_candidates, at_pending = np.ones(len(candidates)), np.ones(len(xp))
        for name in sorted(set().union(*(t.constraints for t in measured))):
            rows = [t for t in measured if name in t.constraints]
            c = np.array([t.constraints[name] for t in rows], dtype=float)
            if not np.all(np.isfinite(c)) or np.all(c <= 0.0):
                continue
            model = GP.fit(encoder.encode([t.params for t in rows]), c, encoder.groups)
            mean, std = model.predict(candidates)
            at_candidates *= ndtr(-mean / std)
            if len(xp):
                mean, std = model.predict(xp)
                at_pending *= ndtr(-mean / std)
        return at_candidates, at_pending

    def _box(self, y: np.ndarray, believed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low = believed.min(axis=0)
        if self.reference == "startup":  # `y`'s rows are the complete trials by number
            ref = np.median(y[: self.n_startup_trials], axis=0)
        elif self.reference == "median":
            ref = np.median(y, axis=0)
        else:
            front = y[sorted(nondominated(y))]
            ref = front.max(axis=0) + 0.1 * (front.max(axis=0) - low)
        span = np.where(ref - low > 1e-12, ref - low, 1.0)
        return low, low + span

    def _candidates(self, encoder: "Encoder", trials: list["FrozenTrial"], space: dict[str, BaseDistribution],
                    done: list[dict[str, Any]], front: list[dict[str, Any]] = ()) -> np.ndarray:
        """Every untried configuration where the space holds few enough (those within `trust_steps` of
        a configuration of `front`, where there are any), else random ones and one- or two-knob steps
        from the trials done."""
        seen = {tuple(encoder.index(t.params)) for t in trials if all(n in t.params for n in space)}
        sizes = encoder.sizes()
        if sizes is not None and math.prod(sizes) <= self.enumerate_up_to:
            key = tuple(sizes)
            if key not in self._grid:
                self._grid[key] = np.array(list(np.ndindex(*sizes)), dtype=np.int64)
            grid = self._grid[key]
            tried = np.array(sorted(seen), dtype=np.int64).reshape(-1, len(sizes))
            keep = ~np.isin(np.ravel_multi_index(grid.T, sizes), np.ravel_multi_index(tried.T, sizes))
            untried = grid[keep]
            if self.trust_steps and front and len(untried):
                near = _within_steps(untried, np.array([encoder.index(p) for p in front], dtype=np.int64),
                                     np.array(encoder.groups), self.trust_steps)
                if near.any():  # else the whole space: every configuration near the front is tried
                    untried = untried[near]
            return encoder.from_index(untried)
        rows = encoder.random_index(self._rng, self.pool_size)
        if done:  # steps: a trial done with one knob (sometimes two) drawn anew
            starts = np.array([encoder.index(p) for p in done[-50:]], dtype=float)
            steps = np.repeat(starts, max(self.pool_size // 200, 1), axis=0)
            fresh = encoder.random_index(self._rng, len(steps))
            for flips in range(1 + int(len(encoder.dists) > 1)):
                pick = self._rng.randint(steps.shape[1], size=len(steps))
                chosen = (np.arange(steps.shape[1])[None, :] == pick[:, None])
                if flips:  # the second knob, for 30% of the steps
                    chosen &= (self._rng.rand(len(steps)) < 0.3)[:, None]
                steps = np.where(chosen, fresh, steps)
            rows = np.vstack([rows, steps])
        untried = np.array([tuple(r) not in seen for r in rows.tolist()])
        return encoder.from_index(rows[untried] if untried.any() else rows[:1])


def _within_steps(rows: np.ndarray, centres: np.ndarray, categorical: np.ndarray, steps: int) -> np.ndarray:
    """Which `rows` (configurations as choice indices) lie within `steps` of one of `centres`: a step
    is one index of an integer knob, or any other choice of a categorical one."""
    differ = np.abs(rows[:, None, :] - centres[None, :, :])
    differ[:, :, categorical] = differ[:, :, categorical] > 0
    return (differ.sum(axis=2) <= steps).any(axis=1)
