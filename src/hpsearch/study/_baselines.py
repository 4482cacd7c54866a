"""The baselines of a study, recorded in the study database beside the trials they are compared with.

Each baseline (see ``hpsearch.trial.run_baseline``: the frozen base model with a linear probe,
TF-IDF n-grams with logistic regression) runs once per study, in the driver process, on the same
splits and with the same measurements as a trial. It is stored as a complete trial with no
parameters, its objective values, every metric as a user attribute and ``baseline: <kind>``, so the
dashboard, ``pareto``, ``report`` and Optuna's CLI all see it. A baseline that cannot run is
stored as a failed trial with its reason; the study goes on.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from hpsearch.objectives import Constraint
from hpsearch.plan import Plan
from hpsearch.space import BASELINE_ATTR
from hpsearch.study._front import set_trial_constraints

if TYPE_CHECKING:
    import optuna
    from rich.console import Console

    from hpsearch.study._ledger import Ledger


def record_baselines(study: "optuna.Study", plan: Plan, kinds: Sequence[str], constraints: Sequence[Constraint],
                     *, threads: int, console: "Console", ledger: "Ledger",
                     node_threads: int | None = None) -> list[int]:
    """Run each baseline of `kinds` the study does not hold, nor another driver is running; return
    the numbers of the trials recorded. They run before the trials, on `node_threads` (the node's
    CPUs, where given) divided among what else runs there; latency is timed on a trial's `threads`."""
    import contextlib
    import json
    import time

    claimed: dict[str, int] = {}

    def claim(trials: list["optuna.trial.FrozenTrial"]) -> None:
        import optuna

        have = {t.user_attrs.get(BASELINE_ATTR) for t in trials
                if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)}
        for kind in kinds:
            if kind not in have:
                claimed[kind] = ledger.start_baseline(kind)

    ledger.once(claim)  # two drivers starting together run each baseline once
    missing = list(claimed)
    if not missing:
        return []
    from hpsearch.trial import Worker, run_baseline

    names = plan.objectives.names()
    started = time.monotonic()
    console.print(f"Baselines: {', '.join(missing)} (once per study, on the same splits as the trials)")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the driver's output is the run's progress, not a weight loader's
    worker = Worker(plan, threads=threads, node_threads=node_threads)
    numbers = []
    with worker.thread_plan.taken() if worker.thread_plan is not None else contextlib.nullcontext() as taken:
        for kind in missing:
            attrs: dict[str, Any] = {BASELINE_ATTR: kind}
            number = claimed[kind]
            begun = time.monotonic()
            console.print(f"  baseline {kind}: running ({len(worker.splits.train)} training, "
                          f"{len(worker.splits.validation)} validation examples)…")
            try:
                result = run_baseline(worker, kind)
            except Exception as exc:  # noqa: BLE001 - recorded on a failed baseline trial, as a trial's would be
                numbers.append(_finish(ledger, number, None, {**attrs, "fail_reason": f"{type(exc).__name__}: {exc}"}))
                console.print(f"  baseline {kind} [red]failed[/red]: {exc}")
                continue
            values = [result.metrics.get(name) for name in names]
            # user attributes are stored as JSON: anything else (numpy scalars, paths) as its string
            attrs.update(json.loads(json.dumps({**result.metrics, **result.attrs}, default=str)))
            if taken is not None:  # as a trial records its threads: fitted on `taken`, timed on the share
                attrs["threads"] = {"share": threads, "node": node_threads, "fitted_on": taken}
            if any(v is None or not math.isfinite(v) for v in values):
                missed = [n for n, v in zip(names, values) if v is None or not math.isfinite(v)]
                attrs["fail_reason"] = f"objective(s) not measured: {', '.join(missed)}"
                numbers.append(_finish(ledger, number, None, attrs))
                console.print(f"  baseline {kind} [red]failed[/red]: {attrs['fail_reason']}")
                continue
            numbers.append(_finish(ledger, number, [float(v) for v in values], attrs, constraints,  # type: ignore[arg-type]
                                   plan.objectives.min_gain_over_trivial))
            shown = "  ".join(f"{n}={v:.4g}" for n, v in zip(names, values))
            console.print(f"  baseline {kind}: {shown} ({time.monotonic() - begun:.0f}s)" + (
                "" if attrs.get("learned", True) else "  [yellow](did not beat the trivial predictors)[/yellow]"))
    console.print(f"Baselines done in {time.monotonic() - started:.0f}s")
    return numbers


def _finish(ledger: "Ledger", number: int, values: list[float] | None, attrs: dict[str, Any],
            constraints: Sequence[Constraint] = (), min_gain: float | None = None) -> int:
    """Record a baseline on the trial `number` this driver claimed for it."""
    import optuna

    from hpsearch.study._faults import retrying

    trial = optuna.Trial(ledger.study, ledger.trial_id(number))

    def record() -> None:
        ledger.set_user_attrs(trial, attrs)
        if values is not None:
            set_trial_constraints(trial, constraints, attrs, min_gain)

    retrying(record, f"recording baseline trial {number}")
    state = optuna.trial.TrialState.COMPLETE if values is not None else optuna.trial.TrialState.FAIL
    ledger.tell(trial, values, state)
    return number
