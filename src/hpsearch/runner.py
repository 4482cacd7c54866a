"""Run one trial: fine-tune, evaluate, measure. Knows nothing of Ray or of the study database.

A :class:`Worker` lives as long as its process: it reads and tokenises the dataset once and
loads the base weights once, so that a trial only copies them. :meth:`Worker.run` takes a
trial's resolved configuration and a `report` callback (per-epoch metrics) and returns every
quantity it measured.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from hpsearch.config import Study
from hpsearch.data import Split, Splits, load_splits
from hpsearch.knobs import TrialConfig

Report = Callable[[dict[str, float]], None]


@dataclass
class TrialResult:
    """What a trial measured: numeric `metrics` (objectives among them) and other `attrs`."""

    metrics: dict[str, float]
    attrs: dict[str, Any] = field(default_factory=dict)


class TrialFailed(Exception):
    """A trial that cannot run as configured (the reason is recorded on the trial)."""


class Worker:
    def __init__(self, study: Study, threads: int | None = None) -> None:
        import torch

        self.study = study
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        from hpsearch.latency import MeasurementSlot

        self.slot = MeasurementSlot()
        if threads:
            torch.set_num_threads(max(1, int(threads)))
        self.splits: Splits = load_splits(study)
        from hpsearch.models import load_base, resolve_model

        self.model_path = resolve_model(study.space.model, study.path)
        self.tokenizer, self.base_model = load_base(self.model_path, len(self.splits.label_names))
        self.base_model.config.id2label = dict(enumerate(self.splits.label_names))
        self.base_model.config.label2id = {n: i for i, n in enumerate(self.splits.label_names)}
        self._encoded: dict[tuple[str, int], list[list[int]]] = {}

    # ------------------------------------------------------------------ data

    def encoded(self, name: str, split: Split, max_length: int) -> list[list[int]]:
        """Token ids of a split, truncated to `max_length`, computed once per length."""
        key = (name, max_length)
        if key not in self._encoded:
            self._encoded[key] = self.tokenizer(
                split.texts, truncation=True, max_length=max_length
            )["input_ids"]
        return self._encoded[key]

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
        """A fresh model for one trial: layers dropped, head re-initialised, method applied."""
        import torch

        from hpsearch.models import head_module, keep_layers, load_quantized, transformer_layers

        torch.manual_seed(config.seed)
        qlora = config.quantization != "none" and self.device.type == "cuda"
        if qlora:
            if config.method != "lora":
                raise TrialFailed(f"quantization={config.quantization} trains adapters only: it needs method=lora")
            model = load_quantized(self.model_path, len(self.splits.label_names), config.quantization)
            model.config.pad_token_id = self.base_model.config.pad_token_id
        else:
            model = copy.deepcopy(self.base_model)
        if config.layers_kept:
            try:
                keep_layers(model, config.layers_kept)
            except ValueError as exc:
                raise TrialFailed(str(exc)) from None
        head = head_module(model)
        for module in head.modules():
            if hasattr(model, "_init_weights"):
                model._init_weights(module)
            elif hasattr(module, "reset_parameters"):
                module.reset_parameters()
        if qlora:
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(model)
        if config.method == "full":
            for p in model.parameters():
                p.requires_grad_(True)
            return model.to(self.device)
        if config.method == "head":
            for p in model.parameters():
                p.requires_grad_(False)
            for p in head.parameters():
                p.requires_grad_(True)
            return model.to(self.device)
        from peft import LoraConfig, get_peft_model

        from hpsearch.models import target_modules

        try:
            targets = target_modules(model.config.model_type, config.target_modules)
        except ValueError as exc:
            raise TrialFailed(str(exc)) from None
        layer_kwargs: dict[str, Any] = {}
        if config.lora_layers:
            path, layers = transformer_layers(model)
            if config.lora_layers > len(layers):
                raise TrialFailed(f"lora_layers={config.lora_layers}, but the model has {len(layers)} layers")
            layer_kwargs = {
                "layers_to_transform": list(range(len(layers) - config.lora_layers, len(layers))),
                "layers_pattern": path.rsplit(".", 1)[-1],
            }
        lora = LoraConfig(
            task_type="SEQ_CLS",
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=targets,
            **layer_kwargs,
        )
        model = get_peft_model(model, lora)
        return model if qlora else model.to(self.device)

    # ------------------------------------------------------------------ trial

    def run(self, values: dict[str, Any], report: Report | None = None) -> TrialResult:
        import torch
        import torch.nn.functional as F
        from transformers import get_scheduler

        from hpsearch.metrics import classification_metrics

        config = TrialConfig.from_values(values)
        started = time.perf_counter()
        with PeakMemory(self.device) as memory:
            model = self.build_model(config)
            trainable = [p for p in model.parameters() if p.requires_grad]
            optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
            train_ids = self.encoded("train", self.splits.train, config.max_length)
            labels = torch.tensor(self.splits.train.labels, device=self.device)
            steps_per_epoch = math.ceil(len(train_ids) / config.batch_size)
            total = config.max_steps or steps_per_epoch * config.epochs
            scheduler = get_scheduler(
                config.scheduler, optimizer, num_warmup_steps=int(config.warmup_ratio * total),
                num_training_steps=total,
            )
            weight = self.class_weights() if config.class_weighting == "balanced" else None
            generator = torch.Generator().manual_seed(config.seed)
            history: list[dict[str, float]] = []
            step = 0
            for epoch in range(1, math.ceil(total / steps_per_epoch) + 1):
                model.train()
                order = torch.randperm(len(train_ids), generator=generator).tolist()
                loss_sum, seen = 0.0, 0
                for start in range(0, len(order), config.batch_size):
                    if step >= total:
                        break
                    idx = order[start:start + config.batch_size]
                    with self.slot.training_step():  # pauses while a trial on this node times
                        logits = model(**self._batch([train_ids[i] for i in idx])).logits
                        loss = F.cross_entropy(logits.float(), labels[idx], weight=weight,
                                               label_smoothing=config.label_smoothing)
                        loss.backward()
                        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                        optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    loss_sum += loss.item() * len(idx)
                    seen += len(idx)
                    step += 1
                if not math.isfinite(loss_sum):
                    raise TrialFailed(f"training loss became {loss_sum} in epoch {epoch}")
                predictions = self.predict(model, "validation", self.splits.validation, config.max_length)
                scores = classification_metrics(
                    self.splits.validation.labels, predictions, self.splits.label_names
                )
                row = {"epoch": float(epoch), "step": float(step), "train_loss": loss_sum / max(seen, 1),
                       "learning_rate": scheduler.get_last_lr()[0],
                       "macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"]}
                history.append(row)
                if report is not None:
                    report(row)
            train_seconds = time.perf_counter() - started
            result = self.evaluate(model, config)
        result.metrics["train_seconds"] = train_seconds
        result.metrics["train_steps"] = float(step)
        result.metrics["trainable_params"] = float(sum(p.numel() for p in trainable))
        result.metrics["peak_memory_mb"] = memory.peak_mb
        result.attrs["history"] = history
        return result

    def class_weights(self) -> Any:
        """Inverse-frequency weights of the training labels (scikit-learn's 'balanced')."""
        import numpy as np
        import torch
        from sklearn.utils.class_weight import compute_class_weight

        classes = np.arange(len(self.splits.label_names))
        weights = compute_class_weight("balanced", classes=classes, y=np.asarray(self.splits.train.labels))
        return torch.tensor(weights, dtype=torch.float32, device=self.device)

    def predict(self, model: Any, name: str, split: Split, max_length: int, batch_size: int = 64) -> list[int]:
        import torch

        ids = self.encoded(name, split, max_length)
        model.eval()
        predictions: list[int] = []
        with torch.inference_mode():
            for start in range(0, len(ids), batch_size):
                logits = model(**self._batch(ids[start:start + batch_size])).logits.float()
                predictions.extend(logits.argmax(-1).tolist())
        return predictions

    def evaluate(self, model: Any, config: TrialConfig) -> TrialResult:
        """Every metric of the trained model: task, per-group, latency."""
        from hpsearch.latency import measure_latency
        from hpsearch.metrics import classification_metrics, group_metrics

        if config.method == "lora":
            model = model.merge_and_unload()
        metrics: dict[str, float] = {}
        attrs: dict[str, Any] = {"quantization_applied": "none"}
        if config.quantization != "none":
            if self.device.type == "cuda":
                attrs["quantization_applied"] = f"{config.quantization} QLoRA (bitsandbytes, bf16 compute)"
            else:
                from hpsearch.models import quantize_for_inference

                model = model.cpu()
                attrs["quantization_applied"] = quantize_for_inference(model, config.quantization)
        splits = [("validation", self.splits.validation)]
        if self.splits.test is not None:
            splits.append(("test", self.splits.test))
        for name, split in splits:
            predictions = self.predict(model, name, split, config.max_length)
            found = classification_metrics(split.labels, predictions, self.splits.label_names)
            grouped, grouped_attrs = group_metrics(
                split.labels, predictions, split.groups,
                min_group_size=self.study.objectives.fairness.min_group_size,
            )
            found.update(grouped)
            prefix = "" if name == "validation" else f"{name}/"
            metrics.update({prefix + k: v for k, v in found.items()})
            attrs.update({prefix + k: v for k, v in grouped_attrs.items()})

        latency = self.study.objectives.latency
        sample = self.encoded("validation", self.splits.validation, config.max_length)[: latency.batch_size]
        batch = self._batch(sample, pad_to=config.max_length)
        metrics.update(measure_latency(model, batch, warmup=latency.warmup, repeats=latency.repeats,
                                       slot=self.slot))
        metrics["model_size_mb"] = model_size_mb(model)
        metrics["layers"] = float(model.config.num_hidden_layers)
        attrs["device"] = device_fingerprint()
        return TrialResult(metrics, attrs)


def device_fingerprint() -> dict[str, Any]:
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
    }


def model_size_mb(model: Any) -> float:
    """Bytes of the deployed model's serialised state dict (quantised layers at their real size)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 2**20


class PeakMemory:
    """Peak memory of one trial: CUDA max allocated on a GPU, sampled process RSS on a CPU.

    RSS is sampled every 20 ms by a thread, because the kernel's high-water mark (ru_maxrss)
    covers the whole worker process, which outlives trials.
    """

    def __init__(self, device: Any) -> None:
        self.device = device
        self.peak_mb = 0.0
        self._stop = False
        self._thread: Any = None

    def __enter__(self) -> "PeakMemory":
        import threading

        import psutil
        import torch

        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        process = psutil.Process()

        def sample() -> None:
            while not self._stop:
                self.peak_mb = max(self.peak_mb, process.memory_info().rss / 2**20)
                time.sleep(0.02)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        import torch

        if self.device.type == "cuda":
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
            return
        self._stop = True
        self._thread.join()
