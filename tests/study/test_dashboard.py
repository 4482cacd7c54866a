"""`hpsearch dashboard`: optuna-dashboard on the study database, bound to this machine by default."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import optuna
import pytest

from hpsearch.cli import main

from ..conftest import ROOT


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_dashboard_serves_the_study_over_http(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    study = optuna.create_study(storage=url, study_name="legal", directions=["maximize", "minimize"])
    for values in ([0.8, 0.2], [0.7, 0.1], [0.6, 0.3]):
        study.add_trial(optuna.trial.create_trial(values=values))

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # --port 0: the OS picks a free port and the command prints the address it got, so there is no race.
    proc = subprocess.Popen([sys.executable, "-m", "hpsearch", "dashboard", "--storage", url, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # blocks until the server is bound (or the command died)
        found = re.search(r"http://127\.0\.0\.1:(\d+)/dashboard", first)
        assert found, (first, proc.stderr.read() if proc.poll() is not None else "")
        assert proc.stdout.readline().strip() == f"study database: {url}"
        base = f"http://127.0.0.1:{found.group(1)}"

        deadline = time.monotonic() + 30
        while True:
            try:
                summaries = _get(f"{base}/api/studies")["study_summaries"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert [s["study_name"] for s in summaries] == ["legal"]
        detail = _get(f"{base}/api/studies/{summaries[0]['study_id']}")
        assert detail["name"] == "legal"
        assert len(detail["trials"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_bad_storage_url_is_one_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dashboard", "--storage", "postgresql://u:hunter2@127.0.0.1:1/db", "--port", "0"])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --storage: "), lines
    assert "hunter2" not in captured.err + captured.out


def test_a_port_in_use_is_one_line_naming_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    import optuna

    optuna.create_study(storage=f"sqlite:///{tmp_path}/x.db", study_name="s")  # a database to serve
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["dashboard", "--storage", f"sqlite:///{tmp_path}/x.db", "--port", str(port)])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("error: --port: ") and "in use" in lines[0], lines
