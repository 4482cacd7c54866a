"""One study, many hands: `hpsearch run` drivers killed, interrupted and run side by side against
the real PostgreSQL, each a real process with its own local Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import psutil
import pytest
from optuna.trial import TrialState

from ..conftest import ROOT, need, toy_rows, write_jsonl
from ..study.test_storage import _postgres_up

pytestmark = pytest.mark.integration

PG = "postgresql://postgres@127.0.0.1:5432/test"

SPACE = """name: shared
model: {model}
search: search.yaml
objectives: objectives.yaml
baselines: [tfidf]
dataset:
  path: {data}
  group_columns: group
params:
  learning_rate: {{type: float, low: 1.0e-3, high: 1.0e-2, log: true}}
  lora_r: {{type: categorical, choices: [2, 4, 8]}}
  lora_dropout: {{type: float, low: 0.0, high: 0.3}}
fixed:
  epochs: {epochs}
  batch_size: 16
  max_length: 16
"""

SEARCH = """sampler: {{name: tpe, options: {{constant_liar: true, n_startup_trials: 2}}}}
trials: 3
max_concurrent_trials: 1
heartbeat_interval_s: 1
stale_after_s: 5
{extra}"""


# a tiny random model predicts one class for a while: long trials must not be stopped as collapsed
OBJECTIVES = """objectives:
  - {name: macro_f1, direction: maximize}
  - {name: f1_gap, direction: minimize}
  - {name: latency_p50_ms, direction: minimize}
