"""Labelled text datasets: JSONL or CSV files, or a packaged demo set, split with a fixed seed.

Only the standard library and scikit-learn are used here, so `hpsearch validate` can check that
the files and columns a space names exist without importing torch.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError

if TYPE_CHECKING:
    from hpsearch.config import DatasetConfig, Study


@dataclass
class Split:
    texts: list[str]
    labels: list[int]
    groups: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Splits:
    """Train / validation (/ test) splits with labels encoded as integers."""

    train: Split
    validation: Split
    test: Split | None
    label_names: list[str]
    group_columns: list[str]
    fingerprint: str

    def describe(self) -> str:
        parts = [f"{len(self.train)} train", f"{len(self.validation)} validation"]
        if self.test is not None:
            parts.append(f"{len(self.test)} test")
        return f"{', '.join(parts)}; {len(self.label_names)} labels"


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


def _columns(rows: list[dict[str, Any]], config: "DatasetConfig", source: str, key: str, path: Path) -> None:
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


def _split(rows: list[dict[str, Any]], config: "DatasetConfig") -> Split:
    return Split(
        texts=[str(r[config.text_column]) for r in rows],
        labels=[str(r[config.label_column]) for r in rows],  # type: ignore[misc]  # encoded below
        groups={g: [str(r[g]) for r in rows] for g in config.group_columns},
    )


def _subsample(split: Split, limit: int | None, seed: int) -> Split:
    if limit is None or len(split) <= limit:
        return split
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        list(range(len(split))), train_size=limit, random_state=seed, stratify=_stratify(split.labels)
    )
    return _take(split, sorted(keep))


def _stratify(labels: list[Any]) -> list[Any] | None:
    from collections import Counter

    return labels if min(Counter(labels).values()) >= 2 else None


def _take(split: Split, idx: list[int]) -> Split:
    return Split(
        texts=[split.texts[i] for i in idx],
        labels=[split.labels[i] for i in idx],
        groups={g: [v[i] for i in idx] for g, v in split.groups.items()},
    )


def load_splits(study: "Study") -> Splits:
    """Read the dataset a space names and return encoded splits; raise UserError on bad data."""
    config = study.space.dataset
    source = study.path
    digest = hashlib.sha256()
    files: dict[str, Path] = {}
    if config.demo is not None:
        files["demo"] = demo_path(config.demo)
    elif config.path is not None:
        files["path"] = study.resolve(config.path)
    else:
        for key in ("train", "validation", "test"):
            value = getattr(config, key)
            if value is not None:
                files[key] = study.resolve(value)

    raw: dict[str, Split] = {}
    for key, path in files.items():
        rows = read_rows(path, source, f"dataset.{key}")
        _columns(rows, config, source, f"dataset.{key}", path)
        digest.update(path.read_bytes())
        raw[key] = _split(rows, config)

    if "train" in raw:
        train = raw["train"]
        validation = raw.get("validation")
        test = raw.get("test")
    else:
        train, validation, test = raw.get("demo") or raw["path"], None, None
    if validation is None:
        from sklearn.model_selection import train_test_split

        if len(train) < 4:
            raise UserError(Problem(source, "dataset", f"needs at least 4 rows to split, got {len(train)}"))
        try:
            tr, va = train_test_split(
                list(range(len(train))), test_size=config.validation_fraction,
                random_state=config.seed, stratify=_stratify(train.labels),
            )
        except ValueError as exc:
            raise UserError(Problem(source, "dataset.validation_fraction", str(exc))) from None
        train, validation = _take(train, sorted(tr)), _take(train, sorted(va))

    train = _subsample(train, config.max_train_examples, config.seed)
    validation = _subsample(validation, config.max_eval_examples, config.seed)
    if test is not None:
        test = _subsample(test, config.max_eval_examples, config.seed)

    label_names = sorted(set(train.labels))  # type: ignore[arg-type]
    if len(label_names) < 2:
        raise UserError(Problem(source, "dataset.label_column",
                                f"the training split has {len(label_names)} distinct label(s); need >= 2"))
    index = {name: i for i, name in enumerate(label_names)}
    for name, split in (("validation", validation), ("test", test)):
        if split is None:
            continue
        unseen = sorted(set(split.labels) - set(index))  # type: ignore[arg-type]
        if unseen:
            raise UserError(Problem(source, f"dataset.{name}",
                                    f"labels not in the training split: {', '.join(map(str, unseen))}"))
    for split in (train, validation, test):
        if split is not None:
            split.labels = [index[label] for label in split.labels]  # type: ignore[index]
    digest.update(json.dumps(config.model_dump(), sort_keys=True).encode())
    return Splits(train, validation, test, label_names, list(config.group_columns), digest.hexdigest()[:16])


def check_dataset(study: "Study") -> list[Problem]:
    """Every problem with the dataset of a space (files, columns, labels, groups)."""
    from hpsearch.objectives import REGISTRY

    problems: list[Problem] = []
    splits = None
    try:
        splits = load_splits(study)
    except UserError as exc:
        problems.extend(exc.problems)
    columns = study.space.dataset.group_columns
    for what, metric, column in study.objectives.used():
        spec = REGISTRY.get(metric)
        if spec is None:  # a team's own objective, named by module path
            continue
        if spec.needs_groups and not columns:
            problems.append(Problem(study.path, "dataset.group_columns",
                                    f"{what} needs a group column, but none is given"))
        elif column is not None and column not in columns:
            problems.append(Problem(study.path, "dataset.group_columns",
                                    f"{what} names group column {column!r}, but the group columns are "
                                    + ", ".join(columns)))
        if spec.binary_only and splits is not None and len(splits.label_names) != 2:
            problems.append(Problem(study.path, "dataset.label_column",
                                    f"{what} needs a task with two labels, got {len(splits.label_names)} "
                                    f"({', '.join(splits.label_names)})"))
    return problems
