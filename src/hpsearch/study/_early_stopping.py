"""A scheduler rule (``hpsearch.search``: ``mo_asha``) as a Ray Tune scheduler, and what a stopped
trial leaves in the study.

Ray Tune calls :meth:`on_trial_result` with every per-epoch report; the rule answers continue or
stop. A stopped trial's reason and its per-epoch objectives are kept here for the searcher, which
records the trial as PRUNED (never COMPLETE, so never on a front) with them as user attributes:
Optuna keeps intermediate values for single-objective studies only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from hpsearch.search import Rule

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

#: Per-epoch report keys kept for a stopped trial besides the objectives.
_PROGRESS = ("epoch", "epochs", "step", "train_loss", "macro_f1", "accuracy", "collapsed")


class EarlyStopping(FIFOScheduler):
    """Ray Tune's FIFO order, with each per-epoch report put to `rule`."""

    def __init__(self, rule: Rule, names: list[str]) -> None:
        super().__init__()
        self.rule = rule
        self.names = names
        #: trial id -> why it was stopped; and every trial's per-epoch reports so far
        self.stopped: dict[str, str] = {}
        self.history: dict[str, list[dict[str, float]]] = {}

    def on_trial_result(self, tune_controller: Any, trial: "Trial", result: dict) -> str:
        if self.rule.time_attr not in result:  # the final report: the trial ends on its own
            return TrialScheduler.CONTINUE
        keep = (*_PROGRESS, *self.names)
        self.history.setdefault(trial.trial_id, []).append(
            {k: float(result[k]) for k in keep if isinstance(result.get(k), (int, float))})
        reason = self.rule.decide(trial.trial_id, result)
        if reason is None:
            return TrialScheduler.CONTINUE
        self.stopped[trial.trial_id] = reason
        return TrialScheduler.STOP

    def pruned(self, trial_id: str) -> dict[str, Any] | None:
        """The user attributes of a trial this scheduler stopped (None if it did not stop it)."""
        reason = self.stopped.get(trial_id)  # kept: the progress line says it after the searcher
        history = self.history.pop(trial_id, [])
        if reason is None:
            return None
        last = history[-1] if history else {}
        return {"pruned_reason": reason, "stopped_after_epoch": int(last.get("epoch", 0)), "history": history,
                "intermediate_values": {n: last[n] for n in self.names if n in last}}

