"""Run a study on Ray Tune: Optuna proposes, Ray schedules, the runner trains.

The Optuna study database is the record of truth, shared by every driver that runs the study
(``hpsearch.study._ledger``: the budget, heartbeats, lost trials and retries). Only drivers write
to it; the workers never see its URL, and neither do Ray's experiment checkpoints.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import optuna
from ray import tune
from ray.tune.search import ConcurrencyLimiter

from hpsearch.errors import Problem, UserError
from hpsearch.plan import Plan
from hpsearch.study._faults import StudyLock, retrying
from hpsearch.study._join import CONTENT_ATTR, join_study, pinned_to_study, start_up, study_for
from hpsearch.study._ledger import Ledger, Policy, count
from hpsearch.study._searcher import StudySearch, WorkersFailing, worker_error
from hpsearch.study._trainable import ATTRS_KEY, ERROR_KEY, METRICS_KEY, trainable

__all__ = ["ATTRS_KEY", "ERROR_KEY", "METRICS_KEY", "RunOptions", "StudySearch", "run", "trainable"]

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger("hpsearch.study")



@dataclass
class RunOptions:
    storage: str
    study_name: str
    trials: int
    address: str | None = None
    #: A confirmation run: only the trials enqueued under this batch (no baselines, nothing sampled).
    batch: str | None = None
    #: Where the study holds another search (other data, say), run a new one: `study_name`-2, -3, ...
    new_study: bool = False


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: the driver marks its trials as interrupted and stops."""


#: The signal that stopped the run (Tune may re-raise our exception as a plain KeyboardInterrupt).
_received: list[str] = []


def _on_signal(signum: int, frame: Any) -> None:
    _received.append(signal.Signals(signum).name)
    raise Interrupted(_received[-1])


