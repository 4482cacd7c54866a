"""`hpsearch data check SPACE_OR_DATASET`: the dataset a space names, or a data file or folder given
directly, checked (``hpsearch.data.check_splits``); the report printed, and written as Markdown (the
dataset card) and JSON to a folder."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from hpsearch.config import validate_model
from hpsearch.data import (
    CheckReport,
    DatasetConfig,
    check_splits,
    dataset_card,
    is_saved_dataset,
    parse_rule,
    read_rows,
    read_splits,
)
from hpsearch.errors import Problem, UserError
from hpsearch.plan._load import load_plan

SPACE_SUFFIXES = (".yaml", ".yml")
DATA_SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".tsv", ".parquet")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
CARD_FILE, JSON_FILE = "DATASET_CARD.md", "data_check.json"


def data_check(target: str, *, out: str | None = None, fail_on: str | None = None, text: str | None = None,
               label: str | None = None, groups: list[str] | None = None, annotator: str | None = None,
               split_column: str | None = None) -> CheckReport:
    """Check a space's dataset or a data file/folder; write DATASET_CARD.md and data_check.json to
    `out` when given. `fail_on` ("leakage,pii,duplicates>5") replaces the section's rules."""
    rules = None
    if fail_on is not None:
        rules = [r.strip() for r in fail_on.split(",") if r.strip()]
        for rule in rules:
            try:
                parse_rule(rule)
            except ValueError as exc:
                raise UserError(Problem("--fail-on", "", str(exc))) from None
    path = Path(target)
    if path.suffix.lower() in SPACE_SUFFIXES:
        given = [f for f, v in (("--text", text), ("--label", label), ("--group", groups), ("--annotator", annotator),
                                ("--split-column", split_column)) if v]
        if given:
            raise UserError(Problem(", ".join(given), "", "a space's dataset section names its columns; "
                                    "these options are for a data file or folder"))
        plan = load_plan(path, check_data=False)
        config, base, source = plan.space.dataset, plan.base_dir, str(path)
    elif not path.exists() and HUB_ID.match(target) and path.suffix.lower() not in DATA_SUFFIXES:
        config = DatasetConfig(hub=target, text_column=text or "text", label_column=label or "label",
                               group_columns=groups or [], annotator_column=annotator, split_column=split_column)
        base, source = str(Path.cwd()), target
    else:
        config = dataset_config(path, text=text, label=label, groups=groups, annotator=annotator,
                                split_column=split_column)
        base, source = str(Path.cwd()), str(path)
    report = check_splits(read_splits(config, base, source), config, source, rules)
    if out is not None:
        write_check(report, Path(out))
    return report


def dataset_config(path: Path, *, text: str | None = None, label: str | None = None,
                   groups: list[str] | None = None, annotator: str | None = None,
                   split_column: str | None = None) -> DatasetConfig:
    """A dataset section for a file or folder given on the command line: a file or a save_to_disk
    folder is `path`; a folder of train.* (validation.*, test.*) files gives them as the splits.
    Without --group, a column named 'group' is the group column."""
    if not path.exists():
        raise UserError(Problem(str(path), "", "not found"))
    section: dict[str, Any] = {}
    if path.is_file() or is_saved_dataset(path):
        section["path"] = str(path.resolve())
        first = path
    else:
        for key in ("train", "validation", "test"):
            hits = [path / f"{key}{s}" for s in DATA_SUFFIXES if (path / f"{key}{s}").is_file()]
            if hits:
                section[key] = str(hits[0].resolve())
        if "train" not in section:
            present = ", ".join(sorted(os.listdir(path))) or "nothing"
            raise UserError(Problem(str(path), "", f"a folder needs a train.jsonl, .csv or .parquet (and optionally "
                                    f"validation.* and test.*), or to be written by save_to_disk; found {present}"))
        first = Path(section["train"])
    if groups is None:
        columns = read_rows(first, str(path), "")[0]
        groups = ["group"] if "group" in columns else []
    section.update({"text_column": text or "text", "label_column": label or "label", "group_columns": groups})
    if annotator:
        section["annotator_column"] = annotator
    if split_column:
        section["split_column"] = split_column
    problems: list[Problem] = []
    config = validate_model(DatasetConfig, section, str(path), problems)
    if config is None:
        raise UserError(problems)
    return config


def write_check(report: CheckReport, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / CARD_FILE).write_text(dataset_card(report), encoding="utf-8")
        (out / JSON_FILE).write_text(json.dumps(report.data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(Problem("--out", "", f"cannot write the report to {out}: {exc.strerror or exc}")) from None
