"""Schedulers looked up by name: what stops a running trial early, on its per-epoch objectives.

A scheduler here is a rule, not a Ray object: it hears each trial's per-epoch report and answers
continue or stop (with the reason). The study layer wraps it for Ray Tune, so the rule is tested
without Ray and a search preset is validated without importing it.

``mo_asha`` is asynchronous successive halving on the vector of objectives (MO-ASHA, Schmucker et
al. 2021): at the rungs ``grace_period × reduction_factor^k`` epochs a trial is placed among every
trial that reached the same rung before it (the study's finished trials included: ``observe``, fed by
the study layer), by non-dominated rank and then crowding distance, and
goes on only while it is among the best ``ceil(n / reduction_factor)`` of them. A trial at its last
epoch (the report's ``epochs``) is placed for the trials after it but never stopped: nothing is left
to save, and stopping it would only take a trained model off the front. Neither Optuna's pruners
(single-objective) nor Ray Tune's schedulers (one metric) do this.

A study's constraints on what training does not change (latency, size: measured once, on the deployed
model, before the first epoch where a constraint needs it, reported as epoch 0) are the rule's
``constraints``: a trial that breaks one is stopped at the report that shows it, grace period or not
(no epoch can mend it), and counted at the rung it is at or would have reached next, placed last
(as NSGA-II's constrained domination places the infeasible), so the others are still halved against
every trial that started, not against those meeting the constraints alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Protocol

from pydantic import Field, model_validator

from hpsearch.config import Strict


class Constraint(Protocol):
    """A constraint as a rule reads it (``hpsearch.objectives.Constraint`` is one; search sits beside
    objectives, not above it)."""

    metric: str

    def holds(self, value: Any) -> bool: ...


class Rule:
    """What a scheduler decides: per report, go on (None) or the reason to stop."""

    #: The report key that counts training progress.
    time_attr = "epoch"
    #: The study's constraints on measurements training does not change, which the rule stops trials on
    constraints: Sequence[Constraint] = ()
    #: Whether each per-epoch report must carry every objective (the trainer predicts the validation
    #: split after every epoch for it)
    needs_epoch_objectives = True

    def decide(self, trial_id: str, result: Mapping[str, Any]) -> str | None:
        raise NotImplementedError

    def broken(self, result: Mapping[str, Any]) -> list[Constraint]:
        """The constraints `result` shows broken (a constraint on a value it does not carry: not yet)."""
        return [c for c in self.constraints if isinstance(result.get(c.metric), (int, float))
                and not c.holds(result[c.metric])]

    def over_budget(self, result: Mapping[str, Any], by: str) -> str | None:
        """Why a trial is stopped `by` this rule where `result` breaks a constraint (None where it breaks
        none, or at the trial's last epoch: nothing is left to save)."""
        broken, epoch = self.broken(result), result.get(self.time_attr)
        if not broken or epoch is None or epoch >= result.get("epochs", math.inf):
            return None
        found = ", ".join(f"{c.metric} {result[c.metric]:.4g}" for c in broken)
        when = "before training" if epoch == 0 else f"after epoch {float(epoch):g}"
        return (f"stopped early{by} {when}: breaks {', '.join(map(str, broken))} "
                f"({found}, measured on the deployed model: training does not change it)")

    def decides_at(self, progress: float) -> bool:
        """Whether a report at `progress` (``time_attr``) can stop a trial."""
        return True

    def observe(self, trial_id: str, result: Mapping[str, Any]) -> None:
        """Take in a report of a trial that is not running here (a finished trial of the study, from
        an earlier run or another driver), so that the trials here are compared with it too."""


class MOASHAOptions(Strict):
    grace_period: int = Field(default=1, ge=1, description="epochs every trial runs before it can be stopped")
    reduction_factor: int = Field(default=3, ge=2, description="at each rung, 1 in this many trials goes on")
    metrics: list[str] | None = Field(default=None, min_length=1, description="the objectives to compare "
                                      "on (default: every objective of the study)")

    @model_validator(mode="after")
    def _distinct(self) -> "MOASHAOptions":
        if self.metrics is not None and len(set(self.metrics)) != len(self.metrics):
            raise ValueError(f"metrics must name each objective once, got {self.metrics}")
        return self


class MOSuccessiveHalving(Rule):
    """Asynchronous successive halving by non-dominated rank and crowding distance."""

    def __init__(self, names: Sequence[str], directions: Sequence[str], grace_period: int = 1,
                 reduction_factor: int = 3, metrics: Sequence[str] | None = None,
                 constraints: Sequence[Constraint] = ()) -> None:
        """`constraints`: the study's constraints on measurements training does not change."""
        options = MOASHAOptions(grace_period=grace_period, reduction_factor=reduction_factor,
                                metrics=None if metrics is None else list(metrics))
        sign = dict(zip(names, (-1.0 if d == "maximize" else 1.0 for d in directions)))
        unknown = [m for m in options.metrics or () if m not in sign]
        if unknown:
            raise ValueError(f"metrics must be objectives of the study ({', '.join(names)}), got {unknown}")
        self.metrics = list(options.metrics or names)
        self.sign = [sign[m] for m in self.metrics]  # every value turned into one to minimise
        self.grace_period = options.grace_period
        self.reduction_factor = options.reduction_factor
        self.constraints = list(constraints)
        #: rung (epochs) -> the trials that reached it, in the order they did: id, vector, learning and
        #: meeting the constraints
        self.rungs: dict[int, list[tuple[str, list[float], bool]]] = {}

    def is_rung(self, epoch: int) -> bool:
        if epoch < self.grace_period or epoch % self.grace_period:
            return False
        k = epoch // self.grace_period
        while k % self.reduction_factor == 0:
            k //= self.reduction_factor
        return k == 1

    def decides_at(self, progress: float) -> bool:
        return float(progress).is_integer() and self.is_rung(int(progress))

    def observe(self, trial_id: str, result: Mapping[str, Any]) -> None:
        epoch = result.get(self.time_attr)
        if epoch is not None and self.broken(result):
            self._count_broken(trial_id, epoch, result)
        elif epoch is not None and self.decides_at(epoch) and all(
                isinstance(result.get(m), (int, float)) for m in self.metrics):
            self._enter(trial_id, int(epoch), result)

    def _count_broken(self, trial_id: str, epoch: float, result: Mapping[str, Any]) -> None:
        """Count a trial that breaks a constraint at the rung it is at, or else the next one it would
        have reached (it is stopped before training, or between rungs): last, after every trial there
        (one whose predictions collapsed may still learn; no epoch mends this one)."""
        rung = self.grace_period
        while rung < epoch:
            rung *= self.reduction_factor
        if rung < result.get("epochs", math.inf) and all(t != trial_id for t, _, _ in self.rungs.get(rung, ())):
            self.rungs.setdefault(rung, []).append((trial_id, [math.inf] * len(self.metrics), False))

    def _enter(self, trial_id: str, epoch: int, result: Mapping[str, Any]) -> bool:
        """Place the report in its rung; False where the trial is there already."""
        rung = self.rungs.setdefault(epoch, [])
        if any(t == trial_id for t, _, _ in rung):
            return False
        # a trial whose predictions collapsed looks fair and fast: it ranks after every one that did not
        learning = not result.get("collapsed") and not self.broken(result)
        rung.append((trial_id, [s * float(result[m]) for s, m in zip(self.sign, self.metrics)], learning))
        return True

    def decide(self, trial_id: str, result: Mapping[str, Any]) -> str | None:
        epoch = result.get(self.time_attr)
        if epoch is None:
            return None
        over = self.over_budget(result, " by mo_asha")
        if over is not None:
            self._count_broken(trial_id, epoch, result)
            return over
        if not self.decides_at(epoch):
            return None
        epoch = int(epoch)
        missing = [m for m in self.metrics if not isinstance(result.get(m), (int, float))]
        if missing:
            raise ValueError(f"the report after epoch {epoch} carries no {', '.join(missing)}")
        if not self._enter(trial_id, epoch, result):
            return None
        rung = self.rungs[epoch]
        order = rank([v for _, v, _ in rung], [ok for _, _, ok in rung])
        keep = max(1, math.ceil(len(rung) / self.reduction_factor))
        place = order.index(len(rung) - 1)
        if place < keep or epoch >= result.get("epochs", math.inf):
            return None
        return (f"stopped early by mo_asha after epoch {epoch}: placed {place + 1} of the {len(rung)} trials "
                f"that reached epoch {epoch} on {', '.join(self.metrics)} (non-dominated rank, then crowding); "
                f"the best {keep} go on")


def rank(points: Sequence[Sequence[float]], feasible: Sequence[bool] | None = None) -> list[int]:
    """Indices of `points` (to minimise), best first: the feasible before the others (NSGA-II's
    constrained domination), then by non-dominated front, then by crowding distance within a front
    (the most isolated first), then by index (the earlier first)."""
    feasible = [True] * len(points) if feasible is None else list(feasible)
    order: list[int] = []
    for group in ([i for i, ok in enumerate(feasible) if ok], [i for i, ok in enumerate(feasible) if not ok]):
        for front in non_dominated_fronts([points[i] for i in group]):
            members = [group[i] for i in front]
            distance = crowding_distance([points[i] for i in members])
            order += [i for _, i in sorted(zip(distance, members), key=lambda p: (-p[0], p[1]))]
    return order


def non_dominated_fronts(points: Sequence[Sequence[float]]) -> list[list[int]]:
    """Indices of `points` by non-dominated front (minimisation), the first front first."""
    left = list(range(len(points)))
    fronts = []
    while left:
        front = [i for i in left if not any(_dominates(points[j], points[i]) for j in left if j != i)]
        fronts.append(front)
        left = [i for i in left if i not in front]
    return fronts


def crowding_distance(points: Sequence[Sequence[float]]) -> list[float]:
    """NSGA-II's crowding distance of each point within one front (the extremes: infinite); equal
    points share one distance, so that arrival decides between them."""
    unique = list(dict.fromkeys(tuple(p) for p in points))
    distance = dict(zip(unique, _crowding(unique)))
    return [distance[tuple(p)] for p in points]


def _crowding(points: Sequence[Sequence[float]]) -> list[float]:
    n = len(points)
    distance = [0.0] * n
    if n <= 2:
        return [math.inf] * n
    for k in range(len(points[0])):
        order = sorted(range(n), key=lambda i: points[i][k])
        low, high = points[order[0]][k], points[order[-1]][k]
        distance[order[0]] = distance[order[-1]] = math.inf
        if high == low:
            continue
        for before, i, after in zip(order, order[1:], order[2:]):
            distance[i] += (points[after][k] - points[before][k]) / (high - low)
    return distance


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


class BudgetRule(Rule):
    """No early stopping but of a trial that breaks a constraint on what training does not change,
    before it trains: what a scheduler without a rule (``fifo``) runs where the study has one. It needs
    no per-epoch objectives (the trainer reports the deployed model's measurement as epoch 0)."""

    needs_epoch_objectives = False

    def __init__(self, constraints: Sequence[Constraint]) -> None:
        self.constraints = list(constraints)

    def decide(self, trial_id: str, result: Mapping[str, Any]) -> str | None:
        return self.over_budget(result, "")

    def decides_at(self, progress: float) -> bool:
        return False  # nothing of the study's other trials changes what it decides


RuleFactory = Callable[..., Rule]
SCHEDULERS: dict[str, tuple[RuleFactory | None, type[Strict] | None]] = {}


def register_scheduler(name: str, factory: RuleFactory | None, options: type[Strict] | None = None) -> None:
    """Add a scheduler: `factory(names, directions, constraints=[...], **options)` builds its rule (None:
    no early stopping, but of a trial breaking one of the `constraints` before it trains: ``BudgetRule``);
    `constraints`: the study's constraints on measurements training does not change."""
    if name in SCHEDULERS:
        raise ValueError(f"scheduler {name!r} is already registered")
    SCHEDULERS[name] = (factory, options)


register_scheduler("fifo", None)  # every trial runs to its end, but one that breaks a budget before it trains
register_scheduler("mo_asha", MOSuccessiveHalving, MOASHAOptions)


def make_scheduler(name: str, names: Sequence[str], directions: Sequence[str], options: Mapping[str, Any],
                   constraints: Sequence[Constraint] = ()) -> Rule | None:
    """The rule registered as `name` for a study with these objectives; None when it stops nothing.
    `constraints`: the study's constraints on measurements training does not change (the driver's
    choice: ``ObjectivesConfig.deployed_constraints``)."""
    factory, schema = SCHEDULERS[name]
    if factory is None:
        if options:
            raise ValueError(f"the {name} scheduler takes no options, got {dict(options)}")
        return BudgetRule(constraints) if constraints else None
    return factory(names, directions, constraints=list(constraints), **dict(options))
