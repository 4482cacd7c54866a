"""The Ray-side searcher, exercised without running Ray: what lands in the study database."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import optuna
import pytest

from hpsearch.plan import load_plan
from hpsearch.space import suggest
from hpsearch.study import ATTRS_KEY, ERROR_KEY, METRICS_KEY, StudySearch, open_storage

from ..conftest import need
from .test_storage import PG, _postgres_up


def _searcher(toy_space: Path, url: str | None = None, name: str = "toy") -> StudySearch:
    from functools import partial

    from hpsearch.study._faults import StudyLock
    from hpsearch.study._ledger import Ledger, Policy

    plan = load_plan(toy_space)
    url = url or f"sqlite:///{toy_space.parent / 'searcher.db'}"
    storage = open_storage(url)
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True,
                                directions=["maximize", "minimize", "minimize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    ledger = Ledger(study, storage, StudyLock(url, name), Policy(budget=10))
    ledger.register(0)
    return StudySearch(ledger, partial(suggest, plan.space), ["macro_f1", "f1_gap", "latency_p50_ms"])


def _final(values: tuple[float, float, float]) -> dict:
    metrics = dict(zip(["macro_f1", "f1_gap", "latency_p50_ms"], values))
    return {**metrics, METRICS_KEY: json.dumps({**metrics, "group/group=a/n": 60.0}),
            ATTRS_KEY: json.dumps({"device": {"cpu": "x"}})}


def test_complete_trial_records_every_metric(toy_space: Path) -> None:
    searcher = _searcher(toy_space)
    config = searcher.suggest("t1")
    assert {"learning_rate", "batch_size", "epochs", "max_length"} <= set(config)
    searcher.on_trial_complete("t1", _final((0.8, 0.1, 2.0)))
    (trial,) = searcher.ledger.study.get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.values == [0.8, 0.1, 2.0]
    assert trial.user_attrs["group/group=a/n"] == 60.0 and trial.user_attrs["device"] == {"cpu": "x"}


@pytest.mark.parametrize(
    "result, reason",
    [
        ({ERROR_KEY: "quantization=nf4 needs a CUDA GPU"}, "quantization=nf4 needs a CUDA GPU"),
        (_final((0.8, float("nan"), 2.0)), "objective(s) not measured: f1_gap"),
    ],
)
def test_failed_trials_are_marked_fail_with_their_reason(toy_space: Path, result: dict, reason: str) -> None:
    searcher = _searcher(toy_space)
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", result, error=True)
    (trial,) = searcher.ledger.study.get_trials()
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == reason and trial.user_attrs["fail_kind"] == "trial"


def test_a_trial_whose_worker_died_is_lost_and_its_parameters_run_again(toy_space: Path) -> None:
    searcher = _searcher(toy_space)
    config = searcher.suggest("t1")
    searcher.on_trial_complete("t1", {"epoch": 1.0, "macro_f1": 0.3}, error=True)  # Ray: the actor died
    lost, retry = searcher.ledger.study.get_trials()
    assert lost.state == optuna.trial.TrialState.FAIL and lost.user_attrs["fail_kind"] == "lost"
    assert lost.user_attrs["fail_reason"] == "lost: its worker stopped before reporting a result"
    assert retry.state == optuna.trial.TrialState.WAITING and retry.params == lost.params
    assert searcher.suggest("t2") == config  # the next claim runs it


def test_trials_lost_one_after_another_stop_the_run_and_a_report_between_resets_the_count(toy_space: Path) -> None:
    from hpsearch.study._searcher import WorkersFailing

    searcher = _searcher(toy_space)  # max_failed_trials 10 (the ledger's default policy)
    for i in range(9):
        searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {}, error=True)
    assert searcher.fatal is None and searcher.lost_in_a_row == 9
    searcher.suggest("ok")
    searcher.on_trial_complete("ok", _final((0.8, 0.1, 2.0)))  # a trial reported: the workers can run trials
    assert searcher.lost_in_a_row == 0
    for i in range(10):
        assert searcher.fatal is None
        searcher.suggest(f"u{i}")
        searcher.on_trial_complete(f"u{i}", {}, error=True)
    assert isinstance(searcher.fatal, WorkersFailing)  # raised by run() once Tune stops
    assert str(searcher.fatal).startswith("10 trials in a row were lost")
    assert searcher.suggest("next") == "FINISHED"
    failed = [t for t in searcher.ledger.study.get_trials() if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 19 and {t.user_attrs["fail_kind"] for t in failed} == {"lost"}


def test_a_failure_of_the_trial_itself_is_a_report_not_a_lost_worker(toy_space: Path) -> None:
    searcher = _searcher(toy_space)
    for i in range(3):
        searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {}, error=True)
    searcher.suggest("own")
    searcher.on_trial_complete("own", {ERROR_KEY: "quantization=nf4 needs a CUDA GPU"}, error=True)
    assert searcher.lost_in_a_row == 0 and searcher.fatal is None


@pytest.mark.parametrize("text, line", [
    ("The actor died unexpectedly.\n\tclass_name: ImplicitFunc\nRuntimeError: The actor with name ImplicitFunc "
     "failed to import on the worker.\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
     "ModuleNotFoundError: No module named 'elsewhere'\n\nAn unexpected internal error occurred.",
     "ModuleNotFoundError: No module named 'elsewhere'"),
    ("The actor died unexpectedly before finishing this task.", "The actor died unexpectedly before finishing this task."),
    ("", "RuntimeError"),
])
def test_the_line_that_names_a_workers_error(text: str, line: str) -> None:
    from hpsearch.study._searcher import worker_error

    assert worker_error(RuntimeError(text)) == line


def test_a_tell_that_keeps_failing_stops_the_driver_with_the_reason(toy_space: Path, monkeypatch) -> None:
    from hpsearch.study._faults import DatabaseUnavailable

    searcher = _searcher(toy_space)
    searcher.suggest("t1")

    def broken(*args, **kwargs):
        raise DatabaseUnavailable("recording trial 0: the study database kept failing for 180s")

    monkeypatch.setattr(searcher.ledger, "tell", broken)
    searcher.on_trial_complete("t1", _final((0.8, 0.1, 2.0)))
    assert isinstance(searcher.fatal, DatabaseUnavailable)  # raised by run() once Tune stops
    assert searcher.suggest("t2") == "FINISHED"


def test_searcher_state_pickled_by_ray_holds_no_database_password(toy_space: Path) -> None:
    need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
    import uuid

    name = f"pickle-{uuid.uuid4().hex[:8]}"
    storage = open_storage(PG)
    searcher = _searcher(toy_space, url=PG, name=name)
    try:
        searcher.suggest("t1")
        blob = pickle.dumps(searcher)
        assert b"s3cret-pw" not in blob
        restored = pickle.loads(blob)
        assert restored.ledger is None
    finally:
        optuna.delete_study(study_name=name, storage=storage)


def test_baseline_trial_trains_only_the_head_and_is_reported(toy_space: Path) -> None:
    from hpsearch.report import baseline_lines
    from hpsearch.space import BASELINE_ATTR

    searcher = _searcher(toy_space)
    searcher.ledger.study.set_metric_names(["macro_f1", "f1_gap", "latency_p50_ms"])
    searcher.ledger.study.enqueue_trial({}, user_attrs={BASELINE_ATTR: "head"})
    first, second = searcher.suggest("t1"), searcher.suggest("t2")
    assert first["method"] == "head" and second.get("method", "lora") == "lora"
    searcher.on_trial_complete("t1", _final((0.4, 0.2, 2.0)))
    searcher.on_trial_complete("t2", _final((0.8, 0.1, 2.5)))
    lines = baseline_lines(searcher.ledger.study)
    assert lines[0] == "Baseline head (trial 0): macro_f1 0.4 -> best 0.8; f1_gap 0.2 -> best 0.1; " \
                       "latency_p50_ms 2 -> best 2.5"
    assert "beats every fine-tuned trial on the front on latency_p50_ms." in lines[1] and len(lines) == 2


def test_an_address_where_nothing_answers_is_one_line_at_once_and_writes_nothing(toy_space: Path, capsys) -> None:
    import socket
    import time

    from hpsearch.cli import main

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = toy_space.parent / "unreached.db"
    started = time.monotonic()
    assert main(["run", str(toy_space), "--storage", f"sqlite:///{db}", "--address", f"127.0.0.1:{port}"]) == 2
    assert time.monotonic() - started < 30
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: --address: nothing answers at 127.0.0.1:{port}")
    assert not db.exists()
    for address in ("garbage", "127.0.0.1:http", "foo://127.0.0.1:1"):  # not an address Ray could join
        assert main(["run", str(toy_space), "--storage", f"sqlite:///{db}", "--address", address]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"error: --address: not HOST:PORT: {address!r} (the head node's address")
        assert not db.exists()


def test_a_trial_the_scheduler_stopped_is_pruned_with_its_epochs_and_counts_toward_the_budget(toy_space: Path) -> None:
    from types import SimpleNamespace

    from ray.tune.schedulers import TrialScheduler

    from hpsearch.search import make_scheduler
    from hpsearch.study._early_stopping import EarlyStopping
    from hpsearch.study._ledger import count

    searcher = _searcher(toy_space)
    names = ["macro_f1", "f1_gap", "latency_p50_ms"]
    rule = make_scheduler("mo_asha", names, ["maximize", "minimize", "minimize"],
                          {"grace_period": 1, "reduction_factor": 2})
    scheduler = searcher.scheduler = EarlyStopping(rule, names)
    for trial_id, values in (("t1", (0.8, 0.1, 2.0)), ("t2", (0.5, 0.2, 3.0))):
        searcher.suggest(trial_id)
        epoch = {"epoch": 1.0, "train_loss": 1.0, **dict(zip(names, values))}
        decision = scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial_id), epoch)
        assert decision == (TrialScheduler.CONTINUE if trial_id == "t1" else TrialScheduler.STOP)
    searcher.on_trial_complete("t2", {"epoch": 1.0, "macro_f1": 0.5})
    searcher.on_trial_complete("t1", _final((0.8, 0.1, 2.0)))
    first, second = searcher.ledger.study.get_trials()
    assert first.state == optuna.trial.TrialState.COMPLETE
    assert second.state == optuna.trial.TrialState.PRUNED and second.values is None
    assert second.user_attrs["stopped_after_epoch"] == 1
    assert second.user_attrs["intermediate_values"] == {"macro_f1": 0.5, "f1_gap": 0.2, "latency_p50_ms": 3.0}
    assert "placed 2 of the 2" in second.user_attrs["pruned_reason"]
    assert count(searcher.ledger.study.get_trials()).done == 2


ES_NAMES = ["macro_f1", "f1_gap", "latency_p50_ms"]


def _early_stopping(searcher: StudySearch) -> Any:
    """mo_asha (grace 1, reduction 2) on the study, as the driver builds it."""
    from hpsearch.search import make_scheduler
    from hpsearch.study._early_stopping import EarlyStopping, finished_trials

    rule = make_scheduler("mo_asha", ES_NAMES, ["maximize", "minimize", "minimize"],
                          {"grace_period": 1, "reduction_factor": 2})
    searcher.scheduler = EarlyStopping(rule, ES_NAMES, finished=finished_trials(searcher.ledger.study),
                                       number=searcher.trial_number)
    return searcher.scheduler


def _epoch(scheduler: Any, trial_id: str, epoch: int, values: tuple) -> str:
    from types import SimpleNamespace

    row = {"epoch": float(epoch), "epochs": 2.0, "train_loss": 1.0, **dict(zip(ES_NAMES, values))}
    return scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial_id), row)


def _complete(searcher: StudySearch, trial_id: str, rows: list[tuple[int, tuple]]) -> None:
    history = [{"epoch": float(e), **dict(zip(ES_NAMES, v))} for e, v in rows]
    searcher.on_trial_complete(trial_id, {**_final(rows[-1][1]), ATTRS_KEY: json.dumps({"history": history})})


def test_early_stopping_compares_with_the_study_s_finished_trials_of_every_run(toy_space: Path) -> None:
    from ray.tune.schedulers import TrialScheduler

    from hpsearch.search import make_scheduler
    from hpsearch.study._early_stopping import EarlyStopping

    go, stop = TrialScheduler.CONTINUE, TrialScheduler.STOP
    # an earlier run: trial 0 runs its 2 epochs and completes with its per-epoch reports
    first = _searcher(toy_space)
    scheduler = _early_stopping(first)
    first.suggest("a")
    rows = [(1, (0.7, 0.1, 2.0)), (2, (0.8, 0.1, 2.0))]
    assert all(_epoch(scheduler, "a", e, v) == go for e, v in rows)
    _complete(first, "a", rows)
    # the same run's next trial: trial 0 is in the rung once, by its number, though the study has it too
    first.suggest("a2")
    assert _epoch(scheduler, "a2", 1, (0.75, 0.1, 2.0)) == go
    assert [t for t, _, _ in scheduler.rule.rungs[1]] == ["0", "1"]
    _complete(first, "a2", [(1, (0.75, 0.1, 2.0)), (2, (0.8, 0.1, 2.0))])

    # a new run on the study (a resumed search, or another driver): its first trial is not the first
    # to reach epoch 1, so it is stopped where it places behind the study's trials
    second = _searcher(toy_space)
    scheduler = _early_stopping(second)
    second.suggest("b")
    assert _epoch(scheduler, "b", 1, (0.5, 0.2, 3.0)) == stop
    assert "placed 3 of the 3 trials that reached epoch 1" in scheduler.stopped["b"]
    # the same report to a rule that hears only its own run: the first at its rung always goes on
    alone = EarlyStopping(make_scheduler("mo_asha", ES_NAMES, ["maximize", "minimize", "minimize"],
                                         {"grace_period": 1, "reduction_factor": 2}), ES_NAMES)
    assert _epoch(alone, "b", 1, (0.5, 0.2, 3.0)) == go


def test_two_drivers_at_once_on_postgresql_rank_among_each_other_s_finished_trials(toy_space: Path) -> None:
    need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
    import uuid

    from ray.tune.schedulers import TrialScheduler

    name = f"halving-{uuid.uuid4().hex[:8]}"
    one, two = _searcher(toy_space, url=PG, name=name), _searcher(toy_space, url=PG, name=name)
    try:
        ones, twos = _early_stopping(one), _early_stopping(two)
        one.suggest("a")
        assert _epoch(ones, "a", 1, (0.7, 0.1, 2.0)) == TrialScheduler.CONTINUE
        # the other driver's trial is still running: not in the study's record yet, so not heard
        two.suggest("b")
        assert _epoch(twos, "b", 1, (0.6, 0.1, 2.5)) == TrialScheduler.CONTINUE
        _complete(one, "a", [(1, (0.7, 0.1, 2.0)), (2, (0.8, 0.1, 2.0))])
        # once it has finished, the next trial of the second driver is ranked among both
        two.suggest("c")
        assert _epoch(twos, "c", 1, (0.5, 0.2, 3.0)) == TrialScheduler.STOP
        assert "placed 3 of the 3 trials that reached epoch 1" in twos.stopped["c"]
        assert [t for t, _, _ in twos.rule.rungs[1]] == ["1", "0", "2"]
    finally:
        optuna.delete_study(study_name=name, storage=open_storage(PG))


def test_early_stopping_decides_on_what_it_has_while_the_study_cannot_be_read() -> None:
    from types import SimpleNamespace

    from ray.tune.schedulers import TrialScheduler

    from hpsearch.search import make_scheduler
    from hpsearch.study._early_stopping import EarlyStopping
    from hpsearch.study._faults import DatabaseUnavailable

    def unreadable() -> list:
        raise DatabaseUnavailable("the study database kept failing")

    scheduler = EarlyStopping(make_scheduler("mo_asha", ["macro_f1"], ["maximize"], {"reduction_factor": 2}),
                              ["macro_f1"], finished=unreadable)
    for trial_id, f1, decision in (("a", 0.6, TrialScheduler.CONTINUE), ("b", 0.4, TrialScheduler.STOP)):
        row = {"epoch": 1.0, "train_loss": 1.0, "macro_f1": f1}
        assert scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial_id), row) == decision
    assert pickle.loads(pickle.dumps(scheduler)).study_trials is None  # Ray's experiment state: no database


def test_each_trial_records_why_it_was_proposed(toy_space: Path) -> None:
    searcher = _searcher(toy_space)
    searcher.sampler = ("tpe", {"n_startup_trials": 1})
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", _final((0.8, 0.1, 2.0)))
    searcher.suggest("t2")
    searcher.on_trial_complete("t2", {}, error=True)  # lost: its parameters run again
    searcher.suggest("t3")
    first, lost, retry = (t.user_attrs.get("proposed_by") for t in searcher.ledger.study.get_trials())
    assert first == "random start (0 of tpe's 1 start-up trials done)"
    assert lost == "model-based (tpe, from 1 trials)"
    assert retry == "retry of trial 1"


def test_a_resumed_study_keeps_the_random_start_up_its_first_run_fitted_to_its_budget(toy_space: Path) -> None:
    """gp_pool's reference is the median of the start-up trials: a run resumed with more trials must not
    take it from more of them (the model's own proposals among them), nor start a new random start-up."""
    from hpsearch.study._join import start_up

    ledger = _searcher(toy_space).ledger
    assert start_up(ledger, "gp_pool", {}, 6) == {"n_startup_trials": 2}  # a third of the first run's 6
    assert start_up(ledger, "gp_pool", {"trust_steps": 3}, 60) == {"trust_steps": 3, "n_startup_trials": 2}
    assert start_up(_searcher(toy_space).ledger, "gp_pool", {}, 60) == {"n_startup_trials": 2}  # a second driver
    assert start_up(ledger, "gp_pool", {"n_startup_trials": 7}, 60) == {"n_startup_trials": 7}  # the preset's own
    assert start_up(ledger, "tpe", {}, 60) == {"n_startup_trials": 10}  # another sampler: fitted to this run
    assert start_up(ledger, "nsga2", {}, 60) == {}  # a population, not a start-up: nothing to keep
    recorded = ledger.storage.get_study_system_attrs(ledger.study_id)["hpsearch:start_up"]
    assert recorded == {"gp_pool": {"n_startup_trials": 2}, "tpe": {"n_startup_trials": 10}}


def test_baselines_run_on_the_nodes_cpus_before_the_trials_and_time_requests_on_a_trials_share(
        toy_space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from rich.console import Console

    from hpsearch.study._baselines import record_baselines
    from hpsearch.trial._occupancy import NodeOccupancy

    from ..trial.test_occupancy import _holder

    searcher = _searcher(toy_space)
    ledger, plan = searcher.ledger, load_plan(toy_space)
    ledger.study.set_metric_names(["macro_f1", "f1_gap", "latency_p50_ms"])
    before = torch.get_num_threads()
    running = tmp_path / "running"
    monkeypatch.setattr(NodeOccupancy.__init__, "__defaults__", (str(running),))  # this test's node, not the machine's
    try:
        (number,) = record_baselines(ledger.study, plan, ["tfidf"], (), threads=1, node_threads=2,
                                     console=Console(quiet=True), ledger=ledger)
        other = _holder(running)  # a trial of another study runs on the node meanwhile
        try:
            (busy,) = record_baselines(ledger.study, plan, ["linear_probe"], (), threads=1, node_threads=2,
                                       console=Console(quiet=True), ledger=ledger)
        finally:
            other.kill()
            other.wait()
    finally:
        torch.set_num_threads(before)
    trials = {t.number: t for t in ledger.study.get_trials()}
    alone = trials[number].user_attrs
    assert alone["threads"] == {"share": 1, "node": 2, "fitted_on": 2}
    assert alone["latency_method"]["threads"] == 1  # timed as a trial is: on its share
    assert trials[busy].user_attrs["threads"]["fitted_on"] == 1
    assert torch.get_num_threads() == before
