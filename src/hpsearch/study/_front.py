"""The front of a study as read from the database alone: the constraints recorded on it, the
non-dominated complete trials that meet them, and the honest front that hpsearch shows and exports.

The honest front leaves off, besides infeasible trials, the baselines (shown beside it) and every
trial that did not learn: one whose macro-F1 does not beat the trivial predictors (majority class,
stratified random) on the same split by the study's margin. Such a model predicts one class or
close to it, so it looks fair and, with layers dropped, fast; it is no trade-off anyone can use.
The study keeps all of them; Optuna's own ``best_trials`` may still list them. A trial the trainer
stopped early because its predictions collapsed (one class, or no better than the trivial predictors,
for some epochs) records why in ``collapsed``: it did not learn, and is said so apart.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from hpsearch.objectives import Constraint, is_feasible, parse_constraint
from hpsearch.space import BASELINE_ATTR

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

#: The study user attribute that holds a study's constraints, as written.
STUDY_ATTR = "constraints"
#: The trial user attribute saying whether the trial beat the trivial predictors by the margin.
LEARNED_ATTR = "learned"
#: The trial user attribute saying why the trainer stopped the trial early: its predictions collapsed.
COLLAPSED_ATTR = "collapsed"
#: The trial user attribute holding the last epoch a trial stopped early trained.
STOPPED_ATTR = "stopped_after_epoch"
#: The trial user attribute holding a trial's per-epoch reports (the trial runner's history).
HISTORY_ATTR = "history"


def record_constraints(study: "optuna.Study", constraints: Sequence[Constraint]) -> None:
    """Store the constraints on the study, so reports can apply them from the database alone."""
    study.set_user_attr(STUDY_ATTR, [str(c) for c in constraints])


def set_trial_constraints(trial: "optuna.Trial | FrozenTrial", constraints: Sequence[Constraint],
                          metrics: Mapping[str, Any], min_gain: float | None = None) -> None:
    """Record on `trial`, before it is told, how far its `metrics` are from meeting each constraint
    (:func:`constraint_values`), with Optuna 5's ``Trial.set_constraint``."""
    for key, value in constraint_values(constraints, metrics, min_gain).items():
        trial.set_constraint(key, value)


def constraint_values(constraints: Sequence[Constraint], metrics: Mapping[str, Any],
                      min_gain: float | None = None) -> dict[str, float]:
    """How far `metrics` are from meeting each constraint (``<= 0``: met), keyed by the constraint as
    written: what a trial records with ``Trial.set_constraint``, which the samplers read, and so does
    ``study.best_trials``. With `min_gain`, also ``learned``
    (:data:`~hpsearch.objectives.LEARNED_CONSTRAINT`): a trial that did not beat the trivial
    predictors by that much is infeasible, and the sampler moves away from it.
    """
    from hpsearch.objectives import LEARNED_CONSTRAINT, learned_violation

    values = {str(c): c.violation(metrics.get(c.metric)) for c in constraints}
    if min_gain is not None:
        values[LEARNED_CONSTRAINT] = learned_violation(metrics, min_gain)
    return values


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
    from hpsearch.search._pareto import pareto_front

    return pareto_front(feasible, study.directions)


def objective_names(study: "optuna.Study") -> list[str]:
    """The study's objective names (``value0``, ``value1`` … where none were set)."""
    return list(study.metric_names or [f"value{i}" for i in range(len(study.directions))])


def is_baseline(trial: "FrozenTrial") -> bool:
    return bool(trial.user_attrs.get(BASELINE_ATTR))


#: A re-run of a front trial with another seed (``hpsearch confirm``): its number.
CONFIRM_ATTR = "confirm_of"
#: Study user attribute: {original trial number: {objective: {mean, std, n, values}, seeds, trials}}.
CONFIRMED_ATTR = "confirmed"


