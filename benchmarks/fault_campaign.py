"""Fault campaign: several drivers on one study in PostgreSQL, killed at random, and what the study kept.

Builds a tiny random BERT (2 layers, hidden 32, the packaged MiniLM's tokenizer), a toy dataset and a
space over them, so a trial takes seconds. Starts `--drivers` copies of

    hpsearch run SPACE --storage URL --study NAME --trials N

on one fresh study, each in its own process group, working directory and Ray temp dir (so each
starts its own local Ray instance). While they run, at random intervals (seeded), it SIGKILLs either
a driver (restarted with the same command after a short pause, as a user would) or a Ray worker
process of a driver (one running a trial where there is one), and once, when half the trials are
complete, restarts PostgreSQL. It stops injecting once the study holds N complete trials and ends
when no driver is left running (or at `--max-minutes`: SIGTERM, then SIGKILL).

The study database alone is then read back with Optuna: trials requested, complete (baselines
excluded), lost (N - complete, at least 0), run twice (extra COMPLETE copies of the same parameters),
left RUNNING (RUNNING or WAITING at the end), failed (by `fail_reason`), over budget
(complete - N, at least 0), and faults injected by kind; `--settle` seconds after the end, any Ray
process the campaign started that is still alive is counted, then killed.

    .venv/bin/python benchmarks/fault_campaign.py --trials 60 --drivers 3 --seed 0 \\
        --storage postgresql://postgres@127.0.0.1:5432/test

Results go to benchmarks/results/fault_campaign.json and docs/reliability.md (`--docs-only`
rewrites the page from the JSON). Exit status 1 when lost, run twice or left RUNNING is not 0.
Restarting PostgreSQL needs `pg_ctlcluster` and the rights to use it (`--pg-ctl` gives another
command); it interrupts every other user of that server. To measure another copy of hpsearch (a
commit exported elsewhere), put its `src` first on PYTHONPATH: the drivers and Ray inherit it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "fault_campaign.json"
DOCS = ROOT / "docs" / "reliability.md"
DEFAULT_STORAGE = "postgresql://postgres@127.0.0.1:5432/test"
PG_CTL = "pg_ctlcluster --skip-systemctl-redirect {version} main"
#: Set in every driver's environment; Ray's processes inherit it, which is how they are found.
MARKER = "HPSEARCH_FAULT_CAMPAIGN"
#: Which driver start a process belongs to: "<driver>.<start>".
START_MARKER = "HPSEARCH_FAULT_START"
#: Ray worker processes retitle themselves "ray::<actor or task>"; these are a core or idle one.
NOT_A_TRIAL = ("ray::IDLE", "ray::JobSupervisor", "ray::_StatsActor", "ray::DashboardAgent")


# --- what the campaign runs -------------------------------------------------------------------------

def tiny_bert(path: Path) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with the packaged MiniLM's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from hpsearch.space import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64,
                        num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=128)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def toy_rows(n: int = 360, seed: int = 0) -> list[dict[str, str]]:
    """A learnable 3-class toy task with two groups."""
    rng = random.Random(seed)
    words = {"bug": ["crash", "error", "broken", "fails"], "feature": ["add", "support", "new", "option"],
             "question": ["how", "why", "what", "help"]}
    rows = []
    for i in range(n):
        label = ["bug", "feature", "question"][i % 3]
        text = " ".join(rng.choice(words[label]) for _ in range(4)) + f" item {i}"
        rows.append({"text": text, "label": label, "group": "a" if i % 2 else "b"})
    return rows


SPACE = """name: fault-campaign
model: {model}
dataset:
  train: toy.jsonl
  group_columns: group
search: search.yaml
objectives: objectives.yaml
baselines: []
params:
  learning_rate: {{type: float, low: 1.0e-3, high: 1.0e-2, log: true}}
  lora_r: {{type: categorical, choices: [2, 4, 8, 16]}}
  lora_dropout: {{type: float, low: 0.0, high: 0.2}}
  weight_decay: {{type: float, low: 0.0, high: 0.1}}
  scheduler: {{type: categorical, choices: [linear, cosine]}}
fixed:
  method: lora
  epochs: 1
  batch_size: 16
  max_length: 16
"""

SEARCH = """sampler:
  name: tpe
  options:
    constant_liar: true
    n_startup_trials: 5
