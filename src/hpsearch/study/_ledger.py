"""A driver's dealings with a shared study: the budget, heartbeats, lost trials and their retries.

The study database is the record of truth, and every decision is taken against it:

* **the budget belongs to the study**: a driver claims a trial only while the study holds fewer
  than `budget` done (complete, or PRUNED by a scheduler) plus running trials (failed ones do not
  count), counted and claimed under the :class:`~hpsearch.study._faults.StudyLock`, so two drivers
  never both take the last slot; and it stops once the study holds `budget` done trials;
* **no orphans**: every driver beats a heartbeat in the study (a study system attribute holding
  the database server's time, so machines' clocks do not matter), and every running trial names
  its driver. A trial whose driver's heartbeat stopped for `stale_after_s`, or whose driver process
  on this machine is dead, is marked FAIL with the reason, and its parameters are enqueued again
  (at most `max_retries` times), so the next claim, by any driver, runs them. A trial whose worker
  or node died is reported by Ray and treated the same way. A driver that stops on Ctrl-C, SIGTERM
  or its time budget marks its own trials so;
* **several drivers**: each registers in the study and draws its sampler seed from that order,
  so no two propose the same sequence; the study's budget of failures (`max_failed_trials`) stops
  a space whose trials all fail.

Baselines (``linear_probe``, ``tfidf``) never count toward the budget; a ``head`` baseline trial
is an ordinary proposal and does. The module is long because claiming, heartbeats, sweeps and
telling share one driver's held trials and the study lock: one class.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import optuna
from optuna.trial import TrialState

from hpsearch.search import proposing_with
from hpsearch.space import FIXED_ATTR
from hpsearch.study._counts import (BATCH_ATTR, DRIVER_ATTR, FAIL_KIND_ATTR, RETRIES_ATTR, RETRY_OF_ATTR,
                                    STUDY_BASELINES, Counts, count, counts_toward_budget, driver_label,
                                    is_study_baseline)
from hpsearch.study._faults import StudyLock, retrying
from hpsearch.study._front import BASELINE_ATTR, CONFIRM_ATTR
from hpsearch.study._storage import can_finish_at_once, finish_trial, params_held, write_claim, write_user_attrs

__all__ = ["BATCH_ATTR", "DRIVER_ATTR", "FAIL_KIND_ATTR", "RETRIES_ATTR", "RETRY_OF_ATTR", "STUDY_BASELINES",
           "Counts", "Ledger", "Policy", "StudyFailing", "count", "counts_toward_budget", "driver_label",
           "is_study_baseline"]

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

log = logging.getLogger("hpsearch.study")

#: Study system attributes.
DRIVERS_KEY = "hpsearch:drivers"
ALIVE_KEY = "hpsearch:alive:"   # + driver id: the database's time at the driver's last heartbeat

class StudyFailing(RuntimeError):
    """Too many trials of the study failed on their own account: the search stops."""


@dataclass(frozen=True)
class Policy:
    """How a driver treats a shared study (from the search preset)."""

    budget: int
    max_failed_trials: int = 10
    max_retries: int = 2
    heartbeat_interval_s: int = 10
    stale_after_s: int = 60
    #: A confirmation run (``hpsearch confirm``): the budget counts only the trials enqueued under
    #: this batch, and no trial is sampled beyond them.
    batch: str | None = None


def _alive(driver: dict[str, Any]) -> bool:
    """Whether the driver process `driver` names (on this machine) still runs."""
    started = _process_started(int(driver.get("pid", -1)))
    return started is not None and (driver.get("started") is None or abs(started - float(driver["started"])) < 1)


def _process_started(pid: int) -> float | None:
    """When process `pid` started (None if there is none): a pid alone may have been reused."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


