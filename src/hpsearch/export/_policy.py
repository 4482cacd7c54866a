"""`hpsearch export --policy`: a one-line rule that picks one trial from a study's feasible trials.

A policy is parsed, never evaluated as code::

    POLICY := ("max" | "min") METRIC [ "where" COND { "and" COND } ]
              [ "tie" ("max" | "min") METRIC { "," ("max" | "min") METRIC } ]
    COND   := METRIC OP NUMBER            OP: <=, <, >=, >, ==
    METRIC := [A-Za-z_][A-Za-z0-9_/=.-]*  e.g. macro_f1, latency_p95_ms, group/lang=de/macro_f1
    NUMBER := a decimal with optional leading minus and exponent: 20, 0.05, -1, 1e-3

Keywords are lower-case. Whitespace is free between tokens and not needed around operators and
commas, but a keyword and a metric name must be apart (``max macro_f1``, not ``maxmacro_f1``).
A single ``=`` belongs to a metric name (``lang=de``); equality is ``==``.

    max macro_f1 where latency_p95_ms <= 20 and f1_gap <= 0.05
    min latency_p50_ms where macro_f1 >= 0.8 tie max macro_f1

Of the trials that have every metric the policy names and meet every condition, the one with the
best METRIC wins. Ties go to the ``tie`` keys in order; without a ``tie`` clause, to the study's
other objectives in their own directions, in the study's order. The lowest trial number settles
whatever is still tied. A policy picks on validation metrics only: the test split (``test/...``)
stays unseen until the model is chosen, or its score is no estimate any more.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from dataclasses import dataclass
from typing import Collection, Literal, Mapping, Sequence

from hpsearch.errors import Problem, UserError

Direction = Literal["max", "min"]
Op = Literal["<=", "<", ">=", ">", "=="]
OPS: tuple[Op, ...] = ("<=", "<", ">=", ">", "==")
KEYWORDS = ("max", "min", "where", "and", "tie")
#: The prefixes of metrics measured on the test split; the trial records them as ``test/<metric>``.
TEST_PREFIXES = ("test/", "test_")

_FORM = ("a policy reads 'max|min <metric> [where <metric> <op> <number> {and ...}] "
         "[tie max|min <metric> {, ...}]', e.g. 'max macro_f1 where latency_p95_ms <= 20'")
# A single '=' is part of a name (group/lang=de/macro_f1); '==' never is.
_WORD = re.compile(r"[A-Za-z_](?:[A-Za-z0-9_/.\-]|=(?!=))*")
_OP_CHARS = re.compile(r"[<>=!]+")
_NUMBER_TOKEN = re.compile(r"[^\s<>=!,]+")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMMA = re.compile(",")
_MISTYPED_OPS = {"=": "==", "=<": "<=", "=>": ">="}
_DIRECTIONS = {"maximize": "max", "minimize": "min"}
_COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


def number(value: float) -> str:
    """20 for 20.0, 0.05, 1e-07: short, but never at the cost of a digit."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


@dataclass(frozen=True)
class Condition:
    """``metric op value``, e.g. ``Condition("latency_p95_ms", "<=", 20.0)``."""

    metric: str
    op: Op
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {number(self.value)}"

    def holds(self, measured: float | None) -> bool:
        return measured is not None and _COMPARE[self.op](measured, self.value)

    def violation(self, measured: float) -> float:
        """How far `measured` is from meeting the condition, over ``max(|value|, 1e-9)``; 0 if it does
        (and for a strict comparison missed by equality)."""
        if self.op == "==":
            amount = abs(measured - self.value)
        elif self.op in ("<=", "<"):
            amount = max(measured - self.value, 0.0)
        else:
            amount = max(self.value - measured, 0.0)
        return amount / max(abs(self.value), 1e-9)


