"""Task metrics from predictions (scikit-learn), and the entry point that measures one split.

Keys are flat strings, so that every value can be stored as an Optuna user attribute:
``macro_f1``, ``f1/<label>``, ``auroc`` … :func:`evaluate_predictions` is the entry point; it
returns the numbers and, apart, the other attributes (why a metric is missing, say), whose keys
never collide with a metric's. The fairness measures between groups are ``_fairness``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from hpsearch.objectives._fairness import _confusions, _interval, _resample, as_labels, group_metrics

if TYPE_CHECKING:
    import numpy as np

    from hpsearch.objectives._schema import FairnessConfig, ObjectiveSpec


def evaluate_predictions(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    y_proba: Sequence[Sequence[float]] | None,
    label_names: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    fairness: "FairnessConfig",
    *,
    user_objectives: Sequence["ObjectiveSpec"] = (),
    train_labels: Sequence[int] | None = None,
    min_gain_over_trivial: float = 0.1,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Every metric of one split's predictions: (numeric metrics, other attributes).

    * task metrics (:func:`classification_metrics`);
    * binary tasks (two labels): ``sensitivity`` and ``specificity``, with label index 1 the
      positive class;
    * ``auroc`` from `y_proba` (one row of class probabilities per example, softmax outputs):
      binary, of label index 1; multiclass, the macro one-vs-rest mean over the classes present.
      Left out, and the reason kept under ``why_missing/auroc``, when `y_proba` is None or the
      split holds a single class;
    * per-group metrics, gaps and their bootstrap intervals for every group column
      (:func:`group_metrics`, with `fairness`'s min_group_size, bootstrap, seed, confidence);
    * each objective in `user_objectives` (those with a ``module``), computed by its function;
    * with `train_labels`, what the trivial predictors score on the same split
      (:func:`trivial_scores`), ``gain_over_trivial`` (macro-F1 above the better of them) and the
      attribute ``learned``: whether that gain is at least `min_gain_over_trivial`. A model that
      did not learn stays in the study but off the front hpsearch shows and exports.

    Labels are indices into `label_names`.
    """
    import numpy as np

    t, p = as_labels(y_true, y_pred, len(label_names))
    values = classification_metrics(t, p, label_names)
    attrs: dict[str, Any] = {}
    if len(label_names) == 2:
        _binary(t, p, label_names, values, attrs)
    proba = None if y_proba is None else np.asarray(y_proba, dtype=float)
    if proba is not None and proba.shape != (len(t), len(label_names)):
        raise ValueError(f"y_proba must have one row per example and one column per label, "
                         f"{(len(t), len(label_names))}, got shape {proba.shape}")
    _auroc(t, proba, label_names, values, attrs)
    if fairness.bootstrap > 0:
        values.update(overall_intervals(t, p, len(label_names), values, fairness.bootstrap, fairness.seed,
                                        fairness.confidence))
    grouped, grouped_attrs = group_metrics(
        t, p, groups, min_group_size=fairness.min_group_size, label_names=label_names,
        bootstrap=fairness.bootstrap, seed=fairness.seed, confidence=fairness.confidence,
    )
    values.update(grouped)
    attrs.update(grouped_attrs)
    if user_objectives:
        from hpsearch.objectives._registry import evaluate_user_objective

        for spec in user_objectives:
            if spec.module is not None:
                values.update(evaluate_user_objective(spec.name, spec.module, y_true, y_pred, y_proba, groups))
    if train_labels is not None:
        values.update(trivial_scores(t, train_labels, label_names))
        values["gain_over_trivial"] = values["macro_f1"] - max(
            values["trivial_majority_macro_f1"], values["trivial_stratified_macro_f1"])
        attrs["learned"] = bool(values["gain_over_trivial"] >= min_gain_over_trivial)
    return values, attrs


def overall_intervals(t: "np.ndarray", p: "np.ndarray", n_labels: int, points: Mapping[str, float],
                      bootstrap: int, seed: int, confidence: float) -> dict[str, float]:
    """``macro_f1_ci_low``/``_high`` and ``accuracy_ci_low``/``_high`` around `points` (the split's own
    values): percentile intervals from `bootstrap` resamples of its examples, drawn as its confusion
    matrix as the gaps' are, every label counting in the macro average as in
    :func:`classification_metrics`. On a validation split of a few hundred examples, two trials 0.01
    apart in macro-F1 usually lie within each other's interval."""
    import numpy as np

    if len(t) == 0:
        return {}
    observed = _confusions(t, p, np.zeros(len(t), dtype=np.int64), 1, n_labels)
    c = _resample(observed, bootstrap, np.random.default_rng(seed))[:, 0].astype(float)  # [resample, true, pred]
    tp = np.diagonal(c, axis1=-2, axis2=-1)
    both = c.sum(axis=-1) + c.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = {"macro_f1": np.where(both > 0, 2 * tp / both, 0.0).mean(axis=-1),
                      "accuracy": tp.sum(axis=-1) / c.sum(axis=(-2, -1))}
    out: dict[str, float] = {}
    for name, values in replicates.items():
        interval = _interval(values, float(points[name]), confidence)
        if interval is not None:
            out[f"{name}_ci_low"], out[f"{name}_ci_high"] = interval
    return out


