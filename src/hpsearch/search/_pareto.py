"""The Pareto front of a list of trials (Optuna sorts only a whole study's, in `study.best_trials`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna


def pareto_front(trials: Sequence["optuna.trial.FrozenTrial"], directions: Sequence["optuna.study.StudyDirection"]
                 ) -> list["optuna.trial.FrozenTrial"]:
    """The trials no other of `trials` dominates, by number; trials with equal values are all kept,
    as `study.best_trials` keeps them."""
    import optuna

    from hpsearch.search._schedulers import non_dominated_fronts

    if not trials:
        return []
    signs = [-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in directions]
    first = non_dominated_fronts([[s * v for s, v in zip(signs, t.values)] for t in trials])[0]
    return sorted((trials[i] for i in first), key=lambda t: t.number)
