"""Tables people read: the plan before a run (``--dry-run``), the Pareto front of a study after, the
F1 per class of the front and the baselines, and what to change where no fine-tuned trial learned."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpsearch.study import objective_names

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from hpsearch.plan import Plan
    from hpsearch.report._classes import ClassF1, ClassRow
    from hpsearch.study import HonestFront

#: More labels than this and the per-class table turns: one row per class, one column per trial.
MANY_LABELS = 12


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def pareto_table(study: "optuna.Study", front: "HonestFront | None" = None, sort: str | None = None) -> "Table":
    """The honest front, best first on objective `sort` (default: the first), with its parameters,
    and the baselines below it."""
    from rich.table import Table

    from hpsearch.study import honest_front, study_constraints

    front = front or honest_front(study)
    names = objective_names(study)
    maximize = [d.name == "MAXIMIZE" for d in study.directions]
    trials = sorted_front(study, front, sort)
    constraints = study_constraints(study)
    title = f"Pareto front of study {study.study_name!r}: {len(trials)} trial(s)"
    if constraints:
        title += " meeting " + ", ".join(map(str, constraints))
    table = Table(title=title)
    table.add_column("trial", justify="right", no_wrap=True)
    for name, up in zip(names, maximize):
        table.add_column(f"{name} {'↑' if up else '↓'}", justify="right", no_wrap=True)
    table.add_column("parameters", overflow="fold")
    for t in trials:
        params = "  ".join(f"{k}={_fmt(v)}" for k, v in sorted(t.params.items()))
        if t.user_attrs.get("baseline"):
            params = f"method={t.user_attrs['baseline']}  " + params
        table.add_row(str(t.number), *[_value(t, i) for i in range(len(names))], params)
    if front.baselines:
        table.add_section()
        for t in front.baselines:
            kind = str(t.user_attrs.get("baseline"))
            table.add_row(f"{t.number} [italic]baseline[/italic]", *[_value(t, i) for i in range(len(names))],
                          f"[italic]{BASELINE_NAMES.get(kind, kind)}[/italic]"
                          + ("" if t.user_attrs.get("learned", True) else "  (did not learn)"))
    return table


def sorted_front(study: "optuna.Study", front: "HonestFront", sort: str | None = None) -> list["FrozenTrial"]:
    """The front's trials best first on objective `sort` (default: the first), ties by number."""
    names = objective_names(study)
    i = names.index(sort) if sort in names else 0
    up = study.directions[i].name == "MAXIMIZE"
    return sorted(front.trials, key=lambda t: (-t.values[i] if up else t.values[i], t.number))


def class_table(study: "optuna.Study", front: "HonestFront | None" = None, sort: str | None = None) -> "Table | None":
    """F1 per class of the front (in the front table's order) and the baselines below it, a class a
    trial gave up in red and marked ✗; None where no shown trial recorded F1 per class."""
    from rich.table import Table

    from hpsearch.report._classes import GAVE_UP, class_f1
    from hpsearch.study import honest_front

    front = front or honest_front(study)
    data = class_f1(study, sorted_front(study, front, sort), front.baselines)
    if data is None:
        return None
    table = Table(title=data.title(), caption=f"✗ gave up: F1 < {GAVE_UP:g}")
    if len(data.labels) > MANY_LABELS:
        return _classes_down(table, data)
    table.add_column("trial", justify="right", no_wrap=True)
    for label in data.labels:
        table.add_column(escape(label), justify="right", overflow="fold", min_width=4)
    table.add_column("gave up", justify="right", no_wrap=True)
    for k, row in enumerate(data.rows):
        if k == len(data.front) and data.front:
            table.add_section()
        name = f"{row.trial.number} [italic]{escape(row.baseline)}[/italic]" if row.baseline else str(row.trial.number)
        table.add_row(name, *[_f1(v) for v in row.values.values()], _gave_up(row, data))
    return table


