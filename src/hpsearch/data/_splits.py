"""Train / validation (/ test) splits of a dataset section, labels encoded, split with a fixed seed.

Only the standard library and scikit-learn: `hpsearch validate` reads the data without torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch.data._config import DatasetConfig
from hpsearch.data._readers import check_columns, demo_path, read_rows
from hpsearch.errors import Problem, UserError


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


def _split(rows: list[dict[str, Any]], config: DatasetConfig) -> Split:
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


def load_splits(config: DatasetConfig, base_dir: str | Path, source: str) -> Splits:
    """Read the dataset section `config` names and return encoded splits; raise UserError on bad data.

    Relative file names are resolved against `base_dir` (the space file's folder); `source` is the
    file that problems are reported against.
    """
    digest = hashlib.sha256()
    files: dict[str, Path] = {}
    if config.demo is not None:
        files["demo"] = demo_path(config.demo)
    elif config.path is not None:
        files["path"] = _resolve(base_dir, config.path)
    else:
        for key in ("train", "validation", "test"):
            value = getattr(config, key)
            if value is not None:
                files[key] = _resolve(base_dir, value)

    raw: dict[str, Split] = {}
    for key, path in files.items():
        rows = read_rows(path, source, f"dataset.{key}")
        check_columns(rows, config, source, f"dataset.{key}", path)
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


def _resolve(base_dir: str | Path, relative: str) -> Path:
    return (Path(base_dir) / relative).expanduser()
