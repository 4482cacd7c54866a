"""The Ray-side searcher, exercised without running Ray: what lands in the study database."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import optuna
import pytest

from hpsearch.plan import load_plan
from hpsearch.space import suggest
from hpsearch.study import ATTRS_KEY, ERROR_KEY, METRICS_KEY, StudySearch, open_storage

from ..conftest import need
from .test_storage import PG, _postgres_up


def _searcher(toy_space: Path, storage=None, name: str = "toy") -> StudySearch:
    study = load_plan(toy_space)
    from functools import partial

    return StudySearch(
        space=partial(suggest, study.space),
        metric=["macro_f1", "f1_gap", "latency_p50_ms"],
        mode=["max", "min", "min"],
        sampler=optuna.samplers.RandomSampler(seed=0),
        study_name=name,
        storage=storage,
    )


def _final(values: tuple[float, float, float]) -> dict:
    metrics = dict(zip(["macro_f1", "f1_gap", "latency_p50_ms"], values))
    return {**metrics, METRICS_KEY: json.dumps({**metrics, "group/group=a/n": 60.0}),
            ATTRS_KEY: json.dumps({"device": {"cpu": "x"}})}


def test_complete_trial_records_every_metric(toy_space: Path) -> None:
    searcher = _searcher(toy_space)
    config = searcher.suggest("t1")
    assert {"learning_rate", "batch_size", "epochs", "max_length"} <= set(config)
    searcher.on_trial_complete("t1", _final((0.8, 0.1, 2.0)))
    (trial,) = searcher._ot_study.get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.values == [0.8, 0.1, 2.0]
    assert trial.user_attrs["group/group=a/n"] == 60.0 and trial.user_attrs["device"] == {"cpu": "x"}


@pytest.mark.parametrize(
    "result, reason",
    [
        ({ERROR_KEY: "quantization=nf4 needs a CUDA GPU"}, "quantization=nf4 needs a CUDA GPU"),
        ({"epoch": 1.0, "macro_f1": 0.3}, "the worker stopped before reporting a result"),
        (_final((0.8, float("nan"), 2.0)), "objective(s) not measured: f1_gap"),
    ],
)
def test_failed_trials_are_marked_fail_with_their_reason(toy_space: Path, result: dict, reason: str) -> None:
    searcher = _searcher(toy_space)
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", result, error=True)
    (trial,) = searcher._ot_study.get_trials()
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == reason


def test_searcher_state_pickled_by_ray_holds_no_database_password(toy_space: Path) -> None:
    need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
    import uuid

    name = f"pickle-{uuid.uuid4().hex[:8]}"
    storage = open_storage(PG)
    searcher = _searcher(toy_space, storage=storage, name=name)
    try:
        searcher.suggest("t1")
        blob = pickle.dumps(searcher)
        assert b"s3cret-pw" not in blob
        restored = pickle.loads(blob)
        assert restored._storage is None and restored._ot_study is None
    finally:
        optuna.delete_study(study_name=name, storage=storage)


def test_baseline_trial_trains_only_the_head_and_is_reported(toy_space: Path) -> None:
    from hpsearch.report import baseline_lines
    from hpsearch.space import BASELINE_ATTR

    searcher = _searcher(toy_space)
    searcher._ot_study.set_metric_names(["macro_f1", "f1_gap", "latency_p50_ms"])
    searcher._ot_study.enqueue_trial({}, user_attrs={BASELINE_ATTR: "head"})
    first, second = searcher.suggest("t1"), searcher.suggest("t2")
    assert first["method"] == "head" and second.get("method", "lora") == "lora"
    searcher.on_trial_complete("t1", _final((0.4, 0.2, 2.0)))
    searcher.on_trial_complete("t2", _final((0.8, 0.1, 2.5)))
    lines = baseline_lines(searcher._ot_study)
    assert lines[0] == "Baseline head (trial 0): macro_f1 0.4 -> best 0.8; f1_gap 0.2 -> best 0.1; " \
                       "latency_p50_ms 2 -> best 2.5"
    assert "beats every fine-tuned trial on the front on latency_p50_ms." in lines[1] and len(lines) == 2
