"""What to change when no fine-tuned trial learned, read from the trials' settings and measures.

Each suggestion rests on a fact the study recorded: the class balance (from the majority-class
predictor's macro-F1, the one measure of it every trial stores), the class weighting, sampling and
learning rate each trial used (searched, fixed in the space, or the knob's default), the epoch the
trainer stopped a collapsed trial after (``collapse: patience`` in the objectives file), and the
baselines. Plain strings, ``code`` in backticks, so the console and the HTML report say the same.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

from hpsearch.report._classes import study_labels
from hpsearch.space import KNOBS
from hpsearch.study import BASELINE_ATTR, has_learned, honest_front, is_collapsed, stopped_epoch

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from hpsearch.study import HonestFront

#: Learning rates at or above this, every one of them, are what most often collapses a fine-tune.
HIGH_LEARNING_RATE = 1e-3
#: The labels are imbalanced where the majority class is this many times its balanced share …
IMBALANCE_FACTOR = 1.5
#: … or this fraction of the split, whichever is lower (two labels: 60/40 is imbalanced).
IMBALANCED_SHARE = 0.6


def setting(trial: "FrozenTrial", name: str, fixed: dict[str, Any]) -> Any:
    """The value of knob `name` a trial ran with: searched, else fixed in the space, else the default."""
    if name in trial.params:
        return trial.params[name]
    return fixed.get(name, KNOBS[name].default if name in KNOBS else None)


def majority_share(trivial_majority_macro_f1: float, n_labels: int) -> float | None:
    """The majority class's share of the split, from the macro-F1 of always predicting it.

    That predictor scores F1 = 2p / (1 + p) on the majority class (share p) and 0 on the other
    n - 1, so its macro-F1 is m = 2p / (n (1 + p)), and p = m n / (2 - m n).
    """
    mn = trivial_majority_macro_f1 * n_labels
    if n_labels < 2 or not 0 <= mn < 2:
        return None
    return mn / (2 - mn)


def _majority_label(trials: Sequence["FrozenTrial"]) -> str | None:
    """The majority class's name, where a collapse reason names it (``predicts only 'x', the majority class``)."""
    for t in trials:
        found = re.search(r"'([^']+)',? the majority class", str(t.user_attrs.get("collapsed") or ""))
        if found:
            return found.group(1)
    return None


def _numbers(trials: Sequence["FrozenTrial"]) -> str:
    return ", ".join(str(t.number) for t in trials)


def _balance(trials: Sequence["FrozenTrial"], n_labels: int, fixed: dict[str, Any]) -> str | None:
    shares = [s for t in trials if isinstance(m := t.user_attrs.get("trivial_majority_macro_f1"), (int, float))
              and (s := majority_share(float(m), n_labels)) is not None]
    if not shares:
        return None
    share, even = max(shares), 1 / n_labels
    weighted = [t for t in trials
                if setting(t, "class_weighting", fixed) not in (None, "none")
                or setting(t, "sampling", fixed) not in (None, "none")]
    if share < min(IMBALANCE_FACTOR * even, IMBALANCED_SHARE) or weighted:
        return None
    name = _majority_label(trials)
    return (f"The classes are imbalanced: the majority class{f' ({name!r})' if name else ''} is {share:.0%} of "
            f"the validation split ({even:.0%} were the {n_labels} classes even), and no trial weighted them, so "
            "predicting it alone costs the loss little. Set `class_weighting: balanced` (or "
            "`sampling: balanced`) under `fixed:` in the space file, or search it: "
            "`class_weighting: {type: categorical, choices: [none, balanced, sqrt]}`.")


def _learning_rate(trials: Sequence["FrozenTrial"], fixed: dict[str, Any]) -> str | None:
    rates = [float(v) for t in trials if isinstance(v := setting(t, "learning_rate", fixed), (int, float))]
    if not rates or min(rates) < HIGH_LEARNING_RATE:
        return None
    tried = f"{min(rates):.3g}" if min(rates) == max(rates) else f"{min(rates):.3g} to {max(rates):.3g}"
    return (f"Every trial's learning rate was {HIGH_LEARNING_RATE:g} or more ({tried}), high enough to tip a "
            "fine-tune into predicting one class; search a lower range, e.g. "
            "`learning_rate: {type: float, low: 1.0e-4, high: 1.0e-3, log: true}`.")


def _first_epoch(trials: Sequence["FrozenTrial"]) -> str | None:
    early = [t for t in trials if is_collapsed(t) and stopped_epoch(t) == 1]
    if not early:
        return None
    if len(early) == 1:
        who, they, their = f"Trial {early[0].number} was", "it", "its"
    else:
        who, they, their = f"{len(early)} trials ({_numbers(early)}) were", "they", "their"
    return (f"{who} stopped after epoch 1, {their} predictions already collapsed: {they} never trained past "
            f"{their} first epoch. A collapse that early usually comes from the learning rate or the class "
            "balance; to give a trial more epochs before stopping it, raise `collapse: {patience: 2}` in the "
            "objectives file.")


def _pooling(trials: Sequence["FrozenTrial"], fixed: dict[str, Any], baselines: Sequence["FrozenTrial"]) -> str | None:
    """`pooling: mean` where every trial read the first token and the frozen model's mean-pooled
    features (the linear probe) did learn: the model was likely trained to be read by its mean."""
    probe = [t for t in baselines if t.user_attrs.get(BASELINE_ATTR) == "linear_probe" and has_learned(t)]
    if not probe or any(setting(t, "pooling", fixed) == "mean" for t in trials):
        return None
    return ("Every trial's head read the first token (`pooling: cls`), yet the linear probe on the frozen "
            "model's mean-pooled token states learned: the model reads well by its mean (sentence-transformers "
            "models such as all-MiniLM-L6-v2 were trained so). Set `pooling: mean` under `fixed:`.")


def _baselines(baselines: Sequence["FrozenTrial"]) -> str | None:
    if not baselines:
        return None

    def score(t: "FrozenTrial") -> float:
        value = t.user_attrs.get("macro_f1")
        return float(value) if isinstance(value, (int, float)) else float("-inf")

    learned = [t for t in baselines if has_learned(t)]
    if not learned:
        return ("No baseline learned either: check that the labels can be told apart from the text, and that "
                "there are enough examples of each class, before searching further.")
    best = max(learned, key=score)
    shown = f"macro-F1 {score(best):.3g}, trial {best.number}" if score(best) > float("-inf") else f"trial {best.number}"
    return (f"The {best.user_attrs.get(BASELINE_ATTR)} baseline did learn ({shown}): the labels can be learned "
            "from this data; it is the fine-tuning set-up that failed.")


def nothing_learned_advice(study: "optuna.Study", front: "HonestFront | None" = None) -> list[str]:
    """What to change, one suggestion a string, where no fine-tuned trial learned; [] otherwise."""
    front = front or honest_front(study)
    if not front.nothing_learned():
        return []
    trials = front.not_learned
    space = study.user_attrs.get("space")
    fixed = (space.get("fixed") or {}) if isinstance(space, dict) else {}
    labels = study_labels(study, [*trials, *front.baselines])
    found = [_balance(trials, len(labels), fixed), _learning_rate(trials, fixed), _first_epoch(trials),
             _pooling(trials, fixed, front.baselines), _baselines(front.baselines),
             "Let `hpsearch init DATA` write a starting space fitted to the data (its labels, their balance, "
             "its size), and run that."]
    return [line for line in found if line]