trials: {trials}
seed: 0
max_concurrent_trials: 1
"""

OBJECTIVES = """objectives:
  - {name: macro_f1, direction: maximize}
  - {name: latency_p50_ms, direction: minimize}
latency:
  requests: 100
  warmup: 2
"""


def write_inputs(work: Path, trials: int) -> Path:
    """The model, data, space, search preset and objectives of the campaign; returns the space."""
    model = work / "tiny-bert"
    if not (model / "config.json").is_file():
        tiny_bert(model)
    (work / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in toy_rows()), encoding="utf-8")
    (work / "search.yaml").write_text(SEARCH.format(trials=trials), encoding="utf-8")
    (work / "objectives.yaml").write_text(OBJECTIVES, encoding="utf-8")
    space = work / "space.yaml"
    space.write_text(SPACE.format(model=model), encoding="utf-8")
    return space


# --- processes --------------------------------------------------------------------------------------

@dataclass
class Start:
    """One start of a driver: its process, log and how it ended."""

    driver: int
    number: int
    proc: subprocess.Popen[bytes]
    log: Path
    started: float
    ended: float | None = None
    returncode: int | None = None
    killed: bool = False
    #: Stopped at the wall-clock cap: "SIGTERM", or "SIGKILL" when SIGTERM did not stop it within 60 s.
    capped: str | None = None


@dataclass
class Driver:
    index: int
    cwd: Path
    env: dict[str, str]
    starts: list[Start] = field(default_factory=list)
    restart_at: float | None = None

    @property
    def current(self) -> Start | None:
        return self.starts[-1] if self.starts else None

    @property
    def alive(self) -> bool:
        return self.current is not None and self.current.returncode is None


def driver_env(campaign: str, ray_tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "HPSEARCH_STORAGE")}
    env.update({
        "RAY_TMPDIR": str(ray_tmp),  # own temp dir: no ray_current_cluster to join, short socket paths
        "RAY_USAGE_STATS_ENABLED": "0",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        MARKER: campaign,
    })
    return env


def start_driver(driver: Driver, command: list[str], t0: float) -> Start:
    number = len(driver.starts)
    log = driver.cwd / f"driver{driver.index}.start{number}.log"
    env = dict(driver.env, **{START_MARKER: f"{driver.index}.{number}"})
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=driver.cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    start = Start(driver.index, number, proc, log, time.monotonic() - t0)
    driver.starts.append(start)
    driver.restart_at = None
    return start


def campaign_processes(campaign: str) -> list[Any]:
    """Every live process carrying the campaign's marker (the drivers and all Ray started under them)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != os.getpid() and proc.environ().get(MARKER) == campaign:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def describe_process(proc: Any) -> dict[str, Any]:
    import psutil

    try:
        cmdline = proc.cmdline()
        title = cmdline[0] if cmdline else proc.name()
        if "raylet" in title or "gcs_server" in title:
            title = Path(title).name
        elif Path(title).name.startswith("python"):  # name the script: Ray's agents, monitors, the driver
            script = next((a for a in cmdline[1:] if not a.startswith("-")), "")
            title = f"python {Path(script).name}"
        return {"pid": proc.pid, "title": title[:80], "start": proc.environ().get(START_MARKER, "?")}
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
        return {"pid": proc.pid, "title": "(gone)", "start": "?"}


def trial_workers(campaign: str, start: Start) -> list[Any]:
    """Ray worker processes of one driver start: retitled `ray::...`, busy ones (a trial) first."""
    described = [(p, describe_process(p)) for p in campaign_processes(campaign)]
    workers = [(p, d["title"]) for p, d in described
               if d["start"] == f"{start.driver}.{start.number}" and d["title"].startswith("ray::")]
    busy = [p for p, t in workers if not t.startswith(NOT_A_TRIAL)]
    return busy or [p for p, t in workers if t.startswith("ray::IDLE")]


def kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def restart_postgres(pg_ctl: str, down: float, url: str) -> dict[str, Any]:
    """`pg_ctl restart` (or stop, `down` seconds, start), then wait until the server answers again."""
    import sqlalchemy

    started = time.monotonic()
    steps = [f"{pg_ctl} restart"] if down <= 0 else [f"{pg_ctl} stop", f"sleep {down:g}", f"{pg_ctl} start"]
    said, ok = [], True
    for step in steps:
        done = subprocess.run(step, shell=True, capture_output=True, text=True)
        said.append((done.stdout + done.stderr).strip())
        ok = ok and done.returncode == 0
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    answered = None
    while time.monotonic() - started < 120:
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("select 1"))
            answered = time.monotonic() - started
            break
        except sqlalchemy.exc.OperationalError:
            time.sleep(0.2)
    engine.dispose()
    return {"command": " ; ".join(steps), "ok": ok and answered is not None,
            "seconds": round(time.monotonic() - started, 1),
            "answering_again_after_s": None if answered is None else round(answered, 1),
            "output": " | ".join(x for x in said if x)[-300:]}


