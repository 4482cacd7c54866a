"""Fairness between groups: per-group metrics, the gaps (fairlearn's rate differences among them)
and their bootstrap confidence intervals.

Keys: ``group/<column>=<value>/macro_f1``, ``f1_gap``, ``f1_gap/<column>``, ``f1_gap_ci_low`` …
Gaps come with a bootstrap confidence interval, because on a validation split of a few hundred
examples a gap of 0.05 is often noise. Resampling is stratified by group, and every fairness
measure depends on a group's examples only through its confusion matrix, so a resample of a group
is one multinomial draw over the cells of that matrix: 200 resamples of any number of examples
take milliseconds (:func:`fairness_stats` is the vectorised statistic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from hpsearch.objectives._registry import FAIRNESS_METRICS

if TYPE_CHECKING:
    import numpy as np


def group_metrics(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    groups: Mapping[str, Sequence[str]],
    *,
    min_group_size: int,
    label_names: Sequence[str] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Per-group metrics, the fairness measures between groups, and their confidence intervals.

    For each group column and each of its groups: ``group/<column>=<group>/n``, ``/macro_f1``
    (over the labels present in that group's truth or predictions, scikit-learn's default, so
    that a group without some label is not charged for it) and ``/accuracy``. Between the
    groups of at least `min_group_size` examples (the others are listed under
    ``groups_excluded/<column>``):

    * ``f1_gap`` and ``accuracy_gap``: max − min of the per-group values; ``worst_group_f1``;
    * ``equalized_odds_difference``: fairlearn's, the larger of the between-group differences
      in true-positive and false-positive rate;
    * ``demographic_parity_difference``: fairlearn's, the between-group difference in selection
      rate.

    Binary tasks take label index 1 as positive. Multiclass tasks treat each class one-vs-rest
    and take the largest difference over classes (for two labels that is the same number).
    Rates need examples to divide by: for a class, a group with no example of it, or only
    examples of it, has no true- or false-positive rate and is left out of that class's
    equalized-odds difference (fairlearn would count the rate as 0), listed under
    ``eod_groups_left_out/<column>``.

    Every column gives ``<measure>/<column>``; the first column also gives the plain
    ``<measure>``. With `bootstrap` > 0, each measure gets a `confidence` interval,
    ``<measure>_ci_low`` and ``<measure>_ci_high`` (and ``.../<column>``), from `bootstrap`
    resamples of the examples, stratified by group, seeded by `seed`: the percentile interval,
    widened to hold the measured value where that falls in a tail. A max − min over groups is
    biased upwards, in the resamples as in the measurement, so the interval errs on the safe
    side at the end a constraint uses (the high end of a gap, the low end of
    ``worst_group_f1``), while the low end of a gap overstates it: a gap whose interval excludes
    0 is not thereby shown to be real. A measure that cannot be computed is left out, with the reason under
    ``why_missing/<measure>/<column>`` (and ``why_missing/<measure>`` for the first column).
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    if label_names is None:
        label_names = [str(i) for i in range(int(max(np.max(y_true), np.max(y_pred))) + 1 if len(y_true) else 1)]
    names, n_labels = [str(n) for n in label_names], len(label_names)
    t, p = as_labels(y_true, y_pred, n_labels)
    rng = np.random.default_rng(seed)
    values: dict[str, float] = {}
    attrs: dict[str, Any] = {}
    for i, (column, raw) in enumerate(groups.items()):
        members = np.asarray([str(m) for m in raw])
        if len(members) != len(t):
            raise ValueError(f"group column {column!r} has {len(members)} values for {len(t)} examples")
        group_names, codes, counts = np.unique(members, return_inverse=True, return_counts=True)
        kept: list[int] = []
        excluded: dict[str, int] = {}
        f1s: list[float] = []
        accuracies: list[float] = []
        for j, (group, size) in enumerate(zip(group_names, counts)):
            values[f"group/{column}={group}/n"] = float(size)
            if size < min_group_size:
                excluded[str(group)] = int(size)
                continue
            kept.append(j)
            here = codes == j
            f1s.append(float(f1_score(t[here], p[here], average="macro", zero_division=0)))
            accuracies.append(float(accuracy_score(t[here], p[here])))
            values[f"group/{column}={group}/macro_f1"] = f1s[-1]
            values[f"group/{column}={group}/accuracy"] = accuracies[-1]
        if excluded:
            attrs[f"groups_excluded/{column}"] = excluded
        if len(kept) < 2:
            attrs[f"groups_too_few/{column}"] = [str(group_names[j]) for j in kept]
            continue

        inside = np.isin(codes, kept)
        t_in, p_in, m_in = t[inside], p[inside], members[inside]
        eod, parity, left_out = _rate_differences(t_in, p_in, m_in, n_labels)
        point: dict[str, float | None] = {
            "f1_gap": max(f1s) - min(f1s),
            "accuracy_gap": max(accuracies) - min(accuracies),
            "worst_group_f1": min(f1s),
            "equalized_odds_difference": eod,
            "demographic_parity_difference": parity,
        }
        if left_out:
            attrs[f"eod_groups_left_out/{column}"] = {names[c]: g for c, g in left_out.items()}
        why: dict[str, str] = {}
        if eod is None:
            why["equalized_odds_difference"] = (
                f"no class has both examples and non-examples in two or more groups of {column!r}")
        intervals: dict[str, tuple[float, float]] = {}
        if bootstrap > 0:
            local = np.searchsorted(kept, codes[inside])
            confusions = _confusions(t_in, p_in, local, len(kept), n_labels)
            replicates = fairness_stats(_resample(confusions, bootstrap, rng))
            for name, estimate in point.items():
                if estimate is None:
                    continue
                interval = _interval(replicates[name], estimate, confidence)
                if interval is None:
                    why[f"{name}_ci"] = (f"fewer than half of the {bootstrap} resamples of {column!r} "
                                         f"define {name}")
                else:
                    intervals[name] = interval
        suffixes = [f"/{column}", ""] if i == 0 else [f"/{column}"]
        for suffix in suffixes:
            for name in FAIRNESS_METRICS:
                estimate = point[name]
                if estimate is not None:
                    values[name + suffix] = float(estimate)
                if name in intervals:
                    values[f"{name}_ci_low{suffix}"], values[f"{name}_ci_high{suffix}"] = intervals[name]
            for name, reason in why.items():
                attrs[f"why_missing/{name}{suffix}"] = reason
    return values, attrs


# --------------------------------------------------------------------------- task


def as_labels(y_true: Sequence[int], y_pred: Sequence[int], n_labels: int) -> tuple["np.ndarray", "np.ndarray"]:
    import numpy as np

    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if t.ndim != 1 or t.shape != p.shape or len(t) == 0:
        raise ValueError(f"y_true and y_pred must be two equally long, non-empty lists of label indices, "
                         f"got shapes {t.shape} and {p.shape}")
    if min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_labels:
        raise ValueError(f"labels must be indices in [0, {n_labels}), got values from "
                         f"{min(t.min(), p.min())} to {max(t.max(), p.max())}")
    return t, p


def _classes(n_labels: int) -> list[int]:
    """The classes one-vs-rest measures look at: label index 1 of a binary task, else every one."""
    return [1] if n_labels == 2 else list(range(n_labels))


def _rate_differences(t: "np.ndarray", p: "np.ndarray", members: "np.ndarray",
                      n_labels: int) -> tuple[float | None, float, dict[int, list[str]]]:
    """(equalized-odds difference, demographic-parity difference, groups left out of the first).

    Each group's rates are fairlearn's (`true_positive_rate`, `false_positive_rate`,
    `selection_rate`); a difference is max − min over groups, fairlearn's ``between_groups``;
    the largest over classes is taken (one-vs-rest). fairlearn's `MetricFrame` would give the
    same numbers, in tenfold the time. By class, the groups left out of equalized odds (no
    example of the class, or nothing else) are returned too.
    """
    import numpy as np
    from fairlearn.metrics import false_positive_rate, selection_rate, true_positive_rate

    group_names = [str(g) for g in np.unique(members)]
    equalized_odds: float | None = None
    parity = 0.0
    left_out: dict[int, list[str]] = {}
    for c in _classes(n_labels):
        tprs: list[float] = []
        fprs: list[float] = []
        selections: list[float] = []
        for group in group_names:
            here = members == group
            truth, predicted = (t[here] == c).astype(int), (p[here] == c).astype(int)
            selections.append(float(selection_rate(truth, predicted, pos_label=1)))
            if 0 < truth.sum() < len(truth):
                tprs.append(float(true_positive_rate(truth, predicted, pos_label=1)))
                fprs.append(float(false_positive_rate(truth, predicted, pos_label=1)))
            else:
                left_out.setdefault(c, []).append(group)
        parity = max(parity, max(selections) - min(selections))
        if len(tprs) >= 2:
            value = max(max(tprs) - min(tprs), max(fprs) - min(fprs))
            equalized_odds = value if equalized_odds is None else max(equalized_odds, value)
    return equalized_odds, parity, left_out


# --------------------------------------------------------------------------- fairness, bootstrap


def _confusions(t: "np.ndarray", p: "np.ndarray", codes: "np.ndarray", n_groups: int,
                n_labels: int) -> "np.ndarray":
    """Confusion matrix counts per group: [group, true label, predicted label]."""
    import numpy as np

    cells = (codes * n_labels + t) * n_labels + p
    return np.bincount(cells, minlength=n_groups * n_labels * n_labels).reshape(n_groups, n_labels, n_labels)


def _resample(confusions: "np.ndarray", n: int, rng: "np.random.Generator") -> "np.ndarray":
    """`n` bootstrap resamples, stratified by group, as confusion matrices [resample, group, true, pred].

    Drawing a group's examples with replacement is drawing its confusion matrix from the
    multinomial over its observed cells: the same distribution, without touching the examples.
    """
    import numpy as np

    n_groups, n_labels, _ = confusions.shape
    out = np.empty((n, n_groups, n_labels * n_labels), dtype=np.int64)
    for g in range(n_groups):
        cells = confusions[g].ravel()
        out[:, g] = rng.multinomial(cells.sum(), cells / cells.sum(), size=n)
    return out.reshape(n, n_groups, n_labels, n_labels)


def fairness_stats(confusions: "np.ndarray") -> dict[str, "np.ndarray"]:
    """The fairness measures of :func:`group_metrics` from confusion matrices [..., group, true, pred].

    Vectorised over leading axes (the resamples). On the observed matrices it gives the point
    estimates of :func:`group_metrics` (scikit-learn's per-group macro-F1, fairlearn's
    differences; tests/test_metrics.py checks that they agree). NaN where a measure is undefined.
    """
    import numpy as np

    c = confusions.astype(float)
    n = c.sum(axis=(-2, -1))
    tp = np.diagonal(c, axis1=-2, axis2=-1)
    actual = c.sum(axis=-1)
    predicted = c.sum(axis=-2)
    negatives = n[..., None] - actual
    with np.errstate(divide="ignore", invalid="ignore"):
        present = (actual + predicted) > 0
        f1 = np.where(present, 2 * tp / (actual + predicted), 0.0)
        macro = f1.sum(axis=-1) / present.sum(axis=-1)
        accuracy = tp.sum(axis=-1) / n
        defined = (actual > 0) & (negatives > 0)
        tpr = np.where(defined, tp / actual, np.nan)
        fpr = np.where(defined, (predicted - tp) / negatives, np.nan)
        selection = predicted / n[..., None]
    return {
        "f1_gap": macro.max(axis=-1) - macro.min(axis=-1),
        "accuracy_gap": accuracy.max(axis=-1) - accuracy.min(axis=-1),
        "worst_group_f1": macro.min(axis=-1),
        "equalized_odds_difference": _largest(np.fmax(_spread(tpr), _spread(fpr))),
        "demographic_parity_difference": _largest(_spread(selection)),
    }


def _spread(x: "np.ndarray") -> "np.ndarray":
    """max − min over groups (axis -2), ignoring NaN; NaN where fewer than two groups have a value."""
    import numpy as np

    ok = ~np.isnan(x)
    high = np.where(ok, x, -np.inf).max(axis=-2)
    low = np.where(ok, x, np.inf).min(axis=-2)
    return np.where(ok.sum(axis=-2) >= 2, high - low, np.nan)


def _largest(x: "np.ndarray") -> "np.ndarray":
    """max over classes (last axis), ignoring NaN; NaN where no class has a value."""
    import numpy as np

    ok = ~np.isnan(x)
    return np.where(ok.any(axis=-1), np.where(ok, x, -np.inf).max(axis=-1), np.nan)


def _interval(replicates: "np.ndarray", estimate: float, confidence: float) -> tuple[float, float] | None:
    """The percentile interval of `estimate` from its bootstrap `replicates`, widened to hold it.

    None when fewer than half of the replicates are defined.
    """
    import numpy as np

    r = replicates[~np.isnan(replicates)]
    if len(r) < max(2, (len(replicates) + 1) // 2):
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(r, [tail, 1 - tail])
    return min(float(low), estimate), max(float(high), estimate)
