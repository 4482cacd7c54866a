"""The study database and running a plan into it.

* ``open_storage``/``mask_url``: the database behind a SQLAlchemy URL, its password never shown;
* ``run``: Ray Tune schedules, Optuna proposes, the trial worker trains (``_driver``: imports Ray,
  so it is loaded on first use, keeping `hpsearch validate` and `--help` free of it);
* ``feasible_front``: the front as read from the database alone, constraints applied;
  ``honest_front``: the one hpsearch shows and exports (learned, feasible, no baselines), and the
  trials it left off, those stopped for collapse (``is_collapsed``) said apart.
"""

from __future__ import annotations

from typing import Any

from hpsearch.study._dashboard import DASHBOARD_HOST, DASHBOARD_PORT, Dashboard, open_dashboard
from hpsearch.study._front import (
    BASELINE_ATTR,
    COLLAPSED_ATTR,
    CONFIRM_ATTR,
    CONFIRMED_ATTR,
    LEARNED_ATTR,
    STOPPED_ATTR,
    STUDY_ATTR,
    HonestFront,
    baseline_trials,
    collapse_cause,
    confirmed_lines,
    feasible_front,
    has_learned,
    honest_front,
    is_baseline,
    is_collapsed,
    is_confirmation,
    objective_names,
    record_constraints,
    set_trial_constraints,
    stopped_early,
    stopped_epoch,
    study_constraints,
)
from hpsearch.study._open import open_study
from hpsearch.study._storage import DEFAULT_STORAGE, mask_url, open_storage, scrub

_DRIVER = ("ATTRS_KEY", "ERROR_KEY", "METRICS_KEY", "RunOptions", "StudySearch", "run", "trainable")

__all__ = [
    "BASELINE_ATTR",
    "COLLAPSED_ATTR",
    "CONFIRM_ATTR",
    "CONFIRMED_ATTR",
    "DASHBOARD_HOST",
    "DASHBOARD_PORT",
    "DEFAULT_STORAGE",
    "LEARNED_ATTR",
    "STOPPED_ATTR",
    "STUDY_ATTR",
    "Dashboard",
    "HonestFront",
    "baseline_trials",
    "collapse_cause",
    "confirmed_lines",
    "feasible_front",
    "has_learned",
    "honest_front",
    "is_baseline",
    "is_collapsed",
    "is_confirmation",
    "objective_names",
    "mask_url",
    "open_dashboard",
    "open_storage",
    "open_study",
    "record_constraints",
    "scrub",
    "set_trial_constraints",
    "stopped_early",
    "stopped_epoch",
    "study_constraints",
    *_DRIVER,
]


def __getattr__(name: str) -> Any:
    """The driver's names, imported (with Ray) on first use."""
    if name in _DRIVER:
        from hpsearch.study import _driver

        return getattr(_driver, name)
    raise AttributeError(f"module 'hpsearch.study' has no attribute {name!r}")
