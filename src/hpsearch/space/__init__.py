"""What a space file (``spaces/*.yaml``) says: its schema, the knobs a trial can turn, the model it
names, and the space as Optuna distributions (``suggest`` asks a trial, ``describe`` prints it).

Imports neither torch nor Ray.
"""

from __future__ import annotations

from hpsearch.space._checks import check_params
from hpsearch.space._distributions import BASELINE_ATTR, FIXED_ATTR, describe, distributions, suggest
from hpsearch.space._knobs import KNOBS, Knob, TrialConfig
from hpsearch.space._model import PACKAGED, commit_snapshot, hub_commit, local_model, resolve_model
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
    "ParamBase", "ParamSpec", "SpaceConfig", "TrialConfig", "check_params", "commit_snapshot", "describe", "distributions", "hub_commit", "local_model", "resolve_model", "suggest",
]
