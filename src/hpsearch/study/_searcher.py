"""Ray Tune's searcher over a shared Optuna study: what each trial's suggestion and result do to it.

Only the driver holds it; Ray pickles it into its experiment state without the database URL.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any, Callable

import optuna
from optuna.trial import TrialState
from ray.tune.search import Searcher

from hpsearch.objectives import Constraint
from hpsearch.search import describe_proposal
from hpsearch.space import BASELINE_ATTR
from hpsearch.study._faults import DatabaseUnavailable, retrying
from hpsearch.study._front import CONFIRM_ATTR, HISTORY_ATTR, constraint_values
from hpsearch.study._ledger import FAIL_KIND_ATTR, RETRY_OF_ATTR, Ledger, StudyFailing
from hpsearch.study._trainable import ARTIFACT_KEY, ARTIFACT_KIND_KEY, ATTRS_KEY, ERROR_KEY, METRICS_KEY

log = logging.getLogger("hpsearch.study")

#: Trial user attributes: why the trial has its parameters; the trial of another study it repeats.
PROPOSED_ATTR = "proposed_by"
WARM_START_ATTR = "warm_start_of"


class WorkersFailing(RuntimeError):
    """Trial after trial of this run was lost with no trial reporting in between: the workers cannot
    run the trainable (a package missing on a node, the trainable failing to import, a crash on
    start), so retrying their parameters would only lose them again."""


def worker_error(error: BaseException) -> str:
    """The line of a worker's error that names it: Ray wraps it in its own text and a traceback
    (``ModuleNotFoundError: No module named 'x'`` under "The actor ... failed to import")."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?", line)]
    return (named or lines or [type(error).__name__])[-1][:300]


