"""Picking one trial by a policy (``_policy``): of the trials with every metric it names that meet
every condition, the best by its metric, ties broken as the policy says; when none qualifies, how
many each condition excluded and the closest trial, for a one-line answer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from hpsearch.export._policy import Condition, Policy, number

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


def _missed(condition: Condition, measured: float) -> str:
    """`measured` to 4 significant digits, or as many more as it takes not to look as if it met
    `condition` (20.0001 for ``<= 20``, not 20)."""
    for digits in range(4, 18):
        shown = f"{measured:.{digits}g}"
        if not condition.holds(float(shown)):
            return shown
    return repr(measured)



@dataclass
class Pick:
    """What :func:`pick` found: the `trial` picked (None if none qualifies) and why the others
    were left out. `excluded` holds each condition with how many of the `total` trials it excludes
    on its own (a trial lacking its metric counts); `missing` how many trials lack each metric the
    policy filters on. Where nothing qualifies, `closest` is the trial nearest to meeting every
    condition and `closest_misses` what it misses, as ``latency_p95_ms 23.1 (needs <= 20)``."""

    trial: FrozenTrial | None
    excluded: list[tuple[Condition, int]]
    closest: FrozenTrial | None = None
    closest_misses: list[str] = field(default_factory=list)
    total: int = 0
    qualified: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    #: Every qualifying trial, best first (``confirm`` re-runs the top of it).
    ranked: list[FrozenTrial] = field(default_factory=list)


def metric_value(trial: FrozenTrial, metric: str, objective_names: Sequence[str] = ()) -> float | None:
    """`metric` of `trial`: its user attribute, else its objective value (`objective_names` gives
    the order of ``trial.values``); None if it has neither, or it is not a finite number."""
    value: Any = trial.user_attrs.get(metric)
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)) \
            and metric in objective_names and trial.values is not None:
        index = list(objective_names).index(metric)
        value = trial.values[index] if index < len(trial.values) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def pick(policy: Policy, trials: Sequence[FrozenTrial], objective_directions: Mapping[str, str],
         objective_names: Sequence[str] | None = None) -> Pick:
    """The trial `policy` picks from `trials` (the complete feasible trials: the caller chooses).

    `objective_directions` maps each objective to ``maximize``/``minimize`` in the study's order;
    it gives the default tie-break. `objective_names` is the order of ``trial.values``, for a metric
    a trial did not record as a user attribute (default: the directions' order).
    """
    names = list(objective_directions) if objective_names is None else list(objective_names)
    ties = policy.tie_break(objective_directions)
    filtered = list(dict.fromkeys([policy.metric, *(c.metric for c in policy.conditions)]))

    def value(trial: FrozenTrial, metric: str) -> float | None:
        return metric_value(trial, metric, names)

    def rank(trial: FrozenTrial) -> tuple[Any, ...]:
        keys: list[tuple[int, float]] = []
        for direction, metric in ((policy.direction, policy.metric), *ties):
            v = value(trial, metric)
            keys.append((1, 0.0) if v is None else (0, -v if direction == "max" else v))  # missing: last
        return (*keys, trial.number)

    lacking = {m: sum(value(t, m) is None for t in trials) for m in filtered}
    missing = {m: n for m, n in lacking.items() if n}
    excluded = [(c, sum(not c.holds(value(t, c.metric)) for t in trials)) for c in policy.conditions]
    qualifying = [t for t in trials if value(t, policy.metric) is not None
                  and all(c.holds(value(t, c.metric)) for c in policy.conditions)]
    ranked = sorted(qualifying, key=rank)
    result = Pick(ranked[0] if ranked else None, excluded, total=len(trials), qualified=len(qualifying),
                  missing=missing, ranked=ranked)
    if result.trial is None and policy.conditions:
        measured = [t for t in trials if all(value(t, m) is not None for m in filtered)]
        if measured:
            def distance(trial: FrozenTrial) -> float:
                measured_values = [value(trial, c.metric) for c in policy.conditions]
                return sum(c.violation(v) for c, v in zip(policy.conditions, measured_values) if v is not None)

            closest = min(measured, key=lambda t: (distance(t), rank(t)))
            result.closest = closest
            for c in policy.conditions:
                v = value(closest, c.metric)
                if v is not None and not c.holds(v):
                    result.closest_misses.append(f"{c.metric} {_missed(c, v)} (needs {c.op} {number(c.value)})")
    return result


def explain_no_pick(result: Pick, policy: Policy) -> list[str]:
    """Why `policy` picked nothing, a line each: what each condition excluded, then the closest
    trial and what it misses. Empty if it picked a trial."""
    if result.trial is not None:
        return []
    if result.total == 0:
        return ["there is no complete feasible trial to pick from"]
    of = f"of {result.total} trial{'s' if result.total != 1 else ''}"
    lines = []
    if result.missing.get(policy.metric):
        lines.append(f"{policy.metric} is missing on {result.missing[policy.metric]} {of}")
    for condition, count in result.excluded:
        line = f"{condition} excluded {count} {of}"
        lacking = result.missing.get(condition.metric)
        if lacking and condition.metric != policy.metric:
            line += f" ({lacking} of them lack{'s' if lacking == 1 else ''} {condition.metric})"
        lines.append(line)
    if result.closest is not None:
        lines.append(f"closest: trial {result.closest.number} with " + " and ".join(result.closest_misses))
    return lines
