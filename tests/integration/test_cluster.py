"""A real two-node Ray cluster on this machine: trials run on both nodes and land in the study.

Each node is its own `ray start --block` with its own temp dir and ports, started for this module
and stopped by signalling those processes alone (`ray stop` would stop every Ray on the machine).
Token authentication is on, as `ray start --head` has it by default: every process gets the same
token through RAY_AUTH_TOKEN, leaving ~/.ray/auth_token alone.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

from ..conftest import toy_rows, write_jsonl

pytestmark = pytest.mark.integration

RAY = Path(sys.executable).parent / "ray"
HPSEARCH = Path(sys.executable).parent / "hpsearch"

SPACE = """name: {name}
model: {model}
dataset:
  train: toy.jsonl
  group_columns: group
search: {search}
baselines: []
params:
  learning_rate: {{type: float, low: 1.0e-3, high: 1.0e-2, log: true}}
fixed:
  epochs: 1
  max_length: 16
  batch_size: 16
"""


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # what a process needs to join: the token, and TMPDIR (the nodes' model cache)
    scratch: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ports(*flags: str) -> list[str]:
    return [arg for flag in flags for arg in (flag, str(_free_port()))]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head and a worker node, 1 CPU each, on free ports (another Ray may run on this machine)."""
    # short: Ray's unix sockets live under it, and their paths are limited to 107 characters
    scratch = Path(tempfile.mkdtemp(prefix="hps-ray-", dir="/tmp"))
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
           "TMPDIR": str(scratch), "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
    env.pop("RAY_ADDRESS", None)
    nodes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = scratch / f"{name}.log"
        with log.open("w") as out:
            node = subprocess.Popen(
                [str(RAY), "start", "--block", "--num-cpus", "1", "--disable-usage-stats", "--temp-dir",
                 str(scratch / name), *_ports("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
                                              "--metrics-export-port", "--runtime-env-agent-port"), *args],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        nodes.append(node)
        deadline = time.monotonic() + 60
        while "Ray runtime started" not in log.read_text():
            assert node.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        return node

    try:
        start("head", "--head", "--port", str(port), "--include-dashboard=false", *_ports("--dashboard-port"))
        start("worker", "--address", f"127.0.0.1:{port}")
        yield Cluster(f"127.0.0.1:{port}", env, scratch)
    finally:
        for node in reversed(nodes):  # the worker first; each stops the processes it started
            node.send_signal(signal.SIGTERM)
        for node in reversed(nodes):
            try:
                node.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
        shutil.rmtree(scratch, ignore_errors=True)


def _space(tmp_path: Path, model: Path, preset: str, name: str) -> Path:
    write_jsonl(tmp_path / "toy.jsonl", toy_rows(96))
    (tmp_path / f"{name}-search.yaml").write_text(preset, encoding="utf-8")
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPACE.format(name=name, model=model, search=f"{name}-search.yaml"), encoding="utf-8")
    return path


def _run(cluster: Cluster, space: Path, storage: str, trials: int, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HPSEARCH), "run", str(space), "--address", cluster.address, "--storage", storage,
         "--trials", str(trials)],
        capture_output=True, text=True, env=cluster.env, cwd=cwd, timeout=240,
    )


def test_trials_run_on_both_nodes_and_land_in_the_study(cluster: Cluster, tiny_model_dir: Path,
                                                         tmp_path: Path) -> None:
    space = _space(tmp_path, tiny_model_dir, "max_concurrent_trials: 2\n", "two-nodes")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    done = _run(cluster, space, storage, 4, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    trials = optuna.load_study(study_name="two-nodes", storage=storage).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4, \
        [t.user_attrs.get("fail_reason") for t in trials]
    nodes = [t.user_attrs["node"] for t in trials]
    assert all(set(n) == {"node_id", "node_ip", "hostname"} for n in nodes)
    assert len({n["node_id"] for n in nodes}) == 2, nodes  # one trial at a time on each 1-CPU node
    # the model went through Ray's object store: each node wrote it into its own model cache
    assert list(cluster.scratch.glob(f"hpsearch-models-{os.getuid()}/*/config.json"))


def test_a_trial_no_node_can_hold_fails_within_seconds(cluster: Cluster, tiny_model_dir: Path,
                                                       tmp_path: Path) -> None:
    space = _space(tmp_path, tiny_model_dir, "max_concurrent_trials: 2\ncpus_per_trial: 2\n", "too-big")
    started = time.monotonic()
    done = _run(cluster, space, f"sqlite:///{tmp_path / 'study.db'}", 1, tmp_path)
    assert time.monotonic() - started < 30
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'too-big-search.yaml'}: cpus_per_trial: a trial asks for 2 CPUs "
                           "and 0 GPUs; no node has that: "), line
    assert line.count(" 1 CPU 0 GPUs") == 2, line


def test_a_driver_the_cluster_refuses_says_why_in_one_line_and_writes_nothing(cluster: Cluster,
                                                                            tiny_model_dir: Path,
                                                                            tmp_path: Path) -> None:
    """Without the token (RAY_AUTH_MODE unset, as in a new shell), Ray's core printed a warning a second
    for some 20 seconds and the driver had already created the study; now one line says why, before the
    study database exists. A Ray Client address (ray://) is refused at once, as one line too."""
    space = _space(tmp_path, tiny_model_dir, "max_concurrent_trials: 1\n", "refused")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    tokenless = {k: v for k, v in cluster.env.items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    for address, said in [(cluster.address, "the cluster refused this driver (Authentication token is missing or "
                                            "incorrect): a cluster started with `ray start --head` needs "
                                            "RAY_AUTH_MODE=token here"),
                          (f"ray://{cluster.address}", "is a Ray Client address, which hpsearch does not use")]:
        done = _run(Cluster(address, tokenless, cluster.scratch), space, storage, 1, tmp_path)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr[-3000:]
        assert lines[0].startswith("error: --address: ") and said in lines[0], lines
        assert not (tmp_path / "study.db").exists()
