"""Run a study on Ray Tune: Optuna proposes (`OptunaSearch`), Ray schedules, the runner trains.

The Optuna study database is the record of truth. Only this driver process writes to it; the
workers never see its URL, and neither do Ray's experiment checkpoints.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import time
import warnings
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import optuna
from ray import tune
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch

from hpsearch.errors import Problem, UserError
from hpsearch.objectives import Constraint
from hpsearch.plan import Plan
from hpsearch.study._front import record_constraints, set_trial_constraints
from hpsearch.study._trainable import ATTRS_KEY, ERROR_KEY, METRICS_KEY, trainable

if TYPE_CHECKING:
    from rich.console import Console

class StudySearch(OptunaSearch):
    """OptunaSearch that records every measured value, the constraint violations and the failure
    reason on the trial."""

    #: The objectives file's constraints, recorded on each trial with ``Trial.set_constraint``.
    constraints: tuple[Constraint, ...] = ()
    #: The objectives file's min_gain_over_trivial: a trial below it is infeasible (``learned``).
    min_gain: float = 0.1

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is None or trial_id in self._completed_trials:
            return super().on_trial_complete(trial_id, result, error)
        result = result or {}
        reason = result.get(ERROR_KEY)
        if METRICS_KEY in result:
            metrics = json.loads(result[METRICS_KEY])
            for key, value in metrics.items():
                ot_trial.set_user_attr(key, value)
            set_trial_constraints(ot_trial, self.constraints, metrics, self.min_gain)
            for key, value in json.loads(result[ATTRS_KEY]).items():
                ot_trial.set_user_attr(key, value)
            values = [result.get(name) for name in self.metric]
            bad = [n for n, v in zip(self.metric, values) if v is None or not math.isfinite(v)]
            if bad:
                reason = f"objective(s) not measured: {', '.join(bad)}"
        elif reason is None:
            reason = "the worker stopped before reporting a result" if error else "no result reported"
        if reason is not None:
            ot_trial.set_user_attr("fail_reason", reason)
            ot_trial.study.tell(ot_trial, None, state=optuna.trial.TrialState.FAIL)
            self._completed_trials.add(trial_id)
            return None
        return super().on_trial_complete(trial_id, result, error)

    # The storage holds the database URL and its password: Ray pickles searchers into its
    # experiment state and checkpoints, so the study and storage never go with them.
    _UNPICKLED = ("_storage", "_ot_study", "_ot_trials", "_sampler")

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in self._UNPICKLED}
        state["trial_numbers"] = {tid: t.number for tid, t in self._ot_trials.items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state.pop("trial_numbers", None)
        self.__dict__.update(state)
        self.__dict__.update({k: None for k in self._UNPICKLED if k != "_ot_trials"})
        self._ot_trials = {}

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as fh:
            pickle.dump(self.__getstate__(), fh)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as fh:
            state = pickle.load(fh)
        state.pop("trial_numbers", None)
        self.__dict__.update({k: v for k, v in state.items() if k not in self._UNPICKLED})


@dataclass
class RunOptions:
    storage: str
    study_name: str
    trials: int
    address: str | None = None


def run(plan: Plan, options: RunOptions, console: "Console") -> "optuna.Study":
    """Validate what needs the stack, open the database, run the trials on Ray Tune."""
    source = plan.path
    from hpsearch.search import make_sampler
    from hpsearch.trial import check_model

    check_model(plan.space.model, source)  # a bad model fails here, before anything is written

    search = plan.search
    constraints = plan.objectives.parsed_constraints()
    try:
        sampler = make_sampler(search.sampler.name, search.seed, search.sampler.options)
    except (TypeError, ValueError) as exc:
        raise UserError(Problem(source, "search.sampler.options", str(exc))) from None

    from hpsearch.study._storage import mask_url, open_storage

    storage = open_storage(options.storage)
    directions = plan.objectives.directions()
    names = plan.objectives.names()
    _check_existing(storage, options.study_name, names, directions)

    import ray

    # Per-epoch reports carry progress metrics only; the objectives come with the last one.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    init_started = time.monotonic()
    if not ray.is_initialized():
        ray.init(
            address=options.address,
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
            configure_logging=True,
        )
    cluster = ray.cluster_resources()
    cpus = search.cpus_per_trial or max(1.0, math.floor(cluster.get("CPU", 1) / search.max_concurrent_trials))
    console.print(
        f"Ray: {int(cluster.get('CPU', 0))} CPUs, {int(cluster.get('GPU', 0))} GPUs "
        f"({'cluster ' + options.address if options.address else 'local'}, "
        f"{time.monotonic() - init_started:.1f}s); {cpus:g} CPUs per trial, "
        f"{search.max_concurrent_trials} at a time"
    )
    console.print(f"Study {options.study_name!r} in {mask_url(options.storage)}: "
                  f"{options.trials} trials, sampler {search.sampler.name}, objectives "
                  + ", ".join(f"{n} ({d[:3]})" for n, d in zip(names, directions))
                  + (f"; constraints {', '.join(map(str, constraints))}" if constraints else ""))

    from hpsearch.space import BASELINE_ATTR, suggest

    searcher = StudySearch(
        space=partial(suggest, plan.space),
        metric=names,
        mode=["max" if d == "maximize" else "min" for d in directions],
        sampler=sampler,
        study_name=options.study_name,
        storage=storage,
    )
    searcher.constraints = tuple(constraints)
    searcher.min_gain = plan.objectives.min_gain_over_trivial
    optuna_study = searcher._ot_study
    assert optuna_study is not None  # OptunaSearch creates the study when given a space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna_study.set_metric_names(names)
    _record_study_attrs(optuna_study, plan)
    record_constraints(optuna_study, constraints)
    if plan.space.baseline != "none" and not any(
        t.user_attrs.get(BASELINE_ATTR) == plan.space.baseline for t in optuna_study.get_trials(deepcopy=False)
    ):
        optuna_study.enqueue_trial({}, user_attrs={BASELINE_ATTR: plan.space.baseline})

    if plan.space.baselines:
        from hpsearch.study._baselines import record_baselines

        record_baselines(optuna_study, plan, plan.space.baselines, constraints, threads=int(cpus), console=console)

    from hpsearch.study._progress import Progress

    progress = Progress(console, options.trials, names, directions, search.max_concurrent_trials)
    resources = {"cpu": cpus, "gpu": search.gpus_per_trial}
    tuner = tune.Tuner(
        tune.with_resources(
            tune.with_parameters(trainable, plan=plan, threads=int(cpus)), resources
        ),
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=search.max_concurrent_trials),
            num_samples=options.trials,
            reuse_actors=True,
            time_budget_s=search.time_budget_s,
        ),
        run_config=tune.RunConfig(
            name=options.study_name,
            storage_path=os.path.abspath(os.path.join(".hpsearch", "ray")),
            verbose=0,
            callbacks=[progress],
        ),
    )
    progress.start()
    try:
        tuner.fit()
    finally:
        progress.stop()
    return optuna_study


def _check_existing(storage: Any, name: str, names: list[str], directions: list[str]) -> None:
    """A study of that name must measure the same objectives in the same directions."""
    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return
    have = [d.name.lower() for d in existing.directions]
    metric_names = existing.metric_names
    if have != directions or (metric_names and list(metric_names) != names):
        raise UserError(Problem(
            "--study", "",
            f"study {name!r} already exists with objectives "
            f"{list(metric_names or [])} {have}; this space has {names} {directions}. "
            "Use another --study name.",
        ))


def _record_study_attrs(optuna_study: "optuna.Study", plan: Plan) -> None:
    from hpsearch import __version__

    splits = plan.splits()
    optuna_study.set_user_attr("hpsearch_version", __version__)
    optuna_study.set_user_attr("space_file", os.path.basename(plan.path))
    optuna_study.set_user_attr("space", plan.space.model_dump(mode="json", by_alias=True))
    optuna_study.set_user_attr("dataset_fingerprint", splits.fingerprint)
    optuna_study.set_user_attr("dataset", splits.describe())
    optuna_study.set_user_attr("labels", splits.label_names)