def run(plan: Plan, options: RunOptions, console: "Console") -> "optuna.Study":
    """Join (or create) the study, then run trials on Ray Tune until the study's budget is met."""
    source = plan.path
    from hpsearch.search import make_sampler
    from hpsearch.trial import check_model

    # a bad model fails here, before anything is written (a pinned revision is fetched where the cache lacks it)
    check_model(plan.space.model, source, plan.base_dir, plan.space.model_revision, fetch=True)
    from hpsearch.study._artifacts import check_setting

    check_setting()  # so does an artifact store that cannot be
    joined = None
    if options.address:
        _check_reachable(options.address)  # Ray itself takes minutes to give up on an address
        joined = _connect(options.address)  # a cluster that refuses this driver (no token) writes nothing

    search = plan.search
    constraints = plan.objectives.parsed_constraints()
    try:
        make_sampler(search.sampler.name, search.seed, search.sampler.options)
    except (TypeError, ValueError) as exc:
        raise UserError(Problem(source, "search.sampler.options", str(exc))) from None
    from hpsearch.search import make_scheduler

    try:
        rule = make_scheduler(search.scheduler.name, plan.objectives.names(), plan.objectives.directions(),
                              search.scheduler.options, plan.objectives.deployed_constraints())
        if options.batch is not None:
            rule = None  # a confirmation runs its trials to the end: they are measured, not searched
    except (TypeError, ValueError) as exc:
        where = os.path.join(plan.base_dir, plan.space.search) if plan.space.search else source
        raise UserError(Problem(where, "scheduler.options", str(exc).splitlines()[0])) from None

    from hpsearch.study._storage import mask_url, open_storage

    splits = plan.splits()
    policy = Policy(budget=options.trials, max_failed_trials=search.max_failed_trials,
                    max_retries=search.max_retries, heartbeat_interval_s=search.heartbeat_interval_s,
                    stale_after_s=search.stale_after_s, batch=options.batch)
    warm = plan.space.warm_start if options.batch is None else None
    if warm is not None:
        from hpsearch.study._warm import load_source, no_database

        no_database(options.storage, warm.study, source)  # a SQLite file not there yet: not even created
    storage = open_storage(options.storage)
    if warm is not None:
        source_study = load_source(storage, warm.study, source, options.storage)
    if options.new_study:  # join_study checks again under the lock
        name = study_for(storage, options.study_name, plan, splits, constraints)
        if name != options.study_name:
            console.print(f"Study {options.study_name!r} holds another search: running study {name!r}",
                          markup=False, soft_wrap=True)
            options.study_name = name
    lock = StudyLock(options.storage, options.study_name)
    with lock.held():  # one driver at a time decides whether the study is new, and what it holds
        study = join_study(storage, options.study_name, plan, splits, constraints)
        pinned = pinned_to_study(plan, study)
    if pinned is not None:  # a hub id whose main here is not the commit the study's trials load
        plan, found = pinned
        check_model(plan.space.model, source, plan.base_dir, plan.space.model_revision)
        console.print(f"Study {options.study_name!r} trains {plan.space.model} at commit {plan.space.model_revision} "
                      f"(its first run's), and so does this run (main here: {found})", markup=False, soft_wrap=True)
    ledger = Ledger(study, storage, lock, policy)
    seed = ledger.register(search.seed)
    sampler_options = start_up(ledger, search.sampler.name, search.sampler.options, options.trials)
    sampler = make_sampler(search.sampler.name, seed, sampler_options)
    study = retrying(lambda: optuna.load_study(study_name=options.study_name, storage=storage, sampler=sampler),
                     "loading the study")
    ledger.study = study
    names = plan.objectives.names()
    directions = plan.objectives.directions()

    from hpsearch.space import BASELINE_ATTR, suggest

    if plan.space.baseline != "none" and options.batch is None:
        def enqueue_head(trials: list[Any]) -> None:
            if not any(t.user_attrs.get(BASELINE_ATTR) == plan.space.baseline for t in trials):
                study.enqueue_trial({}, user_attrs={BASELINE_ATTR: plan.space.baseline})

        ledger.once(enqueue_head)

    if warm is not None:
        from hpsearch.space import distributions
        from hpsearch.study._warm import enqueue_warm_start

        enqueued: list[int] = []
        ledger.once(lambda trials: enqueued.extend(
            enqueue_warm_start(study, source_study, distributions(plan.space), warm.top_k)))
        if enqueued:
            console.print(f"Warm start: trial(s) {', '.join(map(str, enqueued))} of study {warm.study!r} "
                          "enqueued, to be measured on this data")

    import ray

    # Per-epoch reports carry progress metrics only; the objectives come with the last one.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Tune's own result files would copy every trained adapter; the study and its store hold them.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"  # Ctrl-C is ours: the trials are marked, then Ray stops
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    ledger.start()
    searcher: StudySearch | None = None
    progress = None
    try:
        connected = joined if joined is not None else _connect(None)
        for sig in (signal.SIGINT, signal.SIGTERM):  # again: Ray's core put its own (a stack dump) in place
            signal.signal(sig, _on_signal)
        from hpsearch.study._cluster import alive_nodes, check_placeable, node_cpus, trial_resources
        from hpsearch.trial._shipping import ship

        nodes = alive_nodes()
        resources = trial_resources(search, nodes)
        check_placeable(resources, nodes, os.path.join(plan.base_dir, plan.space.search or "search preset"))
        # a preset's own cpus_per_trial stays fixed; else a trial's threads grow to its node's CPUs while
        # it runs there alone (trial._occupancy)
        grow = search.cpus_per_trial is None and not resources.gpu
        cluster = ray.cluster_resources()
        counts = count(study.get_trials(deepcopy=False), options.batch)
        console.print(
            f"Ray: {len(nodes)} node(s), {int(cluster.get('CPU', 0))} CPUs, {int(cluster.get('GPU', 0))} GPUs "
            f"({'cluster ' + options.address if options.address else 'local'}, "
            f"{connected:.1f}s); {resources.cpu:g} CPUs"
            + (f" and {resources.gpu:g} GPUs" if resources.gpu else "")
            + f" per trial, {search.max_concurrent_trials} at a time"
        )
        console.print(f"Study {options.study_name!r} in {mask_url(options.storage)}: "
                      f"{options.trials} trials ({counts.complete} complete, {counts.running} running elsewhere), "
                      + (f"sampler {search.sampler.name} (seed {seed}), " if options.batch is None
                         else "queued configurations to confirm (nothing sampled), ") + "objectives "
                      + ", ".join(f"{n} ({d[:3]})" for n, d in zip(names, directions))
                      + (f"; constraints {', '.join(map(str, constraints))}" if constraints else ""))

        if plan.space.baselines and options.batch is None:
            from hpsearch.study._baselines import record_baselines

            # before the trials, the baselines take this node's CPUs where a trial's threads may grow
            here = node_cpus(ray.get_runtime_context().get_node_id(), nodes) if grow else None
            record_baselines(study, plan, plan.space.baselines, constraints, threads=int(resources.cpu),
                             console=console, ledger=ledger, node_threads=here)

        from hpsearch.study._progress import Progress

        from hpsearch.study._artifacts import open_store

        searcher = StudySearch(ledger, partial(suggest, plan.space), names, tuple(constraints),
                               plan.objectives.min_gain_over_trivial, store=open_store(study, options.storage))
        searcher.keep_front_only = search.keep_artifacts == "front"
        searcher.sampler = (search.sampler.name, sampler_options)
        scheduler = None
        if rule is not None:
            from hpsearch.study._early_stopping import EarlyStopping, finished_trials

            scheduler = searcher.scheduler = EarlyStopping(rule, names, finished=finished_trials(study),
                                                           number=searcher.trial_number)
        progress = Progress(console, options.trials, names, directions, search.max_concurrent_trials,
                            done=counts.complete + counts.pruned,
                            stopped=scheduler.stopped if scheduler is not None else None,
                            study_number=searcher.trial_number)
        shipment = ship(plan)
        tuner = tune.Tuner(
            tune.with_resources(
                tune.with_parameters(trainable, plan=plan, threads=int(resources.cpu), shipment=shipment,
                                     grow_threads=grow,
                                     fingerprint=study.user_attrs.get(CONTENT_ATTR, shipment.content_fingerprint),
                                     objectives_each_epoch=rule is not None and rule.needs_epoch_objectives,
                                     budget_first=rule is not None and bool(rule.constraints),
                                     run=ledger.identity["id"]),
                {"cpu": resources.cpu, "gpu": resources.gpu},
            ),
            tune_config=tune.TuneConfig(
                search_alg=ConcurrencyLimiter(searcher, max_concurrent=search.max_concurrent_trials),
                scheduler=scheduler,
                num_samples=-1,  # the study's budget decides (StudySearch returns FINISHED)
                reuse_actors=True,
                time_budget_s=search.time_budget_s,
            ),
            run_config=tune.RunConfig(
                name=f"{options.study_name}-{ledger.identity['id']}",
                storage_path=os.path.abspath(os.path.join(".hpsearch", "ray")),
                verbose=0,
                callbacks=[progress],
            ),
        )
        progress.start()
        results = tuner.fit()
        why = (f"stopped by the time budget (time_budget_s={search.time_budget_s:g})" if searcher.fatal is None
               and search.time_budget_s else "stopped: its driver stopped before the trial reported")
        stopped = ledger.release(why, "stopped")
        if stopped:
            console.print(f"{why[0].upper()}{why[1:]}: trial(s) {', '.join(map(str, stopped))} recorded as "
                          "stopped; the next run resumes them")
        if isinstance(searcher.fatal, WorkersFailing) and results.errors:
            raise WorkersFailing(f"{searcher.fatal}; the last worker's error: {worker_error(results.errors[-1])}")
        if searcher.fatal is not None:
            raise searcher.fatal
        _say_where(study, ledger, console)
    except KeyboardInterrupt:
        what = _received[-1] if _received else "SIGINT"
        released = ledger.release(f"interrupted ({what}); the next run resumes it", "interrupted")
        if released:
            console.print(f"Interrupted: trial(s) {', '.join(map(str, released))} marked as interrupted; "
                          "running the same command resumes them")
        raise
    finally:
        ledger.stop()
        if progress is not None:
            progress.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return study


