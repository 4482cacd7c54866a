"""`hpsearch status`: where a shared study stands, read from the database alone."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from hpsearch.study._counts import driver_name
from hpsearch.study._front import is_confirmation
from hpsearch.study._ledger import DRIVERS_KEY, FAIL_KIND_ATTR, RETRY_OF_ATTR, count, counts_toward_budget, driver_label

if TYPE_CHECKING:
    import optuna
    from rich.console import Console


def print_status(study: "optuna.Study", storage: "optuna.storages.BaseStorage", console: "Console") -> None:
    """Complete, running, waiting, failed (by kind) and pruned trials; who runs what; the drivers."""
    from rich.table import Table

    trials = study.get_trials(deepcopy=False)
    counts = count(trials)
    kinds = Counter(t.user_attrs.get(FAIL_KIND_ATTR, "trial") for t in trials
                    if t.state == TrialState.FAIL and counts_toward_budget(t))
    drivers = storage.get_study_system_attrs(storage.get_study_id_from_name(study.study_name)).get(DRIVERS_KEY, [])
    confirming = [t for t in trials if is_confirmation(t)]
    # a confirmation's driver (`hpsearch confirm`) has a budget of its own trials, not the study's
    confirmers = {driver_label(t) for t in confirming}
    searchers = [d for d in drivers if driver_name(d) not in confirmers]
    budget = searchers[-1].get("budget") if searchers else None
    failed = f"{counts.failed} failed" + (f" ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})"
                                          if counts.failed else "")
    console.print(f"Study {study.study_name!r}: {counts.complete} complete"
                  + (f" of {budget} (the last driver's budget)" if budget else "")
                  + f", {counts.running} running, {counts.waiting} waiting, {failed}, {counts.pruned} pruned"
                  + (f"; {sum(t.state == TrialState.COMPLETE for t in confirming)} of {len(confirming)} confirmation "
                     "trials complete (hpsearch confirm: more seeds of trials done, outside the budget)"
                     if confirming else ""), soft_wrap=True)
    active = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING) or
              (t.state == TrialState.FAIL and counts_toward_budget(t))]
    if active:
        table = Table(show_edge=False, pad_edge=False, box=None)
        for column in ("trial", "state", "driver", "parameters", "why"):
            table.add_column(column)
        retried = {t.user_attrs.get(RETRY_OF_ATTR): t.number for t in trials if RETRY_OF_ATTR in t.user_attrs}
        for trial in active:
            why = str(trial.user_attrs.get("fail_reason", ""))
            if trial.number in retried:
                why += f" -> run again as trial {retried[trial.number]}"
            if trial.state == TrialState.WAITING and RETRY_OF_ATTR in trial.user_attrs:
                why = f"runs trial {trial.user_attrs[RETRY_OF_ATTR]} again"
            params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
            driver = driver_label(trial) if trial.state != TrialState.WAITING else ""
            table.add_row(str(trial.number), trial.state.name, driver, params, why)
        console.print(table)
    if drivers:
        console.print("Drivers that joined: " + "; ".join(
            f"{driver_name(d)} (seed {d.get('seed')}, "
            f"{'' if d in searchers else 'confirming, '}trials {d.get('budget')})" for d in drivers),
            soft_wrap=True)
