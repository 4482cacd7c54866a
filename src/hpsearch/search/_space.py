"""The search space the study's trials searched, the baselines left out.

Optuna's ``IntersectionSearchSpace`` intersects the parameters of every finished trial. A baseline
(TF-IDF, the linear probe: hpsearch records them as trials with values and no parameters) has none,
so one baseline empties the intersection, and multivariate TPE and NSGA-II's crossover, which sample
only in that space, quietly sample every parameter on its own from then on. ``searched_space``
intersects only the trials that searched something; ``SearchedSpace`` gives a sampler that space.

Optuna's ``GPSampler`` cannot be given it: it reads the parameters of every complete trial, the
baselines' too. Its preset stays on Optuna's intersection; gp_pool, the default, has this space.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import TrialState

from hpsearch.search._snapshot import trials_for

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


def searched_space(trials: Iterable["FrozenTrial"]) -> dict[str, BaseDistribution]:
    """The parameters every finished trial with parameters searched alike (sorted by name), those
    with a single value left out, as Optuna's samplers sample them relatively."""
    space: dict[str, BaseDistribution] | None = None
    for t in trials:
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.distributions:
            space = dict(t.distributions) if space is None else {
                n: d for n, d in space.items() if t.distributions.get(n) == d}
    return {n: d for n, d in sorted((space or {}).items()) if not d.single()}


class SearchedSpace(BaseSampler):
    """`base` (multivariate TPE, NSGA-II) sampling relatively in :func:`searched_space`; everything
    else is `base`'s own."""

    def __init__(self, base: BaseSampler) -> None:
        self.base = base

    def reseed_rng(self) -> None:
        self.base.reseed_rng()

    def proposal_reason(self, number: int) -> str | None:
        return getattr(self.base, "proposal_reason", lambda n: None)(number)

    def before_trial(self, study: optuna.Study, trial: "FrozenTrial") -> None:
        self.base.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: "FrozenTrial") -> dict[str, BaseDistribution]:
        return searched_space(trials_for(study, trial))

    def sample_relative(self, study: optuna.Study, trial: "FrozenTrial",
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self.base.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: "FrozenTrial", param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: "FrozenTrial", state: TrialState, values: Any) -> None:
        self.base.after_trial(study, trial, state, values)
