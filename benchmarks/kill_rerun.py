"""The issue's two checks on the shipped demo space, with the real packaged MiniLM, against PostgreSQL.

1. `hpsearch run spaces/legal.yaml --trials 3`, its driver SIGKILLed during its first trial, then the
   same command again: the study must end with exactly 3 complete trials and none RUNNING.
2. Two `hpsearch run spaces/legal.yaml --trials 4` on one study, started 2 s apart: exactly 4
   complete trials, no two with the same parameters.

    .venv/bin/python benchmarks/kill_rerun.py --storage postgresql://postgres@127.0.0.1:5432/test

Figures go to benchmarks/results/kill_rerun.json; `benchmarks/fault_campaign.py` puts them on
docs/reliability.md beside the campaign's (`--docs-only` rewrites the page).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "kill_rerun.json"
HPSEARCH = [sys.executable, "-m", "hpsearch"]


def _trials(url: str, study: str) -> list[Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return [t for t in optuna.load_study(study_name=study, storage=url).get_trials()
                if t.user_attrs.get("baseline") not in ("linear_probe", "tfidf")]
    except KeyError:
        return []


def _states(trials: list[Any]) -> dict[str, int]:
    from collections import Counter

    return dict(Counter(t.state.name for t in trials))


def _run(space: str, url: str, study: str, trials: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*HPSEARCH, "run", space, "--storage", url, "--study", study, "--trials", str(trials)],
                            cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "COLUMNS": "160"})


def killed_and_rerun(space: str, url: str, logs: Path) -> dict[str, Any]:
    study = f"kill-rerun-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    driver = _run(space, url, study, 3, logs / "killed.log")
    killed_trial = None
    while driver.poll() is None and killed_trial is None:
        running = [t for t in _trials(url, study) if t.state.name == "RUNNING"]
        if running:
            killed_trial = running[0].number
            time.sleep(5)  # well into its first trial
            os.kill(driver.pid, signal.SIGKILL)
        time.sleep(0.5)
    driver.wait()
    print(f"killed the driver in trial {killed_trial}; running the same command again", flush=True)
    rerun = _run(space, url, study, 3, logs / "rerun.log")
    code = rerun.wait()
    trials = _trials(url, study)
    lost = next((t for t in trials if t.number == killed_trial), None)
    return {
        "command": f"hpsearch run {space} --trials 3", "study": study, "killed_in_trial": killed_trial,
        "rerun_exit": code, "states": _states(trials),
        "complete": sum(t.state.name == "COMPLETE" for t in trials),
        "left_running": sum(t.state.name in ("RUNNING", "WAITING") for t in trials),
        "killed_trial_reason": lost.user_attrs.get("fail_reason") if lost else None,
        "rerun_of_killed": [t.number for t in trials if t.user_attrs.get("retry_of") == killed_trial],
        "minutes": round((time.monotonic() - started) / 60, 1),
    }


def two_drivers(space: str, url: str, logs: Path) -> dict[str, Any]:
    study = f"two-drivers-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    first = _run(space, url, study, 4, logs / "first.log")
    time.sleep(2)
    second = _run(space, url, study, 4, logs / "second.log")
    codes = [first.wait(), second.wait()]
    trials = _trials(url, study)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    params = [tuple(sorted(t.params.items())) for t in complete]
    return {
        "command": f"hpsearch run {space} --trials 4  (twice, 2 s apart)", "study": study, "exits": codes,
        "states": _states(trials), "complete": len(complete), "distinct_parameters": len(set(params)),
        "by_driver": {str(pid): sum(t.user_attrs.get("driver", {}).get("pid") == pid for t in complete)
                      for pid in (first.pid, second.pid)},
        "minutes": round((time.monotonic() - started) / 60, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--space", default="spaces/legal.yaml")
    parser.add_argument("--logs", default="/tmp/hpsearch-kill-rerun")
    args = parser.parse_args(argv)
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    result = {"date": time.strftime("%Y-%m-%d"), "killed_and_rerun": killed_and_rerun(args.space, args.storage, logs)}
    print(json.dumps(result["killed_and_rerun"]), flush=True)
    result["two_drivers"] = two_drivers(args.space, args.storage, logs)
    print(json.dumps(result["two_drivers"]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ok = (result["killed_and_rerun"]["complete"] == 3 and result["killed_and_rerun"]["left_running"] == 0
          and result["two_drivers"]["complete"] == 4 and result["two_drivers"]["distinct_parameters"] == 4)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