@dataclass(frozen=True)
class Policy:
    """Pick the trial with the `direction`-most `metric` among those meeting every condition;
    ties go to `tie` (``(direction, metric)`` pairs) or, where it is empty, to the study's other
    objectives in their directions; the lowest trial number settles the rest.

    ``str(policy)`` is the policy as :func:`parse_policy` reads it; :meth:`describe` adds the
    tie-break it applies.
    """

    direction: Direction
    metric: str
    conditions: tuple[Condition, ...] = ()
    tie: tuple[tuple[Direction, str], ...] = ()

    def __str__(self) -> str:
        text = f"{self.direction} {self.metric}"
        if self.conditions:
            text += " where " + " and ".join(str(c) for c in self.conditions)
        if self.tie:
            text += " tie " + ", ".join(f"{d} {m}" for d, m in self.tie)
        return text

    def metrics(self) -> list[str]:
        """Every metric the policy names, once each, in the order written."""
        names = [self.metric, *(c.metric for c in self.conditions), *(m for _, m in self.tie)]
        return list(dict.fromkeys(names))

    def tie_break(self, objective_directions: Mapping[str, str]) -> tuple[tuple[Direction, str], ...]:
        """The keys that settle a tie on the metric, before the trial number: `tie` if given, else
        every objective but the metric, in order, in its direction (``maximize``/``minimize``)."""
        if self.tie:
            return self.tie
        return tuple((_direction(d), name) for name, d in objective_directions.items() if name != self.metric)

    def describe(self, objective_directions: Mapping[str, str] | None = None) -> str:
        """The policy with the tie-break it applies, for people: ``...; ties go to min f1_gap, then
        the lowest trial number``."""
        if self.tie or objective_directions is not None:
            keys = [f"{d} {m}" for d, m in self.tie_break(objective_directions or {})]
        else:
            keys = ["the study's other objectives in their directions"]
        return f"{self}; ties go to " + ", then ".join([*keys, "the lowest trial number"])


def _direction(study_direction: str) -> Direction:
    try:
        return _DIRECTIONS[study_direction]  # type: ignore[return-value]
    except KeyError:
        raise ValueError(f"an objective's direction must be 'maximize' or 'minimize', "
                         f"got {study_direction!r}") from None


