"""Reading labelled rows through Hugging Face ``datasets``: JSONL, CSV, Parquet, a folder written by
``save_to_disk``, or a hub dataset id; and the packaged demo sets.

``datasets`` is imported only here and only when a file is read (it is heavy, and `hpsearch --help`
must stay light); it never imports torch. Every problem with a file is one line naming the file and
the row and column where there is one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError

if TYPE_CHECKING:
    from hpsearch.data._config import DatasetConfig

#: File suffixes and the ``datasets`` builder that reads them.
BUILDERS = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".csv": "csv", ".tsv": "csv",
            ".parquet": "parquet"}
#: What a split column may say, and the split it means.
SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
               "val": "validation", "dev": "validation", "test": "test"}


@dataclass
class Table:
    """Rows of one file (or one split of a saved or hub dataset), column by column."""

    name: str  # how problems name it: the file name, or 'folder[split]'
    columns: dict[str, list[Any]]
    # each row's number in `name` as its user finds it: a JSON Lines file's line, a CSV file's row as
    # a spreadsheet numbers it (the header is row 1), else its 1-based place
    rows: list[int] = field(default_factory=list)
    split: str | None = None  # the split every row is in (a split's file, a DatasetDict's split)

    def __len__(self) -> int:
        return len(self.rows)


def demo_path(name: str) -> Path:
    return Path(str(resources.files("hpsearch") / "data" / "demo" / f"{name}.jsonl"))


def is_saved_dataset(path: Path) -> bool:
    """A folder that ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk`` wrote."""
    return path.is_dir() and any((path / f).is_file() for f in ("dataset_dict.json", "state.json"))


def read_tables(path: Path, source: str, key: str) -> dict[str, Table]:
    """The file or saved folder at `path`: {"": table} for one file, {split: table} for a saved
    DatasetDict. Raise UserError naming `source` and `key`."""
    if is_saved_dataset(path):
        return _read_saved(path, source, key)
    if not path.is_file():
        raise UserError(Problem(source, key, f"file not found: {path}"))
    suffix = path.suffix.lower()
    builder = BUILDERS.get(suffix)
    if builder is None:
        raise UserError(Problem(source, key, f"{path}: must end in .jsonl, .csv or .parquet, or be a folder written "
                                f"by save_to_disk; got {suffix!r}"))
    if builder in ("json", "csv"):
        try:
            with path.open(encoding="utf-8") as fh:
                if not fh.read(1 << 16).strip():
                    raise UserError(Problem(source, key, f"{path.name}: has no rows"))
        except UnicodeDecodeError:
            raise UserError(Problem(source, key, f"{path}: not a UTF-8 text file")) from None
    lines = _check_json_lines(path, source, key) if builder == "json" else None
    options: dict[str, Any] = {}
    if builder == "csv":  # every cell a string, as written; only an empty cell is missing
        options = {"keep_default_na": False, "na_values": [""], "sep": "\t" if suffix == ".tsv" else ",",
                   "features": _all_strings(path, "\t" if suffix == ".tsv" else ",")}
    try:
        dataset = _load(builder, str(path), options)
    except Exception as exc:  # noqa: BLE001 - the reader's own words, in one line
        cause = exc.__cause__ or exc
        raise UserError(Problem(source, key, f"{path}: cannot be read ({_first_line(cause)})")) from None
    table = _table(path.name, dataset)
    if not len(table):
        raise UserError(Problem(source, key, f"{path.name}: has no rows"))
    if lines is not None and len(lines) == len(table):
        table.rows = lines
    elif builder == "csv":
        table.rows = [row + 1 for row in table.rows]
    return {"": table}


def read_hub(dataset_id: str, source: str, key: str) -> dict[str, Table]:
    """The splits of a hub dataset; one line when the machine is offline or the id is unknown."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes") or \
            os.environ.get("HF_DATASETS_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise UserError(Problem(source, key, f"hub dataset {dataset_id!r} needs network, and this machine is "
                                "offline (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE is set); save it with "
                                "save_to_disk where there is network and give that folder as path"))
    import datasets

    try:
        with _quiet():
            loaded = datasets.load_dataset(dataset_id)
    except Exception as exc:  # noqa: BLE001 - no network, unknown id, gated: one line
        raise UserError(Problem(source, key, f"hub dataset {dataset_id!r} cannot be loaded "
                                f"({_first_line(exc)})")) from None
    return {split: _table(f"{dataset_id}[{split}]", part) for split, part in loaded.items()}


def read_rows(path: Path, source: str, key: str) -> list[dict[str, Any]]:
    """The rows of one file (or of a saved dataset's first split) as dicts; UserError naming source and key."""
    table = next(iter(read_tables(path, source, key).values()))
    names = list(table.columns)
    return [dict(zip(names, values)) for values in zip(*table.columns.values())]


