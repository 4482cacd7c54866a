"""A scheduler rule (``hpsearch.search``: ``mo_asha``) as a Ray Tune scheduler, and what a stopped
trial leaves in the study.

Ray Tune calls :meth:`on_trial_result` with every per-epoch report; the rule answers continue or
stop. A stopped trial's reason and its per-epoch objectives are kept here for the searcher, which
records the trial as PRUNED (never COMPLETE, so never on a front) with them as user attributes:
Optuna keeps intermediate values for single-objective studies only.

The study is the record: before a report that may stop a trial, the rule takes in the per-epoch
reports of the study's finished trials it has not heard (an earlier run's, another driver's), so a
resumed search, or several drivers on one study, compare each trial with every trial of the study,
not only with those this driver ran. Trials are named by their study number.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from hpsearch.search import Rule
from hpsearch.study._faults import DatabaseUnavailable, retrying
from hpsearch.study._front import HISTORY_ATTR, STOPPED_ATTR

log = logging.getLogger("hpsearch.study")

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial
    from ray.tune.experiment import Trial

#: Per-epoch report keys kept for a stopped trial besides the objectives.
_PROGRESS = ("epoch", "epochs", "step", "train_loss", "macro_f1", "accuracy", "collapsed")


def finished_trials(study: "optuna.Study") -> Callable[[], list["FrozenTrial"]]:
    """What reads the study's COMPLETE and PRUNED trials (every driver's), retried through faults."""
    from optuna.trial import TrialState

    def read() -> list["FrozenTrial"]:
        return retrying(lambda: study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)),
                        "reading the study's trials")

    return read


class EarlyStopping(FIFOScheduler):
    """Ray Tune's FIFO order, with each per-epoch report put to `rule`."""

    def __init__(self, rule: Rule, names: list[str], finished: Callable[[], Iterable["FrozenTrial"]] | None = None,
                 number: Callable[[str], int | None] | None = None) -> None:
        """`finished`: the study's finished trials; `number`: a Ray trial's number in the study."""
        super().__init__()
        self.rule = rule
        self.names = names
        self.study_trials = finished
        self.number = number
        #: trial id -> why it was stopped; and every trial's per-epoch reports so far
        self.stopped: dict[str, str] = {}
        self.history: dict[str, list[dict[str, float]]] = {}
        self.heard: set[int] = set()  # numbers of the finished trials whose reports the rule has

    def on_trial_result(self, tune_controller: Any, trial: "Trial", result: dict) -> str:
        if self.rule.time_attr not in result:  # the final report: the trial ends on its own
            return TrialScheduler.CONTINUE
        keep = (*_PROGRESS, *self.names, *(c.metric for c in self.rule.constraints))
        self.history.setdefault(trial.trial_id, []).append(
            {k: float(result[k]) for k in keep if isinstance(result.get(k), (int, float))})
        if self.study_trials is not None and self.rule.decides_at(result[self.rule.time_attr]):
            try:
                self.hear_finished()
            except DatabaseUnavailable as exc:  # decided on what the rule has; the searcher reports the outage
                log.warning("early stopping: the study's finished trials could not be read (%s)", exc)
        number = self.number(trial.trial_id) if self.number is not None else None
        reason = self.rule.decide(trial.trial_id if number is None else str(number), result)
        if reason is None:
            return TrialScheduler.CONTINUE
        self.stopped[trial.trial_id] = reason
        return TrialScheduler.STOP

    def __getstate__(self) -> dict[str, Any]:
        # Ray pickles the scheduler into its experiment state: without the study (its database, locks)
        return {**self.__dict__, "study_trials": None, "number": None}

    def hear_finished(self) -> None:
        """Give the rule the per-epoch reports of the study's finished trials it has not had."""
        assert self.study_trials is not None
        for t in self.study_trials():
            history = t.user_attrs.get(HISTORY_ATTR)
            if t.number in self.heard or not t.params or not isinstance(history, list):
                continue
            self.heard.add(t.number)
            for row in history:
                if isinstance(row, dict):
                    self.rule.observe(str(t.number), row)

    def pruned(self, trial_id: str) -> dict[str, Any] | None:
        """The user attributes of a trial this scheduler stopped (None if it did not stop it)."""
        reason = self.stopped.get(trial_id)  # kept: the progress line says it after the searcher
        history = self.history.pop(trial_id, [])
        if reason is None:
            return None
        last = history[-1] if history else {}
        return {"pruned_reason": reason, STOPPED_ATTR: int(last.get("epoch", 0)), HISTORY_ATTR: history,
                "intermediate_values": {n: last[n] for n in self.names if n in last}}

