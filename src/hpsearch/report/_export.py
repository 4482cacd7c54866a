"""The honest front as data for scripts: one row per front trial and per baseline, as JSON or CSV.

A row holds what a script needs to pick a model: the trial number, each objective's value, the
bootstrap interval of each fairness objective (``null`` where the trial has none), latency and
throughput where measured, every parameter, and whether the trial learned. Non-finite numbers are
written as ``null`` (JSON) or an empty cell (CSV), so any JSON parser reads the output.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError
from hpsearch.objectives import FAIRNESS_METRICS
from hpsearch.study import objective_names

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

#: Measured on every trial and worth a column whether or not they are objectives.
SERVING = ("latency_p50_ms", "latency_p95_ms", "throughput_per_s")


def _fairness(name: str) -> tuple[str, str] | None:
    """The attrs holding the interval of objective `name` (``f1_gap/language`` ->
    ``f1_gap_ci_low/language``, ...), or None if it is no fairness measure."""
    base, slash, column = name.partition("/")
    if base not in FAIRNESS_METRICS:
        return None
    return f"{base}_ci_low{slash}{column}", f"{base}_ci_high{slash}{column}"


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def trial_row(study: "optuna.Study", trial: "FrozenTrial") -> dict[str, Any]:
    """One trial as a JSON-ready dict (see the module docstring)."""
    from hpsearch.study import BASELINE_ATTR, has_learned

    names = objective_names(study)
    attrs = trial.user_attrs
    row: dict[str, Any] = {"number": trial.number}
    if attrs.get(BASELINE_ATTR):
        row["baseline"] = attrs[BASELINE_ATTR]
    row["values"] = {n: _number(v) for n, v in zip(names, trial.values)}
    row["ci"] = {n: {"low": _number(attrs.get(ends[0])), "high": _number(attrs.get(ends[1]))}
                 for n in names if (ends := _fairness(n))}
    row.update({key: _number(attrs.get(key)) for key in SERVING})
    row["params"] = {k: _number(v) for k, v in sorted(trial.params.items())}
    row["learned"] = has_learned(trial)
    return row


def check_sort(study: "optuna.Study", objective: str | None) -> None:
    """UserError naming --sort unless `objective` is None or one of the study's objectives."""
    names = objective_names(study)
    if objective is not None and objective not in names:
        raise UserError(Problem("--sort", "", f"{objective!r} is not an objective of study "
                                f"{study.study_name!r}; its objectives: {', '.join(names)}"))


def front_export(study: "optuna.Study", sort: str | None = None) -> dict[str, Any]:
    """The honest front, its baselines, what it left off and the constraints, as one JSON-ready dict.

    The front is ordered by trial number, or by objective `sort` best first (ties by number).
    """
    from hpsearch.study import honest_front, study_constraints

    check_sort(study, sort)
    names = objective_names(study)
    front = honest_front(study)
    trials = list(front.trials)
    if sort is not None:
        i = names.index(sort)
        sign = -1.0 if study.directions[i].name == "MAXIMIZE" else 1.0
        trials.sort(key=lambda t: (sign * t.values[i], t.number))
    return {
        "study": study.study_name,
        "objectives": [{"name": n, "direction": d.name.lower()} for n, d in zip(names, study.directions)],
        "front": [trial_row(study, t) for t in trials],
        "baselines": [trial_row(study, t) for t in front.baselines],
        "left_off": {"not_learned": [t.number for t in front.not_learned],
                     "collapsed": [t.number for t in front.collapsed],  # of not_learned: stopped early
                     "infeasible": [t.number for t in front.infeasible]},
        "constraints": [str(c) for c in study_constraints(study)],
    }


def front_json(study: "optuna.Study", sort: str | None = None) -> str:
    return json.dumps(front_export(study, sort), indent=2, allow_nan=False)


def front_csv(study: "optuna.Study", sort: str | None = None) -> str:
    """Header, one line per front trial, then one per baseline; `role` is ``front`` or
    ``baseline:<kind>``, parameters are ``param:<name>`` columns (empty where a trial has none).

    Columns: number, role, each objective, ``<objective>_ci_low``/``_ci_high`` per fairness
    objective, latency_p50_ms, latency_p95_ms, throughput_per_s (those not already objectives),
    learned (true/false), then ``param:<name>`` sorted by name."""
    export = front_export(study, sort)
    names = [o["name"] for o in export["objectives"]]
    rows = [("front", r) for r in export["front"]] + [(f"baseline:{r['baseline']}", r) for r in export["baselines"]]
    ci_names = [n for n in names if _fairness(n)]
    serving = [key for key in SERVING if key not in names]  # an objective has its column already
    params = sorted({p for _, r in rows for p in r["params"]})
    header = ["number", "role", *names, *(f"{n}_ci_{end}" for n in ci_names for end in ("low", "high")),
              *serving, "learned", *(f"param:{p}" for p in params)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for role, r in rows:
        writer.writerow([
            r["number"], role, *(_cell(r["values"][n]) for n in names),
            *(_cell(r["ci"][n][end]) for n in ci_names for end in ("low", "high")),
            *(_cell(r[key]) for key in serving), str(r["learned"]).lower(),
            *(_cell(r["params"].get(p)) for p in params),
        ])
    return out.getvalue()


def _cell(value: Any) -> Any:
    return "" if value is None else value