def _connect(address: str | None) -> float:
    """Start Ray here (`address` None; it goes with this driver however it ends) or join the cluster at
    `address`, unless this process is connected already; the seconds it took. A cluster that cannot be
    joined is a UserError, in one line: what Ray's core printed while it tried (a refused token, once a
    second for some 20 seconds) is kept from the terminal and said once, as the reason."""
    import ray

    if ray.is_initialized():
        return 0.0
    started = time.monotonic()
    options = dict(address=address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                   configure_logging=True)
    if address is None:
        ray.init(**options)
        from hpsearch.study._reaper import start as start_reaper

        start_reaper(os.getpid())
        return time.monotonic() - started
    failed: BaseException | None = None
    with _stderr_kept() as said:
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
            failed = exc
    if failed is None:
        sys.stderr.write(said.text)  # joined: whatever Ray's core said goes where it would have
        return time.monotonic() - started
    from hpsearch.study._storage import first_line

    refused = "Authentication token is missing or incorrect"
    token = os.environ.get("RAY_AUTH_MODE") == "token"
    needs = ("a cluster started with `ray start --head` needs RAY_AUTH_MODE=token here, with its token in "
             "~/.ray/auth_token or RAY_AUTH_TOKEN (see the README, On a Ray cluster)")
    if refused in said.text and token:
        why = (f"the cluster refused this driver's token ({refused}): it must be the cluster's, in RAY_AUTH_TOKEN, "
               "RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token")
    elif refused in said.text:
        why = f"the cluster refused this driver ({refused}): {needs}"
    else:
        why = first_line(failed) + (f"; {needs}" if "Failed to connect" in str(failed) and not token else "")
    raise UserError(Problem("--address", "", f"cannot join the Ray cluster at {address}: {why}")) from None


