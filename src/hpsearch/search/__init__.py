"""What a search preset (``search/*.yaml``) says: its schema, and the samplers it names, looked up
by name in a registry (``register_sampler`` adds one; a name is taken once).

Imports neither torch nor Ray; Optuna only when a sampler is built.
"""

from __future__ import annotations

from hpsearch.search._samplers import SAMPLERS, make_sampler, register_sampler
from hpsearch.search._schema import SamplerConfig, SearchConfig, check_sampler, load_search

__all__ = ["SAMPLERS", "SamplerConfig", "SearchConfig", "check_sampler", "load_search", "make_sampler",
           "register_sampler"]
