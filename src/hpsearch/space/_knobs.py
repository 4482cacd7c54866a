"""The knobs a trial can turn: every name a space may search over or fix.

This module is the single list of what a trial's configuration may contain. It is plain
Python (no torch), so that `hpsearch validate` can check a space without importing the
training stack.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

METHODS = ("lora", "full", "head")
TARGET_MODULE_SETS = ("attention", "attention+mlp", "all-linear")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")
CLASS_WEIGHTING = ("none", "balanced", "sqrt")
SAMPLING = ("none", "balanced", "undersample")
LONG_TEXT = ("head", "head_tail", "chunk_mean", "chunk_max")
POOLING = ("cls", "mean")
QUANTIZATION = ("none", "int8", "nf4", "fp4")
PRECISION = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class Knob:
    name: str
    kind: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], str | None] | None = None

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be used for this knob, or None when it can."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or isinstance(value, bool) and self.kind is not bool:
            return f"must be {self.kind.__name__}, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}; got {value!r}"
        if self.check is not None:
            return self.check(value)
        return None


def _positive(value: float) -> str | None:
    return None if value > 0 else f"must be > 0, got {value!r}"


def _fraction(value: float) -> str | None:
    return None if 0.0 <= value < 1.0 else f"must satisfy 0 <= value < 1, got {value!r}"


def _non_negative(value: float) -> str | None:
    return None if value >= 0 else f"must be >= 0, got {value!r}"


KNOBS: dict[str, Knob] = {
    k.name: k
    for k in [
        Knob("method", str, "lora", "what is trained: LoRA adapters, all weights, or only the head",
             choices=METHODS),
        Knob("learning_rate", float, 2e-3, "peak learning rate of AdamW", check=_positive),
        Knob("lora_r", int, 8, "LoRA rank", check=_positive),
        Knob("lora_alpha", float, 16.0, "LoRA scaling numerator (scale = alpha / r)",
             check=_positive),
        Knob("lora_dropout", float, 0.0, "dropout on the LoRA input", check=_fraction),
        Knob("target_modules", str, "attention", "which linear layers get adapters",
             choices=TARGET_MODULE_SETS),
        Knob("batch_size", int, 16, "training batch size", check=_positive),
        Knob("epochs", int, 3, "passes over the training split", check=_positive),
        Knob("max_length", int, 128, "maximum tokens per example (longer ones are truncated)",
             check=_positive),
        Knob("weight_decay", float, 0.0, "AdamW weight decay", check=_non_negative),
        Knob("warmup_ratio", float, 0.0, "fraction of steps with linear warm-up",
             check=_fraction),
        Knob("lora_layers", int, 0, "adapters only in the top k transformer layers (0: all layers)",
             check=_non_negative),
        Knob("layers_kept", int, 0, "keep the bottom k transformer layers, drop the rest before "
             "fine-tuning: a smaller, faster model (0: keep all)", check=_non_negative),
        Knob("max_steps", int, 0, "optimizer steps; overrides epochs when > 0", check=_non_negative),
        Knob("scheduler", str, "linear", "learning-rate schedule after warm-up", choices=SCHEDULERS),
        Knob("label_smoothing", float, 0.0, "label smoothing of the cross-entropy loss",
             check=_fraction),
        Knob("class_weighting", str, "none", "weight the loss per class: balanced, by inverse class "
             "frequency (scikit-learn's 'balanced'); sqrt, by its square root (milder)",
             choices=CLASS_WEIGHTING),
        Knob("sampling", str, "none", "how training batches are drawn: none, each example once per epoch; "
             "balanced, examples drawn with replacement so that every class is equally likely (epochs "
             "keep the training split's size); undersample, every class cut to the rarest class's count, "
             "a fresh draw each epoch", choices=SAMPLING),
        Knob("long_text", str, "head", "how a text longer than max_length is read, in training, evaluation "
             "and serving: head, its first tokens; head_tail, the first half and the last half of the "
             "budget; chunk_mean / chunk_max, split into max_length windows (at most max_chunks) whose "
             "logits are averaged / max-pooled", choices=LONG_TEXT),
        Knob("pooling", str, "cls", "what the classifier reads (BERT-style models): cls, the model's own "
             "pooled first token; mean, the mean of the token states under the attention mask, as "
             "sentence-transformers models (all-MiniLM-L6-v2) were trained to be read", choices=POOLING),
        Knob("max_chunks", int, 4, "chunk_mean / chunk_max: windows read per text at most (the rest is "
             "dropped)", check=_positive),
        Knob("quantization", str, "none", "on a GPU, train on bitsandbytes-quantised base weights "
             "(QLoRA; method lora or head); on a CPU, train in fp32 and quantise the deployed model "
             "(int8: torch dynamic; nf4/fp4: bitsandbytes 4-bit weights)", choices=QUANTIZATION),
        Knob("precision", str, "auto", "compute precision of the training steps: fp32; bf16, forward passes "
             "under torch.autocast in bfloat16, and the per-epoch checks' predictions (weights, gradients and "
             "optimiser state stay fp32; the final evaluation and latency in fp32). bf16 needs a CUDA GPU "
             "with bf16 or a CPU with AMX-BF16 or AVX512-BF16; elsewhere a trial that draws it fails and the "
             "sampler stops proposing it. auto: bf16 where the hardware has it, fp32 elsewhere (the trial "
             "records which)", choices=PRECISION),
        Knob("seed", int, 0, "seed for weight initialisation, dropout and batch order"),
    ]
}


@dataclass
class TrialConfig:
    """The complete, resolved configuration of one trial (every knob has a value)."""

    method: str = KNOBS["method"].default
    learning_rate: float = KNOBS["learning_rate"].default
    lora_r: int = KNOBS["lora_r"].default
    lora_alpha: float = KNOBS["lora_alpha"].default
    lora_dropout: float = KNOBS["lora_dropout"].default
    target_modules: str = KNOBS["target_modules"].default
    batch_size: int = KNOBS["batch_size"].default
    epochs: int = KNOBS["epochs"].default
    max_length: int = KNOBS["max_length"].default
    weight_decay: float = KNOBS["weight_decay"].default
    warmup_ratio: float = KNOBS["warmup_ratio"].default
    lora_layers: int = KNOBS["lora_layers"].default
    layers_kept: int = KNOBS["layers_kept"].default
    max_steps: int = KNOBS["max_steps"].default
    scheduler: str = KNOBS["scheduler"].default
    label_smoothing: float = KNOBS["label_smoothing"].default
    class_weighting: str = KNOBS["class_weighting"].default
    sampling: str = KNOBS["sampling"].default
    long_text: str = KNOBS["long_text"].default
    pooling: str = KNOBS["pooling"].default
    max_chunks: int = KNOBS["max_chunks"].default
    quantization: str = KNOBS["quantization"].default
    precision: str = KNOBS["precision"].default
    seed: int = KNOBS["seed"].default

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "TrialConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise KeyError(f"unknown knob(s): {', '.join(unknown)}")
        coerced = {k: (float(v) if KNOBS[k].kind is float else v) for k, v in values.items()}
        return cls(**coerced)


assert set(KNOBS) == {f.name for f in fields(TrialConfig)}, "KNOBS and TrialConfig disagree"
