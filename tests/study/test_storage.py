"""The study database: SQLite by default, PostgreSQL for teams; passwords never shown."""

from __future__ import annotations

import uuid

import optuna
import pytest

from hpsearch.errors import UserError
from hpsearch.study import mask_url, open_storage, scrub

from ..conftest import need

PG = "postgresql://postgres:s3cret-pw@127.0.0.1:5432/test"


def _postgres_up() -> bool:
    import psycopg

    try:
        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


def test_mask_url_hides_the_password() -> None:
    assert mask_url(PG) == "postgresql://postgres:***@127.0.0.1:5432/test"
    assert "s3cret" not in scrub(f"failed: {PG} said s3cret-pw", PG)


@pytest.mark.parametrize("url", ["not a url", "postgresql://u:hunter2@127.0.0.1:1/db", "sqlite:////no/such/dir/x.db"])
def test_bad_urls_are_user_errors_without_password(url: str) -> None:
    with pytest.raises(UserError) as info:
        open_storage(url)
    assert len(info.value.problems) == 1
    assert "hunter2" not in str(info.value)


def test_postgresql_study_round_trip() -> None:
    need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
    storage = open_storage(PG)
    name = f"hpsearch-test-{uuid.uuid4().hex[:8]}"
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize", "minimize"])
    try:
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        trial.set_user_attr("group/language=en/macro_f1", 0.7)
        study.tell(trial, [0.7, 0.1])
        again = optuna.load_study(study_name=name, storage=open_storage(PG))
        (stored,) = again.best_trials
        assert stored.values == [0.7, 0.1]
        assert stored.user_attrs["group/language=en/macro_f1"] == 0.7
    finally:
        optuna.delete_study(study_name=name, storage=storage)


