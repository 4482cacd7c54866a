"""Task and fairness metrics from predictions, computed with scikit-learn.

Keys are flat strings, so that every value can be stored as an Optuna user attribute:
``macro_f1``, ``f1/<label>``, ``group/<column>=<value>/macro_f1``, ``f1_gap`` …
"""

from __future__ import annotations

from typing import Any, Sequence


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]
) -> dict[str, float]:
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


def group_metrics(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    groups: dict[str, Sequence[str]],
    *,
    min_group_size: int,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Per-group macro-F1 and accuracy, and the gaps between groups.

    The first group column gives the plain names (``f1_gap``); every column also gives
    ``f1_gap/<column>``. Groups smaller than `min_group_size` are left out of the gaps and
    listed in the returned attributes.
    """
    from sklearn.metrics import accuracy_score, f1_score

    values: dict[str, float] = {}
    attrs: dict[str, Any] = {}
    for i, (column, members) in enumerate(groups.items()):
        f1s: dict[str, float] = {}
        accs: dict[str, float] = {}
        excluded: dict[str, int] = {}
        for group in sorted(set(members)):
            idx = [j for j, g in enumerate(members) if g == group]
            t = [y_true[j] for j in idx]
            p = [y_pred[j] for j in idx]
            values[f"group/{column}={group}/n"] = float(len(idx))
            if len(idx) < min_group_size:
                excluded[group] = len(idx)
                continue
            f1s[group] = float(f1_score(t, p, average="macro", zero_division=0))
            accs[group] = float(accuracy_score(t, p))
            values[f"group/{column}={group}/macro_f1"] = f1s[group]
            values[f"group/{column}={group}/accuracy"] = accs[group]
        if excluded:
            attrs[f"groups_excluded/{column}"] = excluded
        if len(f1s) < 2:
            attrs[f"groups_too_few/{column}"] = sorted(f1s)
            continue
        gaps = {
            "f1_gap": max(f1s.values()) - min(f1s.values()),
            "accuracy_gap": max(accs.values()) - min(accs.values()),
            "worst_group_f1": min(f1s.values()),
        }
        for name, value in gaps.items():
            values[f"{name}/{column}"] = value
            if i == 0:
                values[name] = value
    return values, attrs
