"""Samplers looked up by name; `search/*.yaml` names one and passes its options.

A factory takes the seed and the preset's options; one that also takes ``constraints_func``
gets the study's constraints (:class:`hpsearch.objectives.ConstraintsFunc`), so that it steers
away from infeasible regions. TPE, NSGA-II and GP take it; the random sampler has no use for it
and ignores it (reports still apply the constraints: `hpsearch.study.feasible_front`).
"""

from __future__ import annotations

import inspect
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

SamplerFactory = Callable[..., "optuna.samplers.BaseSampler"]
ConstraintsCallable = Callable[["FrozenTrial"], Sequence[float]]


def _tpe(seed: int, constraints_func: ConstraintsCallable | None = None, **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints_func, **options)


def _nsga2(seed: int, constraints_func: ConstraintsCallable | None = None,
           **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints_func, **options)


def _random(seed: int, **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.RandomSampler(seed=seed, **options)


def _gp(seed: int, constraints_func: ConstraintsCallable | None = None, **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.GPSampler(seed=seed, constraints_func=constraints_func, **options)


SAMPLERS: dict[str, SamplerFactory] = {}


def register_sampler(name: str, factory: SamplerFactory) -> None:
    if name in SAMPLERS:
        raise ValueError(f"sampler {name!r} is already registered")
    SAMPLERS[name] = factory


for _name, _factory in [("tpe", _tpe), ("nsga2", _nsga2), ("random", _random), ("gp", _gp)]:
    register_sampler(_name, _factory)


def takes_constraints(name: str) -> bool:
    """Whether the sampler registered as `name` uses a ``constraints_func``."""
    return "constraints_func" in inspect.signature(SAMPLERS[name]).parameters


def make_sampler(
    name: str, seed: int, options: dict[str, Any], constraints_func: ConstraintsCallable | None = None
) -> "optuna.samplers.BaseSampler":
    """The sampler registered as `name`, with `constraints_func` where it takes one."""
    factory = SAMPLERS[name]
    if "constraints_func" in options:
        raise ValueError("constraints_func cannot be a sampler option; it comes from the `constraints` "
                         "of the objectives file")
    if constraints_func is None or not takes_constraints(name):
        return factory(seed, **options)
    # Optuna 5 deprecates `constraints_func` (removal planned for 7.0) in favour of
    # `Trial.set_constraint`; it still works, and a user cannot act on the warning.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*constraints_func.*", category=FutureWarning)
        return factory(seed, constraints_func=constraints_func, **options)
