"""What a search preset (``search/*.yaml``) says: its schema, and the samplers and schedulers it names,
looked up by name in registries (``register_sampler`` / ``register_scheduler`` add one; a name is
taken once).

Imports neither torch nor Ray; Optuna only when a sampler is built.
"""

from __future__ import annotations

from hpsearch.search._samplers import SAMPLERS, describe_proposal, fit_to_budget, make_sampler, register_sampler
from hpsearch.search._schedulers import (
    SCHEDULERS,
    BudgetRule,
    MOSuccessiveHalving,
    Rule,
    make_scheduler,
    register_scheduler,
)
from hpsearch.search._schema import SamplerConfig, SchedulerConfig, SearchConfig, check_sampler, load_search
from hpsearch.search._snapshot import proposing_with

__all__ = ["SAMPLERS", "SCHEDULERS", "BudgetRule", "MOSuccessiveHalving", "Rule", "SamplerConfig", "SchedulerConfig", "SearchConfig",
           "check_sampler", "describe_proposal", "fit_to_budget", "load_search", "make_sampler", "make_scheduler", "proposing_with", "register_sampler", "register_scheduler"]
