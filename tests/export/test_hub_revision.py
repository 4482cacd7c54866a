"""A hub id's trials record the commit they loaded, and the hand-off keeps it: the export bundle and
its card name it, and `hpsearch train` loads that commit after the hub's `main` has moved on. Real
runs (tiny model, real Ray) on a Hugging Face cache laid out as huggingface_hub writes it, offline; then,
online against a hub served over HTTP (``FakeHub``), a training team's retrain and a pinned space's run
on machines whose caches lack the commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from ..conftest import toy_rows, write_jsonl
from ..fake_hub import FakeHub
from .test_bundle import OBJECTIVES, SPACE

pytestmark = pytest.mark.integration

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LATER = "89abcdef0123456789abcdef0123456789abcdef"
MOVED = "456789abcdef0123456789abcdef0123456789ab"


def _hpsearch(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "hpsearch", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_hub_trial_records_its_commit_and_the_hand_off_loads_that_commit(tmp_path: Path,
                                                                          tiny_model_dir: Path) -> None:
    cache = tmp_path / "hf-cache"
    repo = cache / "models--acme--tiny"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT, encoding="utf-8")
    (tmp_path / "objectives.yaml").write_text(OBJECTIVES, encoding="utf-8")
    space = tmp_path / "hubbed.yaml"  # the hand-off test's space, on a hub id
    data = write_jsonl(tmp_path / "toy.jsonl", toy_rows(240))
    space.write_text(SPACE.format(model="acme/tiny", data=data).replace("name: handoff", "name: hubbed"), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    run = _hpsearch("run", str(space), "--storage", url, "--trials", "1", cwd=tmp_path, cache=cache)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (trial,) = [t for t in optuna.load_study(study_name="hubbed", storage=url).trials if t.params]
    assert trial.user_attrs["model"] == "acme/tiny" and trial.user_attrs["model_revision"] == COMMIT
    assert optuna.load_study(study_name="hubbed", storage=url).user_attrs["model_commit"] == COMMIT

    bundle = tmp_path / "bundle"
    done = _hpsearch("export", "--study", "hubbed", "--storage", url, "--out", str(bundle), "--policy",
                     "max macro_f1", cwd=tmp_path, cache=cache)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    config = yaml.safe_load((bundle / "config.yaml").read_text(encoding="utf-8"))
    assert config["model"] == "acme/tiny" and config["model_revision"] == COMMIT
    assert f"from_pretrained(MODEL, revision={COMMIT!r}, num_labels=3)" in (bundle / "MODEL_CARD.md").read_text(
        encoding="utf-8")

    # main moves on to a commit that loads: a second run of the study still trains the commit its
    # first run loaded (the study records it), and says so
    shutil.copytree(tiny_model_dir, repo / "snapshots" / MOVED)
    (repo / "refs" / "main").write_text(MOVED, encoding="utf-8")
    run = _hpsearch("run", str(space), "--storage", url, "--trials", "2", cwd=tmp_path, cache=cache)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    said = f"trains acme/tiny at commit {COMMIT} (its first run's), and so does this run (main here: {MOVED})"
    assert said in run.stdout
    trials = [t for t in optuna.load_study(study_name="hubbed", storage=url).trials if t.params]
    assert [t.user_attrs["model_revision"] for t in trials] == [COMMIT, COMMIT]

    # the hub's main moves on to a commit whose files do not load: a retrain from the bundle still
    # loads the commit the trial trained on, and reproduces its score
    later = repo / "snapshots" / LATER
    later.mkdir()
    (later / "config.json").write_text("{not json", encoding="utf-8")
    (repo / "refs" / "main").write_text(LATER, encoding="utf-8")
    out = tmp_path / "retrained"
    done = _hpsearch("train", str(bundle), "--out", str(out), cwd=tmp_path, cache=cache)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert abs(metrics["macro_f1_difference"]) <= 0.02, metrics
    # a training team's machine that never ran the study, online: `train` fetches the commit the trial
    # trained on (only it), whatever main is now, and reproduces the score
    hub = FakeHub()
    hub.commits.update({("acme/tiny", COMMIT): tiny_model_dir, ("acme/tiny", LATER): later})
    hub.main["acme/tiny"] = LATER
    online = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    online.update(HF_ENDPOINT=hub.endpoint)
    try:
        command = [sys.executable, "-m", "hpsearch", "train", str(bundle), "--out", str(tmp_path / "team")]
        done = subprocess.run(command, cwd=tmp_path, env={**online, "HF_HUB_CACHE": str(tmp_path / "team-cache")},
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        metrics = json.loads((tmp_path / "team" / "metrics.json").read_text(encoding="utf-8"))
        assert abs(metrics["macro_f1_difference"]) <= 0.02, metrics
        assert f"GET /acme/tiny/resolve/{COMMIT}/model.safetensors" in hub.requests
        assert not [r for r in hub.requests if LATER in r or "/resolve/main/" in r], hub.requests

        # by id, the same space now loads what main points to, and fails; pinned, it runs on the commit,
        # which `run` fetches on a machine whose cache lacks it
        space.write_text(space.read_text(encoding="utf-8").replace("name: hubbed", "name: pinned"), encoding="utf-8")
        run = _hpsearch("run", str(space), "--storage", url, "--trials", "1", cwd=tmp_path, cache=cache)
        assert run.returncode == 2 and "model: cannot load 'acme/tiny'" in run.stderr, run.stderr[-3000:]
        space.write_text(space.read_text(encoding="utf-8") + f"model_revision: {COMMIT}\n", encoding="utf-8")
        fresh = tmp_path / "fresh-cache"
        asked = len(hub.requests)
        run = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(space), "--storage", url, "--trials", "1"],
                             cwd=tmp_path, env={**online, "HF_HUB_CACHE": str(fresh)}, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert f"GET /acme/tiny/resolve/{COMMIT}/model.safetensors" in hub.requests[asked:]
        assert not [r for r in hub.requests[asked:] if LATER in r or "/resolve/main/" in r], hub.requests[asked:]
        assert (fresh / "models--acme--tiny" / "snapshots" / COMMIT / "model.safetensors").is_file()
    finally:
        hub.server.shutdown()
        hub.server.server_close()
    (trial,) = [t for t in optuna.load_study(study_name="pinned", storage=url).trials if t.params]
    assert trial.user_attrs["model_revision"] == COMMIT
