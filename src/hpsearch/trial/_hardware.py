"""What a trial runs on: in words for people, as a fingerprint for the record, and what each
quantization choice means there."""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpsearch.space import TrialConfig


def _cpuinfo(field: str) -> str | None:
    """The first `field` line of /proc/cpuinfo (Linux), None where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def describe() -> str:
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    where = f"{len(gpus)} CUDA GPU(s): {', '.join(gpus)}" if gpus else "no CUDA GPU"
    return f"{cpu_name()}, {os.cpu_count()} CPUs, {where}; torch {torch.__version__}"


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo is not readable)."""
    return set((_cpuinfo("flags") or "").split())


def bf16_problem(cuda: bool) -> str | None:
    """Why bf16 training would not pay here (None where it runs natively): a CUDA GPU without bf16,
    or a CPU with neither AMX-BF16 nor AVX512-BF16, where bfloat16 is emulated and slower than fp32."""
    import torch

    if cuda:
        return None if torch.cuda.is_bf16_supported() else f"{torch.cuda.get_device_name(0)} has no bf16"
    if cpu_flags() & {"amx_bf16", "avx512_bf16"}:
        return None
    return f"this CPU ({cpu_name()}) has neither AMX-BF16 nor AVX512-BF16: bfloat16 would be emulated, slower than fp32"


def auto_precision(cuda: bool) -> tuple[str, str]:
    """What ``precision: auto`` trains in here, and why: bf16 where the hardware multiplies it
    natively (there it trains in about 0.6-0.7x the time of fp32 at the same macro-F1:
    benchmarks/precision.py), fp32 elsewhere."""
    problem = bf16_problem(cuda)
    if problem is None:
        where = "this GPU" if cuda else f"this CPU ({cpu_name()})"
        return "bf16", f"{where} multiplies bfloat16 natively"
    return "fp32", problem


def training_precision(config: "TrialConfig", cuda: bool) -> tuple["TrialConfig", str | None]:
    """`config` with the precision it trains in (``auto`` resolved) and, for ``auto``, why; a trial
    asking for bf16 where the hardware has none fails (TrialFailed, naming the knob)."""
    from dataclasses import replace

    from hpsearch.trial._outcome import TrialFailed

    if config.precision == "auto":
        used, why = auto_precision(cuda)
        return replace(config, precision=used), f"auto: {used} ({why})"
    problem = bf16_problem(cuda) if config.precision == "bf16" else None
    if problem:
        raise TrialFailed(f"precision=bf16: {problem}", knobs={"precision": "bf16"})
    return config, None


def quantization_note(kind: str, cuda: bool) -> str:
    if kind == "none":
        return "none: full precision"
    if cuda:
        return f"{kind}: QLoRA, base weights in {kind} (bitsandbytes), adapters trained in bf16"
    if kind == "int8":
        return "int8: training as `precision` says, then torch dynamic int8 for evaluation and latency (CPU)"
    return (f"{kind}: training as `precision` says, then bitsandbytes 4-bit {kind} weights for evaluation and "
            "latency (CPU)")


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
