"""hpsearch: multi-objective hyperparameter and architecture search for fine-tuning language models.

The public surface is the command line (`hpsearch run`, `hpsearch validate`); the modules below
are importable without torch or Ray unless noted.
"""

from __future__ import annotations

import logging

# bitsandbytes (imported by peft) looks for a CPU kernel on the Hugging Face hub when the CPU has
# AVX512-BF16, and where it cannot have one (offline, or the publisher not trusted) it warns and uses
# its own, the kernels hpsearch measures with; that warning told users to `pip install kernels`.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

__version__ = "0.1.0"
__all__ = ["__version__"]