# --- reading the study ------------------------------------------------------------------------------

class StudyReader:
    """The harness's own connection to the study, tolerant of the database going away for a while."""

    def __init__(self, storage_url: str, study_name: str) -> None:
        self.url = storage_url
        self.name = study_name
        self._storage: Any = None

    def trials(self) -> list[Any] | None:
        import optuna

        try:
            if self._storage is None:
                self._storage = optuna.storages.RDBStorage(self.url, engine_kwargs={"pool_pre_ping": True})
            study_id = self._storage.get_study_id_from_name(self.name)
            return list(self._storage.get_all_trials(study_id, deepcopy=False))
        except KeyError:
            return []  # no driver has created the study yet
        except Exception:  # noqa: BLE001 - the database restarting, say; read again next time
            self._storage = None
            return None


def tuned(trials: list[Any]) -> list[Any]:
    return [t for t in trials if not t.user_attrs.get("baseline")]


def count_complete(trials: list[Any]) -> int:
    import optuna

    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in tuned(trials))


def figures(trials: list[Any], requested: int) -> dict[str, Any]:
    """What the study database says after the campaign."""
    import optuna

    state = optuna.trial.TrialState
    mine = tuned(trials)
    complete = [t for t in mine if t.state == state.COMPLETE]
    by_params: dict[str, list[Any]] = {}
    for t in complete:
        by_params.setdefault(json.dumps(t.params, sort_keys=True), []).append(t)
    repeats = [group for group in by_params.values() if len(group) > 1]

    def enqueued(t: Any) -> bool:  # hpsearch's retry of a lost trial, or Optuna's enqueue_trial
        return "retry_of" in t.user_attrs or "fixed_params" in t.system_attrs

    proposed: dict[str, list[Any]] = {}
    for t in mine:
        if t.params and not enqueued(t):
            proposed.setdefault(json.dumps(t.params, sort_keys=True), []).append(t)
    failed = [t for t in mine if t.state == state.FAIL]
    return {
        "requested": requested,
        "complete": len(complete),
        "lost": max(0, requested - len(complete)),
        "run_twice": sum(len(g) - 1 for g in repeats),
        "run_twice_involving_enqueued": sum(len(g) - 1 for g in repeats if any(enqueued(t) for t in g)),
        "run_twice_groups": [sorted(t.number for t in g) for g in repeats],
        "proposed_twice": sum(len(g) - 1 for g in proposed.values()),
        "proposed_twice_groups": [sorted(t.number for t in g) for g in proposed.values() if len(g) > 1],
        "left_running": sum(t.state in (state.RUNNING, state.WAITING) for t in mine),
        "left_running_trials": {t.number: t.state.name for t in mine if t.state in (state.RUNNING, state.WAITING)},
        "over_budget": max(0, len(complete) - requested),
        "failed": len(failed),
        "fail_reasons": dict(Counter(str(t.user_attrs.get("fail_reason", "(none recorded)"))[:120] for t in failed)),
        "pruned": sum(t.state == state.PRUNED for t in mine),
        "trials_in_study": len(mine),
    }


# --- the campaign -----------------------------------------------------------------------------------

