"""Samplers looked up by name; `search/*.yaml` names one and passes its options.

A factory takes the seed and the preset's options. Constraints do not go through the sampler:
the driver records each trial's violations with Optuna 5's ``Trial.set_constraint``
(``hpsearch.study.set_trial_constraints``), and TPE, NSGA-II and GP read them from the trial to
steer away from infeasible regions (Optuna's deprecated ``constraints_func`` is not used). The
random sampler samples without them; every sampler's ``study.best_trials`` and hpsearch's front
leave infeasible trials off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import optuna

SamplerFactory = Callable[..., "optuna.samplers.BaseSampler"]


def _optuna(class_name: str, **defaults: Any) -> SamplerFactory:
    """A factory for Optuna's sampler `class_name`, imported when a sampler is built."""

    def factory(seed: int, **options: Any) -> "optuna.samplers.BaseSampler":
        import warnings

        import optuna

        from hpsearch.search._space import SearchedSpace

        merged = {**defaults, **options}
        with warnings.catch_warnings():  # constant_liar is "experimental" in Optuna 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = getattr(optuna.samplers, class_name)(seed=seed, **merged)
        # where Optuna's intersection of every trial's parameters decides what is sampled together,
        # a baseline (no parameters) would empty it: give the sampler the space the trials searched
        relative = class_name == "NSGAIISampler" or (class_name == "TPESampler" and merged.get("multivariate")
                                                     and not merged.get("group"))
        return SearchedSpace(sampler) if relative else sampler  # type: ignore[no-any-return]

    factory.__name__ = class_name
    return factory


SAMPLERS: dict[str, SamplerFactory] = {}


def register_sampler(name: str, factory: SamplerFactory) -> None:
    if name in SAMPLERS:
        raise ValueError(f"sampler {name!r} is already registered")
    SAMPLERS[name] = factory


# TPE's constant liar: trials running elsewhere (other drivers, concurrent trials) count as bad
# outcomes while they run, so a proposal does not repeat what is already being tried.
register_sampler("tpe", _optuna("TPESampler", constant_liar=True))
for _name, _class in [("nsga2", "NSGAIISampler"), ("random", "RandomSampler"), ("gp", "GPSampler")]:
    register_sampler(_name, _optuna(_class))


#: Optuna's defaults: trials sampled at random before a model-based sampler uses its model, and
#: NSGA-II's population (its first generation is random).
_STARTUP = {"tpe": ("n_startup_trials", 10), "tpe_local": ("n_startup_trials", 5), "gp": ("n_startup_trials", 10),
            "gp_pool": ("n_startup_trials", 10),
            "nsga2": ("population_size", 50)}


def _front_local_tpe(seed: int, local_share: float = 0.3, local_after: int = 10,
                     **options: Any) -> "optuna.samplers.BaseSampler":
    """Multivariate TPE (constant liar on) with local steps from the front (``_local``)."""
    from hpsearch.search._local import FrontLocalSearch

    tpe = _optuna("TPESampler", multivariate=True, constant_liar=True, n_startup_trials=5)(seed, **options)
    return FrontLocalSearch(tpe, local_share=local_share, local_after=local_after, seed=seed)


def _tpe_local(seed: int, **options: Any) -> "optuna.samplers.BaseSampler":
    """`_front_local_tpe`, never proposing knob values that failed for a reason that holds
    everywhere (``_avoid``)."""
    from hpsearch.search._avoid import AvoidFailures

    return AvoidFailures(_front_local_tpe(seed, **options), seed=seed)


register_sampler("tpe_local", _tpe_local)


def _gp_pool(seed: int, n_startup_trials: int = 10, reference: str = "startup", trust_steps: int = 2,
             max_share: float | None = 0.05,
             enumerate_up_to: int = 40_000, pool_size: int = 4000,
             local_share: float = 0.3, local_after: int = 10) -> "optuna.samplers.BaseSampler":
    """Gaussian processes and expected hypervolume improvement over a pool of candidates (``_pool``),
    tpe_local where trials are too short for the model to pay (`max_share`), never proposing knob
    values that failed for a reason that holds everywhere (``_avoid``)."""
    from hpsearch.search._avoid import AvoidFailures
    from hpsearch.search._pool import PoolEHVISampler

    fallback = _front_local_tpe(seed, local_share=local_share, local_after=local_after,
                                n_startup_trials=n_startup_trials)
    pool = PoolEHVISampler(n_startup_trials=n_startup_trials, enumerate_up_to=enumerate_up_to, pool_size=pool_size,
                           reference=reference, trust_steps=trust_steps, max_share=max_share,
                           fallback=fallback, seed=seed)
    return AvoidFailures(pool, seed=seed)


register_sampler("gp_pool", _gp_pool)

def fit_to_budget(name: str, options: dict[str, Any], budget: int) -> dict[str, Any]:
    """`options` with the random start-up at most a third of the study's `budget` (at least 2) where the
    preset does not name it: a 10-trial study with Optuna's 10 start-up trials is a random search."""
    key, default = _STARTUP.get(name, ("", 0))
    if key != "n_startup_trials" or key in options:
        return dict(options)
    return {**options, key: max(2, min(default, budget // 3))}


def describe_proposal(name: str, options: dict[str, Any], finished: int, sampler: Any = None,
                      number: int | None = None) -> str:
    """Why the sampler `name` proposed a trial when the study had `finished` trials done: a random
    start, or its model. A sampler that knows better (``proposal_reason(number)``) says it itself."""
    own = getattr(sampler, "proposal_reason", None)
    if callable(own) and number is not None:
        said = own(number)
        if said:
            return str(said)
    if name == "random":
        return "random"
    key, default = _STARTUP.get(name, ("", 0))
    startup = int(options.get(key, default))
    if name == "nsga2":
        generation = finished // max(startup, 1)
        return f"nsga2 generation {generation}" + (" (random, the first)" if generation == 0 else "")
    if finished < startup:
        return f"random start ({finished} of {name}'s {startup} start-up trials done)"
    return f"model-based ({name}, from {finished} trials)"


def make_sampler(name: str, seed: int, options: dict[str, Any]) -> "optuna.samplers.BaseSampler":
    """The sampler registered as `name`, built with the seed and the preset's options."""
    if "constraints_func" in options:
        raise ValueError("constraints_func cannot be a sampler option; constraints come from the `constraints` "
                         "of the objectives file and are recorded on each trial")
    factory = SAMPLERS[name]
    import inspect

    takes = inspect.signature(factory).parameters
    if not any(t.kind == inspect.Parameter.VAR_KEYWORD for t in takes.values()):  # hpsearch's own: say it plainly
        unknown = [k for k in options if k not in takes or k == "seed"]
        if unknown:
            raise TypeError(f"unknown option{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}; {name} "
                            f"takes {', '.join(k for k in takes if k != 'seed')}")
    return factory(seed, **options)
