"""Run one trial: fine-tune, evaluate, measure. Knows nothing of Ray or of the study database.

A :class:`Worker` lives as long as its process: it reads and tokenises the dataset once and
loads the base weights once, so that a trial only copies them. :meth:`Worker.run` takes a
trial's resolved configuration and a `report` callback (per-epoch metrics) and returns every
quantity it measured.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict
from typing import Any, Callable, Sequence

from hpsearch.data import Split, Splits
from hpsearch.plan import Plan
from hpsearch.space import TrialConfig, hub_commit
from hpsearch.trial._hardware import device_fingerprint, training_precision
from hpsearch.trial._artifact import pack_trained, versions
from hpsearch.trial._epoch import EpochObjectives, EpochValidation
from hpsearch.trial._memory import PeakMemory, model_size_mb
from hpsearch.trial._reading import Frame, Reading
from hpsearch.trial import _serving
from hpsearch.trial._outcome import Report, TrialFailed, TrialResult

__all__ = ["Report", "TrialFailed", "TrialResult", "Worker"]


class Worker:
    def __init__(self, plan: Plan, threads: int | None = None, *, splits: Splits | None = None,
                 model_path: str | None = None, node_threads: int | None = None,
                 model_commit: str | None = None) -> None:
        """`splits` and `model_path` (a worker on another node: ``unpack``) replace the driver's paths;
        `model_commit`: the hub commit of the model files the driver sent (``Shipment.model_commit``).
        `node_threads` (above `threads`, on a CPU): a trial's torch threads follow the trials running
        on the node, from `threads` (its share) up to `node_threads` when it runs alone (``_occupancy``)."""
        import torch

        self.plan = plan
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        from hpsearch.objectives import MeasurementSlot
        from hpsearch.trial._models import load_base

        self.slot = MeasurementSlot()
        self.epoch_objectives: EpochObjectives | None = None  # set by run()
        self.budget_check: EpochObjectives | None = None  # set by run()
        #: Train on bitsandbytes-quantised weights (QLoRA) when a trial sets quantization. Only a
        #: CUDA device does; tests turn it on to run the same code path on a CPU.
        self.kbit_training = self.device.type == "cuda"
        if threads:
            torch.set_num_threads(max(1, int(threads)))
        from hpsearch.trial._occupancy import thread_plan

        self.thread_plan = thread_plan(threads, node_threads, self.device.type)  # None: fixed at `threads`
        self.splits: Splits = splits if splits is not None else plan.splits()
        self.model_path = model_path or plan.model_path()
        self.tokenizer, self.base_model = load_base(self.model_path, len(self.splits.label_names))
        self.model_commit = model_commit or hub_commit(plan.space.model, self.model_path, plan.base_dir)  # as loaded
        self.base_model.config.id2label = dict(enumerate(self.splits.label_names))
        self.base_model.config.label2id = {n: i for i, n in enumerate(self.splits.label_names)}
        self._tokens: dict[str, list[list[int]]] = {}
        self._read: dict[tuple[str, Reading], list[list[list[int]]]] = {}
        self._epoch_validation: EpochValidation | None = None
        #: Latency and throughput per deployed shape (see :meth:`deployed_timing`), measured once.
        self._timings: dict[tuple[Any, ...], tuple[dict[str, float], dict[str, Any]]] = {}
        #: ... and per node for the trials of one run, where the run says so (``_serving.NodeTimings``)
        self.node_timings: _serving.NodeTimings | None = None
        self.frame = Frame.of(self.tokenizer)

    # ------------------------------------------------------------------ data

    def encoded(self, name: str, split: Split, max_length: int) -> list[list[int]]:
        """Token ids of a split, truncated to `max_length` (special tokens included): the ``head`` reading."""
        return [pieces[0] for pieces in self.read(name, split, Reading("head", max_length))]

    def tokens(self, name: str, split: Split) -> list[list[int]]:
        """Token ids of a split's whole texts, no special tokens, computed once."""
        if name not in self._tokens:
            self._tokens[name] = self.tokenizer(split.texts, add_special_tokens=False, truncation=False)["input_ids"]
        return self._tokens[name]

    def read(self, name: str, split: Split, reading: Reading) -> list[list[list[int]]]:
        """Each text of a split as the pieces `reading` cuts it into, computed once per reading."""
        key = (name, reading)
        if key not in self._read:
            try:
                self._read[key] = [reading.pieces(t, self.frame) for t in self.tokens(name, split)]
            except ValueError as exc:
                raise TrialFailed(str(exc)) from None
        return self._read[key]

    def forward(self, model: Any, texts: Sequence[Sequence[list[int]]], reading: Reading) -> Any:
        """Logits per text of `texts` (each a list of pieces), pooled over pieces as `reading` says."""
        from hpsearch.trial._training import forward

        return forward(model, texts, reading, self._batch)

    def epoch_validation(self) -> EpochValidation:
        """What is predicted after each epoch (``_epoch.EpochValidation``), chosen once."""
        if self._epoch_validation is None:
            self._epoch_validation = EpochValidation.of(self.splits, self.plan.objectives.epoch_validation_examples)
        return self._epoch_validation

    def _batch(self, ids: list[list[int]], pad_to: int | None = None) -> dict[str, Any]:
        batch = self.tokenizer.pad(
            {"input_ids": ids},
            padding="max_length" if pad_to else "longest",
            max_length=pad_to,
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    # ------------------------------------------------------------------ model

    def build_model(self, config: TrialConfig) -> Any:
        """A fresh model for one trial (``_build.build_model``): QLoRA where `kbit_training` holds and
        quantization is set; elsewhere a copy of the fp32 base, quantization applied on deployment."""
        from hpsearch.trial._build import build_model

        return build_model(self.base_model, self.model_path, len(self.splits.label_names), config, self.device,
                           self.kbit_training)

    def loss_function(self, config: TrialConfig) -> Any:
        """Cross-entropy with the trial's label smoothing and class weights."""
        import torch

        from hpsearch.trial._training import TrainingError, class_weights

        try:
            weights = class_weights(self.splits.train.labels, len(self.splits.label_names), config.class_weighting)
        except TrainingError as exc:
            raise TrialFailed(str(exc)) from None
        weight = None if weights is None else torch.tensor(weights, dtype=torch.float32, device=self.device)
        return torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)

    # ------------------------------------------------------------------ trial

    def run(self, values: dict[str, Any], report: Report | None = None,
            objectives_each_epoch: bool = False, budget_first: bool = False) -> TrialResult:
        """Train and measure one trial; `objectives_each_epoch`: each epoch's report has every objective;
        `budget_first`: what a constraint needs of the deployed model is measured before the first epoch
        and reported as epoch 0 (a scheduler stops a trial that breaks one there)."""
        # recorded as what it trained in (bf16 or fp32): the recorded trial runs again the same way
        config, chosen = training_precision(TrialConfig.from_values(values), self.device.type == "cuda")
        self.epoch_objectives = EpochObjectives(self) if objectives_each_epoch else None
        self.budget_check = (self.epoch_objectives or EpochObjectives(self)) if budget_first else None
        plan = self.thread_plan
        started = time.perf_counter()
        with PeakMemory(self.device) as memory, (plan.running() if plan else contextlib.nullcontext()):
            model = self.build_model(config)
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            history, collapse = self.train(model, config, report)
            trained = time.perf_counter()
            train_seconds = trained - started
            artifact = pack_trained(model, config.method)  # before evaluate() merges the adapters
            result = self.evaluate(model, config)
        result.artifact = artifact
        if plan:  # how many threads the trial trained on, and when that changed
            result.attrs["threads"] = {"share": plan.share, "node": plan.node, "changes": plan.changes}
        # where a trial's time went besides training: packing, predicting the splits, metrics, timing requests
        result.metrics["evaluate_seconds"] = time.perf_counter() - trained
        if history and "macro_f1" not in history[-1]:  # the last epoch: its validation pass is the evaluation's
            history[-1].update({k: result.metrics[k] for k in ("macro_f1", "accuracy")})
            history[-1]["collapsed"] = float(not result.attrs.get("learned", True))
        # everything needed to run this trial again, from the study alone
        result.attrs["config"] = asdict(config)
        if chosen:
            result.attrs["precision_chosen"] = chosen
        result.attrs.update({"model": self.plan.space.model, "dataset_fingerprint": self.splits.fingerprint,
                             "versions": versions(), **({"model_revision": self.model_commit} if self.model_commit else {})})
        result.metrics["train_seconds"] = train_seconds
        result.metrics["train_steps"] = history[-1]["step"] if history else 0.0
        result.metrics["trainable_params"] = float(trainable)
        result.metrics["peak_memory_mb"] = memory.peak_mb
        result.attrs["peak_memory"] = memory.basis
        result.attrs["history"] = history
        if collapse is not None:
            result.attrs["collapsed"] = str(collapse)
            result.attrs["stopped_after_epoch"] = collapse.epoch
        return result

    def train(self, model: Any, config: TrialConfig, report: Report | None = None) -> tuple[list[dict[str, float]], Any]:
        """Fine-tune `model` in place: (history, the collapse it stopped for or None); see ``_training``."""
        from hpsearch.trial._training import TrainingError, train

        try:
            return train(self, model, config, report)
        except TrainingError as exc:
            raise TrialFailed(str(exc)) from None

    def predict(self, model: Any, name: str, split: Split, reading: Reading, batch_size: int = 64) -> list[int]:
        return self.predict_proba(model, name, split, reading, batch_size)[0]

    def predict_proba(
        self, model: Any, name: str, split: Split, reading: Reading, batch_size: int = 64
    ) -> tuple[list[int], list[list[float]]]:
        """Predicted labels and class probabilities for a split, read as `reading` says.

        Texts go through in batches of similar length (sorted by tokens), so little is padded;
        the results come back in the split's order.
        """
        import torch

        texts = self.read(name, split, reading)
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), max(map(len, texts[i]))))
        model.eval()
        predictions: list[int] = [0] * len(texts)
        probabilities: list[list[float]] = [[] for _ in texts]
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                logits = self.forward(model, [texts[i] for i in idx], reading).float()
                for i, label, probs in zip(idx, logits.argmax(-1).tolist(), torch.softmax(logits, -1).tolist()):
                    predictions[i], probabilities[i] = label, probs
        return predictions, probabilities

    def deploy(self, model: Any, config: TrialConfig) -> tuple[Any, str]:
        """The trained model as it would be served, and what quantisation it carries.

        Adapters are merged into the base weights. With QLoRA the weights are already quantised;
        on a CPU the fp32 model is quantised now (int8: torch dynamic; nf4/fp4: bitsandbytes).
        """
        if config.method == "lora":
            model = model.merge_and_unload()
        kind = config.quantization
        if kind == "none":
            return model, "none"
        if self.kbit_training:
            how = "QLoRA, adapters merged" if config.method == "lora" else "frozen, head trained"
            return model, f"{kind} bitsandbytes base weights in training and inference ({how}; bf16 compute)"
        from hpsearch.trial._models import quantize_for_inference

        try:
            return model, quantize_for_inference(model, kind)
        except RuntimeError as exc:
            raise TrialFailed(f"quantization={kind} failed on this CPU: {exc}") from None

    def evaluate(self, model: Any, config: TrialConfig) -> TrialResult:
        """Every metric of the deployed model: task, per-group, latency, throughput, size."""
        model, applied = self.deploy(model, config)
        model.eval()
        reading = Reading.of(config)
        result = self.assess(
            lambda name, split: self.predict_proba(model, name, split, reading), None, None,
            timed=self.deployed_timing(model, config),
        )
        result.metrics["model_size_mb"] = model_size_mb(model)
        result.metrics["layers"] = float(model.config.num_hidden_layers)
        result.attrs["quantization_applied"] = applied
        return result

    def deployed_timing(self, model: Any, config: TrialConfig) -> tuple[dict[str, float], dict[str, Any]]:
        """Latency and throughput of a deployed trial model, once per deployed shape (``_serving``)."""
        return _serving.deployed_timing(self, model, config, self._timings)

    def forget_timings(self) -> None:
        """Time the next trials' requests again, whatever shape they deploy (this worker's own timings)."""
        self._timings.clear()

    def assess(
        self, predict_proba: Callable[[str, Split], tuple[list[int], list[list[float]]]],
        predict_one: Callable[[str], Any] | None, predict_batch: Callable[[Sequence[str]], Any] | None,
        tokens: list[int] | None = None, *, timed: tuple[dict[str, float], dict[str, Any]] | None = None,
    ) -> TrialResult:
        """What every trained predictor is measured by, a trial's model or a baseline alike.

        `predict_proba(name, split)` gives labels and class probabilities: scored on the
        validation split and on the test split (as ``test/...``) where there is one, with the
        plan's fairness settings, the team's own objectives and the trivial predictors. Then
        latency per request (`predict_one`: a text in, its label out) and throughput
        (`predict_batch`) on the validation texts; `tokens` are their lengths in tokens. `timed`:
        that measurement already made (``(metrics, latency_method)``), in place of the two calls.
        """
        from hpsearch.objectives import ObjectiveError, evaluate_predictions

        objectives = self.plan.objectives
        metrics: dict[str, float] = {}
        attrs: dict[str, Any] = {}
        splits = [("validation", self.splits.validation)]
        if self.splits.test is not None:
            splits.append(("test", self.splits.test))
        for name, split in splits:
            predictions, probabilities = predict_proba(name, split)
            try:
                found, extra = evaluate_predictions(
                    split.labels, predictions, probabilities, self.splits.label_names, split.groups,
                    objectives.fairness, user_objectives=objectives.module_objectives(),
                    train_labels=self.splits.train.labels, min_gain_over_trivial=objectives.min_gain_over_trivial,
                )
            except ObjectiveError as exc:
                raise TrialFailed(str(exc)) from None
            prefix = "" if name == "validation" else f"{name}/"
            metrics.update({prefix + k: v for k, v in found.items()})
            attrs.update({prefix + k: v for k, v in extra.items()})
        if timed is None:
            assert predict_one is not None and predict_batch is not None
            timed = self.time_requests(predict_one, predict_batch, tokens)
        metrics.update(timed[0])
        attrs["latency_method"] = timed[1]
        attrs["device"] = device_fingerprint()
        return TrialResult(metrics, attrs)

    def time_requests(self, predict_one: Callable[[str], Any], predict_batch: Callable[[Sequence[str]], Any],
                      tokens: list[int] | None = None) -> tuple[dict[str, float], dict[str, Any]]:
        """Latency per request and throughput on the validation texts, with the node to itself."""
        return _serving.time_requests(self, predict_one, predict_batch, tokens)

    def request_calls(
        self, forward: Callable[[dict[str, Any]], Any], reading: Reading | int,
        finish: Callable[[Any], Any] | None = None,
    ) -> tuple[Callable[[str], Any], Callable[[Sequence[str]], Any]]:
        """(predict_one, predict_batch) for raw texts, as a server would run them (``_serving``)."""
        return _serving.request_calls(self, forward, reading, finish)