def campaign(args: argparse.Namespace) -> dict[str, Any]:
    import psutil

    rng = random.Random(args.seed)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="hpsearch-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    campaign_id = uuid.uuid4().hex[:8]
    study_name = f"faults-{args.seed}-{campaign_id}"
    ray_root = Path(tempfile.mkdtemp(prefix=f"fc{campaign_id}-", dir="/tmp"))  # short: Ray's socket paths
    space = write_inputs(work, args.trials)
    hpsearch = str(Path(sys.executable).parent / "hpsearch")
    command = [hpsearch, "run", str(space), "--storage", args.storage, "--study", study_name,
               "--trials", str(args.trials)]
    print(f"study {study_name}; work {work}; Ray temp dirs under {ray_root}", flush=True)
    print("$", shlex.join(command), flush=True)

    drivers = []
    for i in range(args.drivers):
        cwd = work / f"driver{i}"
        cwd.mkdir(exist_ok=True)
        drivers.append(Driver(i, cwd, driver_env(campaign_id, ray_root / f"d{i}")))
    reader = StudyReader(args.storage, study_name)
    faults: Counter[str] = Counter()
    events: list[dict[str, Any]] = []
    pg_restart: dict[str, Any] | None = None
    orphans: list[int] = []
    t0 = time.monotonic()
    wall_started = time.time()

    def now() -> float:
        return time.monotonic() - t0

    def event(kind: str, **detail: Any) -> None:
        events.append({"t": round(now(), 1), "kind": kind, **detail})
        print(f"[{now():6.0f}s] {kind}: " + ", ".join(f"{k}={v}" for k, v in detail.items()), flush=True)

    def inject(d: Driver) -> float:
        """SIGKILL the driver or one of its Ray workers; seconds until the next fault."""
        s = d.current
        assert s is not None
        if rng.random() < args.driver_share:
            s.killed = True
            if args.driver_kill == "group":  # the driver and Ray's head processes, which share its group
                kill_group(s.proc, signal.SIGKILL)
            else:  # the driver's process alone, as the OOM killer would; Ray is left to notice
                s.proc.kill()
            s.proc.wait()
            s.returncode, s.ended = s.proc.returncode, now()
            d.restart_at = now() + rng.uniform(*args.restart_after)
            faults["driver_sigkill"] += 1
            event("SIGKILL driver", driver=d.index, start=s.number, pid=s.proc.pid,
                  restart_in=round(d.restart_at - now(), 1))
        else:
            workers = trial_workers(campaign_id, s)
            if not workers:  # its Ray is not up yet: try again shortly, no fault counted
                faults["ray_worker_none_found"] += 1
                event("no Ray worker to kill yet", driver=d.index, start=s.number)
                return 2.0
            victim = rng.choice(workers)
            title = describe_process(victim)["title"]
            try:
                victim.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                faults["ray_worker_gone_before_kill"] += 1
                return 2.0
            try:
                victim.wait(10)
            except psutil.TimeoutExpired:
                event("Ray worker still there 10 s after SIGKILL", pid=victim.pid)
            faults["ray_worker_sigkill"] += 1
            if title.startswith("ray::IDLE"):
                faults["ray_worker_sigkill_idle"] += 1
            event("SIGKILL Ray worker", driver=d.index, start=s.number, pid=victim.pid, title=title)
        return rng.uniform(0.5, 1.5) * args.fault_every

    try:
        for d in drivers:
            start_driver(d, command, t0)
        next_fault = now() + args.first_fault
        next_progress = 0.0
        complete = 0
        stopped_at_cap = False
        injecting = True
        while True:
            for d in drivers:  # who has exited, and restarts that are due
                s = d.current
                if s is not None and s.returncode is None and s.proc.poll() is not None:
                    s.returncode, s.ended = s.proc.returncode, now()
                    if not s.killed:
                        event("driver exited", driver=d.index, start=s.number, returncode=s.returncode)
                if not d.alive and d.restart_at is not None and now() >= d.restart_at:
                    killed = f"{d.index}.{len(d.starts) - 1}"
                    left = [q for q in map(describe_process, campaign_processes(campaign_id)) if q["start"] == killed]
                    orphans.append(len(left))
                    if left:
                        event("processes of the killed driver still alive", start=killed,
                              titles=sorted({q["title"] for q in left}))
                    new = start_driver(d, command, t0)
                    event("driver restarted", driver=d.index, start=new.number)
            trials = reader.trials()
            if trials is not None:
                complete = count_complete(trials)
            if injecting and complete >= args.trials:
                injecting = False
                event("budget reached: no more faults", complete=complete)
            running = [d for d in drivers if d.alive]
            pending = [d for d in drivers if not d.alive and d.restart_at is not None]
            if not running and not pending:
                break
            if now() >= args.max_minutes * 60:
                stopped_at_cap = True
                event("wall-clock cap: SIGTERM to every driver", minutes=args.max_minutes)
                for d in running:  # the driver alone: stopping its Ray is its job
                    d.current.capped = "SIGTERM"  # type: ignore[union-attr]
                    d.current.proc.terminate()  # type: ignore[union-attr]
                for d in drivers:
                    d.restart_at = None
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and any(d.current.proc.poll() is None for d in running):  # type: ignore[union-attr]
                    time.sleep(1)
                for d in running:
                    s = d.current
                    assert s is not None
                    if s.proc.poll() is None:
                        s.capped = "SIGKILL"
                        kill_group(s.proc, signal.SIGKILL)
                        s.proc.wait()
                    s.returncode, s.ended = s.proc.returncode, now()
                break

            if injecting and pg_restart is None and complete >= max(1, args.trials // 2):
                event("restarting PostgreSQL", complete=complete)
                pg_restart = {"t": round(now(), 1), **restart_postgres(args.pg_ctl, args.pg_down, args.storage)}
                faults["postgres_restart"] += 1
                event("PostgreSQL restarted" if pg_restart["ok"] else "PostgreSQL restart FAILED",
                      seconds=pg_restart["seconds"], output=pg_restart["output"] or "-")
            elif injecting and now() >= next_fault and running:
                next_fault = now() + inject(rng.choice(running))

            if now() >= next_progress:
                n_running = sum(1 for t in (trials or []) if t.state.name == "RUNNING")
                print(f"[{now():6.0f}s] complete {complete}/{args.trials}, RUNNING {n_running}, drivers up "
                      f"{len(running)}/{len(drivers)}, faults {dict(faults) or 'none'}", flush=True)
                next_progress = now() + args.progress_every
            time.sleep(args.poll)

    except BaseException:  # Ctrl-C or a bug here: leave nothing of ours running
        _kill_campaign(campaign_id, drivers)
        shutil.rmtree(ray_root, ignore_errors=True)
        raise

    ended = now()
    print(f"[{ended:6.0f}s] campaign over; reading the study, then {args.settle}s before counting Ray leftovers",
          flush=True)
    trials = None
    for _ in range(30):
        trials = reader.trials()
        if trials is not None:
            break
        time.sleep(2)
    if trials is None:
        _kill_campaign(campaign_id, drivers)
        raise SystemExit(f"error: cannot read study {study_name} from {_mask(args.storage)} after the campaign")
    result = figures(trials, args.trials)
    time.sleep(args.settle)
    leftover = [describe_process(p) for p in campaign_processes(campaign_id)]
    others = _other_ray(wall_started)
    _kill_campaign(campaign_id, drivers)
    shutil.rmtree(ray_root, ignore_errors=True)  # Ray's session logs; the drivers' own logs stay in `work`

    starts = [s for d in drivers for s in d.starts]
    result.update({
        "faults": {k: faults.get(k, 0) for k in ("driver_sigkill", "ray_worker_sigkill", "postgres_restart")},
        "ray_workers_killed_idle": faults.get("ray_worker_sigkill_idle", 0),
        "fault_attempts_without_target": {k: v for k, v in faults.items()
                                          if k in ("ray_worker_none_found", "ray_worker_gone_before_kill")},
        "driver_kill": args.driver_kill,
        "killed_driver_processes_alive_at_restart": orphans,
        "postgres_restart": pg_restart,
        "drivers": args.drivers,
        "driver_starts": len(starts),
        "driver_exits": [{"driver": s.driver, "start": s.number, "returncode": s.returncode,
                          "killed_by_campaign": s.killed, "stopped_at_cap": s.capped,
                          "last_line": _last_line(s.log)} for s in starts],
        "stopped_at_cap": stopped_at_cap,
        "minutes": round(ended / 60, 1),
        "ray_processes_alive_after_settle": len(leftover),
        "ray_leftovers": leftover[:40],
        "other_ray_processes_started_meanwhile": others,
        "study": study_name,
        "work": str(work),
        "events": events,
        "seed": args.seed,
        "storage": _mask(args.storage),
    })
    return result


def _kill_campaign(campaign: str, drivers: list[Driver]) -> None:
    """SIGKILL the drivers' process groups and every process carrying the campaign's marker: ours alone."""
    import psutil

    for d in drivers:
        if d.alive:
            kill_group(d.current.proc, signal.SIGKILL)  # type: ignore[union-attr]
    for proc in campaign_processes(campaign):
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def _other_ray(since: float) -> int:
    """raylet/gcs_server processes started during the campaign without its marker (someone else's Ray)."""
    import psutil

    count = 0
    for proc in psutil.process_iter(["name", "create_time"]):
        try:
            if proc.info["create_time"] >= since and proc.info["name"] in ("raylet", "gcs_server") \
                    and MARKER not in proc.environ():
                count += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return count


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines if re.match(r"^([\w.]+(Error|Exception)\b|error: )", ln)]
    return (errors[-1] if errors else (lines[-1] if lines else ""))[:200]


