"""Reading YAML, and turning every mistake into one ``file: key: what must hold, got what`` line.

The lowest layer of hpsearch: the schemas of the three files live with the subpackage that reads
each (``space``, ``search``, ``objectives``), and share what is here. Imports neither torch nor Ray.
"""

from __future__ import annotations

from hpsearch.config._base import Scalar, Strict
from hpsearch.config._pydantic import pydantic_problems, validate_model, yaml_keys
from hpsearch.config._yaml import kind_of, read_yaml, show

__all__ = ["Scalar", "Strict", "kind_of", "pydantic_problems", "read_yaml", "show", "validate_model", "yaml_keys"]
