"""A shared study's budget, heartbeats, lost trials and retries, against the real PostgreSQL (and
SQLite where the point is the embedded default). No Ray: drivers here are Ledgers in threads and
processes, each with its own connection, as separate drivers would be."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from functools import partial
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hpsearch.plan import load_plan
from hpsearch.space import suggest
from hpsearch.study._faults import StudyLock, is_transient, retrying
from hpsearch.study._ledger import FAIL_KIND_ATTR, RETRY_OF_ATTR, Ledger, Policy, StudyFailing
from hpsearch.study._storage import open_storage

from ..conftest import need
from .test_storage import _postgres_up

PG = "postgresql://postgres@127.0.0.1:5432/test"


def _pg() -> str:
    need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
    return PG


class Driver:
    """What a driver process holds: its own storage (connection pool), lock and ledger."""

    def __init__(self, url: str, name: str, policy: Policy, seed: int = 0) -> None:
        storage = open_storage(url)
        study = optuna.create_study(study_name=name, storage=storage, directions=["maximize"], load_if_exists=True,
                                    sampler=optuna.samplers.RandomSampler(seed=seed))
        self.ledger = Ledger(study, storage, StudyLock(url, name), policy)
        self.ledger.register(seed)

    def claim(self):
        return self.ledger.claim()


def _run_to_budget(driver: Driver, space, done: list[int]) -> None:
    driver.ledger.poll_s = 0.05
    while True:
        claimed = driver.claim()
        if claimed == "finished":
            return
        if claimed == "wait":
            time.sleep(0.05)
            continue
        space(claimed)
        time.sleep(0.02)  # a trial takes a while: the others claim meanwhile
        driver.ledger.tell(claimed, [0.5], TrialState.COMPLETE)
        done.append(claimed.number)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_the_budget_is_the_studys_however_many_drivers_claim_at_once(backend: str, toy_space: Path,
                                                                     tmp_path: Path) -> None:
    url = _pg() if backend == "postgresql" else f"sqlite:///{tmp_path / 'shared.db'}"
    name = f"budget-{uuid.uuid4().hex[:8]}"
    space = partial(suggest, load_plan(toy_space).space)
    drivers = [Driver(url, name, Policy(budget=7), seed=i) for i in range(4)]
    done: list[int] = []
    threads = [threading.Thread(target=_run_to_budget, args=(d, space, done)) for d in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    trials = optuna.load_study(study_name=name, storage=url).get_trials()
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 7
    assert len(trials) == 7 and sorted(done) == list(range(7))  # no slot taken twice, none left running
    if backend == "sqlite":
        import sqlite3

        assert sqlite3.connect(tmp_path / "shared.db").execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_trial_whose_heartbeat_stopped_is_failed_and_its_parameters_run_again(toy_space: Path) -> None:
    url, name = _pg(), f"stale-{uuid.uuid4().hex[:8]}"
    space = partial(suggest, load_plan(toy_space).space)
    policy = Policy(budget=1, heartbeat_interval_s=1, stale_after_s=2)
    gone = Driver(url, name, policy)
    lost = gone.claim()
    params = space(lost)
    # the driver vanishes (another machine: its process cannot be looked up), the heartbeat stops
    gone.ledger.held.clear()
    other = Driver(url, name, policy, seed=1)
    other.ledger.identity = {**other.ledger.identity, "host": "another-host"}
    assert other.claim() == "wait"  # the lost trial still counts while its heartbeat is fresh
    time.sleep(3.5)
    other.ledger.poll_s = 0
    other.ledger._next_look = 0
    retry = other.claim()
    assert space(retry) == params
    trials = other.ledger.study.get_trials()
    assert trials[lost.number].state == TrialState.FAIL
    assert trials[lost.number].user_attrs["fail_reason"].startswith("lost: no heartbeat for 2s")
    assert trials[lost.number].user_attrs[FAIL_KIND_ATTR] == "lost"
    assert trials[retry.number].user_attrs[RETRY_OF_ATTR] == lost.number


_DIES = """
import os, sys, time, optuna
sys.path.insert(0, {root!r})
from tests.study.test_ledger import Driver
from hpsearch.study._ledger import Policy
driver = Driver({url!r}, {name!r}, Policy(budget=2))
trial = driver.claim()
trial.suggest_float("x", 0, 1)
print(trial.number, flush=True)
time.sleep(600)
"""


def test_a_trial_whose_driver_on_this_machine_was_killed_is_failed_at_once(tmp_path: Path) -> None:
    url, name = _pg(), f"killed-{uuid.uuid4().hex[:8]}"
    root = str(Path(__file__).resolve().parents[2])
    child = subprocess.Popen([sys.executable, "-c", _DIES.format(root=root, url=url, name=name)],
                             stdout=subprocess.PIPE, text=True, cwd=root)
    number = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    driver = Driver(url, name, Policy(budget=2))  # default 60 s grace: it does not wait for it
    retry = driver.claim()
    lost = driver.ledger.study.get_trials()[number]
    assert lost.state == TrialState.FAIL and "is gone" in lost.user_attrs["fail_reason"]
    assert retry.params == lost.params and retry.user_attrs[RETRY_OF_ATTR] == number


_DIES_SAMPLING = """
import os, sys
sys.path.insert(0, {root!r})
from tests.study.test_ledger import Driver
from hpsearch.study._ledger import Policy
driver = Driver({url!r}, {name!r}, Policy(budget=2))

