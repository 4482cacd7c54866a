"""What a search preset (``search/*.yaml``) says: the sampler and its options, the budget, how many
trials run at once and what each gets. Reading one reports an unknown sampler, and `check_sampler`
builds it so that a misspelt option fails in `hpsearch validate`, not in `run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hpsearch.config import Strict, read_yaml, show, validate_model
from hpsearch.errors import Problem


class SamplerConfig(Strict):
    name: str = "gp_pool"  # the default strategy (benchmarks/search_efficiency.py)
    options: dict[str, Any] = Field(default_factory=dict)


class SchedulerConfig(Strict):
    name: str = "fifo"
    options: dict[str, Any] = Field(default_factory=dict)


class SearchConfig(Strict):
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig, description="what stops running trials "
                                       "early on their per-epoch objectives: fifo (nothing) or mo_asha")
    trials: int = Field(default=10, gt=0)
    seed: int = 0
    max_concurrent_trials: int = Field(default=2, gt=0, description="trials in flight at once per driver; 2, "
                                       "search/default.yaml's: more trials per hour on a CPU node than one "
                                       "(benchmarks/concurrency.py)")
    cpus_per_trial: float | None = Field(default=None, gt=0, description="null: all of a node's CPUs")
    gpus_per_trial: float = Field(default=0, ge=0)
    time_budget_s: float | None = Field(default=None, gt=0)
    max_failed_trials: int = Field(default=10, gt=0, description="the study stops after this many trials "
                                   "failed on their own account (lost and interrupted ones do not count); a run stops "
                                   "after this many trials in a row are lost (workers that cannot run the trainable)")
    max_retries: int = Field(default=2, ge=0, description="how many times a lost or interrupted trial's "
                             "parameters are run again")
    keep_artifacts: Literal["all", "front"] = Field(default="all", description="the trained adapters kept in "
                                                    "the artifact store: every complete trial's, or only the "
                                                    "current honest front's (the rest removed as the front moves)")
    heartbeat_interval_s: int = Field(default=10, gt=0, description="how often a driver marks its running "
                                      "trials as alive in the study")
    stale_after_s: int = Field(default=60, gt=0, description="a running trial without a heartbeat for this "
                               "long is lost: failed and run again")

    @model_validator(mode="after")
    def _beats_within_grace(self) -> "SearchConfig":
        if self.stale_after_s < 2 * self.heartbeat_interval_s:
            raise ValueError(f"stale_after_s ({self.stale_after_s}) must be at least twice heartbeat_interval_s "
                             f"({self.heartbeat_interval_s}), or live trials are taken for lost")
        return self

    @field_validator("sampler", "scheduler", mode="before")
    @classmethod
    def _name_only(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


def load_search(path: Path, problems: list[Problem]) -> SearchConfig | None:
    data = read_yaml(path, problems)
    if data is None:
        return None
    config = validate_model(SearchConfig, data, str(path), problems)
    if config is not None:
        from hpsearch.search._samplers import SAMPLERS

        if config.sampler.name not in SAMPLERS:
            problems.append(Problem(str(path), "sampler.name",
                                    f"unknown sampler {config.sampler.name!r}; known: {', '.join(SAMPLERS)}"))
        from hpsearch.search._schedulers import SCHEDULERS

        if config.scheduler.name not in SCHEDULERS:
            problems.append(Problem(str(path), "scheduler.name", f"unknown scheduler {config.scheduler.name!r}; "
                                    f"known: {', '.join(SCHEDULERS)}"))
        _check_scheduler(path, config, problems)  # cheap (no Ray): `run` reports a bad option as `validate` does
    return config


def check_sampler(path: Path, search: SearchConfig | None, problems: list[Problem]) -> None:
    """Build the preset's Optuna sampler (cheap, no torch) and check its scheduler's options: a misspelt
    option fails here, not in `run`."""
    import warnings

    from hpsearch.search._samplers import SAMPLERS, make_sampler

    if search is not None:
        _check_scheduler(path, search, problems)
    if search is None or search.sampler.name not in SAMPLERS:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make_sampler(search.sampler.name, search.seed, dict(search.sampler.options))
    except (TypeError, ValueError) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.append(Problem(str(path), "sampler.options", f"must be options the {search.sampler.name} "
                                f"sampler takes, got {show(search.sampler.options)}: {why}"))


def _check_scheduler(path: Path, search: SearchConfig, problems: list[Problem]) -> None:
    from pydantic import ValidationError

    from hpsearch.search._schedulers import SCHEDULERS

    if search.scheduler.name not in SCHEDULERS:
        return
    factory, schema = SCHEDULERS[search.scheduler.name]
    options = search.scheduler.options
    if schema is None:
        if options:
            problems.append(Problem(str(path), "scheduler.options", f"the {search.scheduler.name} scheduler "
                                    f"takes no options, got {show(options)}"))
        return
    try:
        schema(**options)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            problems.append(Problem(str(path), f"scheduler.options{'.' + where if where else ''}",
                                    f"{error['msg']}, got {show(error.get('input'))}"))