def _url(backend: str, tmp_path) -> str:
    """The test database of `backend`: PostgreSQL's `test` database, or a new SQLite file."""
    if backend == "postgresql":
        need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
        return "postgresql://postgres@127.0.0.1:5432/test"
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_trials_attributes_written_at_once_read_back_as_optunas_own(backend: str, tmp_path) -> None:
    """write_user_attrs (one transaction) against set_user_attr (one per key): the same user_attrs,
    on the Optuna schema revision it is pinned to; a finished trial refuses either way."""
    from hpsearch.study._storage import BATCHED_SCHEMA_REVISIONS, _batchable, write_user_attrs

    url = _url(backend, tmp_path)
    storage = open_storage(url)
    assert storage.get_current_version() in BATCHED_SCHEMA_REVISIONS and _batchable(storage)
    name = f"attrs-{uuid.uuid4().hex[:8]}"
    study = optuna.create_study(study_name=name, storage=storage)
    study_id = storage.get_study_id_from_name(name)
    attrs = {"macro_f1": 0.5, "group/g=a/n": 3.0, "history": [{"epoch": 1.0}], "device": {"cpu": "x"},
             "note": "it's \"quoted\"", "nothing": None}
    try:
        one, many = study.ask(), study.ask()
        one.set_user_attr("macro_f1", 0.1)  # overwritten, as set_user_attr would
        write_user_attrs(storage, storage.get_trial_id_from_study_id_trial_number(study_id, one.number),
                         attrs)
        for key, value in attrs.items():
            many.set_user_attr(key, value)
        study.tell(one, 1.0)
        study.tell(many, 1.0)
        first, second = study.get_trials()
        assert first.user_attrs == second.user_attrs == attrs
        with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
            write_user_attrs(storage, storage.get_trial_id_from_study_id_trial_number(study_id, 0), attrs)
    finally:
        optuna.delete_study(study_name=name, storage=storage)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_trial_finished_at_once_reads_back_as_optunas_tell(backend: str, tmp_path) -> None:
    """finish_trial (one transaction: attributes, constraints, values, state) against set_user_attr,
    set_constraint and study.tell: the same trial read back, on the schema revision it is pinned to; a
    finished trial refuses, and nothing of the refused write is kept."""
    from datetime import datetime, timedelta

    from optuna.trial import TrialState

    from hpsearch.study._storage import can_finish_at_once, finish_trial

    url = _url(backend, tmp_path)
    storage = open_storage(url)
    assert can_finish_at_once(storage)
    name = f"finish-{uuid.uuid4().hex[:8]}"
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize", "minimize"])
    study_id = storage.get_study_id_from_name(name)
    attrs = {"macro_f1": 0.5, "history": [{"epoch": 1.0}], "note": "it's \"quoted\"", "nothing": None}
    constraints = {"latency_p50_ms <= 10": -2.5, "learned": -0.25, "size_mb <= 1": float("-inf")}
    try:
        ours, optunas, our_fail, optunas_fail = (study.ask() for _ in range(4))
        for trial in (ours, optunas, our_fail, optunas_fail):
            trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
            trial.set_user_attr("macro_f1", 0.1)  # overwritten, as set_user_attr would

        def trial_id(trial: optuna.Trial) -> int:
            return storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)

        finish_trial(storage, trial_id(ours), TrialState.COMPLETE, [0.7, 0.1], attrs, constraints)
        finish_trial(storage, trial_id(our_fail), TrialState.FAIL, None, {"fail_reason": "x"}, {})
        for key, value in attrs.items():
            optunas.set_user_attr(key, value)
        for key, value in constraints.items():
            optunas.set_constraint(key, value)
        study.tell(optunas, [0.7, 0.1])
        optunas_fail.set_user_attr("fail_reason", "x")
        study.tell(optunas_fail, state=TrialState.FAIL)

        first, second, third, fourth = optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()
        for mine, theirs in ((first, second), (third, fourth)):
            assert mine.state == theirs.state and mine.values == theirs.values
            assert mine.user_attrs == theirs.user_attrs and mine.system_attrs == theirs.system_attrs
            assert mine.constraints == theirs.constraints and mine.distributions == theirs.distributions
            assert abs(mine.datetime_complete - theirs.datetime_complete) < timedelta(seconds=30)
            assert abs(mine.datetime_complete - datetime.now()) < timedelta(seconds=30)  # local time, as Optuna's
        assert first.constraints == constraints and first.values == [0.7, 0.1]
        assert [t.number for t in study.best_trials] == [0, 1]  # both feasible, neither dominates
        with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
            finish_trial(storage, trial_id(ours), TrialState.COMPLETE, [0.9, 0.0], {"macro_f1": 0.9}, {"learned": 1.0})
        again = optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()[0]
        assert again.values == [0.7, 0.1] and again.user_attrs == attrs and again.constraints == constraints
    finally:
        optuna.delete_study(study_name=name, storage=storage)



def _values(params: dict) -> list[float]:
    """Two objective values that depend on a trial's parameters, the conditional lora_r among them."""
    return [params["learning_rate"] * 100 + params["batch_size"] / 32, params["epochs"] + params.get("lora_r", 0) / 16]