def confirmed_lines(study: "optuna.Study", numbers: Iterable[int | str] | None = None) -> list[str]:
    """``trial 3: macro_f1 0.7857 ± 0.0072 (n=3); ...`` for each trial `hpsearch confirm` re-ran (of
    `numbers` only, where given)."""
    out = []
    wanted = None if numbers is None else set(map(str, numbers))
    for number, figures in sorted((study.user_attrs.get(CONFIRMED_ATTR) or {}).items(), key=lambda i: int(i[0])):
        if wanted is not None and number not in wanted:
            continue
        shown = "; ".join(f"{name} {f['mean']:.4g} ± {f['std']:.2g} (n={f['n']})" for name, f in figures.items()
                          if isinstance(f, dict))
        out.append(f"trial {number}: {shown}")
    return out


def is_confirmation(trial: "FrozenTrial") -> bool:
    """A seed re-run of another trial: its figures go to the original, never onto the front itself."""
    return trial.user_attrs.get(CONFIRM_ATTR) is not None


def has_learned(trial: "FrozenTrial") -> bool:
    """Whether `trial` beat the trivial predictors; a trial recorded before hpsearch measured
    them is taken as learned, a trial stopped for collapse never is."""
    return not is_collapsed(trial) and bool(trial.user_attrs.get(LEARNED_ATTR, True))


def is_collapsed(trial: "FrozenTrial") -> bool:
    """Whether the trainer stopped `trial` early because its predictions collapsed."""
    return bool(trial.user_attrs.get(COLLAPSED_ATTR))


def stopped_epoch(trial: "FrozenTrial") -> int | None:
    """The epoch after which a collapsed trial was stopped (from its reason where not recorded apart)."""
    epoch = trial.user_attrs.get(STOPPED_ATTR)
    if isinstance(epoch, (int, float)) and not isinstance(epoch, bool):
        return int(epoch)
    found = re.search(r"after epoch (\d+)", str(trial.user_attrs.get(COLLAPSED_ATTR) or ""))
    return int(found.group(1)) if found else None


def stopped_early(trials: Sequence["FrozenTrial"]) -> str | None:
    """One line on the trials an early-stopping scheduler stopped (PRUNED): how many, after which
    epochs, how many for breaking each constraint, and the epochs not run of those they were to
    train; None where it stopped none."""
    import optuna

    pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED
              and isinstance(t.user_attrs.get(STOPPED_ATTR), (int, float))]
    if not pruned:
        return None
    after = Counter(int(t.user_attrs[STOPPED_ATTR]) for t in pruned)
    line = (f"Stopped early by the scheduler (PRUNED, never on the front): {len(pruned)} trial(s), "
            + ", ".join(f"{n} {f'after epoch {e}' if e else 'before training'}" for e, n in sorted(after.items())))
    # a trial stopped for a constraint on what training does not change records it broken
    broke = Counter(name for t in pruned for name, value in t.constraints.items() if value > 0)
    if broke:
        line += " (breaking " + ", ".join(f"{name}: {n}" for name, n in broke.most_common()) + ")"
    planned = [(_planned_epochs(t), int(t.user_attrs[STOPPED_ATTR])) for t in pruned]
    known = [(p, ran) for p, ran in planned if p]
    if known:
        line += (f"; {sum(p - ran for p, ran in known)} of the {sum(p for p, _ in known)} epochs "
                 f"{'it was' if len(known) == 1 else 'they were'} to train not run")
    return line + "."


def _planned_epochs(trial: "FrozenTrial") -> int | None:
    """The epochs a trial was to train, as its per-epoch reports say (None where they do not)."""
    history = trial.user_attrs.get(HISTORY_ATTR)
    last = history[-1] if isinstance(history, list) and history else None
    epochs = last.get("epochs") if isinstance(last, dict) else None
    return int(epochs) if isinstance(epochs, (int, float)) and epochs > 0 else None


def collapse_cause(trial: "FrozenTrial") -> str:
    """What a collapsed trial's predictions did, its reason without the ``collapsed after epoch N:``
    that :meth:`HonestFront.left_off` says apart ("" where the reason says nothing more)."""
    reason = trial.user_attrs.get(COLLAPSED_ATTR)
    if not isinstance(reason, str):
        return ""
    cause = re.sub(r"^\s*collapsed\b[^:]*:\s*", "", reason).strip()
    return "" if cause.lower() in ("", "collapsed") else cause


