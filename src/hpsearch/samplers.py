"""Samplers looked up by name; `search/*.yaml` names one and passes its options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import optuna

SamplerFactory = Callable[..., "optuna.samplers.BaseSampler"]


def _tpe(seed: int, **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.TPESampler(seed=seed, **options)


def _nsga2(seed: int, **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.NSGAIISampler(seed=seed, **options)


def _random(seed: int, **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.RandomSampler(seed=seed, **options)


def _gp(seed: int, **options: Any) -> "optuna.samplers.BaseSampler":
    import optuna

    return optuna.samplers.GPSampler(seed=seed, **options)


SAMPLERS: dict[str, SamplerFactory] = {}


def register_sampler(name: str, factory: SamplerFactory) -> None:
    if name in SAMPLERS:
        raise ValueError(f"sampler {name!r} is already registered")
    SAMPLERS[name] = factory


for _name, _factory in [("tpe", _tpe), ("nsga2", _nsga2), ("random", _random), ("gp", _gp)]:
    register_sampler(_name, _factory)


def make_sampler(name: str, seed: int, options: dict[str, Any]) -> "optuna.samplers.BaseSampler":
    return SAMPLERS[name](seed, **options)
