"""The study's trials as the sampler's wrappers see them before a proposal: read once, shared.

``AvoidFailures``, ``FrontLocalSearch`` and ``PoolEHVISampler`` each look at the whole study in
``before_trial``; every ``study.get_trials`` on a database is a round of queries (trials, parameters,
values, attributes), so the wrappers of one proposal share one read instead of each making its own,
and a driver that has just read the study to claim the trial hands them that read
(:func:`proposing_with`).
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

#: (the study, the trial proposed, the study's trials read for it): the last proposal's read.
_last: tuple["weakref.ref[Any]", int, list["FrozenTrial"]] | None = None
#: This thread's (the study, its trials as just read) that proposals use instead of a read.
_given = threading.local()


@contextmanager
def proposing_with(study: "optuna.Study", trials: Sequence["FrozenTrial"]) -> Iterator[None]:
    """Within the block, a proposal for `study` (on this thread) sees `trials`, the study as its caller
    has just read it (under the study lock), with the trial being proposed as the proposal has it,
    instead of reading the study again."""
    _given.read = (weakref.ref(study), list(trials))
    try:
        yield
    finally:
        _given.read = None


def trials_for(study: "optuna.Study", trial: "FrozenTrial") -> list["FrozenTrial"]:
    """Every trial of `study` (not deep-copied: not to be changed), as read for proposing `trial`; a
    second call for the same proposal gets the same read."""
    global _last
    if _last is not None and _last[0]() is study and _last[1] == trial.number:
        return _last[2]
    given = getattr(_given, "read", None)
    if given is not None and given[0]() is study:
        # the trial proposed as the proposal has it (a trial the claim created, or a waiting one it
        # started), a copy: Optuna adds its parameters to it as they are suggested
        trials = sorted([t for t in given[1] if t.number != trial.number] + [copy.deepcopy(trial)],
                        key=lambda t: t.number)
    else:
        trials = study.get_trials(deepcopy=False)
    _last = (weakref.ref(study), trial.number, trials)
    return trials
