"""Tables people read: the plan before a run (``--dry-run``), the Pareto front of a study after."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from rich.console import Console
    from rich.table import Table

    from hpsearch.plan import Plan


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def pareto_table(study: "optuna.Study") -> "Table":
    """The non-dominated complete trials, best first objective first, with their parameters."""
    from rich.table import Table

    names = study.metric_names or [f"value{i}" for i in range(len(study.directions))]
    from hpsearch.study import feasible_front

    maximize = [d.name == "MAXIMIZE" for d in study.directions]
    front = sorted(feasible_front(study), key=lambda t: -t.values[0] if maximize[0] else t.values[0])
    from hpsearch.study import study_constraints

    constraints = study_constraints(study)
    title = f"Pareto front of study {study.study_name!r}: {len(front)} trial(s)"
    if constraints:
        title += " meeting " + ", ".join(map(str, constraints))
    table = Table(title=title)
    table.add_column("trial", justify="right", no_wrap=True)
    for name, up in zip(names, maximize):
        table.add_column(f"{name} {'↑' if up else '↓'}", justify="right", no_wrap=True)
    table.add_column("parameters", overflow="fold")
    for t in front:
        params = "  ".join(f"{k}={_fmt(v)}" for k, v in sorted(t.params.items()))
        label = str(t.number)
        if t.user_attrs.get("baseline"):
            label += " (baseline)"
            params = f"method={t.user_attrs['baseline']}  " + params
        table.add_row(label, *[f"{v:.4f}" for v in t.values], params)
    return table


def print_summary(study: "optuna.Study", console: "Console") -> None:
    import optuna

    states = [t.state for t in study.get_trials(deepcopy=False)]
    counts = {s.name.lower(): states.count(s) for s in optuna.trial.TrialState if states.count(s)}
    console.print("Trials: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    failed = [t for t in study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.FAIL])]
    for t in failed[-5:]:
        console.print(f"  trial {t.number} failed: {t.user_attrs.get('fail_reason', 'unknown reason')}")
    from hpsearch.objectives import violations
    from hpsearch.study import feasible_front, study_constraints

    if feasible_front(study):
        console.print(pareto_table(study))
    else:
        console.print("No complete trial meets the constraints yet: no Pareto front.")
    constraints = study_constraints(study)
    if constraints:
        complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
        for t in complete:
            missed = {k: v for k, v in violations(t, constraints).items() if v > 0}
            if missed:
                console.print(f"  trial {t.number} infeasible: "
                              + ", ".join(f"{k} misses by {v:.4g}" for k, v in missed.items()))
    line = baseline_line(study)
    if line:
        console.print(line)


def baseline_line(study: "optuna.Study") -> str | None:
    """What fine-tuning gained over the baseline trial, on each objective."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    base = next((t for t in complete if t.user_attrs.get("baseline")), None)
    if base is None:
        return None
    names = study.metric_names or [f"value{i}" for i in range(len(study.directions))]
    parts = []
    for i, (name, direction) in enumerate(zip(names, study.directions)):
        others = [t.values[i] for t in complete if t is not base]
        if not others:
            continue
        best = max(others) if direction.name == "MAXIMIZE" else min(others)
        parts.append(f"{name} {base.values[i]:.4g} -> best {best:.4g}")
    kind = base.user_attrs["baseline"]
    return f"Baseline (trial {base.number}, {kind} only): " + "; ".join(parts)


def print_plan(plan: "Plan", console: "Console") -> None:
    """What `hpsearch run --dry-run` shows: the resolved space, data, objectives, search, hardware."""
    from rich.table import Table

    from hpsearch.space import CategoricalParam, describe
    from hpsearch.trial import describe as describe_hardware
    from hpsearch.trial import quantization_note

    table = Table(title=f"Space {plan.space.name!r} ({plan.path})")
    for column in ("parameter", "distribution", "active when"):
        table.add_column(column)
    for row in describe(plan.space):
        table.add_row(*row)
    console.print(table)
    splits = plan.splits()
    console.print(f"model: {plan.space.model}; data: {splits.describe()} ({', '.join(splits.label_names)})")
    console.print("objectives: " + ", ".join(
        f"{n} ({d})" for n, d in zip(plan.objectives.names(), plan.objectives.directions())))
    s = plan.search
    console.print(f"search: {s.sampler.name} sampler, {s.trials} trials, {s.max_concurrent_trials} at a time")
    console.print(f"hardware: {describe_hardware()}")
    spec = plan.space.params.get("quantization")
    kinds = spec.choices if isinstance(spec, CategoricalParam) else [plan.space.fixed.get("quantization", "none")]
    import torch

    for kind in kinds:
        console.print(f"  quantization {quantization_note(str(kind), torch.cuda.is_available())}")
