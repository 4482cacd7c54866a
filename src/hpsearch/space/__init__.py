"""What a space file (``spaces/*.yaml``) says: its schema, the knobs a trial can turn, the model it
names, and the space as Optuna distributions (``suggest`` asks a trial, ``describe`` prints it).

Imports neither torch nor Ray.
"""

from __future__ import annotations

from hpsearch.space._checks import check_params
from hpsearch.space._distributions import BASELINE_ATTR, FIXED_ATTR, describe, distributions, suggest
from hpsearch.space._knobs import KNOBS, Knob, TrialConfig
from hpsearch.space._model import PACKAGED, fetch_snapshot, hub_commit, local_model, pinned_snapshot, resolve_model
from hpsearch.space._schema import (
    CategoricalParam,
    DerivedParam,
    FloatParam,
    IntParam,
    ParamBase,
    ParamSpec,
    SpaceConfig,
)

__all__ = [
    "BASELINE_ATTR", "FIXED_ATTR", "KNOBS", "PACKAGED", "CategoricalParam", "DerivedParam", "FloatParam", "IntParam", "Knob",
    "ParamBase", "ParamSpec", "SpaceConfig", "TrialConfig", "check_params", "describe", "distributions", "fetch_snapshot", "hub_commit", "local_model", "pinned_snapshot", "resolve_model", "suggest",
]
