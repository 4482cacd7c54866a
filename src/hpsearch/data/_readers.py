"""Reading labelled rows from JSONL or CSV files, and the packaged demo sets.

Only the standard library: `hpsearch validate` checks files and columns without importing torch.
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

from hpsearch.data._config import DatasetConfig
from hpsearch.errors import Problem, UserError


def demo_path(name: str) -> Path:
    return Path(str(resources.files("hpsearch") / "data" / "demo" / f"{name}.jsonl"))


def read_rows(path: Path, source: str, key: str) -> list[dict[str, Any]]:
    """Read a JSONL or CSV file into a list of row dicts; raise UserError naming source and key."""
    if not path.is_file():
        raise UserError(Problem(source, key, f"file not found: {path}"))
    suffix = path.suffix.lower()
    rows: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            if suffix in (".jsonl", ".json", ".ndjson"):
                for lineno, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UserError(Problem(source, key, f"{path}: line {lineno}: not JSON ({exc.msg})"))
                    if not isinstance(row, dict):
                        raise UserError(Problem(source, key, f"{path}: line {lineno}: not a JSON object"))
                    rows.append(row)
            elif suffix in (".csv", ".tsv"):
                rows = list(csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ","))
            else:
                raise UserError(Problem(source, key, f"{path}: must end in .jsonl or .csv, got {suffix!r}"))
    except UnicodeDecodeError:
        raise UserError(Problem(source, key, f"{path}: not a UTF-8 text file")) from None
    if not rows:
        raise UserError(Problem(source, key, f"{path}: has no rows"))
    return rows


def check_columns(rows: list[dict[str, Any]], config: DatasetConfig, source: str, key: str, path: Path) -> None:
    present = set(rows[0])
    wanted = [("text_column", config.text_column), ("label_column", config.label_column)]
    wanted += [("group_columns", g) for g in config.group_columns]
    for field_name, column in wanted:
        if column not in present:
            raise UserError(Problem(
                source, f"dataset.{field_name}",
                f"column {column!r} is not in {path.name} (columns: {', '.join(sorted(present))})",
            ))
    for i, row in enumerate(rows):
        for field_name, column in wanted:
            value = row.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise UserError(Problem(
                    source, f"dataset.{field_name}",
                    f"{path.name} row {i + 1} has no value in column {column!r}",
                ))
