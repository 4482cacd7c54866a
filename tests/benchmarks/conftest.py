"""Benchmark scripts are files, not modules of the package: load one by name."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from ..conftest import ROOT


def load_benchmark(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
