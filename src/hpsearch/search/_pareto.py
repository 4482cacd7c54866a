"""The Pareto front of a list of trials (Optuna sorts only a whole study's, in `study.best_trials`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import optuna


def pareto_front(trials: Sequence["optuna.trial.FrozenTrial"], directions: Sequence["optuna.study.StudyDirection"]
                 ) -> list["optuna.trial.FrozenTrial"]:
    """The trials no other of `trials` dominates, by number; trials with equal values are all kept,
    as `study.best_trials` keeps them. Called for every proposal of ``tpe_local``."""
    import numpy as np
    import optuna

    if not trials:
        return []
    signs = np.array([-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in directions])
    points = np.array([t.values for t in trials], dtype=float) * signs  # every objective minimised
    return sorted((trials[i] for i in nondominated(points)), key=lambda t: t.number)


def nondominated(points: "np.ndarray") -> list[int]:
    """The rows of minimisation `points` that no other row dominates (equal rows all kept): the rows in
    lexicographic order, each checked only against the front found so far (a point can be dominated
    only by one that sorts before it)."""
    import numpy as np

    front: list[int] = []
    for i in np.lexsort(points.T[::-1]):
        if front:
            kept = points[front]
            if ((kept <= points[i]).all(axis=1) & (kept < points[i]).any(axis=1)).any():
                continue
        front.append(int(i))
    return front
