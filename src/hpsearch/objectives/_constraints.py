"""Constraints on measured quantities: ``latency_p95_ms <= 25``, ``f1_gap_ci_high < 0.1``.

An objectives file lists them as strings; each is parsed here, never evaluated as code: a metric
name, one of ``<=``, ``<``, ``>=``, ``>``, and a finite number. A trial is feasible when every
constraint holds on the metrics it recorded as user attributes.

Optuna's convention is followed throughout: a constraint value ``<= 0`` means satisfied, and the
larger a positive value, the worse the violation. A metric a trial did not record counts as
violated by :data:`MISSING_VIOLATION` (finite: Optuna rejects NaN, and JSON storages dislike
infinities).

What each layer does with them:

* the driver records each finished trial's violations with Optuna 5's ``Trial.set_constraint``
  (``hpsearch.study.set_trial_constraints``): TPE, NSGA-II and GP read them to steer away from
  infeasible regions, and Optuna keeps infeasible trials off ``study.best_trials``;
* the driver also records the constraints on the study (``hpsearch.study.record_constraints``), so
  that reports read from the database alone can apply them to any trial;
* reports call ``hpsearch.study.feasible_front`` / ``honest_front`` and :func:`violations`.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection, Literal, Mapping, Sequence

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

Op = Literal["<=", "<", ">=", ">"]
OPS: tuple[Op, ...] = ("<=", "<", ">=", ">")

#: The violation of a constraint whose metric was not measured (or is NaN).
MISSING_VIOLATION = 1e12
#: The violation of a strict constraint (``<``, ``>``) met with equality: positive, so infeasible.
STRICT_EQUALITY_VIOLATION = 1e-12

_FORM = "a constraint reads '<metric> <op> <number>' with op <=, <, >= or >, e.g. 'latency_p95_ms <= 25'"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*(?:/[^\s<>=!]+)?")
_OP = re.compile(r"[<>=!]+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MISTYPED_OPS = {"=<": "<=", "=>": ">="}


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. ``Constraint("latency_p95_ms", "<=", 25.0)``."""

    metric: str
    op: Op
    bound: float

    def __str__(self) -> str:
        short = f"{self.bound:g}"  # 25 for 25.0, but never at the cost of a digit
        return f"{self.metric} {self.op} {short if float(short) == self.bound else repr(self.bound)}"

    def violation(self, value: Any) -> float:
        """How far `value` is from satisfying the constraint: ``<= 0`` when it holds.

        ``metric <= b`` gives ``value - b``; ``metric >= b`` gives ``b - value``. A strict
        comparison met with equality gives :data:`STRICT_EQUALITY_VIOLATION`; a missing or
        non-numeric value gives :data:`MISSING_VIOLATION`.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return MISSING_VIOLATION
        amount = float(value) - self.bound if self.op in ("<=", "<") else self.bound - float(value)
        if self.op in ("<", ">") and amount == 0:
            return STRICT_EQUALITY_VIOLATION
        return max(-MISSING_VIOLATION, min(amount, MISSING_VIOLATION))  # finite, even for +-inf

    def holds(self, value: Any) -> bool:
        return self.violation(value) <= 0


def parse_constraint(text: Any, known: Collection[str] | None = None,
                     grouped: Collection[str] = ()) -> Constraint:
    """Parse ``'<metric> <op> <number>'``; raise ValueError saying what is wrong and what was given.

    `known` is the metric names a constraint may name (None: any name). A name in `grouped` (a
    fairness metric) may also carry a group column, ``f1_gap/region``, for that column's value.
    """
    if not isinstance(text, str):
        raise ValueError(f"must be a string ({_FORM}), got {text!r}")
    given = text.strip()
    if not given:
        raise ValueError(f"is empty; {_FORM}")
    first_op = _OP.search(given) if _NUMBER.match(given) else None
    if first_op is not None:  # "0.05 >= f1_gap"
        head, op, tail = given[:first_op.start()].strip(), first_op.group(), given[first_op.end():].strip()
        flipped = {"<=": ">=", "<": ">", ">=": "<=", ">": "<"}.get(op)
        hint = f"; write {tail} {flipped} {head}" if flipped and _NAME.fullmatch(tail) else ""
        raise ValueError(f"must start with the metric name ({_FORM}), got {given!r}{hint}")
    name_match = _NAME.match(given)
    if name_match is None:
        raise ValueError(f"must start with a metric name ({_FORM}), got {given!r}")
    metric = name_match.group()
    rest = given[name_match.end():].lstrip()
    op_match = _OP.match(rest)
    if op_match is None:
        what = f"nothing after {metric!r}" if not rest else f"{rest!r} after {metric!r}"
        raise ValueError(f"needs a comparison <=, <, >= or > after the metric, got {what} ({_FORM})")
    op = op_match.group()
    if op not in OPS:
        better = _MISTYPED_OPS.get(op)
        if better:
            raise ValueError(f"{op!r} is not a comparison; did you mean {better!r}? got {given!r}")
        raise ValueError(f"must compare with <=, <, >= or >, got {op!r} in {given!r}; "
                         "equality cannot be a constraint on a measured value")
    rest = rest[op_match.end():].lstrip()
    number = _NUMBER.match(rest)
    if not rest:
        raise ValueError(f"needs a number after {op!r}, got nothing ({_FORM})")
    if rest.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        raise ValueError(f"must compare with a finite number, got {rest!r}")
    if number is None:
        raise ValueError(f"must compare with a number, got {rest!r}; a constraint compares a metric with "
                         "a constant, not with another metric")
    tail = rest[number.end():].strip()
    if tail.startswith("%"):
        raise ValueError(f"must compare with a plain number, got {rest!r}; write a fraction, "
                         f"e.g. {float(number.group()) / 100:g} for {number.group()}%")
    if tail:
        raise ValueError(f"must be one comparison, got {tail!r} after {number.group()!r}; "
                         "list each constraint as its own item")
    bound = float(number.group())
    if not math.isfinite(bound):  # 1e999
        raise ValueError(f"must compare with a finite number, got {number.group()!r}")
    _check_name(metric, known, grouped)
    return Constraint(metric, op, bound)  # type: ignore[arg-type]


def _check_name(metric: str, known: Collection[str] | None, grouped: Collection[str]) -> None:
    if known is None:
        return
    base, slash, column = metric.partition("/")
    if not slash and metric in known:
        return
    if slash and base in grouped:
        return
    if slash and base in known:
        raise ValueError(f"only fairness metrics ({', '.join(sorted(grouped))}) take a /<group column>, "
                         f"got {metric!r}")
    close = difflib.get_close_matches(base, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    from hpsearch.objectives import known_names

    raise ValueError(f"must name a metric hpsearch measures, got {base!r}{hint}; "
                     f"the metrics are {known_names(list(known))}")


def constraint_range_problem(constraint: Constraint, bounds: tuple[float, float] | None) -> str | None:
    """Why `constraint` cannot matter, given the values its metric takes; None if it can.

    It can never hold (``f1_gap < 0``), or its bound lies beyond every value the metric takes
    (``f1_gap <= 5``: a percentage written for a fraction, most often).
    """
    if bounds is None:
        return None
    low, high = bounds
    b, op = constraint.bound, constraint.op
    where = f"[{low:g}, {high:g}]" if math.isfinite(high) else f">= {low:g}"
    never = {"<=": b < low, "<": b <= low, ">=": b > high, ">": b >= high}[op]
    if never:
        return f"can never hold: {constraint.metric} takes values {where}, got {str(constraint)!r}"
    beyond = b > high if op in ("<=", "<") else b < low
    if beyond:
        hint = f"; for {b:g}% write {b / 100:g}" if high == 1 and 1 < b <= 100 else ""
        return f"always holds: {constraint.metric} takes values {where}, got {str(constraint)!r}{hint}"
    return None


#: The constraint every trial carries besides a study's own: it beat the trivial predictors by the
#: objectives file's ``min_gain_over_trivial``. A trial that did not learn is infeasible, so that
#: constraint-aware samplers (TPE, NSGA-II) move away from where it was.
LEARNED_CONSTRAINT = "learned"


def learned_violation(metrics: Mapping[str, Any], min_gain: float) -> float:
    """How far `metrics` are from counting as learned (``<= 0``: learned); unmeasured counts as 1."""
    gain = metrics.get("gain_over_trivial")
    if not isinstance(gain, (int, float)) or gain != gain:
        return 1.0
    return float(min_gain - gain)


def evaluate_constraints(constraints: Sequence[Constraint], metrics: Mapping[str, Any]) -> dict[str, float]:
    """Each constraint as written, with its violation on `metrics` (``<= 0``: satisfied)."""
    return {str(c): c.violation(metrics.get(c.metric)) for c in constraints}


def violations(trial: "FrozenTrial", constraints: Sequence[Constraint]) -> dict[str, float]:
    """Each constraint as written, with how far `trial` is from meeting it (``<= 0``: met)."""
    return evaluate_constraints(constraints, trial.user_attrs)


def is_feasible(trial: "FrozenTrial", constraints: Sequence[Constraint]) -> bool:
    return all(v <= 0 for v in violations(trial, constraints).values())
