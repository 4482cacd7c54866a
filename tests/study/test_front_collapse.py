"""Trials the trainer stopped because their predictions collapsed: off the front, and said so apart."""

from __future__ import annotations

from typing import Any

import optuna

from hpsearch.study import collapse_cause, has_learned, honest_front, stopped_epoch

MAJORITY = "collapsed after epoch 1: predicts only 'fair', the majority class"


def _study(*rows: tuple[tuple[float, float], dict[str, Any]]) -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["macro_f1", "latency_p50_ms"])
    for values, attrs in rows:
        study.add_trial(optuna.trial.create_trial(values=list(values), user_attrs=attrs))
    return study


def collapsed(reason: str = MAJORITY, epoch: int | None = 1) -> dict[str, Any]:
    attrs: dict[str, Any] = {"learned": False, "collapsed": reason}
    if epoch is not None:
        attrs["stopped_after_epoch"] = epoch
    return attrs


def test_collapsed_trials_are_named_apart_from_the_others_that_did_not_learn() -> None:
    front = honest_front(_study(
        ((0.8, 10.0), {}),                               # 0 on the front
        ((0.25, 1.0), collapsed()),                      # 1 collapsed after epoch 1
        ((0.30, 2.0), {"learned": False}),               # 2 stayed within the margin
        ((0.25, 1.5), collapsed()),                      # 3 collapsed after epoch 1, the same way
    ))
    assert [t.number for t in front.trials] == [0]
    assert [t.number for t in front.collapsed] == [1, 3] and [t.number for t in front.not_learned] == [1, 2, 3]
    assert front.left_off() == (
        "Left off the front: 2 collapsed and were stopped early: trial 1 after epoch 1, trial 3 after epoch 1 "
        "(predicts only 'fair', the majority class); 1 other did not beat the trivial predictors (majority "
        "class, stratified random) by the margin: trial(s) 2")
    assert front.nothing_learned() is None


def test_each_cause_is_said_after_the_trials_it_stopped() -> None:
    front = honest_front(_study(
        ((0.25, 1.0), collapsed()),
        ((0.31, 1.0), collapsed("collapsed after epoch 2: macro-F1 within 0.02 of the trivial predictors", 2)),
        ((0.25, 1.0), collapsed("collapsed", epoch=None)),
    ))
    assert front.left_off() == (
        "Left off the front: 3 collapsed and were stopped early: trial 0 after epoch 1 (predicts only 'fair', "
        "the majority class), trial 1 after epoch 2 (macro-F1 within 0.02 of the trivial predictors), trial 2")


def test_a_collapsed_trial_never_counts_as_learned() -> None:
    study = _study(((0.9, 1.0), {"learned": True, "collapsed": MAJORITY}))
    trial = study.trials[0]
    assert not has_learned(trial)
    assert stopped_epoch(trial) == 1  # read from the reason where stopped_after_epoch is missing
    assert collapse_cause(trial) == "predicts only 'fair', the majority class"
    front = honest_front(study)
    assert front.trials == [] and [t.number for t in front.collapsed] == [0]
    assert front.left_off() == ("Left off the front: 1 collapsed and was stopped early: trial 0 after epoch 1 "
                                "(predicts only 'fair', the majority class)")


def test_when_no_fine_tuned_trial_learned_one_sentence_says_so() -> None:
    front = honest_front(_study(
        ((0.25, 1.0), collapsed()), ((0.30, 2.0), {"learned": False}),
        ((0.7, 1.0), {"baseline": "tfidf", "learned": True}),
    ))
    assert front.nothing_learned() == (
        "No fine-tuned trial learned: all 2 collapsed or stayed within the margin of the trivial predictors; "
        "nothing is shown as the front.")
    one = honest_front(_study(((0.25, 1.0), collapsed())))
    assert (one.nothing_learned() or "").startswith("No fine-tuned trial learned: the one fine-tuned trial collapsed")


def test_nothing_is_said_where_a_trial_learned_or_none_completed() -> None:
    assert honest_front(_study()).nothing_learned() is None
    assert honest_front(_study(((0.7, 1.0), {"baseline": "tfidf"}))).nothing_learned() is None
    assert honest_front(_study(((0.25, 1.0), collapsed()), ((0.8, 3.0), {}))).nothing_learned() is None