def propose(trial):
    trial.suggest_float("x", 0, 1)
    trial.suggest_int("y", 0, 3)
    print(trial.number, flush=True)
    os._exit(9)  # the driver dies between its trial's sampling and the claim's write

driver.ledger.claim(propose)
"""


def test_a_driver_that_dies_while_sampling_leaves_no_half_written_trial(tmp_path: Path) -> None:
    url, name = f"sqlite:///{tmp_path / 'died.db'}", f"sampling-{uuid.uuid4().hex[:8]}"
    root = str(Path(__file__).resolve().parents[2])
    child = subprocess.run([sys.executable, "-c", _DIES_SAMPLING.format(root=root, url=url, name=name)],
                           capture_output=True, text=True, cwd=root, timeout=120)
    number = int(child.stdout)
    died = optuna.load_study(study_name=name, storage=url).get_trials()[number]
    assert died.state == TrialState.RUNNING and died.params == {} and died.user_attrs == {}
    driver = Driver(url, name, Policy(budget=2))
    retry = driver.claim()
    lost = driver.ledger.study.get_trials()[number]
    assert lost.state == TrialState.FAIL and lost.user_attrs["fail_reason"].startswith("lost: no driver ran it")
    assert lost.params == {} and retry.user_attrs[RETRY_OF_ATTR] == number


def test_retries_are_capped_and_the_reason_says_so() -> None:
    url, name = _pg(), f"capped-{uuid.uuid4().hex[:8]}"
    driver = Driver(url, name, Policy(budget=3, max_retries=1))
    first = driver.claim()
    first.suggest_float("x", 0, 1)
    driver.ledger.fail(first.number, "lost: test", "lost", retry=True)
    again = driver.claim()
    assert again.params == first.params
    driver.ledger.fail(again.number, "lost: test", "lost", retry=True)
    trials = driver.ledger.study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]  # nothing enqueued a third time
    assert "not run again: retried 1 times" in trials[again.number].user_attrs["fail_reason"]


def test_a_driver_whose_own_trial_ends_looks_at_the_study_at_once(tmp_path: Path) -> None:
    """While its running trials fill the budget a driver waits `poll_s` between looks; once one of its
    own trials ends, the next claim looks at once (the study's last trial told: finished, not 'wait')."""
    driver = Driver(f"sqlite:///{tmp_path / 'poll.db'}", "poll", Policy(budget=2))
    driver.ledger.poll_s = 3600.0
    first, second = driver.claim(), driver.claim()
    assert driver.claim() == "wait"
    driver.ledger.tell(first, [0.5], TrialState.COMPLETE)
    assert driver.claim() == "wait"  # the other still runs
    driver.ledger.tell(second, [0.4], TrialState.COMPLETE)
    assert driver.claim() == "finished"


def test_a_study_whose_trials_keep_failing_stops_with_the_last_reason() -> None:
    url, name = _pg(), f"failing-{uuid.uuid4().hex[:8]}"
    driver = Driver(url, name, Policy(budget=5, max_failed_trials=2))
    for kind in ("trial", "lost", "interrupted", "trial"):
        trial = driver.claim()  # a lost or interrupted trial is not the space's doing: it does not count
        driver.ledger.fail(trial.number, "CUDA out of memory" if kind == "trial" else kind, kind, retry=False)
    with pytest.raises(StudyFailing, match=r"2 trials of study .* failed \(max_failed_trials 2\); "
                                           r"the last: CUDA out of memory"):
        driver.claim()


def test_a_tell_whose_first_try_was_committed_is_not_an_error() -> None:
    url, name = _pg(), f"tell-{uuid.uuid4().hex[:8]}"
    driver = Driver(url, name, Policy(budget=1))
    trial = driver.claim()
    driver.ledger.study.tell(trial, [0.7])  # committed; then the connection "dropped" before the answer
    assert driver.ledger.tell(trial, [0.7], TrialState.COMPLETE)
    assert driver.claim() == "finished"


def test_transient_faults_are_retried_and_others_raised() -> None:
    from sqlalchemy.exc import OperationalError

    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise optuna.exceptions.StorageInternalError("commit failed") from OperationalError(
                "SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return "ok"

    assert retrying(flaky, "test", first_wait_s=0.01) == "ok" and len(calls) == 3
    assert not is_transient(ValueError("Cannot tell a COMPLETE trial"))
    with pytest.raises(ValueError):
        retrying(lambda: (_ for _ in ()).throw(ValueError("no")), "test")


def _restart_postgres() -> None:
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   capture_output=True, timeout=120)


def test_a_postgresql_restart_mid_study_loses_no_trial_and_crashes_nothing(toy_space: Path) -> None:
    url, name = _pg(), f"restart-{uuid.uuid4().hex[:8]}"
    need(Path("/etc/postgresql").is_dir(), "a local PostgreSQL cluster this test may restart")
    space = partial(suggest, load_plan(toy_space).space)
    driver = Driver(url, name, Policy(budget=12, heartbeat_interval_s=1, stale_after_s=30))
    driver.ledger.start()
    done: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            _run_to_budget(driver, space, done)
        except BaseException as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    worker = threading.Thread(target=work)
    driver.ledger.poll_s = 0.05
    original = driver.ledger.tell

    def slow_tell(trial, values, state):
        time.sleep(0.3)
        return original(trial, values, state)

    driver.ledger.tell = slow_tell  # type: ignore[method-assign]
    worker.start()
    time.sleep(1.0)
    _restart_postgres()
    worker.join(timeout=180)
    driver.ledger.stop()
    assert not errors, errors
    trials = optuna.load_study(study_name=name, storage=url).get_trials()
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 12
    assert TrialState.RUNNING not in {t.state for t in trials}


def test_a_retry_left_waiting_when_the_budget_is_met_is_closed_with_the_reason() -> None:
    url, name = _pg(), f"unneeded-{uuid.uuid4().hex[:8]}"
    driver = Driver(url, name, Policy(budget=1))
    lost = driver.claim()
    lost.suggest_float("x", 0, 1)
    driver.ledger.fail(lost.number, "lost: test", "lost", retry=True)  # retry enqueued, waiting
    driver.ledger.study.add_trial(optuna.trial.create_trial(values=[0.5], params={"x": 0.1},
                                                            distributions={"x": optuna.distributions.FloatDistribution(0, 1)}))
    assert driver.claim() == "finished"
    retry = driver.ledger.study.get_trials()[1]
    assert retry.state == TrialState.FAIL and retry.user_attrs[FAIL_KIND_ATTR] == "unneeded"
    assert "budget of 1 complete trials was met first" in retry.user_attrs["fail_reason"]
