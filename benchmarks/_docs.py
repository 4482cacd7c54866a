"""docs/benchmarks.md is written by the benchmark scripts, one section each: replace a section in place;
each script keeps its results as JSON under benchmarks/results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save_results(path: Path, results: Any, **dumps: Any) -> None:
    """Keep a run's `results` as JSON at `path` (its folder made where missing); `dumps`: json.dumps' options."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, **{"indent": 1, **dumps}) + "\n", encoding="utf-8")


def replace_section(docs: Path, section: str, before: str | None = None) -> None:
    """Put `section` (its first line the "## Title" heading) into `docs`: over the section with that
    heading, up to the next "## ", where there is one; else before the heading `before` where given and
    present; else at the end. One blank line between sections."""
    title = section.split("\n", 1)[0]
    body = section.rstrip("\n") + "\n"
    text = docs.read_text(encoding="utf-8") if docs.is_file() else "# Benchmarks\n"
    start = text.find(title)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + body + ("\n" + text[end + 1:] if end >= 0 else "")
    elif before is not None and before in text:
        at = text.find(before)
        text = text[:at] + body + "\n" + text[at:]
    else:
        text = text.rstrip("\n") + "\n\n" + body
    docs.write_text(text, encoding="utf-8")
