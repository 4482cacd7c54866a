"""The study's trials as a proposal's wrappers see them: one read, or none where the claim hands its own."""

from __future__ import annotations

import optuna

from hpsearch.search import make_sampler, proposing_with
from hpsearch.search._snapshot import trials_for


def test_a_proposal_inside_proposing_with_sees_the_given_read_and_reads_nothing_itself() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=make_sampler("tpe_local", 0, {"n_startup_trials": 2}))
    for i in range(3):
        study.enqueue_trial({"x": i / 4})
    for _ in range(3):
        trial = study.ask()
        study.tell(trial, [trial.suggest_float("x", 0, 1), 0.0])
    study.enqueue_trial({"x": 0.9})  # waiting: the next ask starts it
    reads: list[int] = []
    original = study.get_trials

    def counted(*args, **kwargs):
        reads.append(1)
        return original(*args, **kwargs)

    read = study.get_trials(deepcopy=False)
    study.get_trials = counted  # type: ignore[method-assign]
    with proposing_with(study, read):
        trial = study.ask()
    assert reads == []  # AvoidFailures and FrontLocalSearch looked at the given read
    seen = trials_for(study, original(deepcopy=False)[trial.number])  # the proposal's read, kept
    assert [t.number for t in seen] == [0, 1, 2, 3]
    assert seen[3].state == optuna.trial.TrialState.RUNNING and read[3].state == optuna.trial.TrialState.WAITING
    trial.suggest_float("x", 0, 1)
    assert seen[3].params == {}  # the trial as it was proposed: a copy that Optuna's suggestions do not change
