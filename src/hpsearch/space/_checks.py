"""The rules of a space that its schema cannot express: every knob named exists and takes the
values given, a condition (``when``) or a derived value (``from``) names a knob declared before
it, and a derived value stays in its knob's range. Every problem is collected, none raised.
"""

from __future__ import annotations

from typing import Any

from hpsearch.config import show
from hpsearch.errors import Problem
from hpsearch.space._knobs import KNOBS
from hpsearch.space._schema import CategoricalParam, DerivedParam, FloatParam, IntParam, SpaceConfig


def check_params(space: SpaceConfig, source: str, problems: list[Problem]) -> None:
    """Cross-field rules a schema cannot express: knob names, conditions, derived values.

    A knob may be named by ``when`` or ``from`` only after it is declared: every ``fixed`` knob
    is declared first, then each ``params`` entry in the order written.
    """
    declared: list[str] = []
    for name, value in space.fixed.items():
        key = f"fixed.{name}"
        if name in space.params:
            problems.append(Problem(source, key, f"is also searched under params.{name}; a knob is either "
                                                 "fixed or searched, not both"))
        knob = KNOBS.get(name)
        declared.append(name)
        if knob is None:
            problems.append(Problem(source, key, _unknown_knob(name)))
            continue
        if isinstance(value, (bool, int, float, str)):  # anything else is a schema error, reported already
            why = _knob_problem(knob, value)
            if why:
                problems.append(Problem(source, key, why))
    for name, spec in space.params.items():
        key = f"params.{name}"
        knob = KNOBS.get(name)
        if knob is None:
            problems.append(Problem(source, key, _unknown_knob(name)))
        elif isinstance(spec, CategoricalParam):
            for i, choice in enumerate(spec.choices):
                why = _knob_problem(knob, choice)
                if why:
                    problems.append(Problem(source, f"{key}.choices[{i}]", why))
        elif isinstance(spec, (FloatParam, IntParam)):
            given = "float" if isinstance(spec, FloatParam) else "int"
            fits = (float,) if given == "float" else (int, float)
            if knob.kind not in fits:
                usable = "int, categorical or derived" if knob.kind is int else "categorical"
                why = f"{name} takes {_takes(knob)}, so type must be {usable} (or the knob fixed); got {given}"
                problems.append(Problem(source, f"{key}.type", why))
            else:
                for bound in ("low", "high"):
                    why = _knob_problem(knob, getattr(spec, bound))
                    if why:
                        problems.append(Problem(source, f"{key}.{bound}", why))
        elif isinstance(spec, DerivedParam):
            _check_derived(space, name, spec, knob, declared, source, problems)
        for other, values in spec.condition().items():
            where = f"{key}.when.{other}"
            if other not in declared:
                problems.append(Problem(source, where, _undeclared(space, other, name)))
                continue
            possible = _possible_values(space, other)
            other_spec = space.params.get(other)
            for value in values:
                if possible is not None and value not in possible:
                    problems.append(Problem(source, where, f"{other} can only be "
                                            f"{', '.join(map(show, possible))}; got {show(value)}"))
                elif isinstance(other_spec, FloatParam) and (
                        not isinstance(value, (int, float)) or isinstance(value, bool)
                        or not other_spec.low <= value <= other_spec.high):
                    problems.append(Problem(source, where, f"{other} takes values in [{other_spec.low:g}, "
                                            f"{other_spec.high:g}]; got {show(value)}"))
        declared.append(name)


def _check_derived(space: SpaceConfig, name: str, spec: DerivedParam, knob: Any, declared: list[str],
                   source: str, problems: list[Problem]) -> None:
    """``value = from * times``: both knobs numeric, `from` declared first, every value allowed."""
    key = f"params.{name}"
    if knob.kind not in (int, float):
        problems.append(Problem(source, f"{key}.type", f"only knobs that take numbers can be derived, "
                                                       f"but {name} takes {_takes(knob)}; got type derived"))
        return
    if spec.from_ not in declared:
        problems.append(Problem(source, f"{key}.from", _undeclared(space, spec.from_, name)))
        return
    source_knob = KNOBS.get(spec.from_)
    if source_knob is None:
        return  # reported as an unknown knob where it is declared
    if source_knob.kind not in (int, float):
        why = f"must name a knob that takes numbers, got {spec.from_!r}, which takes {_takes(source_knob)}"
        problems.append(Problem(source, f"{key}.from", why))
        return
    other = space.params.get(spec.from_)
    values = _possible_values(space, spec.from_)
    if values is None and isinstance(other, (FloatParam, IntParam)):
        values = [other.low, other.high]
    for value in values or []:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue  # a wrong value of `from` is reported where it is given
        product = value * spec.times
        derived = int(round(product)) if knob.kind is int else float(product)
        why = knob.problem(derived)
        if why:
            problems.append(Problem(source, f"{key}.times", f"{spec.from_} = {show(value)} times "
                                    f"{spec.times:g} gives {name} = {show(derived)}, but {name} {why}"))
            return


def _takes(knob: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        knob.kind, knob.kind.__name__)


def _undeclared(space: SpaceConfig, other: str, name: str) -> str:
    """Why `name` cannot refer to `other` (not declared before it), with a hint where one helps."""
    import difflib

    if other in space.params:
        hint = f"; {other} is declared after it in params, so move it up"
    elif other in KNOBS:
        hint = f"; {other} is neither fixed nor searched in this space"
    else:
        close = difflib.get_close_matches(other, [*space.fixed, *space.params], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"must name a knob declared before {name} (under fixed, or earlier in params), got {other!r}{hint}"


def _knob_problem(knob: Any, value: Any) -> str | None:
    """`Knob.problem`, plus a hint for a number YAML read as a string (``1e-4`` needs a dot)."""
    import re

    why = knob.problem(value)
    if why and knob.kind in (int, float) and isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return why
        match = re.fullmatch(r"\s*([+-]?\d+)([eE][+-]?\d+)\s*", value)
        if match:
            why += f"; YAML reads {value} as a string, write {match[1]}.0{match[2]}"
        else:
            why += "; it is quoted, so YAML reads it as a string: drop the quotes"
    return why


def _possible_values(space: SpaceConfig, name: str) -> list[Any] | None:
    """Every value knob `name` can take in this space, where that is a short list; else None."""
    if name in space.fixed:
        return [space.fixed[name]]
    spec = space.params.get(name)
    if isinstance(spec, CategoricalParam):
        return list(spec.choices)
    if isinstance(spec, IntParam) and (spec.high - spec.low) // spec.step < 10_000:
        return list(range(spec.low, spec.high + 1, spec.step))
    return None


def _unknown_knob(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, KNOBS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"must be a knob hpsearch knows, got {name!r}{hint}; the knobs are {', '.join(KNOBS)}"
