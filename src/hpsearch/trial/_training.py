"""The training loop of one trial: the loss with its class weights, the order batches are drawn
in, long texts read in pieces, and the check after each epoch that stops a trial whose
validation predictions have collapsed (one class, or no better than the trivial predictors).

A collapsed trial stops early and says why (:class:`Collapse`); it is still evaluated and
recorded like any other, so that the sampler sees a bad outcome in that region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from hpsearch.space import TrialConfig
from hpsearch.trial._reading import Reading, flatten

if TYPE_CHECKING:
    import torch

    from hpsearch.trial._worker import Worker

Report = Callable[[dict[str, float]], None]


class TrainingError(Exception):
    """Training cannot go on as configured (a non-finite loss, a class missing for weighting)."""


def class_weights(labels: Sequence[int], count: int, kind: str) -> list[float] | None:
    """Per-class loss weights: ``balanced`` n / (k · n_c) (scikit-learn's), ``sqrt`` its square root
    (milder, for long tails), ``none`` None."""
    if kind == "none":
        return None
    from collections import Counter

    seen = Counter(labels)
    missing = [c for c in range(count) if seen[c] == 0]
    if missing:
        raise TrainingError(f"class_weighting={kind} needs every class in the training split; "
                            f"missing class index(es): {', '.join(map(str, missing))}")
    balanced = [len(labels) / (count * seen[c]) for c in range(count)]
    if kind == "balanced":
        return balanced
    if kind == "sqrt":
        return [math.sqrt(w) for w in balanced]
    raise ValueError(f"class_weighting must be one of none, balanced, sqrt; got {kind!r}")


def epoch_length(labels: Sequence[int], sampling: str) -> int:
    """How many examples an epoch visits: the training split's size, or with ``undersample`` the
    rarest class's count times the number of classes."""
    from collections import Counter

    if sampling != "undersample":
        return len(labels)
    counts = Counter(labels)
    return min(counts.values()) * len(counts)


def epoch_order(labels: Sequence[int], sampling: str, generator: "torch.Generator") -> list[int]:
    """Which training examples an epoch visits, in order.

    ``none``: each once, shuffled. ``balanced``: as many draws, with replacement, each class equally
    likely and an example uniformly within its class (balanced batches in expectation).
    ``undersample``: each class cut to the rarest class's count, drawn without replacement, shuffled.
    """
    import torch

    if sampling == "none":
        return torch.randperm(len(labels), generator=generator).tolist()
    from collections import Counter

    if sampling == "undersample":
        by_class: dict[int, list[int]] = {}
        for i, y in enumerate(labels):
            by_class.setdefault(y, []).append(i)
        rarest = min(len(v) for v in by_class.values())
        kept = [members[j] for _, members in sorted(by_class.items())
                for j in torch.randperm(len(members), generator=generator)[:rarest].tolist()]
        return [kept[j] for j in torch.randperm(len(kept), generator=generator).tolist()]
    if sampling != "balanced":
        raise ValueError(f"sampling must be none, balanced or undersample, got {sampling!r}")

    counts = Counter(labels)
    weights = torch.tensor([1.0 / counts[y] for y in labels], dtype=torch.float64)
    return torch.multinomial(weights, len(labels), replacement=True, generator=generator).tolist()


def length_batches(order: Sequence[int], lengths: Sequence[int], batch_size: int, generator: "torch.Generator",
                   window_batches: int = 50) -> list[list[int]]:
    """An epoch's batches with little padding: `order` cut into windows of `window_batches`
    batches, each window sorted by length and cut into batches, then every batch shuffled.

    Each example is still visited as `order` says (once, or as the balanced draws fall); only which
    examples share a batch changes, to ones of similar length. The batch count is that of plain
    slicing (every window but the last is a whole number of batches).
    """
    import torch

    window = batch_size * window_batches
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        part = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


@dataclass
class Collapse:
    """Why a trial was stopped: its validation predictions collapsed for `patience` epochs."""

    epoch: int
    reason: str

    def __str__(self) -> str:
        return f"collapsed after epoch {self.epoch}: {self.reason}"


class CollapseWatch:
    """Counts consecutive collapsed epochs; says when a trial should stop."""

    def __init__(self, worker: "Worker") -> None:
        settings = worker.plan.objectives.collapse
        self.patience, self.margin = settings.patience, settings.margin
        splits = worker.splits
        self.labels = splits.label_names
        trivial = worker.epoch_validation().trivial
        self.trivial = max(trivial["trivial_majority_macro_f1"], trivial["trivial_stratified_macro_f1"])
        self.majority = max(range(len(self.labels)), key=splits.train.labels.count)
        self.streak = 0

    def check(self, epoch: int, predictions: Sequence[int], macro_f1: float) -> Collapse | None:
        """The collapse to stop for after this epoch, or None to go on."""
        from hpsearch.objectives import collapse_reason

        reason = collapse_reason(predictions, macro_f1, self.trivial, self.labels, self.majority, self.margin)
        self.streak = self.streak + 1 if reason else 0
        if reason and self.patience and self.streak >= self.patience:
            return Collapse(epoch, reason)
        return None


def train(worker: "Worker", model: Any, config: TrialConfig, report: Report | None = None
          ) -> tuple[list[dict[str, float]], Collapse | None]:
    """Fine-tune `model` in place; one history row (and report) per pass over the data.

    With max_steps > 0 training stops after that many optimizer steps, whatever `epochs` says.
    After each epoch but the last the validation split (or its fixed subset: ``Worker.epoch_validation``)
    is predicted; when the predictions have
    collapsed for the objectives file's ``collapse.patience`` epochs in a row, training stops there
    and the collapse is returned with the history. After the last epoch there is nothing left to
    stop, so the validation split is predicted there only when a scheduler needs each epoch's
    objectives (the final evaluation predicts it anyway: :meth:`Worker.run` completes that row).
    Batches group texts of similar length (:func:`length_batches`), so little is padded.
    """
    import torch
    from transformers import get_scheduler

    from hpsearch.objectives import classification_metrics

    reading = Reading.of(config)
    splits = worker.splits
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    train_pieces = worker.read("train", splits.train, reading)
    lengths = [max(map(len, pieces)) * len(pieces) for pieces in train_pieces]  # the tokens a text pads to
    labels = torch.tensor(splits.train.labels, device=worker.device)
    steps_per_epoch = math.ceil(epoch_length(splits.train.labels, config.sampling) / config.batch_size)
    total = config.max_steps or steps_per_epoch * config.epochs
    scheduler = get_scheduler(config.scheduler, optimizer, num_warmup_steps=int(config.warmup_ratio * total),
                              num_training_steps=total)
    loss_fn = worker.loss_function(config)
    generator = torch.Generator().manual_seed(config.seed)
    watch = CollapseWatch(worker)

    def in_precision() -> Any:  # the training's precision: bf16 autocast or none
        return torch.autocast(worker.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")

    history: list[dict[str, float]] = []
    step = 0
    epochs = math.ceil(total / steps_per_epoch)
    if report is not None and worker.budget_check is not None:
        deployed = worker.budget_check.before_training(model, config)
        if deployed:  # a constraint on what training does not change: the scheduler may stop it here
            report({"epoch": 0.0, "epochs": float(epochs), "step": 0.0, **deployed})
    for epoch in range(1, epochs + 1):
        model.train()
        order = epoch_order(splits.train.labels, config.sampling, generator)
        loss_sum, seen = 0.0, 0
        for idx in length_batches(order, lengths, config.batch_size, generator):
            if step >= total:
                break
            if worker.thread_plan is not None:  # as many threads as the trials on this node leave it
                worker.thread_plan.follow(step)
            with worker.slot.training_step():  # pauses while a trial on this node times
                with in_precision():
                    logits = worker.forward(model, [train_pieces[i] for i in idx], reading)
                loss = loss_fn(logits.float(), labels[idx])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            step += 1
        if not math.isfinite(loss_sum):
            raise TrainingError(f"training loss became {loss_sum} in epoch {epoch}")
        row = {"epoch": float(epoch), "epochs": float(epochs), "step": float(step), "train_loss": loss_sum / max(seen, 1),
               "learning_rate": scheduler.get_last_lr()[0]}
        if step >= total and worker.epoch_objectives is None:  # the last epoch: evaluate() predicts it
            history.append(row)
            if report is not None:
                report(row)
            break
        checked = worker.epoch_validation()
        # in the training's precision: a check of progress, not the deployed model's score (bf16 on 300
        # texts: 4 s against 10.5 s in fp32 on one thread); the final evaluation is fp32, as deployed
        with in_precision():
            predictions, probabilities = worker.predict_proba(model, checked.name, checked.split, reading)
        scores = classification_metrics(checked.split.labels, predictions, splits.label_names)
        collapse = watch.check(epoch, predictions, scores["macro_f1"])
        row.update({"macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"],
                    "collapsed": float(watch.streak > 0)})
        if worker.epoch_objectives is not None:  # a scheduler stops trials on them
            row.update(worker.epoch_objectives(model, config, checked.split, predictions, probabilities))
        history.append(row)
        if report is not None:
            report(row)
        if collapse is not None and step < total:
            return history, collapse
    return history, None


def forward(model: Any, texts: Sequence[Sequence[list[int]]], reading: Reading,
            batch: Callable[[list[list[int]]], dict[str, Any]]) -> "torch.Tensor":
    """Logits per text: every piece of every text through `model`, pooled as `reading` says."""
    import torch

    pieces, owners = flatten(texts)
    logits = model(**batch(pieces)).logits
    return reading.pool(logits, torch.tensor(owners, device=logits.device), len(texts))