class Ledger:
    """This driver in a study: what it claimed, its heartbeats, and the sweeps for lost trials."""

    #: How long a driver waiting for other drivers' trials goes between looks at the study.
    poll_s = 2.0

    def __init__(self, study: optuna.Study, storage: Any, lock: StudyLock, policy: Policy) -> None:
        self.study = study
        self.storage = storage
        self.lock = lock
        self.policy = policy
        self.study_id = storage.get_study_id_from_name(study.study_name)
        self.identity = {"host": socket.gethostname(), "pid": os.getpid(), "id": uuid.uuid4().hex[:12],
                         "started": _process_started(os.getpid())}
        self.held: dict[int, int] = {}  # trial id -> number, for the trials this driver runs
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._next_look = 0.0
        self.finished = False
        self.counts = Counts()  # the study's, as the last claim found them

    # ------------------------------------------------------------------ joining

    def register(self, base_seed: int) -> int:
        """Enter this driver in the study; return its sampler seed (`base_seed` + its place)."""
        with self.lock.held():
            drivers = list(retrying(lambda: self.storage.get_study_system_attrs(self.study_id), "reading the study")
                           .get(DRIVERS_KEY, []))
            seed = base_seed + len(drivers)
            drivers.append({**self.identity, "seed": seed, "budget": self.policy.budget, "at": time.time()})
            retrying(lambda: self.storage.set_study_system_attr(self.study_id, DRIVERS_KEY, drivers),
                     "registering the driver")
            self.beat()
        return seed

    def once(self, what: Callable[[list["FrozenTrial"]], None]) -> None:
        """Run `what(trials)` under the study lock: for what only one driver may do (enqueue the
        head baseline trial once, say)."""
        with self.lock.held():
            what(self._trials())

    # ------------------------------------------------------------------ claiming

    def claim(self, propose: Callable[["optuna.Trial"], dict[str, Any]] | None = None) -> "optuna.Trial | str":
        """The next trial for this driver, ``"finished"`` when the study's budget is met, or
        ``"wait"`` while other drivers' running trials may still fill it.

        `propose(trial)`, when given, samples the trial's parameters before the lock is let go and
        returns user attributes to record with the trial's driver, in the same write; on Optuna's RDB
        schema (:func:`~hpsearch.study._storage.write_claim`) the parameters go in that write too, and
        the sampler's wrappers see the study as read here for the count (:func:`~hpsearch.search.proposing_with`).
        """
        now = time.monotonic()
        if now < self._next_look:
            return "wait"
        with self.lock.held():
            trials = self._trials()
            if self.sweep(trials):  # lost trials were failed (and maybe requeued): read them again
                trials = self._trials()
            counts = self.counts = count(trials, self.policy.batch)
            if self.policy.batch is not None and not counts.waiting:  # a confirmation samples nothing new
                if counts.running:
                    self._next_look = now + self.poll_s
                    return "wait"
                self.finished = True
                return "finished"
            if counts.done >= self.policy.budget:
                self._drop_unneeded_retries()
                self.finished = True
                return "finished"
            if counts.failed_own >= self.policy.max_failed_trials:
                raise StudyFailing(
                    f"{counts.failed_own} trials of study {self.study.study_name!r} failed (max_failed_trials "
                    f"{self.policy.max_failed_trials}); the last: {counts.last_failure}")
            if counts.done + counts.running >= self.policy.budget:
                self._next_look = now + self.poll_s
                return "wait"
            with proposing_with(self.study, trials):
                trial = retrying(self.study.ask, "creating a trial")
            trial_id = self.hold(trial.number)
            attrs: dict[str, Any] = {}
            params: dict[str, Any] = {}
            try:
                if propose is not None:
                    with params_held(trial, self.storage, trial_id, trials) as params:
                        attrs = propose(trial)
            finally:  # every claim names its driver before it lets go of the lock, sampled or not
                retrying(lambda: write_claim(self.storage, trial_id, params, {DRIVER_ATTR: self.identity, **attrs}),
                         "recording the trial's driver")
        return trial

    def start_baseline(self, kind: str) -> int:
        """A running trial for the study baseline `kind`, held by this driver (call under the lock)."""
        template = optuna.trial.create_trial(state=TrialState.RUNNING,
                                             user_attrs={BASELINE_ATTR: kind, DRIVER_ATTR: self.identity})
        trial_id = retrying(lambda: self.storage.create_new_trial(self.study_id, template), "claiming a baseline")
        number = retrying(lambda: self.storage.get_trial_number_from_id(trial_id), "reading a trial")
        self.hold(number)
        return number

    def _drop_unneeded_retries(self) -> None:
        """Retries still waiting once the study is complete will never run: say so (call under the lock)."""
        for trial in self._trials():
            if trial.state == TrialState.WAITING and counts_toward_budget(trial):
                self.fail(trial.number, f"not run: the study's budget of {self.policy.budget} complete trials "
                          "was met first", "unneeded", retry=False)

    def hold(self, number: int) -> int:
        """Beat the heartbeat of a trial this driver runs, from now until :meth:`drop`."""
        trial_id = self.trial_id(number)
        with self._held_lock:
            self.held[trial_id] = number
        return trial_id

    def drop(self, number: int) -> None:
        """Trial `number` of this driver ended: no longer held, and the next claim looks at once (the
        counts that made it wait have changed), not `poll_s` after its last look."""
        with self._held_lock:
            for trial_id, held in list(self.held.items()):
                if held == number:
                    del self.held[trial_id]
        self._next_look = 0.0

    # ------------------------------------------------------------------ finishing

    def tell(self, trial: "optuna.Trial", values: list[float] | None, state: TrialState,
             attrs: Mapping[str, Any] | None = None, constraints: Mapping[str, float] | None = None) -> bool:
        """Tell the study how `trial` ended, with its user `attrs` and `constraints` (``set_constraint``'s
        values), retrying transient faults; False if another driver had already failed it as lost
        (its retry runs the parameters again).

        On Optuna's RDB schema (:func:`~hpsearch.study._storage.finish_trial`) a COMPLETE or FAIL trial
        is finished in one transaction, after the sampler's ``after_trial`` as ``study.tell`` calls it;
        elsewhere the attributes, the constraints and ``study.tell`` go one after the other.
        """
        attrs = dict(attrs or {})
        constraints = dict(constraints or {})
        at_once = (can_finish_at_once(self.storage) and state in (TrialState.COMPLETE, TrialState.FAIL)
                   and (values is None or all(math.isfinite(v) for v in values)))
        trial_id = self._held_id(trial.number)
        if at_once:
            frozen = retrying(lambda: self.storage.get_trial(trial_id), "reading a trial")
            if frozen.state == TrialState.RUNNING:
                self.study.sampler.after_trial(self.study, frozen, state, values)
        else:
            if attrs:
                retrying(lambda: self.set_user_attrs(trial, attrs), f"recording trial {trial.number}")
            for key, value in constraints.items():
                retrying(lambda: trial.set_constraint(key, value), f"recording trial {trial.number}")

        def told() -> bool:
            try:
                if at_once:
                    finish_trial(self.storage, trial_id, state, values, attrs, constraints)
                else:
                    self.study.tell(trial, values, state=state)
                return True
            except optuna.exceptions.UpdateFinishedTrialError:
                pass
            except ValueError as exc:  # "Cannot tell a COMPLETE trial": it already finished
                if "cannot tell a" not in str(exc).lower():
                    raise
            now = self.study.get_trials(deepcopy=False)[trial.number]
            # a retried tell whose first try was committed before the connection dropped
            return now.state == state and (values is None or list(now.values or []) == list(values))

        try:
            return retrying(told, f"recording trial {trial.number}")
        finally:
            self.drop(trial.number)

    def fail(self, trial_number: int, reason: str, kind: str, retry: bool) -> None:
        """Mark a trial FAIL with `reason` (if it is still running) and, with `retry`, enqueue its
        parameters again (up to `max_retries` times; the reason says when it is not)."""
        trial_id = self.trial_id(trial_number)
        trial = retrying(lambda: self.storage.get_trial(trial_id), "reading a trial")
        retries = int(trial.user_attrs.get(RETRIES_ATTR, 0))
        retry = retry and not is_study_baseline(trial)  # a study baseline is run by the next driver that starts
        if retry and retries >= self.policy.max_retries:
            reason += f"; not run again: retried {retries} times (max_retries {self.policy.max_retries})"
            retry = False

        def marked() -> bool:
            try:
                self.storage.set_trial_user_attr(trial_id, "fail_reason", reason)
                self.storage.set_trial_user_attr(trial_id, FAIL_KIND_ATTR, kind)
                return bool(self.storage.set_trial_state_values(trial_id, TrialState.FAIL))
            except optuna.exceptions.UpdateFinishedTrialError:
                return False  # it ended meanwhile (another driver failed it, or its result came in)

        try:
            failed = retrying(marked, f"failing trial {trial_number}")
        finally:
            self.drop(trial_number)
        if failed and retry:
            attrs = {RETRY_OF_ATTR: trial.number, RETRIES_ATTR: retries + 1}
            for key in (BASELINE_ATTR, BATCH_ATTR, CONFIRM_ATTR, FIXED_ATTR):  # what it was enqueued as
                if trial.user_attrs.get(key) is not None:
                    attrs[key] = trial.user_attrs[key]
            again = optuna.trial.create_trial(state=TrialState.WAITING, params=trial.params,
                                              distributions=trial.distributions, user_attrs=attrs)
            retrying(lambda: self.study.add_trial(again), "enqueueing a retry")

    def release(self, reason: str, kind: str) -> list[int]:
        """Fail every trial this driver still runs (it is stopping) and enqueue each again."""
        with self._held_lock:
            numbers = sorted(set(self.held.values()))
        for number in numbers:
            try:
                self.fail(number, reason, kind, retry=True)
            except Exception as exc:  # noqa: BLE001 - its heartbeat stops with us: another driver fails it
                log.warning("could not mark trial %d as %s: %s", number, kind, exc)
        return numbers

    # ------------------------------------------------------------------ lost trials

    def sweep(self, trials: list["FrozenTrial"] | None = None) -> list[int]:
        """Fail the study's lost trials (call with the lock held): those whose driver's heartbeat
        stopped, those whose driver on this machine is dead, and a running trial no driver took (a
        claim that a database fault cut short). Return their numbers. `trials`: the study's
        trials as just read under the lock (read here when not given)."""
        lost = []
        host = self.identity["host"]
        clock: list[tuple[dict[str, Any], float]] = []  # (heartbeats, the database's now), read when needed
        grace = self.policy.stale_after_s
        for trial in self._trials() if trials is None else trials:
            if trial.state != TrialState.RUNNING:
                continue
            driver = trial.user_attrs.get(DRIVER_ATTR)
            if not isinstance(driver, dict):  # every claim names its driver before it lets go of the lock
                if is_study_baseline(trial):
                    continue
                reason = "lost: no driver ran it (a claim cut short by a database fault, or an earlier hpsearch)"
            elif driver.get("id") == self.identity["id"]:
                continue
            elif driver.get("host") == host and not _alive(driver):
                reason = f"lost: its driver ({host} pid {driver.get('pid')}) is gone"
            else:
                if not clock:
                    clock.append((retrying(lambda: self.storage.get_study_system_attrs(self.study_id),
                                           "reading the study"), self.db_now()))
                beats, now = clock[0]
                beat = beats.get(ALIVE_KEY + str(driver.get("id")))
                if beat is not None and now - float(beat) <= grace:
                    continue
                reason = f"lost: no heartbeat for {grace}s from its driver ({driver_label(trial)})"
            self.fail(trial.number, reason, "lost", retry=True)
            lost.append(trial.number)
        return lost

    def db_now(self) -> float:
        """The database server's clock, in seconds since the epoch."""
        from datetime import datetime, timezone

        from sqlalchemy import func, select

        def read() -> float:
            with self.storage.engine.connect() as connection:
                value = connection.execute(select(func.now())).scalar()
            if isinstance(value, str):  # SQLite's CURRENT_TIMESTAMP, in UTC
                value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return float(value.timestamp())

        return retrying(read, "reading the database's clock")

    # ------------------------------------------------------------------ heartbeats

    def start(self) -> None:
        self._beat = threading.Thread(target=self._beating, name="hpsearch-heartbeat", daemon=True)
        self._beat.start()

    def stop(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)

    def beat(self) -> None:
        """Tell the study this driver is alive (the database's time)."""
        now = self.db_now()
        retrying(lambda: self.storage.set_study_system_attr(self.study_id, ALIVE_KEY + self.identity["id"], now),
                 "beating the heartbeat", deadline_s=max(30, self.policy.stale_after_s / 2))

    def _beating(self) -> None:
        while not self._stop.wait(self.policy.heartbeat_interval_s):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("heartbeat not recorded: %s", exc)

    def set_user_attrs(self, trial: "optuna.Trial", attrs: dict[str, Any]) -> None:
        """Every attribute of `trial` (which this driver runs) in one write (``write_user_attrs``)."""
        write_user_attrs(self.storage, self._held_id(trial.number), attrs)

    def _held_id(self, number: int) -> int:
        """The storage's id of trial `number`, without a read when this driver holds it."""
        with self._held_lock:
            ids = [i for i, n in self.held.items() if n == number]
        return ids[0] if ids else self.trial_id(number)

    def trial_id(self, number: int) -> int:
        """The storage's id of trial `number` of this study."""
        return retrying(lambda: self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number),
                        "reading a trial")

    def _trials(self) -> list["FrozenTrial"]:
        return retrying(lambda: self.study.get_trials(deepcopy=False), "reading the study's trials")
