"""The front of a study as read from the database alone: the constraints recorded on it, and the
non-dominated complete trials that meet them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from hpsearch.objectives import Constraint, is_feasible, parse_constraint

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

#: The study user attribute that holds a study's constraints, as written.
STUDY_ATTR = "constraints"


def record_constraints(study: "optuna.Study", constraints: Sequence[Constraint]) -> None:
    """Store the constraints on the study, so reports can apply them from the database alone."""
    study.set_user_attr(STUDY_ATTR, [str(c) for c in constraints])


def study_constraints(study: "optuna.Study") -> list[Constraint]:
    """The constraints :func:`record_constraints` stored on `study` (none if it stored none)."""
    return [parse_constraint(text) for text in study.user_attrs.get(STUDY_ATTR, [])]


def feasible_front(study: "optuna.Study",
                   constraints: Sequence[Constraint] | None = None) -> list["FrozenTrial"]:
    """The Pareto front of the complete trials that meet every constraint, by trial number.

    `constraints` defaults to those recorded on the study. Feasibility is computed from each
    trial's metrics, so the front is right whichever sampler ran (the random sampler ignores
    constraints, and so leaves ``study.best_trials`` unfiltered). Infeasible trials are not
    dropped from the study: :func:`violations` says by how much each one missed.
    """
    import optuna

    if constraints is None:
        constraints = study_constraints(study)
    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    feasible = [t for t in complete if is_feasible(t, constraints)]
    # Optuna's own Pareto sorting, the one `study.best_trials` uses (private, but there is no public
    # one that takes a list of trials; tests/objectives/test_constraints.py fails if it moves).
    from optuna.study._multi_objective import _get_pareto_front_trials_by_trials

    return sorted(_get_pareto_front_trials_by_trials(feasible, study.directions), key=lambda t: t.number)
