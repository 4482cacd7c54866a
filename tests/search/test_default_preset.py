"""The default preset and the defaults of a space that names none are one and the same."""

from __future__ import annotations

from pathlib import Path

from hpsearch.search import SearchConfig, load_search

ROOT = Path(__file__).resolve().parents[2]


def test_a_space_without_a_search_preset_runs_as_search_default_yaml() -> None:
    """search/default.yaml is the measured default (sampler: benchmarks/search_efficiency.py; two
    trials at a time: benchmarks/concurrency.py); a space with no `search:` key gets the schema's
    defaults, which must say the same, or most users run something other than what was measured."""
    problems: list = []
    preset = load_search(ROOT / "search" / "default.yaml", problems)
    assert not problems and preset is not None
    assert preset == SearchConfig()
    assert preset.max_concurrent_trials == 2 and preset.sampler.name == "gp_pool"