def _mask(url: str) -> str:
    from hpsearch.study import mask_url

    return mask_url(url)


# --- the page ---------------------------------------------------------------------------------------

def write_docs(r: dict[str, Any]) -> None:
    zeros = {"lost": r["lost"], "run twice": r["run_twice"], "left RUNNING": r["left_running"]}
    passed = all(v == 0 for v in zeros.values())
    faults = r["faults"]
    pg = r.get("postgres_restart") or {}
    lines = [
        "# Reliability: a fault campaign against a real PostgreSQL",
        "",
        "Several drivers (`hpsearch run`) work on one study in PostgreSQL while drivers and Ray worker processes",
        "are killed with SIGKILL at random and PostgreSQL is restarted once. Afterwards the study database alone",
        "says what was kept: `--trials N` should mean exactly N complete trials across all drivers, none lost,",
        "none run twice, none left RUNNING. The trials fine-tune a tiny random BERT (2 layers, hidden 32) on a",
        "toy dataset, so each takes seconds; what is measured is the driver, not the model.",
        "",
        "Reproduce (it restarts the PostgreSQL server it is given, interrupting its other users):",
        "",
        f"    {r['command']}",
        "",
        f"Measured {r.get('date', '')} on {r.get('machine', 'this machine')}; code {r.get('code', '?')}."
        + (f" {r['note']}" if r.get("note") else ""),
        "",
        "| figure | value |",
        "|---|---|",
        f"| trials requested (`--trials`) | {r['requested']} |",
        f"| drivers (starts, restarts included) | {r['drivers']} ({r['driver_starts']}) |",
        f"| complete | {r['complete']} |",
        f"| **lost** (requested - complete) | **{r['lost']}** |",
        f"| **run twice** (extra complete copies of the same parameters) | **{r['run_twice']}**"
        + (f" ({r['run_twice_involving_enqueued']} involving a re-enqueued trial)" if r["run_twice"] else "") + " |",
        f"| **left RUNNING** (RUNNING or WAITING at the end) | **{r['left_running']}** |",
        f"| over budget (complete - requested) | {r['over_budget']} |",
        f"| proposed twice (same parameters, any state, neither trial enqueued) | {r.get('proposed_twice', '—')} |",
        f"| failed | {r['failed']} |",
        f"| faults: drivers SIGKILLed ({r.get('driver_kill', 'process')}) | {faults['driver_sigkill']} |",
        f"| faults: Ray workers SIGKILLed (of them idle) | {faults['ray_worker_sigkill']} "
        f"({r.get('ray_workers_killed_idle', 0)}) |",
        f"| faults: PostgreSQL restarts | {faults['postgres_restart']}"
        + (f" (answering again after {pg.get('answering_again_after_s', pg.get('seconds'))} s)" if pg else "") + " |",
        f"| processes of a killed driver alive when it was restarted (total) | "
        f"{sum(r.get('killed_driver_processes_alive_at_restart', []))} |",
        f"| Ray processes alive {r.get('settle', 60):g} s after the end | {r['ray_processes_alive_after_settle']} |",
        f"| wall time | {r['minutes']} min" + (" (stopped at the wall-clock cap)" if r["stopped_at_cap"] else "") + " |",
        "",
        f"Lost, run twice and left RUNNING all 0: **{'pass' if passed else 'FAIL'}**"
        + ("" if passed else " (" + ", ".join(f"{k} {v}" for k, v in zeros.items() if v) + ")") + ".",
        "",
    ]
    if r["fail_reasons"]:
        lines += ["Why trials failed (`fail_reason`):", ""]
        lines += [f"- {n} × {reason}" for reason, n in sorted(r["fail_reasons"].items(), key=lambda kv: -kv[1])]
        lines.append("")
    crashed = [e for e in r["driver_exits"] if not e["killed_by_campaign"] and not e.get("stopped_at_cap")
               and e["returncode"] not in (0, None)]
    if crashed:
        lines += ["Drivers that exited with an error on their own (neither killed nor stopped by the campaign):", ""]
        lines += [f"- driver {e['driver']} start {e['start']}: exit {e['returncode']}: `{e['last_line']}`"
                  for e in crashed]
        lines.append("")
    capped = [e for e in r["driver_exits"] if e.get("stopped_at_cap")]
    if capped:
        lines += ["Drivers stopped at the wall-clock cap (a clean stop on SIGTERM exits 0):", ""]
        lines += [f"- driver {e['driver']} start {e['start']}: {e['stopped_at_cap']}, exit {e['returncode']}"
                  for e in capped]
        lines.append("")
    if r["run_twice_groups"]:
        lines += ["Complete trials with the same parameters: " + "; ".join(
            ", ".join(map(str, g)) for g in r["run_twice_groups"][:20]) + ".", ""]
    if r.get("proposed_twice_groups"):
        lines += ["Trials the samplers proposed with the same parameters (neither enqueued, any state): " + "; ".join(
            ", ".join(map(str, g)) for g in r["proposed_twice_groups"][:20]) + ".", ""]
    lines += _kill_rerun_lines()
    lines += [
        "How the campaign works (`benchmarks/fault_campaign.py`):",
        "",
        "- The drivers run the same command with the same space and search preset (each draws its sampler seed",
        "  from the study: the preset's seed, plus one for every driver that joined before it),",
        "  each in its own process group, working directory and `RAY_TMPDIR` (so each starts its own local Ray",
        "  instance), with `RAY_ADDRESS` unset. Every process the campaign starts carries a marker in its",
        f"  environment (`{MARKER}`, and `{START_MARKER}` for the driver start), which Ray's processes inherit:",
        "  that is how a driver's Ray workers and any leftovers are found, never by process name alone.",
        "- A fault every `--fault-every` seconds on average (uniformly 0.5× to 1.5×, seeded): with probability",
        "  `--driver-share` a random driver is SIGKILLed (its process alone by default, as the OOM killer would;",
        "  `--driver-kill group` also kills the Ray head processes in its process group) and the same command is",
        "  started again after `--restart-after` seconds; otherwise one of its Ray worker processes (retitled",
        "  `ray::…` by Ray: one running a trial, `ray::ImplicitFunc.train`, where there is one, an idle one",
        "  otherwise) is SIGKILLed. When half the trials are complete, PostgreSQL is restarted once (`--pg-ctl`",
        "  restart; with `--pg-down S`, stopped for S seconds then started).",
        "  No faults once N trials are complete; killed drivers are still restarted, as a user would. A driver",
        "  that exits on its own (done, or crashed) is not restarted: a crash is listed with its last error.",
        "- The campaign ends when no driver is running, or at `--max-minutes` (SIGTERM to each driver's",
        "  process, 60 s, then SIGKILL to its process group).",
        "- *Run twice* counts complete trials only; *proposed twice* counts any two trials with the same",
        "  parameters that no one enqueued (a retry, `retry_of`, shares its lost trial's parameters by design),",
        "  which is what drivers sampling with the same seed would produce.",
        "- Process timings differ between runs, so the same seed gives the same choices, not the same campaign.",
        "",
    ]
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text("\n".join(lines), encoding="utf-8")