collapse: {patience: 1000}
"""


def _space(tmp_path: Path, model: Path, epochs: int = 1, extra: str = "", rows: int = 120) -> Path:
    data = write_jsonl(tmp_path / "toy.jsonl", toy_rows(rows))
    (tmp_path / "objectives.yaml").write_text(OBJECTIVES, encoding="utf-8")
    (tmp_path / "search.yaml").write_text(SEARCH.format(extra=extra), encoding="utf-8")
    space = tmp_path / "shared.yaml"
    space.write_text(SPACE.format(model=model, data=data, epochs=epochs), encoding="utf-8")
    return space


def _driver(space: Path, study: str, trials: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200", "RAY_DEDUP_LOGS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "hpsearch", "run", str(space), "--storage", PG, "--study", study,
         "--trials", str(trials)],
        cwd=space.parent, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _trials(study: str) -> list[optuna.trial.FrozenTrial]:
    return [t for t in optuna.load_study(study_name=study, storage=PG).get_trials()
            if t.user_attrs.get("baseline") != "tfidf"]


def _trial(study: str, number: int) -> optuna.trial.FrozenTrial:
    return optuna.load_study(study_name=study, storage=PG).get_trials()[number]


def _system_attrs(study: str) -> dict:
    storage = optuna.storages.RDBStorage(PG)
    return storage.get_study_system_attrs(storage.get_study_id_from_name(study))


def _wait_for_running_trial(study: str, driver: subprocess.Popen, timeout: float = 180) -> optuna.trial.FrozenTrial:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the driver ended before its first trial ran"
        try:
            running = [t for t in _trials(study) if t.state == TrialState.RUNNING]
        except KeyError:
            running = []
        if running:
            return running[0]
        time.sleep(0.5)
    raise AssertionError("no trial started")


def _complete_and_unfinished(study: str) -> tuple[list[optuna.trial.FrozenTrial], list[optuna.trial.FrozenTrial]]:
    trials = _trials(study)
    return ([t for t in trials if t.state == TrialState.COMPLETE],
            [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)])


def _ray_processes(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [p for p in root.children(recursive=True) if "ray" in " ".join(p.cmdline()).lower()]
    except psutil.NoSuchProcess:
        return []


@pytest.fixture
def postgres() -> None:
    need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")


def test_killed_in_its_first_trial_and_run_again_the_study_ends_with_exactly_its_budget(
        postgres: None, tmp_path: Path, tiny_model_dir: Path) -> None:
    study = f"killed-{uuid.uuid4().hex[:8]}"
    space = _space(tmp_path, tiny_model_dir, epochs=20)  # a first trial long enough to be killed in
    driver = _driver(space, study, 3, tmp_path / "first.log")
    killed = _wait_for_running_trial(study, driver)
    time.sleep(2)  # its Ray workers are up
    ray = _ray_processes(psutil.Process(driver.pid))
    assert ray, "the driver started no Ray processes"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    # nothing left behind: every Ray process of the killed driver is gone within a minute
    gone, alive = psutil.wait_procs(ray, timeout=60)
    assert not alive, [" ".join(p.cmdline())[:120] for p in alive]

    rerun = subprocess.run(
        [sys.executable, "-m", "hpsearch", "run", str(space), "--storage", PG, "--study", study, "--trials", "3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    complete, unfinished = _complete_and_unfinished(study)
    assert len(complete) == 3 and not unfinished
    lost = _trial(study, killed.number)
    assert lost.state == TrialState.FAIL and lost.user_attrs["fail_kind"] == "lost"
    assert "is gone" in lost.user_attrs["fail_reason"]
    assert any(t.user_attrs.get("retry_of") == killed.number and t.params == lost.params for t in complete)
    tfidf = [t for t in optuna.load_study(study_name=study, storage=PG).get_trials()
             if t.user_attrs.get("baseline") == "tfidf" and t.state == TrialState.COMPLETE]
    assert len(tfidf) == 1

    status = subprocess.run([sys.executable, "-m", "hpsearch", "status", "--study", study, "--storage", PG],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert status.returncode == 0, status.stderr
    assert f"Study '{study}': 3 complete of 3" in status.stdout and "1 failed (1 lost)" in status.stdout
    assert f"run again as trial" in status.stdout


def test_two_drivers_on_one_postgresql_study_share_its_budget_and_never_repeat_a_configuration(
        postgres: None, tmp_path: Path, tiny_model_dir: Path) -> None:
    study = f"pair-{uuid.uuid4().hex[:8]}"
    space = _space(tmp_path, tiny_model_dir)
    first = _driver(space, study, 4, tmp_path / "a.log")
    time.sleep(2)
    second = _driver(space, study, 4, tmp_path / "b.log")
    for driver in (first, second):
        assert driver.wait(timeout=600) == 0, (tmp_path / "a.log").read_text()[-3000:] + \
            (tmp_path / "b.log").read_text()[-3000:]
    complete, unfinished = _complete_and_unfinished(study)
    assert len(complete) == 4 and not unfinished
    params = [tuple(sorted(t.params.items())) for t in complete]
    assert len(set(params)) == 4, params
    drivers = {t.user_attrs["driver"]["pid"] for t in complete}
    assert drivers == {first.pid, second.pid}  # both drivers ran trials of the one study
    seeds = [d["seed"] for d in _system_attrs(study)["hpsearch:drivers"]]
    assert seeds == [0, 1]
    baselines = [t for t in optuna.load_study(study_name=study, storage=PG).get_trials()
                 if t.user_attrs.get("baseline") == "tfidf"]
    assert len(baselines) == 1 and baselines[0].state == TrialState.COMPLETE


def test_sigterm_stops_cleanly_and_the_next_run_resumes_the_interrupted_trial(
        postgres: None, tmp_path: Path, tiny_model_dir: Path) -> None:
    study = f"term-{uuid.uuid4().hex[:8]}"
    space = _space(tmp_path, tiny_model_dir, epochs=20)
    log = tmp_path / "term.log"
    driver = _driver(space, study, 2, log)
    interrupted = _wait_for_running_trial(study, driver)
    os.kill(driver.pid, signal.SIGTERM)
    assert driver.wait(timeout=120) == 130
    output = log.read_text()
    assert "Fatal Python error" not in output and "Traceback" not in output, output[-3000:]
    assert f"trial(s) {interrupted.number} marked as interrupted" in output
    trial = _trial(study, interrupted.number)
    assert trial.state == TrialState.FAIL and trial.user_attrs["fail_kind"] == "interrupted"
    retry = [t for t in _trials(study) if t.user_attrs.get("retry_of") == interrupted.number]
    assert len(retry) == 1 and retry[0].state == TrialState.WAITING and retry[0].params == trial.params


def test_a_driver_with_other_data_refuses_to_join_and_writes_nothing(
        postgres: None, tmp_path: Path, tiny_model_dir: Path) -> None:
    study = f"join-{uuid.uuid4().hex[:8]}"
    space = _space(tmp_path, tiny_model_dir)
    from hpsearch.plan import load_plan
    from hpsearch.study._join import join_study
    from hpsearch.study._storage import open_storage

    plan = load_plan(space)  # the first driver's record of the study, as `run` leaves it
    join_study(open_storage(PG), study, plan, plan.splits(), plan.objectives.parsed_constraints())
    before = optuna.load_study(study_name=study, storage=PG)
    system_before = _system_attrs(study)
    other = tmp_path / "other"
    other.mkdir()
    changed = _space(other, tiny_model_dir, rows=150)
    result = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(changed), "--storage", PG,
                             "--study", study, "--trials", "2"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --study: study {study!r} holds another search (dataset fingerprint ")
    after = optuna.load_study(study_name=study, storage=PG)
    assert after.user_attrs == before.user_attrs and _system_attrs(study) == system_before
    assert after.get_trials() == []


def test_trials_cut_by_the_time_budget_are_recorded_as_stopped_not_left_running(
        postgres: None, tmp_path: Path, tiny_model_dir: Path) -> None:
    study = f"budget-{uuid.uuid4().hex[:8]}"
    space = _space(tmp_path, tiny_model_dir, epochs=200, extra="time_budget_s: 25\n")
    log = tmp_path / "budget.log"
    driver = _driver(space, study, 3, log)
    assert driver.wait(timeout=300) == 0, log.read_text()[-3000:]
    trials = _trials(study)
    assert TrialState.RUNNING not in {t.state for t in trials}
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert stopped and all(t.user_attrs["fail_kind"] == "stopped" for t in stopped), \
        [(t.number, t.user_attrs) for t in stopped]
    assert "stopped by the time budget (time_budget_s=25)" in stopped[0].user_attrs["fail_reason"]
    assert "the next run resumes them" in log.read_text()
