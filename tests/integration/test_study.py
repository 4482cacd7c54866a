"""A real study: Ray Tune + Optuna + the packaged MiniLM on a slice of a real curated dataset."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest

from hpsearch.cli import main

from ..conftest import SHARED_DATASETS, need
from ..test_storage import PG, _postgres_up

pytestmark = pytest.mark.integration

SPACE = """name: legal-slice
model: minilm
dataset:
  train: {data}/train.jsonl
  validation: {data}/test.jsonl
  group_columns: group
  max_train_examples: 160
  max_eval_examples: 120
params:
  learning_rate: {{type: float, low: 2.0e-3, high: 6.0e-3, log: true}}
  lora_r: {{type: categorical, choices: [4, 8]}}
fixed:
  epochs: 1
  batch_size: 16
  max_length: 48
"""


@pytest.fixture(scope="module")
def ray_session():
    import ray

    yield
    ray.shutdown()


@pytest.fixture
def legal_space(tmp_path: Path) -> Path:
    data = SHARED_DATASETS / "legal_unfair_tos"
    need((data / "train.jsonl").is_file(), f"the curated dataset {data}")
    path = tmp_path / "legal.yaml"
    path.write_text(SPACE.format(data=data), encoding="utf-8")
    return path


def _check_study(study: optuna.Study) -> None:
    trials = study.get_trials()
    assert len(trials) == 2
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE, t.user_attrs.get("fail_reason")
        assert len(t.values) == 3 and all(math.isfinite(v) for v in t.values)
        languages = {k.split("=")[1].split("/")[0] for k in t.user_attrs if k.startswith("group/group=")}
        assert languages == {"de", "en", "it", "pl"}
        assert t.user_attrs["f1_gap"] == t.values[1]
        assert t.user_attrs["latency_p50_ms"] > 0
        assert t.user_attrs["device"]["torch"]
    assert study.metric_names == ["macro_f1", "f1_gap", "latency_p50_ms"]
    assert study.best_trials
    assert study.user_attrs["dataset_fingerprint"]


def test_default_sqlite_study_is_readable_by_optuna_cli(
    ray_session: None, legal_space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(legal_space), "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out
    study = optuna.load_study(study_name="legal-slice", storage="sqlite:///hpsearch.db")
    _check_study(study)
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "optuna"), "best-trials", "--storage", "sqlite:///hpsearch.db",
         "--study-name", "legal-slice", "-f", "json"],
        capture_output=True, text=True, check=True,
    )
    listed = json.loads(cli.stdout)
    assert listed and all(set(t["values"]) == {"macro_f1", "f1_gap", "latency_p50_ms"} for t in listed)
    assert _dashboard_studies("sqlite:///hpsearch.db") == ["legal-slice"]


def _dashboard_studies(storage: str) -> list[str]:
    """Ask optuna-dashboard's own WSGI app for the studies it can show."""
    from wsgiref.util import setup_testing_defaults

    from optuna_dashboard import wsgi

    environ: dict = {"PATH_INFO": "/api/studies", "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(wsgi(storage)(environ, lambda s, headers, exc=None: status.append(s)))
    assert status[0].startswith("200"), status
    return [s["study_name"] for s in json.loads(body)["study_summaries"]]


def test_postgresql_study_leaks_no_password(
    ray_session: None, legal_space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    need(_postgres_up(), "PostgreSQL on 127.0.0.1:5432 (database test)")
    monkeypatch.chdir(tmp_path)
    name = f"legal-{uuid.uuid4().hex[:8]}"
    try:
        assert main(["run", str(legal_space), "--trials", "2", "--storage", PG, "--study", name]) == 0
        _check_study(optuna.load_study(study_name=name, storage=PG))
        captured = capsys.readouterr()
        assert "s3cret-pw" not in captured.out + captured.err
        assert "postgres:***@" in captured.out
        leaked = [p for p in (tmp_path / ".hpsearch").rglob("*") if p.is_file() and b"s3cret-pw" in p.read_bytes()]
        assert not leaked, leaked
        assert list((tmp_path / ".hpsearch").rglob("*.pkl")), "Ray wrote no experiment state to check"
    finally:
        optuna.delete_study(study_name=name, storage=PG)