class _Said:
    text = ""


@contextmanager
def _stderr_kept() -> Iterator[_Said]:
    """What this process writes to its standard error (file descriptor 2, as Ray's core writes) while
    inside, kept from the terminal: ``.text`` once out."""
    import tempfile

    said = _Said()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as kept:
        os.dup2(kept.fileno(), 2)
        try:
            yield said
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            kept.seek(0)
            said.text = kept.read().decode(errors="replace")


def _check_reachable(address: str) -> None:
    """A UserError at once when nothing answers at a ``host:port`` Ray address (``auto`` is Ray's to
    resolve), or for a Ray Client address (``ray://``: the driver's threads and the study database's
    connections stay in this process, which Ray Client would not run)."""
    import socket

    if address.startswith("ray://"):
        raise UserError(Problem("--address", "", f"{address} is a Ray Client address, which hpsearch does not "
                                "use: give the head node's HOST:PORT (the port of `ray start --head --port`)"))
    if address in ("auto", "local"):
        return
    wrong = UserError(Problem("--address", "", f"not HOST:PORT: {address!r} (the head node's address, as "
                              "`ray start --head --port PORT` prints it; or auto: the cluster this machine "
                              "belongs to)"))
    if ":" not in address or "://" in address:
        raise wrong
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except ValueError:
        raise wrong from None
    except OSError as exc:
        raise UserError(Problem("--address", "", f"nothing answers at {address} ({exc.strerror or exc}); start "
                                "the head with `ray start --head --port PORT`, or leave --address out to run "
                                "here")) from None


def _say_where(study: "optuna.Study", ledger: Ledger, console: "Console") -> None:
    counts = count(study.get_trials(deepcopy=False))
    if counts.done < ledger.policy.budget:
        console.print(f"Study {study.study_name!r}: {counts.done}/{ledger.policy.budget} done, "
                      f"{counts.running} running elsewhere ({', '.join(counts.running_by)})")
