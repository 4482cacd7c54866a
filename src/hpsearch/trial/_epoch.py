"""The objectives after each epoch, for a scheduler that stops trials on them (``mo_asha``).

What the validation predictions give (macro-F1, group gaps, a team's own objectives) is measured
after every epoch on the split the worker predicts then (the validation split or its fixed subset), as point estimates (no bootstrap intervals: the final evaluation has those).
What only the deployed model gives (latency, throughput, size) is measured once, after the first
epoch, on a deployed copy of the model, and reused: training moves the weights, not the time a
request takes. It is reported for the objectives and for the constraints on it; where a constraint
is on it, it is measured before the first epoch, on the untrained model (the same shape), and
reported as epoch 0, so the rule stops a trial that breaks one before it trains.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpsearch.space import TrialConfig
from hpsearch.trial._memory import model_size_mb

if TYPE_CHECKING:
    from hpsearch.data import Split, Splits
    from hpsearch.trial._worker import Worker


@dataclass
class EpochValidation:
    """What is predicted after each epoch: the validation split, or where it holds more than `limit`
    (the objectives file's ``epoch_validation_examples``) a fixed subset of it, stratified by label;
    and what the trivial predictors score on it (the collapse check's bar)."""

    name: str
    split: "Split"
    trivial: dict[str, float]

    @classmethod
    def of(cls, splits: "Splits", limit: int | None) -> "EpochValidation":
        from hpsearch.data import stratified_subset
        from hpsearch.objectives import trivial_scores

        name, split = "validation", splits.validation
        if limit is not None and len(split) > limit:
            name, split = "validation_epoch", stratified_subset(split, limit, seed=0)
        return cls(name, split, trivial_scores(split.labels, splits.train.labels, splits.label_names))


class EpochObjectives:
    """Every objective of the study after an epoch of one trial (a new one for each trial)."""

    def __init__(self, worker: "Worker") -> None:
        self.worker = worker
        self.deployed: dict[str, float] | None = None

    def __call__(self, model: Any, config: TrialConfig, split: "Split", predictions: Sequence[int],
                 probabilities: Sequence[Sequence[float]]) -> dict[str, float]:
        """The objectives of `predictions` on `split` (the validation split predicted after each epoch)."""
        from hpsearch.objectives import ObjectiveError, evaluate_predictions
        from hpsearch.trial._worker import TrialFailed

        worker = self.worker
        objectives = worker.plan.objectives
        names = objectives.names()
        try:
            found, _ = evaluate_predictions(
                split.labels, predictions, probabilities, worker.splits.label_names, split.groups,
                objectives.fairness.model_copy(update={"bootstrap": 0}), user_objectives=objectives.module_objectives(),
                train_labels=worker.splits.train.labels, min_gain_over_trivial=objectives.min_gain_over_trivial,
            )
        except ObjectiveError as exc:
            raise TrialFailed(str(exc)) from None
        values = {n: float(found[n]) for n in names if n in found}
        # and what a constraint needs of the deployed model, for the rule that stops a trial breaking it
        wanted = [*names, *(c.metric for c in objectives.deployed_constraints())]
        if any(n not in values for n in wanted):
            if self.deployed is None:
                self.deployed = self._measure_deployed(model, config)
            values.update({n: self.deployed[n] for n in wanted if n in self.deployed})
        return values

    def before_training(self, model: Any, config: TrialConfig) -> dict[str, float]:
        """What the study's constraints need of the deployed model, measured on the model before it
        trains (nothing where none is on such a measurement): training changes none of it, so a trial
        that breaks one can be stopped before its first epoch. The measurement is kept for the epochs."""
        wanted = [c.metric for c in self.worker.plan.objectives.deployed_constraints()]
        if not wanted:
            return {}
        if self.deployed is None:
            self.deployed = self._measure_deployed(model, config)
        return {n: self.deployed[n] for n in wanted if n in self.deployed}

    def _measure_deployed(self, model: Any, config: TrialConfig) -> dict[str, float]:
        worker = self.worker
        deployed, _ = worker.deploy(copy.deepcopy(model), config)
        deployed.eval()
        timed, _ = worker.deployed_timing(deployed, config)
        timed["model_size_mb"] = model_size_mb(deployed)
        timed["layers"] = float(deployed.config.num_hidden_layers)
        return timed
