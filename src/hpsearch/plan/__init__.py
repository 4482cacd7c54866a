"""A plan: the three files that define a search (space, search preset, objectives), loaded and
checked together; `validate_files` behind `hpsearch validate`; `init_space` behind `hpsearch init`,
which writes them from a dataset; `data_check` behind `hpsearch data check`. Imports neither torch
nor Ray (`init_space` loads a tokenizer).
"""

from __future__ import annotations

from hpsearch.plan._data_check import data_check
from hpsearch.plan._init import init_space
from hpsearch.plan._load import Plan, check_data_fits, load_plan
from hpsearch.plan._validate import validate_files

__all__ = ["Plan", "check_data_fits", "data_check", "init_space", "load_plan", "validate_files"]