def check_columns(table: Table, config: "DatasetConfig", source: str, key: str) -> None:
    """Every column the section names is there, with a value in every row and one type of value;
    UserError naming the file, the row and the column."""
    wanted = [("text_column", config.text_column), ("label_column", config.label_column)]
    wanted += [("group_columns", g) for g in config.group_columns]
    wanted += [(name, getattr(config, name)) for name in ("annotator_column", "split_column")
               if getattr(config, name) is not None]
    present = table.columns
    for field_name, column in wanted:
        if column not in present:
            raise UserError(Problem(
                source, f"dataset.{field_name}",
                f"column {column!r} is not in {table.name} (columns: {', '.join(sorted(present))})"
                f"{separator_hint(list(present))}",
            ))
    for field_name, column in wanted:
        kinds: dict[str, int] = {}
        for row, value in zip(table.rows, present[column]):
            if value is None or (isinstance(value, str) and not value.strip()):
                raise UserError(Problem(source, f"dataset.{field_name}",
                                        f"{table.name} row {row} has no value in column {column!r}"))
            kind = _kind(value)
            kinds.setdefault(kind, row)
            if len(kinds) > 1:
                first, first_row = next(iter(kinds.items()))
                raise UserError(Problem(source, f"dataset.{field_name}",
                                        f"{table.name} row {row} column {column!r} holds a {kind} where row "
                                        f"{first_row} holds a {first}: one type per column"))
            if field_name == "text_column" and kind != "string":
                raise UserError(Problem(source, f"dataset.{field_name}",
                                        f"{table.name} row {row} column {column!r} holds a {kind}, not text"))


def separator_hint(columns: list[str]) -> str:
    """Where a file's header read as one column holding another separator (a European Excel writes
    ';'), the words that say so, to end a "column not found" line; else ""."""
    (only, *others) = columns or [""]
    glued = next((sep for sep in (";", "\t", "|") if not others and sep in only), None)
    return (f"; its header is one column holding {glued!r}: a .csv is read comma-separated and a .tsv "
            "tab-separated, so write it with commas" if glued else "")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "mapping" if isinstance(value, dict) else type(value).__name__


def _check_json_lines(path: Path, source: str, key: str) -> list[int]:
    """Each line one JSON object: Arrow's reader names a row within a block, so we name the line.
    Returns the numbers of the lines that hold a row (blank lines hold none). A byte-order mark before
    the first line is skipped, as Arrow's reader skips it."""
    lines = []
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(Problem(source, key, f"{path}: line {lineno}: not JSON ({exc.msg})")) from None
            if not isinstance(row, dict):
                raise UserError(Problem(source, key, f"{path}: line {lineno}: not a JSON object"))
            lines.append(lineno)
    return lines


def _all_strings(path: Path, sep: str) -> Any:
    """Features reading every column of a CSV file as text (pandas would guess numbers and dates). The
    header is read past a UTF-8 byte-order mark (Excel's "CSV UTF-8" writes one; pandas skips it too)."""
    import csv

    import datasets

    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    return datasets.Features({name: datasets.Value("string") for name in header})


def _read_saved(path: Path, source: str, key: str) -> dict[str, Table]:
    import datasets

    try:
        with _quiet():
            loaded = datasets.load_from_disk(str(path), keep_in_memory=True)
    except Exception as exc:  # noqa: BLE001
        raise UserError(Problem(source, key,
                                f"{path}: not a dataset save_to_disk wrote ({_first_line(exc)})")) from None
    if isinstance(loaded, datasets.DatasetDict):
        tables = {split: _table(f"{path.name}[{split}]", part) for split, part in loaded.items()}
    else:
        tables = {"": _table(path.name, loaded)}
    if not any(len(t) for t in tables.values()):
        raise UserError(Problem(source, key, f"{path.name}: has no rows"))
    return tables


def _load(builder: str, data_file: str, options: dict[str, Any]) -> Any:
    """One file through a ``datasets`` packaged builder, in memory, its cache in a temporary folder."""
    import datasets

    with tempfile.TemporaryDirectory(prefix="hpsearch-data-") as cache, _quiet():
        return datasets.load_dataset(builder, data_files=data_file, split="train", cache_dir=cache,
                                     keep_in_memory=True, **options)


class _quiet:
    """``datasets`` without progress bars or its own error logging (we say it in one line)."""

    def __enter__(self) -> None:
        import datasets

        self._level = datasets.logging.get_verbosity()
        self._bars = datasets.is_progress_bar_enabled()
        datasets.logging.set_verbosity(datasets.logging.CRITICAL + 10)
        datasets.disable_progress_bars()

    def __exit__(self, *exc: object) -> None:
        import datasets

        datasets.logging.set_verbosity(self._level)
        if self._bars:
            datasets.enable_progress_bars()


def _table(name: str, dataset: Any) -> Table:
    columns = dataset.to_dict()
    return Table(name, columns, list(range(1, dataset.num_rows + 1)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