def _kill_rerun_lines() -> list[str]:
    """The issue's two checks on the shipped demo space, from `benchmarks/kill_rerun.py`, if run."""
    path = ROOT / "benchmarks" / "results" / "kill_rerun.json"
    if not path.is_file():
        return []
    r = json.loads(path.read_text(encoding="utf-8"))
    k, t = r["killed_and_rerun"], r["two_drivers"]
    return [
        "## The demo space, killed and run again; two drivers on one study",
        "",
        "The real packaged MiniLM on the shipped `spaces/legal.yaml`, against the same PostgreSQL "
        f"(measured {r['date']}):",
        "",
        "    .venv/bin/python benchmarks/kill_rerun.py --storage postgresql://postgres@127.0.0.1:5432/test",
        "",
        "| check | result |",
        "|---|---|",
        f"| `{k['command']}`, driver SIGKILLed in trial {k['killed_in_trial']}, then the same command | "
        f"{k['complete']} complete, {k['left_running']} RUNNING or waiting; states {k['states']}; the killed trial: "
        f"\"{k['killed_trial_reason']}\", run again as trial(s) {', '.join(map(str, k['rerun_of_killed'])) or 'none'} "
        f"({k['minutes']} min) |",
        f"| `{t['command']}` | {t['complete']} complete, {t['distinct_parameters']} distinct parameter sets; "
        f"trials per driver {list(t['by_driver'].values())}; states {t['states']} ({t['minutes']} min) |",
        "",
    ]


