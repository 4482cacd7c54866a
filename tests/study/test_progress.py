"""The run's progress lines and status: failed trials are not counted as done (another trial runs in
their place), and the time left is estimated from the trials this run finished."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from hpsearch.study._progress import Progress
from hpsearch.study._trainable import ERROR_KEY


def _trial(n: int, result: dict) -> SimpleNamespace:
    return SimpleNamespace(trial_id=f"t{n}", config={"learning_rate": 1e-3}, last_result=result)


def _progress(total: int, done: int = 0) -> tuple[Progress, io.StringIO]:
    out = io.StringIO()
    return Progress(Console(file=out, width=200), total, ["macro_f1"], ["maximize"], done=done), out


def test_failed_trials_are_not_done_and_the_time_left_is_never_negative() -> None:
    progress, out = _progress(total=2)
    for n in range(3):
        trial = _trial(n, {ERROR_KEY: "AttributeError: no such knob"})
        progress.on_trial_start(0, [], trial)
        progress.on_trial_complete(0, [], trial)
    assert progress.status().startswith("0/2 done (3 failed), 0 in flight")
    assert "left" not in progress.status()
    good = _trial(3, {"macro_f1": 0.5})
    progress.on_trial_start(0, [], good)
    progress.on_trial_complete(0, [], good)
    status = progress.status()
    assert status.startswith("1/2 done (3 failed)") and "best macro_f1 0.5" in status and "left" in status
    assert "-" not in status.split("·")[-1]
    assert "done: [red]failed[/red]" not in out.getvalue() and "done: failed: AttributeError" in out.getvalue()
    # past the budget a trial has no '/2' (trial 3/2 read as a bug) and says why it runs
    printed = out.getvalue()
    assert "trial   2/2 started: learning_rate" in printed and "trial   3/2" not in printed
    assert ("trial   3 started (in place of a failed one: failed trials do not count towards the 2): "
            "learning_rate=0.001") in printed
    assert "trial   4 done: macro_f1=0.5" in printed


def test_a_trial_that_reported_nothing_is_lost_not_done() -> None:
    progress, out = _progress(total=2)
    lost = _trial(0, {})  # its worker died (or never started) before the trial reported
    progress.on_trial_start(0, [], lost)
    progress.on_trial_complete(0, [], lost)
    assert progress.status().startswith("0/2 done (1 failed), 0 in flight")
    assert "done: lost: no result reported" in out.getvalue()


def test_a_resumed_run_estimates_the_time_left_from_its_own_trials() -> None:
    progress, _ = _progress(total=10, done=8)  # 8 trials done by an earlier run
    progress.started -= 100.0  # this run has been going for 100 s
    assert progress.status().startswith("8/10 done") and "left" not in progress.status()
    trial = _trial(0, {"macro_f1": 0.7})
    progress.on_trial_start(0, [], trial)
    progress.on_trial_complete(0, [], trial)
    assert "~1m40s left" in progress.status()  # one trial left at 100 s each, not 100 s / 9


def test_an_epoch_line_says_how_many_epochs_the_trial_has() -> None:
    progress, out = _progress(total=1)
    trial = _trial(0, {})
    progress.on_trial_start(0, [], trial)
    progress.on_trial_result(0, [], trial, {"epoch": 2.0, "epochs": 3.0, "train_loss": 0.5, "macro_f1": 0.61})
    progress.on_trial_result(0, [], trial, {"epoch": 1.0, "train_loss": 0.7})  # a report without the count
    assert "epoch 2/3: loss 0.500, macro_f1 0.610" in out.getvalue()
    assert "epoch 1: loss 0.700" in out.getvalue()


def test_each_line_names_the_trial_as_the_study_numbers_it() -> None:
    """The driver counts its own trials (1/2, 2/2); pareto, the report and the dashboard show the
    study's numbers, which also count baselines and other drivers' trials: each line carries both."""
    out = io.StringIO()
    numbers = {"t0": 3, "t1": 7}
    progress = Progress(Console(file=out, width=200), 2, ["macro_f1"], ["maximize"], study_number=numbers.get)
    for n in range(3):  # t2: a trial the searcher holds no number for (a line without one, not an error)
        trial = _trial(n, {"macro_f1": 0.5})
        progress.on_trial_start(0, [], trial)
        progress.on_trial_complete(0, [], trial)
    printed = out.getvalue()
    assert "trial   1/2 (study #3) started: learning_rate" in printed
    assert "trial   2/2 (study #7) done: macro_f1=0.5" in printed
    assert "trial   3 done: macro_f1=0.5" in printed
    import pickle

    assert pickle.loads(pickle.dumps(progress)).study_number is None  # Ray pickles its callbacks