#: Seeded draws of the stratified random predictor whose macro-F1 is averaged.
STRATIFIED_DRAWS = 20


def trivial_scores(y_true: Sequence[int], train_labels: Sequence[int], label_names: Sequence[str],
                   seed: int = 0) -> dict[str, float]:
    """Macro-F1 on `y_true` of the predictors that learn nothing but the training label counts.

    * ``trivial_majority_macro_f1``: always the most frequent training label (scikit-learn's
      ``DummyClassifier(strategy="most_frequent")``);
    * ``trivial_stratified_macro_f1``: a label drawn at random with the training frequencies
      (``strategy="stratified"``), averaged over :data:`STRATIFIED_DRAWS` seeded draws.

    A fine-tuned model that does not beat both by a clear margin has not learned the task.
    """
    import numpy as np
    from sklearn.dummy import DummyClassifier

    t = np.asarray(y_true, dtype=np.int64)
    train = np.asarray(train_labels, dtype=np.int64)
    features = np.zeros((len(train), 1))
    majority = DummyClassifier(strategy="most_frequent").fit(features, train)
    out = {"trivial_majority_macro_f1": classification_metrics(
        t, majority.predict(np.zeros((len(t), 1))), label_names)["macro_f1"]}
    draws = []
    for draw in range(STRATIFIED_DRAWS):
        stratified = DummyClassifier(strategy="stratified", random_state=seed + draw).fit(features, train)
        draws.append(classification_metrics(t, stratified.predict(np.zeros((len(t), 1))), label_names)["macro_f1"])
    out["trivial_stratified_macro_f1"] = float(np.mean(draws))
    return out


def collapse_reason(y_pred: Sequence[int], macro_f1: float, trivial_macro_f1: float, label_names: Sequence[str],
                    majority: int, margin: float) -> str | None:
    """Why predictions count as collapsed, or None when they do not.

    Collapsed: a single class predicted for every example, or a macro-F1 within `margin` of the
    better trivial predictor's (`trivial_macro_f1`, from :func:`trivial_scores`). `majority` is
    the index of the most frequent training label, named as such in the reason.
    """
    distinct = set(y_pred)
    if len(distinct) == 1:
        (only,) = distinct
        return f"predicts only {label_names[only]!r}" + (", the majority class" if only == majority else "")
    if macro_f1 <= trivial_macro_f1 + margin:
        return (f"macro-F1 {macro_f1:.3f} is within {margin:g} of the trivial predictors' "
                f"{trivial_macro_f1:.3f}")
    return None


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]
) -> dict[str, float]:
    """Accuracy; macro and support-weighted F1, precision and recall; F1 of each label.

    Every label counts in the macro averages, also one absent from the split (its F1 is 0).
    """
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = list(range(len(label_names)))
    out: dict[str, float] = {"accuracy": float(accuracy_score(y_true, y_pred))}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        out[f"{average}_f1"] = float(f)
        out[f"{average}_precision"] = float(p)
        out[f"{average}_recall"] = float(r)
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    for name, value in zip(label_names, per_class):
        out[f"f1/{name}"] = float(value)
    return out


def _binary(t: "np.ndarray", p: "np.ndarray", label_names: Sequence[str], values: dict[str, float],
            attrs: dict[str, Any]) -> None:
    """Sensitivity (recall of label index 1) and specificity (recall of label index 0)."""
    import numpy as np
    from sklearn.metrics import recall_score

    recall = recall_score(t, p, labels=[0, 1], average=None, zero_division=0)
    support = np.bincount(t, minlength=2)
    for key, label in (("sensitivity", 1), ("specificity", 0)):
        if support[label]:
            values[key] = float(recall[label])
        else:
            attrs[f"why_missing/{key}"] = (f"no example of label {label_names[label]!r} (index {label}) "
                                           "in the evaluation split")


def _auroc(t: "np.ndarray", proba: "np.ndarray | None", label_names: Sequence[str],
           values: dict[str, float], attrs: dict[str, Any]) -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if proba is None:
        attrs["why_missing/auroc"] = "no class probabilities were given"
        return
    present = np.unique(t)
    if len(present) < 2:
        attrs["why_missing/auroc"] = (f"the evaluation split holds one class only "
                                      f"({label_names[present[0]]!r}); AUROC needs two")
        return
    if len(label_names) == 2:
        values["auroc"] = float(roc_auc_score(t == 1, proba[:, 1]))
        return
    values["auroc"] = float(np.mean([roc_auc_score(t == c, proba[:, c]) for c in present]))
    absent = [str(label_names[c]) for c in range(len(label_names)) if c not in present]
    if absent:
        attrs["auroc_classes_left_out"] = absent


# --------------------------------------------------------------------------- fairness, point estimates
