"""How a study's trials count: by state toward the budget, and who runs them.

The user attributes the ledger writes on a trial are named here too, so that reading a study
(``hpsearch status``, the progress line) needs none of the ledger's machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from hpsearch.study._front import BASELINE_ATTR

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

#: Trial user attributes written here.
DRIVER_ATTR = "driver"          # {"host", "pid", "id", "started"} of the driver that ran the trial
FAIL_KIND_ATTR = "fail_kind"    # trial | lost | interrupted | stopped
RETRY_OF_ATTR = "retry_of"      # the number of the failed trial whose parameters this one runs again
RETRIES_ATTR = "retries"        # how many times these parameters have been retried
#: Baselines run beside the trials, never counted toward the budget.
STUDY_BASELINES = ("linear_probe", "tfidf")
#: The confirmation batch a trial was enqueued under (``hpsearch confirm``).
BATCH_ATTR = "confirm_batch"


@dataclass
class Counts:
    complete: int = 0
    running: int = 0
    waiting: int = 0
    failed: int = 0
    failed_own: int = 0
    pruned: int = 0
    last_failure: str = ""
    running_by: dict[str, list[int]] = field(default_factory=dict)

    @property
    def done(self) -> int:  # what the budget counts: complete, and stopped early by a scheduler
        return self.complete + self.pruned


def is_study_baseline(trial: "FrozenTrial") -> bool:
    return trial.user_attrs.get(BASELINE_ATTR) in STUDY_BASELINES


def counts_toward_budget(trial: "FrozenTrial", batch: str | None = None) -> bool:
    """A search trial (not a study baseline, not a confirmation) or, with `batch`, one of its trials."""
    if batch is not None:
        return trial.user_attrs.get(BATCH_ATTR) == batch
    return trial.user_attrs.get(BASELINE_ATTR) not in STUDY_BASELINES and trial.user_attrs.get(BATCH_ATTR) is None


def count(trials: list["FrozenTrial"], batch: str | None = None) -> Counts:
    """The study's trials by state (baselines left out), failures on the trial's own account apart."""
    counts = Counts()
    for trial in trials:
        if not counts_toward_budget(trial, batch):
            continue
        if trial.state == TrialState.COMPLETE:
            counts.complete += 1
        elif trial.state == TrialState.RUNNING:
            counts.running += 1
            counts.running_by.setdefault(driver_label(trial), []).append(trial.number)
        elif trial.state == TrialState.WAITING:
            counts.waiting += 1
        elif trial.state == TrialState.PRUNED:
            counts.pruned += 1
        elif trial.state == TrialState.FAIL:
            counts.failed += 1
            if trial.user_attrs.get(FAIL_KIND_ATTR, "trial") == "trial":
                counts.failed_own += 1
                counts.last_failure = str(trial.user_attrs.get("fail_reason", ""))
    return counts


def driver_label(trial: "FrozenTrial") -> str:
    driver = trial.user_attrs.get(DRIVER_ATTR)
    if not isinstance(driver, dict):
        return "unknown driver"
    return driver_name(driver)


def driver_name(driver: dict) -> str:
    """``host pid 1234``: a driver as the study's record of drivers and each trial's driver hold it."""
    return f"{driver.get('host')} pid {driver.get('pid')}"
