"""Local search around the front, mixed into a model-based sampler.

With probability `local_share`, once `local_after` trials are done, a proposal is a small step from a
random trial on the current Pareto front (one knob changed, sometimes two: another category, the
next value of an integer, a short step of a float on its scale) that no trial has tried or is
trying; otherwise the wrapped sampler (multivariate TPE) proposes. Fronts of fine-tuning searches
are made of neighbours (one more layer, twice the rank), which a density model finds slowly.
Measured against Optuna's samplers in ``benchmarks/search_efficiency.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.trial import TrialState

from hpsearch.search._pareto import pareto_front
from hpsearch.search._snapshot import trials_for

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

_SEEN = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING, TrialState.PRUNED)


class FrontLocalSearch(BaseSampler):
    def __init__(self, base: BaseSampler, local_share: float = 0.3, local_after: int = 10,
                 seed: int | None = None) -> None:
        if not 0.0 <= local_share <= 1.0:
            raise ValueError(f"local_share must be in [0, 1], got {local_share}")
        if local_after < 1:
            raise ValueError(f"local_after must be at least 1, got {local_after}")
        self.base = base
        self.local_share = local_share
        self.local_after = local_after
        self._rng = np.random.RandomState(seed)
        self._local: dict[int, dict[str, tuple[Any, BaseDistribution]]] = {}  # trial number -> its step
        self._reasons: dict[int, str] = {}

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
        self._rng.seed()

    def proposal_reason(self, number: int) -> str | None:
        """Why trial `number` got its parameters, when this sampler chose them itself."""
        return self._reasons.get(number)

    def before_trial(self, study: optuna.Study, trial: "FrozenTrial") -> None:
        self.base.before_trial(study, trial)
        self._local.pop(trial.number, None)
        # trials with parameters only: a study's baselines are complete trials without any
        trials = trials_for(study, trial)
        done = [t for t in trials if t.state == TrialState.COMPLETE and t.distributions]
        if len(done) >= self.local_after and self._rng.rand() < self.local_share:
            step = self._step(study, trials)
            if step is not None:
                self._local[trial.number], parent = step
                changed = sorted(n for n, (v, _) in self._local[trial.number].items() if v != parent.params[n])
                self._reasons[trial.number] = (f"local search: {', '.join(changed)} changed from front trial "
                                               f"{parent.number}")

    def _step(self, study: optuna.Study,
              trials: list["FrozenTrial"]) -> tuple[dict[str, tuple[Any, BaseDistribution]], "FrozenTrial"] | None:
        # study.best_trials, without its deep copy of every trial and all their attributes: the front
        # of the complete trials, of the feasible ones where any trial carries constraints
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if any(t.constraints for t in complete):
            complete = [t for t in complete if all(v <= 0.0 for v in t.constraints.values())]
        front = [t for t in pareto_front(complete, study.directions) if t.distributions]
        if not front:  # parameterless trials (baselines) hold the whole front: step from the best of the rest
            front = pareto_front([t for t in trials if t.state == TrialState.COMPLETE and t.distributions],
                                 study.directions)
        if not front:
            return None
        seen = {_key(t.params) for t in trials if t.state in _SEEN}
        for _ in range(30):
            parent = front[self._rng.randint(len(front))]
            params = dict(parent.params)
            names = sorted(parent.distributions)
            flips = 2 if len(names) > 1 and self._rng.rand() < 0.3 else 1
            for name in self._rng.choice(names, size=flips, replace=False):
                params[name] = self._mutate(parent.distributions[name], params[name])
            if _key(params) not in seen:
                return {n: (params[n], parent.distributions[n]) for n in names}, parent
        return None

    def _mutate(self, distribution: BaseDistribution, value: Any) -> Any:
        if isinstance(distribution, CategoricalDistribution):
            others = [c for c in distribution.choices if c != value]
            return others[self._rng.randint(len(others))] if others else value
        if isinstance(distribution, IntDistribution):
            near = [v for v in (value - distribution.step, value + distribution.step)
                    if distribution.low <= v <= distribution.high]
            return near[self._rng.randint(len(near))] if near else value
        assert isinstance(distribution, FloatDistribution)
        to = np.log if distribution.log else (lambda x: x)
        low, high = to(distribution.low), to(distribution.high)
        x = float(np.clip(to(value) + self._rng.normal(0.0, 0.1 * (high - low)), low, high))
        x = float(np.exp(x)) if distribution.log else x
        if distribution.step is not None:
            x = distribution.low + round((x - distribution.low) / distribution.step) * distribution.step
        return min(max(x, distribution.low), distribution.high)

    def infer_relative_search_space(self, study: optuna.Study, trial: "FrozenTrial") -> dict[str, BaseDistribution]:
        if trial.number in self._local:
            return {n: d for n, (_, d) in self._local[trial.number].items()}
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: "FrozenTrial",
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if trial.number in self._local:
            return {n: v for n, (v, _) in self._local[trial.number].items() if n in search_space}
        return self.base.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: "FrozenTrial", param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: "FrozenTrial", state: TrialState,
                    values: Any) -> None:
        self._local.pop(trial.number, None)
        self.base.after_trial(study, trial, state, values)


def _key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))
