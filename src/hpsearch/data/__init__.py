"""Datasets: the ``dataset:`` section of a space, reading its JSONL/CSV files (or a packaged demo
set), and splitting them with a fixed seed into encoded train / validation (/ test) splits.

Imports neither torch nor Ray.
"""

from __future__ import annotations

from hpsearch.data._config import DEMO_DATASETS, DatasetConfig
from hpsearch.data._readers import demo_path, read_rows
from hpsearch.data._splits import Split, Splits, load_splits

__all__ = ["DEMO_DATASETS", "DatasetConfig", "Split", "Splits", "demo_path", "load_splits", "read_rows"]
