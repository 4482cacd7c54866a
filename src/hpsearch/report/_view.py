"""What the HTML report shows, as data: the study's trials sorted by what they are (on the honest
front, fine-tuned, did not learn, baseline), the hypervolume over trials and the parameter
importances. No drawing here: ``_plots`` and ``_png`` draw it, ``_html`` lays it out.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from hpsearch.study import BASELINE_ATTR, HonestFront, honest_front, is_confirmation, objective_names

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

#: How each kind of baseline is named in the report.
BASELINE_LABELS = {"tfidf": "TF-IDF + LR", "linear_probe": "linear probe", "head": "head only"}
#: Fewer fine-tuned trials than this and parameter importances say nothing.
MIN_TRIALS_FOR_IMPORTANCE = 5
#: The hypervolume's reference point lies this fraction of the observed range beyond the worst value.
REFERENCE_MARGIN = 0.1


@dataclass
class View:
    """A study's complete trials sorted for the report; every list by trial number."""

    study: "optuna.Study"
    names: list[str]
    maximize: list[bool]
    tuned: list["FrozenTrial"]
    front: list["FrozenTrial"]
    baselines: list["FrozenTrial"]
    not_learned: list["FrozenTrial"]
    infeasible: list["FrozenTrial"]
    left_off: str | None
    #: Fine-tuned trials that learned and met the constraints, seed re-runs by ``confirm`` left out
    #: (the same parameters again: never on the front themselves, so not in its hypervolume either).
    honest: list["FrozenTrial"] = field(default_factory=list)
    #: The honest front as :func:`honest_front` read it (what it left off, by reason).
    honest_front: HonestFront | None = None

    @property
    def others(self) -> list["FrozenTrial"]:
        """Fine-tuned trials that learned and met the constraints but are not on the front."""
        shown = {t.number for t in self.front + self.not_learned + self.infeasible}
        return [t for t in self.tuned if t.number not in shown]

    @property
    def searched(self) -> list["FrozenTrial"]:
        """The fine-tuned trials the search proposed: seed re-runs by ``confirm`` left out."""
        return [t for t in self.tuned if not is_confirmation(t)]


def gather(study: "optuna.Study") -> View:
    """Sort `study`'s complete trials for the report."""
    import optuna

    names = objective_names(study)
    maximize = [d == optuna.study.StudyDirection.MAXIMIZE for d in study.directions]
    honest = honest_front(study)
    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    baseline_numbers = {t.number for t in honest.baselines}
    tuned = [t for t in complete if t.number not in baseline_numbers and t.values is not None]
    left = {t.number for t in honest.not_learned + honest.infeasible}
    return View(study, names, maximize, tuned, list(honest.trials), list(honest.baselines),
                list(honest.not_learned), list(honest.infeasible), honest.left_off(),
                honest=[t for t in tuned if t.number not in left and not is_confirmation(t)], honest_front=honest)


def baseline_label(trial: "FrozenTrial") -> str:
    kind = str(trial.user_attrs.get(BASELINE_ATTR, "baseline"))
    return BASELINE_LABELS.get(kind, kind)


def fmt(value: Any) -> str:
    """A number as people read it in a table: 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def param_text(trial: "FrozenTrial") -> list[str]:
    """The trial's parameters as ``name=value``, sorted by name; a baseline's kind instead."""
    if trial.user_attrs.get(BASELINE_ATTR):
        return [f"baseline: {baseline_label(trial)}"]
    return [f"{k}={fmt(v)}" for k, v in sorted(trial.params.items())]


def better(value: float, than: float, maximize: bool) -> bool:
    return value > than if maximize else value < than


def dominates(a: tuple[float, ...], b: tuple[float, ...], maximize: tuple[bool, ...]) -> bool:
    """Whether point `a` is at least as good as `b` on every objective and better on one."""
    return (all(not better(y, x, up) for x, y, up in zip(a, b, maximize))
            and any(better(x, y, up) for x, y, up in zip(a, b, maximize)))


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines and experimental-feature warnings off while the report is built."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def copy_study(view: View, trials: list["FrozenTrial"]) -> "optuna.Study":
    """An in-memory study of `trials` alone (values, parameters; no constraints or attributes)."""
    import optuna

    copy = optuna.create_study(directions=view.study.directions)
    copy.add_trials([optuna.trial.create_trial(params=t.params, distributions=t.distributions, values=t.values)
                     for t in trials])
    return copy


def reference_point(view: View) -> list[float] | None:
    """The worst value of each objective over the honest trials, moved away by a margin; None if
    there are none."""
    if not view.honest:
        return None
    point = []
    for i, up in enumerate(view.maximize):
        values = [t.values[i] for t in view.honest]
        worst = min(values) if up else max(values)
        margin = REFERENCE_MARGIN * ((max(values) - min(values)) or abs(worst) or 1.0)
        point.append(worst - margin if up else worst + margin)
    return point


@dataclass
class Hypervolume:
    """The hypervolume of the honest trials' front after each honest trial, by trial number."""

    numbers: list[int]
    values: list[float]
    reference: list[float]


