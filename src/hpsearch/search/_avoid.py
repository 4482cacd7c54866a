"""Learn from failures: knob values that failed a trial for a reason that holds for every trial
(4-bit quantisation without CUDA, more LoRA layers than the model has) are not proposed again.

The trial runner names such values on the failed trial (user attribute ``fail_knobs``); before each
trial this wrapper reads them from the study, and where the wrapped sampler proposes a configuration
that holds all the values of one of them (knobs the space does not search always hold), it moves
the last of them it proposed to another value of its distribution. Optuna's samplers ignore failed
trials, so without this TPE proposes the same impossible value again and again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.trial import TrialState

from hpsearch.search._snapshot import trials_for

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

#: The failed trial's user attribute naming the knob values that fail everywhere here.
FAIL_KNOBS_ATTR = "fail_knobs"


class AvoidFailures(BaseSampler):
    def __init__(self, base: BaseSampler, seed: int | None = None) -> None:
        self.base = base
        self._rng = np.random.RandomState(seed)
        self._failed: list[tuple[int, dict[str, Any]]] = []
        self._searched: set[str] = set()
        self._reasons: dict[int, str] = {}

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
        self._rng.seed()

    def proposal_reason(self, number: int) -> str | None:
        own = self._reasons.get(number)
        theirs = getattr(self.base, "proposal_reason", lambda n: None)(number)
        return "; ".join(r for r in (theirs, own) if r) or None

    def before_trial(self, study: optuna.Study, trial: "FrozenTrial") -> None:
        self.base.before_trial(study, trial)
        trials = trials_for(study, trial)
        self._failed = [(t.number, dict(t.user_attrs[FAIL_KNOBS_ATTR])) for t in trials
                        if t.state == TrialState.FAIL and t.user_attrs.get(FAIL_KNOBS_ATTR)]
        self._searched = {name for t in trials for name in t.distributions}

    def _holds(self, knobs: dict[str, Any], params: dict[str, Any]) -> bool:
        """Whether `params` (with the space's fixed knobs) hold every value of a failure's `knobs`."""
        return any(k in params for k in knobs) and all(
            (k in params and params[k] == v) or (k not in params and k not in self._searched) for k, v in knobs.items())

    def _elsewhere(self, distribution: BaseDistribution, value: Any) -> Any:
        """Another value of `distribution` than `value` (itself when there is none)."""
        if isinstance(distribution, CategoricalDistribution):
            others = [c for c in distribution.choices if c != value]
        elif isinstance(distribution, IntDistribution):
            others = [v for v in range(distribution.low, distribution.high + 1, distribution.step) if v != value][:1000]
        else:
            return value
        return others[self._rng.randint(len(others))] if others else value

    def _avoid(self, trial: "FrozenTrial", params: dict[str, Any], proposed: dict[str, Any],
               distributions: dict[str, BaseDistribution]) -> dict[str, Any]:
        """`proposed` with a knob moved wherever it, with `params`, holds a failure's values."""
        for number, knobs in self._failed:
            together = {**params, **proposed}
            movable = [k for k in knobs if k in proposed and k in distributions]
            if movable and self._holds(knobs, together):
                name = movable[-1]
                moved = self._elsewhere(distributions[name], proposed[name])
                if moved != proposed[name]:
                    self._reasons[trial.number] = (f"{name}={proposed[name]!r} avoided: it failed trial {number} "
                                                   "for a reason that holds here")
                    proposed = {**proposed, name: moved}
        return proposed

    def infer_relative_search_space(self, study: optuna.Study, trial: "FrozenTrial") -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: "FrozenTrial",
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        proposed = self.base.sample_relative(study, trial, search_space)
        return self._avoid(trial, trial.params, proposed, search_space) if self._failed else proposed

    def sample_independent(self, study: optuna.Study, trial: "FrozenTrial", param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        value = self.base.sample_independent(study, trial, param_name, param_distribution)
        if not self._failed:
            return value
        return self._avoid(trial, trial.params, {param_name: value}, {param_name: param_distribution})[param_name]

    def after_trial(self, study: optuna.Study, trial: "FrozenTrial", state: TrialState, values: Any) -> None:
        self.base.after_trial(study, trial, state, values)
