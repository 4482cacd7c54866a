"""The engine's layout holds: imports point down the layers, and modules stay readable in size."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "src" / "hpsearch"

#: Lowest first; a unit (a subpackage or top-level module) may import only from a lower layer.
LAYERS = [
    {"errors"},
    {"config"},
    {"data"},
    {"space", "search", "objectives"},
    {"plan"},
    {"trial"},
    {"study"},
    {"report"},
    {"export"},
    {"cli"},
    {"__main__"},
]
LONG = 400


def _unit(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """The hpsearch units `path` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hpsearch":
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names} - {"__version__"}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("hpsearch.")}
    return found


def test_every_unit_has_a_layer() -> None:
    units = {_unit(p) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert units == set().union(*LAYERS)


def test_imports_point_down_the_layers() -> None:
    level = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        if unit == "__init__":
            continue
        for other in _imports(path) - {unit}:
            if level[other] >= level[unit]:
                upward.append(f"{path.relative_to(PACKAGE)} imports hpsearch.{other}")
    assert not upward, "imports that point sideways or up:\n" + "\n".join(upward)


def test_subpackages_show_a_public_face() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                 if isinstance(t, ast.Name)]
        assert "__all__" in names, f"{init.relative_to(PACKAGE)} has no __all__"
        assert ast.get_docstring(tree), f"{init.relative_to(PACKAGE)} does not say what the subpackage is"


def test_long_modules_say_why() -> None:
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").count("\n")
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert lines <= LONG or "long because" in docstring, (
            f"{path.relative_to(PACKAGE)} has {lines} lines; split it or say in its docstring why it is long")
