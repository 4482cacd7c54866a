"""One trial, no Ray: the :class:`Worker` that fine-tunes, evaluates and measures a configuration,
the base models and how each method is applied to them, the hardware a trial runs on, and the
baselines a trial has to beat (:func:`run_baseline`: a linear probe on the frozen base model,
TF-IDF with logistic regression), measured as trials are, and what a driver ships its workers on
other nodes (:func:`ship`: the data and the model, never the driver's paths; :func:`unpack`).

Nothing here knows of Ray or of the study database; torch is imported when a worker starts.
"""

from __future__ import annotations

from hpsearch.trial._baselines import BASELINE_KINDS, C_GRID, run_baseline
from hpsearch.trial._hardware import cpu_name, describe, device_fingerprint, quantization_note
from hpsearch.trial._memory import PeakMemory, model_size_mb
from hpsearch.trial._models import (
    FAMILIES,
    HEAD_NAMES,
    TARGETS,
    check_model,
    cpu_4bit_problem,
    family,
    head_modules,
    keep_layers,
    load_base,
    load_quantized,
    quantize_for_inference,
    target_modules,
    transformer_layers,
)
from hpsearch.trial._serving import NodeTimings
from hpsearch.trial._shipping import Shipment, content_fingerprint, ship, unpack
from hpsearch.trial._worker import Report, TrialFailed, TrialResult, Worker

__all__ = [
    "BASELINE_KINDS", "C_GRID", "FAMILIES", "HEAD_NAMES", "TARGETS", "NodeTimings", "PeakMemory", "Report", "Shipment",
    "TrialFailed", "TrialResult", "Worker", "check_model", "content_fingerprint", "cpu_4bit_problem", "cpu_name",
    "describe", "device_fingerprint", "family", "head_modules", "keep_layers", "load_base", "load_quantized",
    "model_size_mb", "quantization_note", "quantize_for_inference", "run_baseline", "ship", "target_modules",
    "transformer_layers", "unpack",
]
