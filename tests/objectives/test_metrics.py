"""Metrics from predictions: scikit-learn's task metrics, fairlearn's gaps, bootstrap intervals."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn import metrics as skm

from hpsearch.objectives import (
    FAIRNESS_METRICS,
    FairnessConfig,
    classification_metrics,
    evaluate_predictions,
    fairness_stats,
    group_metrics,
)
from hpsearch.objectives._fairness import _confusions

LABELS = ["bug", "feature", "question"]


def noisy(n: int, n_labels: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random labels, and predictions right with probability `accuracy` (else a random label)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_labels, n)
    return y, np.where(rng.random(n) < accuracy, y, rng.integers(0, n_labels, n))


def evaluate(y, p, groups, *, proba=None, labels=("no", "yes"), **fairness):
    return evaluate_predictions(y, p, proba, list(labels), groups, FairnessConfig(**fairness))


# --------------------------------------------------------------------------- task metrics


def test_task_metrics_are_scikit_learns() -> None:
    y = [0, 0, 1, 1, 2, 2, 2, 0, 1, 2]
    p = [0, 1, 1, 1, 2, 0, 2, 0, 2, 2]
    values, _ = evaluate_predictions(y, p, None, LABELS, {}, FairnessConfig())
    assert values["accuracy"] == skm.accuracy_score(y, p) == 0.7
    for average in ("macro", "weighted"):
        assert values[f"{average}_f1"] == pytest.approx(skm.f1_score(y, p, average=average))
        assert values[f"{average}_precision"] == pytest.approx(skm.precision_score(y, p, average=average))
        assert values[f"{average}_recall"] == pytest.approx(skm.recall_score(y, p, average=average))
    for name, f1 in zip(LABELS, skm.f1_score(y, p, average=None)):
        assert values[f"f1/{name}"] == pytest.approx(f1)
    assert classification_metrics(y, p, LABELS) == {k: v for k, v in values.items() if k in
                                                    classification_metrics(y, p, LABELS)}
    assert "sensitivity" not in values and "specificity" not in values  # three labels


def test_binary_sensitivity_specificity_and_auroc() -> None:
    # 4 positives (label index 1), 3 found; 6 negatives, 4 kept negative.
    y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    p = [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    proba = [[0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.7, 0.3], [0.9, 0.1],
             [0.8, 0.2], [0.6, 0.4], [0.65, 0.35], [0.45, 0.55], [0.1, 0.9]]
    values, attrs = evaluate(y, p, {}, proba=proba)
    assert values["sensitivity"] == 0.75 and values["specificity"] == pytest.approx(4 / 6)
    assert values["auroc"] == pytest.approx(skm.roc_auc_score(y, [q[1] for q in proba]))
    assert "why_missing/auroc" not in attrs


def test_auroc_left_out_with_the_reason() -> None:
    _, attrs = evaluate([0, 1, 1], [0, 1, 0], {}, proba=None)
    assert attrs["why_missing/auroc"] == "no class probabilities were given"
    values, attrs = evaluate([1, 1, 1], [0, 1, 1], {}, proba=[[0.5, 0.5]] * 3)
    assert "auroc" not in values and "one class only ('yes')" in attrs["why_missing/auroc"]
    assert "specificity" not in values and "'no' (index 0)" in attrs["why_missing/specificity"]


def test_multiclass_auroc_is_macro_one_vs_rest() -> None:
    rng = np.random.default_rng(0)
    y, p = noisy(300, 3, 0.7, seed=1)
    proba = rng.dirichlet(np.ones(3), size=300)
    proba[np.arange(300), y] += 1.0  # informative, then normalised
    proba /= proba.sum(axis=1, keepdims=True)
    values, _ = evaluate_predictions(y, p, proba, LABELS, {}, FairnessConfig())
    assert values["auroc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    # a class absent from the split is left out of the mean, and named
    keep = y != 2
    values, attrs = evaluate_predictions(y[keep], p[keep], proba[keep], LABELS, {}, FairnessConfig())
    expected = np.mean([skm.roc_auc_score(y[keep] == c, proba[keep, c]) for c in (0, 1)])
    assert values["auroc"] == pytest.approx(expected) and attrs["auroc_classes_left_out"] == ["question"]


def test_inputs_that_do_not_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="one row per example"):
        evaluate([0, 1], [0, 1], {}, proba=[[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"indices in \[0, 2\)"):
        evaluate([0, 2], [0, 1], {})
    with pytest.raises(ValueError, match="equally long"):
        evaluate([0, 1, 1], [0, 1], {})
    with pytest.raises(ValueError, match="2 values for 3 examples"):
        evaluate([0, 1, 1], [0, 1, 1], {"g": ["a", "b"]})


# --------------------------------------------------------------------------- fairness, known answers


def perfect_and_half_wrong() -> tuple[list[int], list[int], list[str]]:
    """Group A: 8 examples, all right. Group B: 8 examples, half of each class wrong."""
    y_a, p_a = [0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1]
    y_b, p_b = [0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 0, 0]
    return y_a + y_b, p_a + p_b, ["A"] * 8 + ["B"] * 8


def test_gaps_with_known_answers() -> None:
    y, p, g = perfect_and_half_wrong()
    values, attrs = evaluate(y, p, {"site": g}, bootstrap=0)
    assert values["group/site=A/macro_f1"] == 1.0 and values["group/site=A/accuracy"] == 1.0
    # in B each class has tp = 2, fp = 2, fn = 2: F1 = 2*2 / (2*2 + 2 + 2) = 0.5
    assert values["group/site=B/macro_f1"] == 0.5 and values["group/site=B/accuracy"] == 0.5
    assert values["group/site=A/n"] == values["group/site=B/n"] == 8.0
    assert values["f1_gap"] == 0.5 and values["accuracy_gap"] == 0.5 and values["worst_group_f1"] == 0.5
    # true-positive rate 1 vs 0.5, false-positive rate 0 vs 0.5
    assert values["equalized_odds_difference"] == 0.5
    # but both groups predict 'yes' for half their examples: parity holds although accuracy differs
    assert values["demographic_parity_difference"] == 0.0
    assert "f1_gap_ci_low" not in values and list(attrs) == ["why_missing/auroc"]


def test_gaps_agree_with_fairlearn_on_a_binary_task() -> None:
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    y, p = noisy(600, 2, 0.8, seed=3)
    g = np.random.default_rng(4).choice(["north", "south", "east"], 600)
    values, _ = evaluate(y, p, {"region": list(g)}, bootstrap=0)
    assert values["equalized_odds_difference"] == pytest.approx(equalized_odds_difference(y, p, sensitive_features=g))
    assert values["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, p, sensitive_features=g))
    f1s = [skm.f1_score(y[g == s], p[g == s], average="macro") for s in ("north", "south", "east")]
    assert values["f1_gap"] == pytest.approx(max(f1s) - min(f1s)) and values["worst_group_f1"] == pytest.approx(min(f1s))


def test_multiclass_gaps_are_the_largest_one_vs_rest() -> None:
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    y, p = noisy(900, 3, 0.75, seed=5)
    g = np.random.default_rng(6).choice(["a", "b", "c", "d"], 900)
    values, _ = evaluate(y, p, {"g": list(g)}, labels=LABELS, bootstrap=0)
    eod = [equalized_odds_difference(y == c, p == c, sensitive_features=g) for c in range(3)]
    dpd = [demographic_parity_difference(y == c, p == c, sensitive_features=g) for c in range(3)]
    assert values["equalized_odds_difference"] == pytest.approx(max(eod))
    assert values["demographic_parity_difference"] == pytest.approx(max(dpd))


def test_groups_without_a_class_are_left_out_of_equalized_odds() -> None:
    from fairlearn.metrics import equalized_odds_difference

    y, p = noisy(300, 2, 0.8, seed=7)
    g = np.random.default_rng(8).choice(["a", "b"], 300).astype(object)
    y = np.concatenate([y, [0] * 6])  # group c: no positive, so no true-positive rate
    p = np.concatenate([p, [0, 0, 0, 1, 0, 0]])
    g = np.concatenate([g, ["c"] * 6]).astype(str)
    values, attrs = evaluate(y, p, {"g": list(g)}, bootstrap=0)
    ab = g != "c"
    assert values["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y[ab], p[ab], sensitive_features=g[ab]))
    assert attrs["eod_groups_left_out/g"] == {"yes": ["c"]}
    # fairlearn would count c's true-positive rate as 0 and report a gap near 0.8
    assert equalized_odds_difference(y, p, sensitive_features=g) > values["equalized_odds_difference"] + 0.5


def test_each_group_column_and_the_first_gives_the_plain_names() -> None:
    y, p, site = perfect_and_half_wrong()
    shift = ["x", "y"] * 8  # in each shift, A and B alike: x and y score the same
    values, _ = evaluate(y, p, {"site": site, "shift": shift}, bootstrap=0)
    for name in FAIRNESS_METRICS:
        assert values[name] == values[f"{name}/site"]
    assert values["f1_gap/site"] == 0.5 and values["f1_gap/shift"] == 0.0
    assert values["group/shift=x/n"] == 8.0


def test_small_groups_are_left_out_and_listed() -> None:
    y, p, g = perfect_and_half_wrong()
    y, p, g = y + [1, 0], p + [0, 1], g + ["C", "C"]  # C: 2 examples, both wrong
    values, attrs = evaluate(y, p, {"site": g}, min_group_size=5, bootstrap=0)
    assert attrs["groups_excluded/site"] == {"C": 2}
    assert values["group/site=C/n"] == 2.0 and "group/site=C/macro_f1" not in values
    assert values["f1_gap"] == 0.5 and values["worst_group_f1"] == 0.5  # C's F1 of 0 would make it 1.0
    values, attrs = evaluate(y, p, {"site": g}, min_group_size=9, bootstrap=0)
    assert attrs["groups_too_few/site"] == [] and "f1_gap" not in values


# --------------------------------------------------------------------------- bootstrap intervals


def test_resampling_statistic_gives_the_point_estimates() -> None:
    """The vectorised statistic on the observed confusion matrices is scikit-learn's and fairlearn's."""
    for n_labels, seed in ((2, 0), (3, 1), (5, 2)):
        y, p = noisy(500, n_labels, 0.7, seed)
        g = np.random.default_rng(seed + 10).choice(["a", "b", "c", "d"], 500)
        labels = [f"l{i}" for i in range(n_labels)]
        values, _ = evaluate(y, p, {"g": list(g)}, labels=labels, bootstrap=0)
        codes = np.unique(g, return_inverse=True)[1]
        stats = fairness_stats(_confusions(y, p, codes, 4, n_labels))
        for name in FAIRNESS_METRICS:
            assert float(stats[name]) == pytest.approx(values[name], abs=1e-12), (n_labels, name)


@pytest.mark.parametrize("accuracies", [(0.9, 0.9, 0.9, 0.9), (0.95, 0.85, 0.8, 0.9), (1.0, 0.6, 0.9, 0.9)])
def test_interval_holds_the_estimate(accuracies: tuple[float, ...]) -> None:
    ys, ps, gs = [], [], []
    for i, accuracy in enumerate(accuracies):  # equal gaps in truth in the first case
        y, p = noisy(250, 2, accuracy, seed=20 + i)
        ys.append(y), ps.append(p), gs.append([f"g{i}"] * 250)
    values, _ = evaluate(np.concatenate(ys), np.concatenate(ps), {"g": sum(gs, [])})
    for name in FAIRNESS_METRICS:
        assert values[f"{name}_ci_low"] <= values[name] <= values[f"{name}_ci_high"], name
        assert values[f"{name}_ci_low"] < values[f"{name}_ci_high"], name
        assert values[f"{name}_ci_low/g"] == values[f"{name}_ci_low"]


def test_interval_narrows_with_more_data() -> None:
    def widths(n_per_group: int) -> dict[str, float]:
        ys, ps, gs = [], [], []
        for i, accuracy in enumerate((0.9, 0.8)):
            y, p = noisy(n_per_group, 2, accuracy, seed=30 + i)
            ys.append(y), ps.append(p), gs.append([f"g{i}"] * n_per_group)
        values, _ = evaluate(np.concatenate(ys), np.concatenate(ps), {"g": sum(gs, [])})
        return {name: values[f"{name}_ci_high"] - values[f"{name}_ci_low"] for name in FAIRNESS_METRICS}

    small, large = widths(100), widths(2500)
    for name in FAIRNESS_METRICS:  # 25 times the data: about a fifth of the width
        assert large[name] < 0.4 * small[name], (name, small[name], large[name])


def test_perfect_predictions_give_a_zero_width_interval() -> None:
    y = [0, 1] * 20
    values, _ = evaluate(y, y, {"g": ["a"] * 20 + ["b"] * 20})
    assert values["f1_gap_ci_low"] == values["f1_gap"] == values["f1_gap_ci_high"] == 0.0
    assert values["worst_group_f1_ci_low"] == 1.0


def test_intervals_follow_the_seed_and_confidence() -> None:
    y, p = noisy(400, 2, 0.8, seed=40)
    g = list(np.random.default_rng(41).choice(["a", "b"], 400))
    first, _ = evaluate(y, p, {"g": g}, seed=1)
    assert evaluate(y, p, {"g": g}, seed=1)[0] == first
    other, _ = evaluate(y, p, {"g": g}, seed=2)
    assert other["f1_gap_ci_high"] != first["f1_gap_ci_high"] and other["f1_gap"] == first["f1_gap"]
    wide, _ = evaluate(y, p, {"g": g}, seed=1, confidence=0.99)
    narrow, _ = evaluate(y, p, {"g": g}, seed=1, confidence=0.5)
    for name in FAIRNESS_METRICS:
        assert (narrow[f"{name}_ci_high"] - narrow[f"{name}_ci_low"]
                <= first[f"{name}_ci_high"] - first[f"{name}_ci_low"]
                <= wide[f"{name}_ci_high"] - wide[f"{name}_ci_low"])


def test_bootstrap_of_a_thousand_examples_in_four_groups_is_fast() -> None:
    y, p = noisy(1000, 2, 0.85, seed=50)
    g = list(np.random.default_rng(51).choice(["a", "b", "c", "d"], 1000))
    proba = np.eye(2)[p] * 0.8 + 0.1
    evaluate(y, p, {"g": g}, proba=proba)  # imports fairlearn and scikit-learn once
    started = time.perf_counter()
    values, _ = evaluate(y, p, {"g": g}, proba=proba, bootstrap=200)
    assert time.perf_counter() - started < 0.5
    assert "equalized_odds_difference_ci_high" in values


def test_group_metrics_keeps_its_old_call() -> None:
    y, p, g = perfect_and_half_wrong()
    values, attrs = group_metrics(y, p, {"site": g}, min_group_size=5)
    assert values["f1_gap"] == 0.5 and "f1_gap_ci_low" not in values and attrs == {}


# --------------------------------------------------------------------------- the split's own intervals


def test_macro_f1_and_accuracy_carry_an_interval_over_the_split_s_examples() -> None:
    y, p = noisy(542, 5, 0.6, seed=5)
    values, _ = evaluate(y, p, {}, labels=[f"c{i}" for i in range(5)])
    for name in ("macro_f1", "accuracy"):
        low, high = values[f"{name}_ci_low"], values[f"{name}_ci_high"]
        assert low < values[name] < high
        assert 0.05 < high - low < 0.12, (name, low, high)  # about ±0.04 on 542 examples
    # the interval is the resamples' own spread: a direct bootstrap of the examples agrees
    rng = np.random.default_rng(0)
    draws = [skm.f1_score(y[i], p[i], labels=range(5), average="macro", zero_division=0)
             for i in (rng.integers(0, len(y), len(y)) for _ in range(400))]
    assert values["macro_f1_ci_low"] == pytest.approx(np.quantile(draws, 0.025), abs=0.012)
    assert values["macro_f1_ci_high"] == pytest.approx(np.quantile(draws, 0.975), abs=0.012)


def test_the_split_s_intervals_narrow_with_more_data_and_vanish_without_resamples() -> None:
    def width(n: int) -> float:
        y, p = noisy(n, 3, 0.7, seed=9)
        values, _ = evaluate(y, p, {}, labels=LABELS)
        return values["macro_f1_ci_high"] - values["macro_f1_ci_low"]

    assert width(5000) < 0.4 * width(200)
    y = [0, 1, 2] * 20
    values, _ = evaluate(y, y, {}, labels=LABELS)
    assert values["macro_f1_ci_low"] == values["macro_f1"] == values["macro_f1_ci_high"] == 1.0
    values, _ = evaluate(y, y, {}, labels=LABELS, bootstrap=0)
    assert not any(k.endswith(("_ci_low", "_ci_high")) for k in values)
