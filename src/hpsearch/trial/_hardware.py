"""What a trial runs on: in words for people, as a fingerprint for the record, and what each
quantization choice means there."""

from __future__ import annotations

import os
import platform
from typing import Any


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    where = f"{len(gpus)} CUDA GPU(s): {', '.join(gpus)}" if gpus else "no CUDA GPU"
    return f"{cpu_name()}, {os.cpu_count()} CPUs, {where}; torch {torch.__version__}"


def quantization_note(kind: str, cuda: bool) -> str:
    if kind == "none":
        return "none: full precision"
    if cuda:
        return f"{kind}: QLoRA, base weights in {kind} (bitsandbytes), adapters trained in bf16"
    if kind == "int8":
        return "int8: fp32 training, then torch dynamic int8 for evaluation and latency (CPU)"
    return f"{kind}: fp32 training, then bitsandbytes 4-bit {kind} weights for evaluation and latency (CPU)"


def device_fingerprint() -> dict[str, Any]:
    """What a trial ran on, recorded with its results: timings compare only on the same hardware."""
    import torch

    return {
        "cpu": cpu_name(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
    }