def hypervolume(view: View) -> Hypervolume | str:
    """The hypervolume history of the honest trials, or why there is none."""
    if len(view.names) < 2:
        return "Hypervolume needs two or more objectives; this study has one."
    reference = reference_point(view)
    if reference is None:
        return "No fine-tuned trial learned and met the constraints, so there is no hypervolume to show."
    import optuna

    with quiet_optuna():
        figure = optuna.visualization.plot_hypervolume_history(copy_study(view, view.honest), reference)
    # The copy numbers its trials 0, 1, ...: map them back to the study's trial numbers.
    numbers = [view.honest[int(i)].number for i in figure.data[0].x]
    return Hypervolume(numbers, [float(v) for v in figure.data[0].y], reference)


def importances(view: View) -> dict[str, dict[str, float]] | str:
    """Each objective's parameter importances (fANOVA) over the searched trials, or why there are none.

    Baselines have no parameters and would empty the intersection search space Optuna computes
    importances over, so they are computed on a copy of the study holding fine-tuned trials only.
    Seed re-runs by ``confirm`` are left out: the same parameters again would weigh the confirmed
    configurations several times over, and their spread is the seed's, not a parameter's.
    """
    searched = view.searched
    if len(searched) < MIN_TRIALS_FOR_IMPORTANCE:
        return (f"Too few searched fine-tuned trials for parameter importances: {len(searched)} complete, "
                f"at least {MIN_TRIALS_FOR_IMPORTANCE} needed.")
    import optuna

    result: dict[str, dict[str, float]] = {}
    with quiet_optuna():
        copy = copy_study(view, searched)
        for i, name in enumerate(view.names):
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            try:
                result[name] = optuna.importance.get_param_importances(
                    copy, evaluator=evaluator, target=lambda t, i=i: t.values[i])
            except (ValueError, RuntimeError) as e:
                return f"Parameter importances could not be computed: {str(e).splitlines()[0]}"
    if not any(result.values()):
        return "No parameter was searched in every fine-tuned trial, so there are no importances to show."
    return result


def ci_metrics(trials: list["FrozenTrial"]) -> list[str]:
    """The metrics stored with a confidence interval (``<name>_ci_low``) on any of `trials`."""
    found: dict[str, None] = {}
    for t in trials:
        for key in t.user_attrs:
            if key.endswith("_ci_low") and f"{key[:-7]}_ci_high" in t.user_attrs:
                found[key[:-7]] = None
    return list(found)


def groups(trial: "FrozenTrial") -> dict[str, dict[str, float]]:
    """Per-group macro-F1 by group column: ``{column: {value: macro_f1}}``."""
    out: dict[str, dict[str, float]] = {}
    for key, value in trial.user_attrs.items():
        if key.startswith("group/") and key.endswith("/macro_f1") and "=" in key:
            column, _, group = key[len("group/"):-len("/macro_f1")].partition("=")
            out.setdefault(column, {})[group] = value
    return out


def group_columns(trials: list["FrozenTrial"]) -> list[str]:
    found: dict[str, None] = {}
    for t in trials:
        found.update(dict.fromkeys(groups(t)))
    return list(found)
