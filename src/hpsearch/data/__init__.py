"""Datasets: the ``dataset:`` section of a space, reading its files (JSONL, CSV, Parquet, a
``save_to_disk`` folder, a hub id, or a packaged demo set) through Hugging Face ``datasets``,
splitting them with a fixed seed into normalised, encoded, fingerprinted splits, and checking what
they hold (`hpsearch data check`).

Imports neither torch nor Ray; ``datasets``, presidio and datasketch only when used.
"""

from __future__ import annotations

from hpsearch.data._check import CheckReport, check_splits, dataset_card, report_lines
from hpsearch.data._config import DEMO_DATASETS, FAIL_RULES, CheckConfig, DatasetConfig, parse_rule
from hpsearch.data._readers import demo_path, is_saved_dataset, read_rows, separator_hint
from hpsearch.data._splits import (RawSplits, Split, Splits, load_splits, normalise, read_splits,
                                   scored_validation, stratified_subset)

__all__ = ["DEMO_DATASETS", "FAIL_RULES", "CheckConfig", "CheckReport", "DatasetConfig", "RawSplits", "Split",
           "Splits", "check_splits", "dataset_card", "demo_path", "is_saved_dataset", "load_splits", "normalise",
           "parse_rule", "read_rows", "read_splits", "report_lines", "scored_validation", "separator_hint",
           "stratified_subset"]
