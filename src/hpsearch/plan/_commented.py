"""YAML written as text, comment by comment, for `hpsearch init`: every value can carry the reason
it was chosen on its own line or above it, which a YAML dumper cannot place."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from hpsearch.errors import Problem, UserError


def write_all(texts: dict[Path, str]) -> None:
    written: list[Path] = []
    for path, text in texts.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            for done in written:
                done.unlink(missing_ok=True)
            raise UserError(Problem("--out", "", f"cannot write {path}: {exc.strerror or exc}")) from None
        written.append(path)


class Doc:
    """YAML written as text, so that every comment sits where it is meant to."""

    def __init__(self, command: str | None = None, indent: int = 0) -> None:
        self.lines: list[str] = [f"# {command}"] if command else []
        self.indent = " " * indent

    def comment(self, text: str) -> None:
        self.lines += textwrap.wrap(text, 110, initial_indent=f"{self.indent}# ", subsequent_indent=f"{self.indent}# ",
                                    break_on_hyphens=False)

    def put(self, key: str, value: Any, why: str | None = None) -> None:
        line = f"{self.indent}{key}: {flow(value)}"
        if why and len(line) + len(why) + 4 <= 120:
            line += f"  # {why}"
        elif why:
            self.comment(why)
        self.lines.append(line)


def flow(value: Any) -> str:
    """`value` in YAML flow style; a small float as 3.0e-4 (YAML 1.1 needs the dot)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, float) and value and abs(value) < 1e-2:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{mantissa.rstrip('0')}{'0' * mantissa.rstrip('0').endswith('.')}e{int(exponent)}"
    return yaml.safe_dump([value], default_flow_style=True, width=10**9, allow_unicode=True).strip()[1:-1]