def _code_version() -> str:
    """The commit the drivers ran, or the folder they imported hpsearch from when it is not this checkout."""
    import hpsearch

    source = Path(hpsearch.__file__).resolve().parents[1]
    if source != ROOT / "src":
        return f"hpsearch {hpsearch.__version__} from {source}"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _machine() -> str:
    from hpsearch.trial import describe

    return describe()


def _postgres_version() -> str:
    try:
        return sorted(os.listdir("/etc/postgresql"))[-1]
    except OSError:
        return "15"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=60, help="--trials given to every driver (default: 60)")
    parser.add_argument("--drivers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="seeds the fault schedule (default: 0)")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"a PostgreSQL URL (default: {DEFAULT_STORAGE})")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="wall-clock cap (default: 40)")
    parser.add_argument("--fault-every", type=float, default=30.0, help="mean seconds between faults (default: 30)")
    parser.add_argument("--first-fault", type=float, default=30.0, help="seconds before the first fault (default: 30)")
    parser.add_argument("--driver-share", type=float, default=0.4,
                        help="probability that a fault kills a driver rather than a Ray worker (default: 0.4)")
    parser.add_argument("--driver-kill", choices=("process", "group"), default="process",
                        help="SIGKILL a driver's process alone (default), or its process group, which holds "
                        "its local Ray head (gcs_server, raylet) but not its Ray workers")
    parser.add_argument("--restart-after", type=float, nargs=2, default=(2.0, 8.0), metavar=("MIN", "MAX"),
                        help="seconds before a killed driver is started again (default: 2 8)")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds after the end before Ray leftovers are counted (default: 60)")
    parser.add_argument("--pg-ctl", default=PG_CTL.format(version=_postgres_version()),
                        help="shell command that takes restart, stop or start for the PostgreSQL server "
                        "(default: %(default)s)")
    parser.add_argument("--pg-down", type=float, default=0.0, metavar="SECONDS",
                        help="stop PostgreSQL, wait this long, start it (default: 0, a plain restart)")
    parser.add_argument("--poll", type=float, default=2.0, help=argparse.SUPPRESS)
    parser.add_argument("--progress-every", type=float, default=15.0, help=argparse.SUPPRESS)
    parser.add_argument("--work", help="folder for the model, space, driver logs (default: a temp dir)")
    parser.add_argument("--note", default="", help="a sentence for the page, e.g. which driver was measured")
    parser.add_argument("--docs-only", action="store_true", help="rewrite docs/reliability.md from the kept JSON")
    args = parser.parse_args(argv)
    if args.docs_only:
        write_docs(json.loads(RESULTS.read_text(encoding="utf-8")))
        return 0
    if not args.storage.startswith("postgresql"):
        print(f"error: --storage: must be a PostgreSQL URL (the campaign restarts the server), got {_mask(args.storage)}",
              file=sys.stderr)
        return 2
    if args.trials < 1 or args.drivers < 1:
        print(f"error: --trials and --drivers must be >= 1, got {args.trials} and {args.drivers}", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # SIGTERM as Ctrl-C: the campaign then kills what it started before it goes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    command = (f".venv/bin/python benchmarks/fault_campaign.py --trials {args.trials} --drivers {args.drivers} "
               f"--seed {args.seed} --storage {_mask(args.storage)}")
    defaults = parser.parse_args([])
    for flag in ("max_minutes", "fault_every", "first_fault", "driver_share", "settle", "driver_kill", "pg_down"):
        if getattr(args, flag) != getattr(defaults, flag):
            value = getattr(args, flag)
            command += f" --{flag.replace('_', '-')} {value if isinstance(value, str) else format(value, 'g')}"
    if tuple(args.restart_after) != tuple(defaults.restart_after):
        command += " --restart-after {:g} {:g}".format(*args.restart_after)
    result = campaign(args)
    result.update({"command": command, "settle": args.settle, "machine": _machine(), "code": _code_version(),
                   "date": time.strftime("%Y-%m-%d"), "note": args.note})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    write_docs(result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("events", "ray_leftovers", "driver_exits")},
                     indent=1, default=str), flush=True)
    return 0 if result["lost"] == result["run_twice"] == result["left_running"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