def baseline_trials(study: "optuna.Study") -> list["FrozenTrial"]:
    """The complete baseline trials, by trial number."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    return [t for t in complete if is_baseline(t)]


@dataclass
class HonestFront:
    """The front hpsearch shows and exports, and the complete trials it leaves off, by reason."""

    trials: list["FrozenTrial"]
    baselines: list["FrozenTrial"]
    not_learned: list["FrozenTrial"] = field(default_factory=list)
    infeasible: list["FrozenTrial"] = field(default_factory=list)

    def baseline_wins(self, maximize: Sequence[bool]) -> list[tuple["FrozenTrial", int, "FrozenTrial"]]:
        """(baseline, objective index, best front trial there) wherever a baseline that learned is
        better than every trial on the front. A baseline that did not learn wins nothing."""
        wins = []
        for i, up in enumerate(maximize):
            if not self.trials:
                break
            best = max(self.trials, key=lambda t: t.values[i] if up else -t.values[i])
            for base in self.baselines:
                if has_learned(base) and (base.values[i] > best.values[i] if up else base.values[i] < best.values[i]):
                    wins.append((base, i, best))
        return wins

    @property
    def collapsed(self) -> list["FrozenTrial"]:
        """The trials that did not learn because the trainer stopped them when they collapsed."""
        return [t for t in self.not_learned if is_collapsed(t)]

    def nothing_learned(self) -> str | None:
        """One sentence where every complete fine-tuned trial did not learn; None otherwise."""
        if self.trials or self.infeasible or not self.not_learned:
            return None
        n = len(self.not_learned)
        who = "the one fine-tuned trial" if n == 1 else f"all {n}"
        return (f"No fine-tuned trial learned: {who} collapsed or stayed within the margin of the trivial "
                "predictors; nothing is shown as the front.")

    def left_off(self) -> str | None:
        """How many fine-tuned trials were kept off the front and why, in one line; None if none."""
        parts = []
        collapsed = self.collapsed
        if collapsed:
            parts.append(f"{len(collapsed)} collapsed and {'was' if len(collapsed) == 1 else 'were'} stopped "
                         f"early: {_collapses(collapsed)}")
        others = [t for t in self.not_learned if not is_collapsed(t)]
        if others:
            parts.append(f"{len(others)}{' other' if collapsed else ''} did not beat the trivial predictors "
                         "(majority class, stratified random) by the margin: trial(s) "
                         + ", ".join(str(t.number) for t in others))
        if self.infeasible:
            parts.append(f"{len(self.infeasible)} miss a constraint: trial(s) "
                         + ", ".join(str(t.number) for t in self.infeasible))
        return "Left off the front: " + "; ".join(parts) if parts else None


def _collapses(trials: Sequence["FrozenTrial"]) -> str:
    """``trial 1 after epoch 1, trial 3 after epoch 1 (predicts only 'fair', …)``: trials sharing a
    cause listed together, the cause said once after them."""
    by_cause: dict[str, list[str]] = {}
    for t in trials:
        epoch = stopped_epoch(t)
        by_cause.setdefault(collapse_cause(t), []).append(
            f"trial {t.number}" + (f" after epoch {epoch}" if epoch is not None else ""))
    return ", ".join(", ".join(items) + (f" ({cause})" if cause else "") for cause, items in by_cause.items())


def honest_front(study: "optuna.Study", constraints: Sequence[Constraint] | None = None) -> HonestFront:
    """The Pareto front of the fine-tuned trials that learned and meet every constraint."""
    import optuna

    from hpsearch.objectives import is_feasible

    if constraints is None:
        constraints = study_constraints(study)
    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    tuned = [t for t in complete if not is_baseline(t) and not is_confirmation(t)]
    not_learned = [t for t in tuned if not has_learned(t)]
    infeasible = [t for t in tuned if has_learned(t) and not is_feasible(t, constraints)]
    candidates = [t for t in tuned if has_learned(t) and is_feasible(t, constraints)]
    from hpsearch.search._pareto import pareto_front

    front = pareto_front(candidates, study.directions)
    return HonestFront(front, [t for t in complete if is_baseline(t)], not_learned, infeasible)
