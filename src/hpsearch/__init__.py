"""hpsearch: multi-objective hyperparameter and architecture search for fine-tuning language models.

The public surface is the command line (`hpsearch run`, `hpsearch validate`); the modules below
are importable without torch or Ray unless noted.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