class StudySearch(Searcher):
    """Ray Tune's searcher over a shared Optuna study: each suggestion is a trial claimed from the
    study's budget (:class:`Ledger`), each result is told to the study with every measured value,
    the constraint violations and, for a failure, its reason."""

    def __init__(self, ledger: Ledger, space: Callable[[optuna.Trial], dict[str, Any]], names: list[str],
                 constraints: tuple[Constraint, ...] = (), min_gain: float = 0.1, store: Any = None) -> None:
        super().__init__()
        self.store = store  # Optuna's artifact store for the trained adapters; None keeps none
        self.keep_front_only = False  # keep_artifacts: front
        self.ledger = ledger
        self.space = space
        self.names = names
        self.constraints = constraints
        self.min_gain = min_gain
        self.trials: dict[str, optuna.Trial] = {}
        #: The preset's sampler (name, options), to say why a trial was proposed.
        self.sampler: tuple[str, dict[str, Any]] = ("gp_pool", {})
        #: The early-stopping scheduler (``_early_stopping``), whose stopped trials are PRUNED; None: none.
        self.scheduler: Any = None
        #: What stopped the search (too many failures, the database gone): raised after Tune stops.
        self.fatal: Exception | None = None
        #: Trials of this run lost since the last one that reported (a result or its own failure).
        self.lost_in_a_row = 0

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the space is the plan's, the objectives the study's

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.fatal is not None:
            return Searcher.FINISHED
        configs: list[dict[str, Any]] = []

        def propose(trial: optuna.Trial) -> dict[str, Any]:
            configs.append(retrying(lambda: self.space(trial), f"sampling trial {trial.number}"))
            return {PROPOSED_ATTR: self.proposal_reason(trial)}  # recorded with the trial's driver

        try:
            claimed = self.ledger.claim(propose)
            if claimed == "finished":
                return Searcher.FINISHED
            if claimed == "wait":
                return None
            assert isinstance(claimed, optuna.Trial)
        except (StudyFailing, DatabaseUnavailable) as exc:
            self.fatal = exc
            return Searcher.FINISHED
        self.trials[trial_id] = claimed
        return configs[0]

    def trial_number(self, trial_id: str) -> int | None:
        """The study number of the running Ray trial `trial_id` (None where this searcher holds none)."""
        trial = self.trials.get(trial_id)
        return None if trial is None else trial.number

    def proposal_reason(self, trial: optuna.Trial) -> str:
        """Why `trial` has its parameters: what it was enqueued as, else what the sampler did."""
        attrs = trial.user_attrs
        for key, what in ((RETRY_OF_ATTR, "retry of trial {}"), (CONFIRM_ATTR, "confirmation of trial {}"),
                          (WARM_START_ATTR, "warm start from {}"), (BASELINE_ATTR, "baseline ({})")):
            if attrs.get(key) is not None:
                return what.format(attrs[key])
        name, options = self.sampler
        return describe_proposal(name, options, self.ledger.counts.done, self.ledger.study.sampler, trial.number)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self.trials.pop(trial_id, None)
        pruned = self.scheduler.pruned(trial_id) if self.scheduler is not None else None
        if trial is None:
            return
        try:
            if pruned is not None and not error:
                self._record_pruned(trial, pruned)
                return
            self._record(trial, result or {}, error)
        except Exception as exc:  # noqa: BLE001 - Tune would log it and go on: the driver stops and says it
            self.fatal = exc

    def _record_pruned(self, trial: optuna.Trial, attrs: dict[str, Any]) -> None:
        """A trial the scheduler stopped: PRUNED, with its per-epoch objectives and the reason, and how
        far it is from meeting each of the rule's constraints (on what training does not change, so its
        last report's value is the one it would have ended with): the samplers learn where they break."""
        last = (attrs.get(HISTORY_ATTR) or [{}])[-1]
        fixed = [c for c in self.scheduler.rule.constraints if c.metric in last] if self.scheduler else []
        self.ledger.tell(trial, None, TrialState.PRUNED, attrs=attrs, constraints=constraint_values(fixed, last))

    def _record(self, trial: optuna.Trial, result: dict, error: bool) -> None:
        reason = result.get(ERROR_KEY)
        if METRICS_KEY not in result and reason is None:
            # the worker process or its node died: the trial is lost, not failed on its own account
            why = "its worker stopped before reporting a result" if error else "no result reported"
            self.ledger.fail(trial.number, f"lost: {why}", "lost", retry=True)
            self.lost_in_a_row += 1
            limit = self.ledger.policy.max_failed_trials
            if self.lost_in_a_row >= limit:
                self.fatal = WorkersFailing(
                    f"{self.lost_in_a_row} trials in a row were lost (the last: trial {trial.number}): their workers "
                    f"stopped before reporting a result, and no trial of this run reported in between "
                    f"(max_failed_trials {limit}): can every node of the run import and start hpsearch's trainable?")
            return
        self.lost_in_a_row = 0
        values: list[float] | None = None
        attrs: dict[str, Any] = {}
        constraints: dict[str, float] = {}
        if METRICS_KEY in result:
            metrics = json.loads(result[METRICS_KEY])
            attrs = {**metrics, **json.loads(result[ATTRS_KEY])}
            constraints = constraint_values(self.constraints, metrics, self.min_gain)
            values = [result.get(name) for name in self.names]
            bad = [n for n, v in zip(self.names, values) if v is None or not math.isfinite(v)]
            if bad:
                reason = f"objective(s) not measured: {', '.join(bad)}"
            if self.store is not None and ARTIFACT_KEY in result:
                import base64

                from hpsearch.study._artifacts import keep

                keep(self.store, trial, result[ARTIFACT_KIND_KEY], base64.b64decode(result[ARTIFACT_KEY]))
        elif ATTRS_KEY in result:  # a failed trial's node
            attrs = json.loads(result[ATTRS_KEY])
        # the attributes, the constraints, the values and the state: one write where the storage allows
        if reason is not None:
            self.ledger.tell(trial, None, TrialState.FAIL,
                             attrs={**attrs, "fail_reason": reason, FAIL_KIND_ATTR: "trial"}, constraints=constraints)
            return
        if not self.ledger.tell(trial, values, TrialState.COMPLETE, attrs=attrs, constraints=constraints):
            log.warning("trial %d had been taken for lost by another driver; its retry is recorded instead",
                        trial.number)
        elif self.store is not None and self.keep_front_only:
            from hpsearch.study._artifacts import keep_front_only

            keep_front_only(self.ledger.study, self.store)

    def running(self) -> list[int]:
        return sorted(t.number for t in self.trials.values())

    # Ray pickles searchers into its experiment state: the ledger holds the database URL and its
    # password, so none of it goes with them. The study database, not Ray's state, is what resumes.
    def __getstate__(self) -> dict[str, Any]:
        return {"names": self.names, "min_gain": self.min_gain}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"ledger": None, "space": None, "constraints": (), "trials": {}, "fatal": None,
                              "lost_in_a_row": 0, "store": None, "scheduler": None, **state})

    def save(self, checkpoint_path: str) -> None:
        pass

    def restore(self, checkpoint_path: str) -> None:
        pass