def _classes_down(table: "Table", data: "ClassF1") -> "Table":
    """The per-class table turned for many labels: a row per class, a column per trial."""
    table.add_column("class", overflow="fold")
    for row in data.rows:
        head = f"{row.baseline} ({row.trial.number})" if row.baseline else f"trial {row.trial.number}"
        table.add_column(escape(head), justify="right", no_wrap=True)
    for label in data.labels:
        table.add_row(escape(label), *[_f1(row.values[label]) for row in data.rows])
    table.add_section()
    table.add_row("gave up", *[_gave_up(row, data) for row in data.rows])
    return table


def _f1(value: float | None) -> "Text":
    from rich.text import Text

    from hpsearch.report._classes import GAVE_UP

    if value is None:
        return Text("–", style="dim")
    if value < GAVE_UP:
        return Text(f"{value:.2f} ✗", style="bold red")
    return Text(f"{value:.2f}")


def _gave_up(row: "ClassRow", data: "ClassF1") -> "Text":
    from rich.text import Text

    n = len(row.gave_up)
    return Text(f"{n} of {len(data.labels)}", style="bold red" if n else "")


def escape(text: str) -> str:
    """`text` with rich markup in it shown as written (a label may read ``[other]``)."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


#: How each kind of baseline is named where people read it.
BASELINE_NAMES = {
    "head": "head only: the base model frozen, only the classifier trained",
    "linear_probe": "linear probe: logistic regression on the frozen base model's pooled features",
    "tfidf": "TF-IDF word and character n-grams with logistic regression",
}


def _value(trial: "FrozenTrial", i: int) -> str:
    return f"{trial.values[i]:.4f}"


def print_summary(study: "optuna.Study", console: "Console", sort: str | None = None) -> None:
    """Trial counts, failures, the honest front with the baselines, what was left off and why."""
    import optuna

    from hpsearch.objectives import violations
    from hpsearch.study import confirmed_lines, honest_front, stopped_early, study_constraints

    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    counts = {s.name.lower(): states.count(s) for s in optuna.trial.TrialState if states.count(s)}
    console.print("Trials: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    for t in failed[-5:]:
        console.print(f"  trial {t.number} failed: {t.user_attrs.get('fail_reason', 'unknown reason')}")
    front = honest_front(study)
    if front.trials or front.baselines:
        console.print(pareto_table(study, front, sort))
    classes = class_table(study, front, sort)
    if classes is not None:
        console.print(classes)
    nothing = front.nothing_learned()
    if not front.trials and not nothing:
        console.print("No fine-tuned trial that learned meets the constraints yet: no Pareto front.")
    constraints = study_constraints(study)
    for t in trials:  # every complete fine-tuned trial that misses a constraint, learned or not
        if t.state != optuna.trial.TrialState.COMPLETE or t.user_attrs.get("baseline"):
            continue
        missed = {k: v for k, v in violations(t, constraints).items() if v > 0}
        if missed:
            console.print(f"  trial {t.number} infeasible: "
                          + ", ".join(f"{k} misses by {v:.4g}" for k, v in missed.items()))
    for line in (front.left_off(), stopped_early(trials)):
        if line:
            console.print(escape(line))
    confirmed = confirmed_lines(study)
    if confirmed:  # the values above are each trial's one seed; these are its seeds together
        console.print("Confirmed over seeds (hpsearch confirm; export picks on these means):")
        for line in confirmed:
            console.print(f"  {escape(line)}", soft_wrap=True)
    for line in baseline_lines(study, front):
        console.print(line)
    if nothing:
        from rich.table import Table

        from hpsearch.report._advice import nothing_learned_advice

        console.print(f"[bold red]{escape(nothing)}[/bold red]")
        console.print("What to change:")
        bullets = Table.grid(padding=(0, 1))  # a wrapped suggestion hangs under its own first line
        bullets.add_column(no_wrap=True)
        bullets.add_column(overflow="fold")
        for advice in nothing_learned_advice(study, front):
            bullets.add_row("  -", escape(advice))
        console.print(bullets)


def baseline_lines(study: "optuna.Study", front: "HonestFront | None" = None) -> list[str]:
    """What fine-tuning gained over each baseline, and plainly where a baseline beats every trial.

    The gain is the best fine-tuned trial on the honest front against the baseline, objective by
    objective (:meth:`HonestFront.baseline_wins` says where a baseline that learned is better).
    """
    from hpsearch.study import honest_front

    front = front or honest_front(study)
    names = objective_names(study)
    maximize = [d.name == "MAXIMIZE" for d in study.directions]
    wins = front.baseline_wins(maximize)
    lines = []
    for base in front.baselines:
        kind = str(base.user_attrs.get("baseline"))
        label = f"Baseline {kind} (trial {base.number})"
        if not base.user_attrs.get("learned", True):
            label += ", which did not beat the trivial predictors"
        if not front.trials:
            lines.append(f"{label}: " + ", ".join(f"{n} {v:.4g}" for n, v in zip(names, base.values)))
            continue
        parts = []
        for i, (name, up) in enumerate(zip(names, maximize)):
            values = [t.values[i] for t in front.trials]
            parts.append(f"{name} {base.values[i]:.4g} -> best {max(values) if up else min(values):.4g}")
        lines.append(f"{label}: " + "; ".join(parts))
        beaten = [names[i] for b, i, _ in wins if b is base]
        if beaten:
            lines.append(f"  [bold yellow]The {kind} baseline beats every fine-tuned trial on the front on "
                         f"{', '.join(beaten)}.[/bold yellow]")
    return lines


def print_plan(plan: "Plan", console: "Console") -> None:
    """What `hpsearch run --dry-run` shows: the resolved space, data, objectives, search, hardware."""
    from rich.table import Table

    from hpsearch.space import describe
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
    kinds = knob_values(plan, "quantization")
    import torch

    for kind in kinds:
        console.print(f"  quantization {quantization_note(str(kind), torch.cuda.is_available())}")
    if "auto" in knob_values(plan, "precision"):
        from hpsearch.trial._hardware import auto_precision

        used, why = auto_precision(torch.cuda.is_available())
        console.print(f"  precision auto: trains in {used} ({why})")
    for warning in cannot_run(plan, [str(k) for k in kinds], torch.cuda.is_available()):
        console.print(f"[yellow]warning[/yellow]: {warning}")


def knob_values(plan: "Plan", name: str) -> list[Any]:
    """The values a categorical knob can take in the space's trials: its choices where it is searched,
    else its fixed value or the knob's default."""
    from hpsearch.space import KNOBS, CategoricalParam

    spec = plan.space.params.get(name)
    if isinstance(spec, CategoricalParam):
        return list(spec.choices)
    return [plan.space.fixed.get(name, KNOBS[name].default)]


