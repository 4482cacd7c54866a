"""A plan: the three files that define a search (space, search preset, objectives), loaded and
checked together, and `validate_files` behind `hpsearch validate`. Imports neither torch nor Ray.
"""

from __future__ import annotations

from hpsearch.plan._load import Plan, check_data_fits, load_plan
from hpsearch.plan._validate import validate_files

__all__ = ["Plan", "check_data_fits", "load_plan", "validate_files"]
