"""How much a trial costs in memory: the peak while it runs, the size of the model it deploys."""

from __future__ import annotations

import time
from typing import Any


def model_size_mb(model: Any) -> float:
    """MiB of the deployed model's state dict serialised with torch.save (in memory).

    Not safetensors: it cannot hold torch's packed int8 weights. torch.save stores every
    tensor at its real width (int8 packed weights, bitsandbytes' 4-bit bytes and their
    statistics), plus a few KiB of pickle framing.
    """
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 2**20


class PeakMemory:
    """Peak memory of one trial in MiB; `basis` says how it was measured.

    * CUDA: ``torch.cuda.max_memory_allocated``, reset when the trial starts (tensors only; not
      the allocator's cache or the CUDA context).
    * Linux CPU: the process's resident-set high-water mark (VmHWM in /proc/self/status), reset
      when the trial starts by writing 5 to /proc/self/clear_refs, so exact rather than sampled.
      (``ru_maxrss`` cannot be reset: it covers the whole worker, which outlives trials.) Freed
      heap is first handed back to the OS (``malloc_trim``) so that an earlier, larger trial does
      not lift this one's figure. It is the whole process: the worker's cached base model,
      tokenised data and libraries are included, the same for every trial of a worker.
    * Elsewhere: RSS sampled every 10 ms by a thread, which can miss a short peak.
    """

    def __init__(self, device: Any) -> None:
        self.device = device
        self.peak_mb = 0.0
        self.basis = ""
        self._stop = False
        self._thread: Any = None

    def __enter__(self) -> "PeakMemory":
        import gc
        import threading

        import psutil
        import torch

        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.basis = "CUDA max_memory_allocated during the trial"
            return self
        gc.collect()
        _malloc_trim()
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
                fh.write("5")
            self.basis = "process RSS high-water mark during the trial (VmHWM, reset at its start)"
            return self
        except OSError:
            pass
        process = psutil.Process()

        def sample() -> None:
            while not self._stop:
                self.peak_mb = max(self.peak_mb, process.memory_info().rss / 2**20)
                time.sleep(0.01)

        self.basis = "process RSS sampled every 10 ms during the trial"
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        import torch

        if self.device.type == "cuda":
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
        elif self._thread is None:
            self.peak_mb = _vm_hwm_mb()
        else:
            self._stop = True
            self._thread.join()


def _vm_hwm_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    raise OSError("no VmHWM in /proc/self/status")


def _malloc_trim() -> None:
    """Return freed heap pages to the OS (glibc); a no-op where there is no glibc."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