def cannot_run(plan: "Plan", quantizations: list[str], cuda: bool) -> list[str]:
    """Choices of the space that this machine cannot run: each trial that draws one fails (and the
    default sampler then stops proposing it)."""
    from hpsearch.space import CategoricalParam, IntParam

    warnings = []
    if not cuda:
        from hpsearch.trial._models import cpu_4bit_problem

        for kind in quantizations:
            problem = cpu_4bit_problem(kind) if kind in ("nf4", "fp4") else None
            if problem:
                warnings.append(f"quantization {kind} cannot run here: it needs a CUDA GPU ({problem})")
    if "bf16" in knob_values(plan, "precision"):
        from hpsearch.trial._hardware import bf16_problem

        problem = bf16_problem(cuda)
        if problem:
            warnings.append(f"precision bf16 cannot run here: {problem}")
    spec = plan.space.params.get("lora_layers")
    highest = spec.high if isinstance(spec, IntParam) else max(spec.choices) if isinstance(spec, CategoricalParam) \
        else plan.space.fixed.get("lora_layers")
    if isinstance(highest, int) and highest > 0:
        from transformers import AutoConfig

        from hpsearch.errors import UserError

        try:
            model = plan.model_path()  # nothing fetched: a pinned revision not cached yet, `run` fetches
        except UserError as exc:
            return [*warnings, f"lora_layers not checked against the model's layers: {exc.problems[0].message}"]
        layers = getattr(AutoConfig.from_pretrained(model), "num_hidden_layers", None)
        kept = plan.space.fixed.get("layers_kept")
        layers = min(layers, kept) if isinstance(layers, int) and isinstance(kept, int) and kept > 0 else layers
        if isinstance(layers, int) and highest > layers:
            warnings.append(f"lora_layers up to {highest}, but the model has {layers} layers: trials that draw more fail")
    return warnings