@pytest.mark.parametrize("sampler", ["tpe_local", "gp_pool"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_claims_parameters_written_at_once_are_optunas_own(backend: str, sampler: str, tmp_path) -> None:
    """A claim's parameters, held while the sampler proposes and written with the trial's driver in one
    transaction (write_claim), against Optuna's own path (study.ask, Trial.suggest_* writing each, study.tell)
    with the same sampler and seed: the same values, distributions and order, a conditional parameter
    and an enqueued one included; none of a trial's parameters is in the database before that write."""
    from optuna.trial import TrialState

    from hpsearch.plan import load_plan
    from hpsearch.search import make_sampler
    from hpsearch.space import suggest
    from hpsearch.study._faults import StudyLock
    from hpsearch.study._ledger import DRIVER_ATTR, Ledger, Policy
    from hpsearch.study._storage import can_finish_at_once

    from ..conftest import ROOT

    space = load_plan(ROOT / "spaces" / "engineering.yaml").space
    url = _url(backend, tmp_path)
    storage = open_storage(url)
    assert can_finish_at_once(storage)
    options = {"n_startup_trials": 3, "local_after": 4}
    if sampler == "gp_pool":
        options["max_share"] = None  # the model proposes however short the trials
    names = [f"claim-{uuid.uuid4().hex[:8]}", f"optuna-{uuid.uuid4().hex[:8]}"]
    ours, theirs = (optuna.create_study(study_name=n, storage=storage, directions=["maximize", "minimize"],
                                        sampler=make_sampler(sampler, 0, options)) for n in names)
    ledger = Ledger(ours, storage, StudyLock(url, names[0]), Policy(budget=100))
    before_the_write: list[dict] = []

    def propose(trial: optuna.Trial) -> dict:
        suggest(space, trial)
        stored = open_storage(url).get_trial(ledger.trial_id(trial.number))
        before_the_write.append(stored.params)
        return {"proposed_by": "test"}

    try:
        for i in range(10):
            if i == 5:  # an enqueued trial: its fixed parameter comes from the queue, the others are sampled
                for study in (ours, theirs):
                    study.enqueue_trial({"method": "head", "learning_rate": 0.005})
            claimed = ledger.claim(propose)
            assert ledger.tell(claimed, _values(claimed.params), TrialState.COMPLETE)
            asked = theirs.ask()
            suggest(space, asked)
            theirs.tell(asked, _values(asked.params))
        mine, optunas = (optuna.load_study(study_name=n, storage=open_storage(url)).get_trials() for n in names)
        assert before_the_write == [{}] * 10
        for a, b in zip(mine, optunas, strict=True):
            assert list(a.params.items()) == list(b.params.items())  # the values, in the order suggested
            assert a.distributions == b.distributions and a.state == b.state == TrialState.COMPLETE
            assert a.user_attrs["proposed_by"] == "test" and a.user_attrs[DRIVER_ATTR]["id"] == ledger.identity["id"]
        assert {t.params["method"] for t in mine} == {"lora", "head"}  # lora_r where method is lora only
        assert mine[5].params["method"] == "head" and mine[5].params["learning_rate"] == 0.005
    finally:
        for name in names:
            optuna.delete_study(study_name=name, storage=storage)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_claims_write_is_whole_or_refused(backend: str, tmp_path) -> None:
    """write_claim on its own: a second try of a committed write changes nothing; a finished trial refuses
    and nothing of the refused write is kept; a parameter whose distribution does not fit the study's is
    refused as Optuna refuses it, before anything is written."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from hpsearch.study._storage import params_held, write_claim

    url = _url(backend, tmp_path)
    storage = open_storage(url)
    name = f"claimw-{uuid.uuid4().hex[:8]}"
    study = optuna.create_study(study_name=name, storage=storage)
    study_id = storage.get_study_id_from_name(name)
    lr = FloatDistribution(1e-4, 1e-2, log=True)
    try:
        trial = study.ask()
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        with params_held(trial, storage, trial_id, []) as params:
            trial.suggest_float("lr", 1e-4, 1e-2, log=True)
            trial.suggest_categorical("opt", ["adam", "sgd"])
        assert list(params) == ["lr", "opt"] and study.get_trials()[0].params == {}
        for _ in range(2):  # a retried write whose first try was committed
            write_claim(storage, trial_id, params, {"driver": {"id": "x"}})
        study.tell(trial, 1.0)
        (stored,) = optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()
        assert stored.params == trial.params and stored.user_attrs == {"driver": {"id": "x"}}
        assert stored.distributions == {"lr": lr, "opt": CategoricalDistribution(["adam", "sgd"])}
        with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
            write_claim(storage, trial_id, {"other": (0.5, lr)}, {"late": 1})
        assert optuna.load_study(study_name=name, storage=open_storage(url)).get_trials() == [stored]
        again = study.ask()
        again_id = storage.get_trial_id_from_study_id_trial_number(study_id, again.number)
        with pytest.raises(ValueError), params_held(again, storage, again_id, [stored]):
            again.suggest_int("opt", 0, 3)  # a categorical in this study
        assert study.get_trials()[1].params == {}
    finally:
        optuna.delete_study(study_name=name, storage=storage)
