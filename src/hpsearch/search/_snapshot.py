"""The study's trials as the sampler's wrappers see them before a proposal: read once, shared.

``AvoidFailures`` and ``FrontLocalSearch`` each look at the whole study in ``before_trial``; every
``study.get_trials`` on a database is a round of queries (trials, parameters, values, attributes),
so the wrappers of one proposal share one read instead of each making its own.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

#: (the study, the trial proposed, the study's trials read for it): the last proposal's read.
_last: tuple["weakref.ref[Any]", int, list["FrozenTrial"]] | None = None


def trials_for(study: "optuna.Study", trial: "FrozenTrial") -> list["FrozenTrial"]:
    """Every trial of `study` (not deep-copied: not to be changed), as read for proposing `trial`; a
    second call for the same proposal gets the same read."""
    global _last
    if _last is not None and _last[0]() is study and _last[1] == trial.number:
        return _last[2]
    trials = study.get_trials(deepcopy=False)
    _last = (weakref.ref(study), trial.number, trials)
    return trials
