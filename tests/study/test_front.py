"""The honest front read from a study: who is on it, who is left off, where a baseline wins."""

from __future__ import annotations

import optuna

from hpsearch.study import honest_front, objective_names


def _study() -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["macro_f1", "latency_p50_ms"])
    rows = [  # (values, user attrs)
        ((0.80, 10.0), {}),                                       # 0 on the front
        ((0.70, 5.0), {}),                                        # 1 on the front
        ((0.20, 1.0), {"learned": False}),                        # 2 fast, but learned nothing
        ((0.85, 2.0), {"baseline": "tfidf", "learned": True}),    # 3 beats the front on both
        ((0.10, 0.5), {"baseline": "head", "learned": False}),    # 4 fastest, but learned nothing
    ]
    for values, attrs in rows:
        study.add_trial(optuna.trial.create_trial(values=list(values), user_attrs=attrs))
    return study


def test_the_front_leaves_off_baselines_and_trials_that_did_not_learn() -> None:
    front = honest_front(_study())
    assert [t.number for t in front.trials] == [0, 1]
    assert [t.number for t in front.baselines] == [3, 4] and [t.number for t in front.not_learned] == [2]
    assert "did not beat the trivial predictors" in (front.left_off() or "")


def test_only_a_baseline_that_learned_beats_the_front() -> None:
    study = _study()
    wins = honest_front(study).baseline_wins([True, False])
    names = objective_names(study)
    assert [(b.number, names[i], best.number) for b, i, best in wins] == [
        (3, "macro_f1", 0), (3, "latency_p50_ms", 1)]


def test_the_trials_a_scheduler_stopped_are_said_in_one_line_with_the_epochs_not_run() -> None:
    from hpsearch.study import stopped_early

    study = _study()
    assert stopped_early(study.get_trials()) is None
    pruned = optuna.trial.TrialState.PRUNED
    for after, planned in ((1, 3), (1, 9), (3, 9)):
        history = [{"epoch": float(e), "epochs": float(planned)} for e in range(1, after + 1)]
        study.add_trial(optuna.trial.create_trial(state=pruned, user_attrs={
            "stopped_after_epoch": after, "history": history}))
    # a trial pruned before per-epoch reports said how many epochs: counted, its epochs not guessed
    study.add_trial(optuna.trial.create_trial(state=pruned, user_attrs={"stopped_after_epoch": 1}))
    # a collapsed trial stopped by the trainer is COMPLETE, said apart (left_off), not here
    study.add_trial(optuna.trial.create_trial(values=[0.1, 1.0], user_attrs={
        "stopped_after_epoch": 1, "collapsed": "collapsed after epoch 1: predicts one class"}))
    assert stopped_early(study.get_trials()) == (
        "Stopped early by the scheduler (PRUNED, never on the front): 4 trial(s), 3 after epoch 1, 1 after "
        "epoch 3; 16 of the 21 epochs they were to train not run.")
    # stopped for breaking a constraint training does not change: recorded with how far, and said
    for far, after in ((2.0, 0), (-1.0, 1)):
        trial = study.ask()
        trial.set_constraint("latency_p50_ms <= 10", far)
        trial.set_user_attr("stopped_after_epoch", after)
        study.tell(trial, state=pruned)
    assert stopped_early(study.get_trials()) == (
        "Stopped early by the scheduler (PRUNED, never on the front): 6 trial(s), 1 before training, 4 after "
        "epoch 1, 1 after epoch 3 (breaking latency_p50_ms <= 10: 1); 16 of the 21 epochs they were to train not run.")
