"""A validated space as Optuna sees it: a define-by-run function and a printable description.

Shared by every driver (Ray Tune today); the space is data, resolved here once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpsearch.space._knobs import KNOBS
from hpsearch.space._schema import CategoricalParam, DerivedParam, FloatParam, IntParam, SpaceConfig

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

#: The trial user attribute naming a baseline, what fine-tuning is compared with: ``head`` (a
#: head-only trial this space enqueues), ``linear_probe`` (the frozen base model with a
#: logistic-regression probe) or ``tfidf`` (TF-IDF n-grams with logistic regression). Baselines
#: are shown beside the front, never on it.
BASELINE_ATTR = "baseline"
#: Knob values a trial was enqueued with that override the space (``hpsearch confirm``: the seed).
FIXED_ATTR = "fixed_knobs"


def _active(spec: Any, values: dict[str, Any]) -> bool:
    return all(name in values and values[name] in allowed for name, allowed in spec.condition().items())


def suggest(space: SpaceConfig, trial: "optuna.Trial") -> dict[str, Any]:
    """Ask `trial` for every active parameter; return the trial's knob values (fixed ones too).

    A trial enqueued as the study's baseline (user attribute ``baseline``) trains only the head.
    """
    forced = {"method": "head"} if trial.user_attrs.get(BASELINE_ATTR) == "head" else {}
    forced.update(trial.user_attrs.get(FIXED_ATTR) or {})  # a confirmation's seed
    values: dict[str, Any] = {**space.fixed, **forced}
    for name, spec in space.params.items():
        if name in forced or not _active(spec, values):
            continue
        if isinstance(spec, FloatParam):
            values[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            values[name] = trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
        elif isinstance(spec, CategoricalParam):
            values[name] = trial.suggest_categorical(name, spec.choices)
        elif isinstance(spec, DerivedParam):
            if spec.from_ not in values:
                continue
            derived = values[spec.from_] * spec.times
            values[name] = int(round(derived)) if KNOBS[name].kind is int else float(derived)
    return values


def distributions(space: SpaceConfig) -> dict[str, "BaseDistribution"]:
    """The Optuna distribution of every searched parameter (derived ones are not searched)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found: dict[str, BaseDistribution] = {}
    for name, spec in space.params.items():
        if isinstance(spec, FloatParam):
            found[name] = FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            found[name] = IntDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, CategoricalParam):
            found[name] = CategoricalDistribution(spec.choices)
    return found


def describe(space: SpaceConfig) -> list[tuple[str, str, str]]:
    """(name, distribution, condition) rows for every parameter and fixed value."""
    rows = []
    for name, spec in space.params.items():
        if isinstance(spec, FloatParam):
            dist = f"float [{spec.low:g}, {spec.high:g}]" + (" log" if spec.log else "") + \
                (f" step {spec.step:g}" if spec.step else "")
        elif isinstance(spec, IntParam):
            dist = f"int [{spec.low}, {spec.high}]" + (f" step {spec.step}" if spec.step != 1 else "") + \
                (" log" if spec.log else "")
        elif isinstance(spec, CategoricalParam):
            dist = "one of " + ", ".join(map(str, spec.choices))
        else:
            assert isinstance(spec, DerivedParam)
            dist = f"= {spec.from_} x {spec.times:g}"
        cond = " and ".join(f"{k} in {v}" for k, v in spec.condition().items()) or "always"
        rows.append((name, dist, cond))
    for name, value in space.fixed.items():
        rows.append((name, f"fixed {value}", "always"))
    return rows
