"""Warm start: the configurations of an earlier study's front, enqueued to be measured anew.

A space names an earlier study in the same database (``warm_start: {study: NAME, top_k: K}``);
up to K configurations of its honest front (spread along its first objective, extremes first) are
enqueued in the new study, each marked ``warm_start_of: "NAME#N"``. They are trained and measured
on the new data like any trial: no value is copied. A parameter the new space does not search, or
a value outside its range, is left to the sampler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial


def contains(distribution: "BaseDistribution", value: Any) -> bool:
    """Whether `value` is one `distribution` can give (Optuna's public distribution attributes)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    if isinstance(distribution, (FloatDistribution, IntDistribution)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not distribution.low <= value <= distribution.high:
            return False
        step = distribution.step
        return step is None or abs((value - distribution.low) / step - round((value - distribution.low) / step)) < 1e-9
    return False


def warm_start_configs(front: list["FrozenTrial"], distributions: dict[str, "BaseDistribution"],
                       maximize_first: bool, top_k: int) -> list[tuple[dict[str, Any], int]]:
    """(parameters to enqueue, the front trial's number) for up to `top_k` distinct configurations of
    `front`, evenly spaced along its first objective (best first, the other extreme last)."""
    configs: list[tuple[dict[str, Any], int]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()
    ordered = sorted(front, key=lambda t: (-t.values[0] if maximize_first else t.values[0], t.number))
    for trial in ordered:
        params = {k: v for k, v in trial.params.items() if k in distributions and contains(distributions[k], v)}
        key = tuple(sorted(params.items()))
        if not params or key in seen:
            continue
        seen.add(key)
        configs.append((params, trial.number))
    return [configs[i] for i in _even(len(configs), top_k)]


def _even(n: int, k: int) -> list[int]:
    if n <= k:
        return list(range(n))
    if k == 1:
        return [0]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def no_database(url: str, name: str, where: str) -> None:
    """A UserError where `url` is a SQLite file that does not exist yet: it holds no study to start from,
    and opening it would create it."""
    from hpsearch.errors import Problem, UserError
    from hpsearch.study._storage import mask_url, sqlite_file

    file = sqlite_file(url)
    if file is not None and not file.is_file():
        raise UserError(Problem(where, "warm_start.study", f"no study {name!r} in {mask_url(url)} (no database "
                                "there yet: warm_start names a study of the database this run writes to)"))


def load_source(storage: Any, name: str, where: str, url: str) -> "optuna.Study":
    """The earlier study a space warm-starts from; a UserError, before anything is written, if absent."""
    import optuna

    from hpsearch.errors import Problem, UserError
    from hpsearch.study._storage import mask_url

    names = optuna.get_all_study_names(storage)
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise UserError(Problem(where, "warm_start.study", f"no study {name!r} in {mask_url(url)} (studies: {known})"))
    return optuna.load_study(study_name=name, storage=storage)


def enqueue_warm_start(study: "optuna.Study", source: "optuna.Study", distributions: dict[str, "BaseDistribution"],
                       top_k: int) -> list[int]:
    """Enqueue the source's front configurations in `study`, once (call under the study lock);
    the source trial numbers enqueued (empty when the study was warm-started before)."""
    from hpsearch.study._front import honest_front
    from hpsearch.study._searcher import WARM_START_ATTR

    if any(WARM_START_ATTR in t.user_attrs for t in study.get_trials(deepcopy=False)):
        return []
    front = honest_front(source).trials
    maximize = source.directions[0].name == "MAXIMIZE"
    configs = warm_start_configs(front, distributions, maximize, top_k)
    for params, number in configs:
        study.enqueue_trial(params, user_attrs={WARM_START_ATTR: f"{source.study_name}#{number}"})
    return [number for _, number in configs]
