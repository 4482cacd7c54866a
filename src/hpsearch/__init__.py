"""hpsearch: multi-objective hyperparameter and architecture search for fine-tuning language models.

The public surface is the command line (`hpsearch run`, `hpsearch validate`); the modules below
are importable without torch or Ray unless noted.
"""

from __future__ import annotations

import logging
import warnings

# bitsandbytes (imported by peft) looks for a CPU kernel on the Hugging Face hub (through `kernels`)
# when the CPU has AVX512-BF16, and where it cannot have one (offline, or the publisher not trusted)
# it warns and uses its own, the kernels hpsearch measures with; the warnings told users to
# `pip install kernels`, and with HF_HUB_OFFLINE that a trust check was skipped.
for _name in ("bitsandbytes.backends.cpu.ops", "kernels"):
    logging.getLogger(_name).setLevel(logging.ERROR)
# peft reads transformers' deprecated `is_gradient_checkpointing` whenever it wraps a model in LoRA:
# a FutureWarning, with its file and line, in the middle of `hpsearch train`'s output
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)

__version__ = "0.1.0"
__all__ = ["__version__"]