class _Parser:
    """Reads one policy left to right; each mistake is one line naming the token and its position."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source, self.pos = text, source, 0
        self.last: str | None = None  # the last token read, as written

    def error(self, message: str) -> UserError:
        return UserError(Problem(self.source, "", message))

    def fail(self, expected: str, hint: str = "") -> UserError:
        self.skip()
        token = self.token()
        got = "the end of the policy" if token is None else (
            f"keyword {token!r}" if token in KEYWORDS else repr(token))
        after = f" after {self.last!r}" if self.last is not None else ""
        return self.error(f"expected {expected}{after} at position {self.pos + 1}, got {got}{hint}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def token(self) -> str | None:
        """The token at the position, for an error message (None at the end)."""
        if self.pos >= len(self.text):
            return None
        for pattern in (_WORD, _OP_CHARS, _NUMBER_TOKEN):
            found = pattern.match(self.text, self.pos)
            if found:
                return found.group()
        return self.text[self.pos]  # ','

    def take(self, found: re.Match[str]) -> str:
        self.pos, self.last = found.end(), found.group()
        return found.group()

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def word(self) -> re.Match[str] | None:
        self.skip()
        return _WORD.match(self.text, self.pos)

    def keyword(self, keyword: str) -> bool:
        """Read `keyword` if it is the next token."""
        found = self.word()
        if found and found.group() == keyword:
            self.take(found)
            return True
        return False

    def comma(self) -> bool:
        self.skip()
        found = _COMMA.match(self.text, self.pos)
        if found:
            self.take(found)
        return found is not None

    def direction(self) -> Direction:
        found = self.word()
        if found and found.group() in ("max", "min"):
            return self.take(found)  # type: ignore[return-value]
        raise self.fail("'max' or 'min'", _did_you_mean(found.group() if found else None, ["max", "min"]))

    def metric(self) -> str:
        found = self.word()
        if found is None or found.group() in KEYWORDS:
            raise self.fail("a metric name")
        return self.take(found)

    def op(self) -> Op:
        self.skip()
        found = _OP_CHARS.match(self.text, self.pos)
        if found and found.group() in OPS:
            return self.take(found)  # type: ignore[return-value]
        hint = ""
        name, equals, number = (self.last or "").rpartition("=")
        if found and found.group() in _MISTYPED_OPS:
            hint = f" (did you mean {_MISTYPED_OPS[found.group()]!r}?)"
        elif equals and _NUMBER.fullmatch(number):  # 'x=3' reads as one name
            hint = f" (to compare, write '{name} == {number}')"
        raise self.fail("an operator (<=, <, >=, >, ==)", hint)

    def number(self) -> float:
        self.skip()
        found = _NUMBER_TOKEN.match(self.text, self.pos)
        if found is None or not _NUMBER.fullmatch(found.group()):
            raise self.fail("a number")
        if not math.isfinite(float(found.group())):  # 1e999
            raise self.fail("a finite number")
        return float(self.take(found))

    def condition(self) -> Condition:
        metric = self.metric()
        op = self.op()
        return Condition(metric, op, self.number())

    def policy(self) -> Policy:
        if self.at_end():
            raise self.error(f"is empty; {_FORM}")
        direction = self.direction()
        metric = self.metric()
        expected = ["where", "tie"]
        conditions: list[Condition] = []
        if self.keyword("where"):
            conditions.append(self.condition())
            while self.keyword("and"):
                conditions.append(self.condition())
            expected = ["and", "tie"]
        tie: list[tuple[Direction, str]] = []
        if self.keyword("tie"):
            while True:
                key = self.direction()
                self.skip()
                at = self.pos
                name = self.metric()
                if name == metric or name in (m for _, m in tie):
                    raise self.error(f"{name!r} at position {at + 1} is ranked already; "
                                     "a policy ranks each metric once")
                tie.append((key, name))
                if not self.comma():
                    break
            expected = [","]
        if not self.at_end():
            found = self.word()
            hint = _did_you_mean(found.group() if found else None, [e for e in expected if e != ","])
            raise self.fail(", ".join(repr(e) for e in expected) + " or the end of the policy", hint)
        return Policy(direction, metric, tuple(conditions), tuple(tie))


def _did_you_mean(word: str | None, options: Sequence[str]) -> str:
    if not word:
        return ""
    close = [o for o in options if o == word.lower()] or difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_policy(text: str, source: str = "--policy") -> Policy:
    """Read a policy (grammar in the module docstring); a mistake raises :class:`UserError`, one
    line naming the token, its position (from 1) and what was expected there."""
    return _Parser(text, source).policy()


def check_metrics(policy: Policy, known: Collection[str], source: str = "--policy") -> None:
    """Raise :class:`UserError` for each metric of `policy` that names the test split or is not in
    `known` (the metrics the trials recorded), with the closest known names."""
    valid = sorted(name for name in known if not name.startswith(TEST_PREFIXES))
    problems = []
    for metric in policy.metrics():
        if metric.startswith(TEST_PREFIXES):
            base = metric.removeprefix("test/").removeprefix("test_")
            hint = f"; use {base!r}, its validation score" if base in valid else ""
            message = (f"policies pick on validation metrics only; {metric} is measured on the test split, "
                       f"which stays unseen until a model is chosen{hint}")
            problems.append(Problem(source, "", message))
        elif metric not in known:
            close = difflib.get_close_matches(metric, valid, n=3)
            if close:
                hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
            else:
                shown = ", ".join(valid[:12]) + (", ..." if len(valid) > 12 else "")
                hint = f"the trials recorded {shown}" if valid else "the trials recorded no metrics"
            problems.append(Problem(source, "", f"unknown metric {metric!r}; {hint}"))
    if problems:
        raise UserError(problems)
