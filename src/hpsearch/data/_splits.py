"""Train / validation (/ test) splits of a dataset section: read, normalised, split with a fixed seed,
the section's options applied (duplicates and leaked examples dropped, personal data redacted),
subsampled, labels encoded and fingerprinted by content.

Only the standard library and scikit-learn here (``datasets`` in the readers, presidio and datasketch
only when an option needs them): `hpsearch validate` reads the data without torch.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch.data._config import DatasetConfig
from hpsearch.data._readers import SPLIT_NAMES, Table, check_columns, demo_path, read_hub, read_tables
from hpsearch.errors import Problem, UserError

SPLIT_ORDER = ("train", "validation", "test")
#: Where a row came from, kept beside its columns under a name no column can have.
_ORIGIN = "\0origin"


@dataclass
class Split:
    texts: list[str]
    labels: list[int]
    groups: dict[str, list[str]] = field(default_factory=dict)
    #: where each example came from, e.g. 'train.jsonl row 12' (reports name rows, never the text)
    origins: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Annotation:
    """One annotator's label for one text (a row of a dataset with an annotator column)."""

    split: str
    text: str
    annotator: str
    label: str


@dataclass
class RawSplits:
    """The splits as read and normalised, before the options, subsampling and encoding; what
    `hpsearch data check` looks at. Labels are the strings the file holds."""

    splits: dict[str, Split]
    annotations: list[Annotation]
    seeded_validation: bool  # validation was held out of train by seed
    seeded_test: bool = False  # test too (``test_fraction``)


@dataclass
class Splits:
    """Train / validation (/ test) splits with labels encoded as integers."""

    train: Split
    validation: Split
    test: Split | None
    label_names: list[str]
    group_columns: list[str]
    #: sha256 of the content (normalised, options applied) and the options, 16 hex digits
    fingerprint: str
    #: the same, per split: which split changed
    split_fingerprints: dict[str, str] = field(default_factory=dict)
    #: what the options did, e.g. {'drop_duplicates': 3}
    dropped: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{len(self.train)} train", f"{len(self.validation)} validation"]
        if self.test is not None:
            parts.append(f"{len(self.test)} test")
        return f"{', '.join(parts)}; {len(self.label_names)} labels"


def normalise(text: str) -> str:
    """Unicode NFC, whitespace runs as one space, no leading or trailing space: what a trial reads
    and what the fingerprint hashes, so a file re-saved with other line ends hashes the same."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def duplicate_key(text: str) -> str:
    """Two texts with the same key are exact duplicates: case and whitespace aside."""
    return normalise(text).casefold()


def read_splits(config: DatasetConfig, base_dir: str | Path, source: str) -> RawSplits:
    """The section's data read, checked, normalised and split; raise UserError on bad data."""
    tables = _read_sources(config, base_dir, source)
    annotations: list[Annotation] = []
    named: dict[str, Split] = {}
    for key, table in tables:
        check_columns(table, config, source, f"dataset.{key}")
        for split, part in _by_split(table, key, config, source).items():
            if split in named:
                raise UserError(Problem(source, f"dataset.{key}", f"{table.name}: split {split!r} is given twice"))
            named[split] = _aggregate(part, config, split, annotations)
    if "train" not in named:
        raise UserError(Problem(source, "dataset", f"no training split; the splits are {', '.join(named) or 'none'}"))
    _check_two_labels(named["train"].labels, source)
    seeded = "validation" not in named
    validation_share = config.validation_fraction
    if config.test_fraction is not None:  # held out first; both shares are of the training file
        if "test" in named:
            raise UserError(Problem(source, "dataset.test_fraction", "the data has a test split already: "
                                    "drop test_fraction, or the test split"))
        if seeded and config.test_fraction + config.validation_fraction >= 1:
            raise UserError(Problem(source, "dataset.test_fraction",
                                    f"{config.test_fraction} + validation_fraction {config.validation_fraction} "
                                    "leave nothing to train on: together they must be < 1"))
        named["train"], named["test"] = _hold_out(named["train"], config.test_fraction, config.seed, source,
                                                  "dataset.test_fraction")
        validation_share = config.validation_fraction / (1 - config.test_fraction)
    if seeded:
        named["train"], named["validation"] = _hold_out(named["train"], validation_share, config.seed, source,
                                                        "dataset.validation_fraction")
    for name in ("validation", "test"):
        if name in named:
            _check_seen(named[name], set(map(str, named["train"].labels)), name, config, source)
    return RawSplits({s: named[s] for s in SPLIT_ORDER if s in named}, annotations, seeded,
                     config.test_fraction is not None)


def load_splits(config: DatasetConfig, base_dir: str | Path, source: str) -> Splits:
    """Read the dataset section `config` names and return encoded splits; raise UserError on bad data.

    Relative file names are resolved against `base_dir` (the space file's folder); `source` is the
    file that problems are reported against.
    """
    raw = read_splits(config, base_dir, source)
    splits = dict(raw.splits)
    dropped = apply_options(splits, config)
    train = stratified_subset(splits["train"], config.max_train_examples, config.seed)
    validation = stratified_subset(splits["validation"], config.max_eval_examples, config.seed)
    test = splits.get("test")
    if test is not None:
        test = stratified_subset(test, config.max_eval_examples, config.seed)

    label_names = sorted(set(map(str, train.labels)))
    _check_two_labels(label_names, source)
    index = {name: i for i, name in enumerate(label_names)}
    for name, split in (("validation", validation), ("test", test)):
        if split is not None:  # again: a subsample of train may have lost a rare label
            _check_seen(split, set(index), name, config, source)
    present = {"train": train, "validation": validation, "test": test}
    fingerprints = {name: _content_hash(s, config.group_columns) for name, s in present.items() if s is not None}
    for split in present.values():
        if split is not None:
            split.labels = [index[str(label)] for label in split.labels]
    overall = hashlib.sha256(json.dumps({"splits": fingerprints, "options": config.options(),
                                         "labels": label_names, "groups": config.group_columns},
                                        sort_keys=True).encode()).hexdigest()[:16]
    return Splits(train, validation, test, label_names, list(config.group_columns), overall, fingerprints, dropped)


def _check_two_labels(labels: list[Any], source: str) -> None:
    distinct = len(set(map(str, labels)))
    if distinct < 2:
        raise UserError(Problem(source, "dataset.label_column",
                                f"the training split has {distinct} distinct label(s); need >= 2"))


def _check_seen(split: Split, seen: set[str], name: str, config: DatasetConfig, source: str) -> None:
    unseen = sorted(set(map(str, split.labels)) - seen)
    if unseen:
        first = next(o for o, y in zip(split.origins, split.labels) if str(y) in unseen)
        raise UserError(Problem(source, f"dataset.{name}",
                                f"labels not in the training split: {', '.join(unseen)} (first: {first}, "
                                f"column {config.label_column!r})"))


def scored_validation(validation: Split, config: DatasetConfig) -> Split:
    """`validation` as read (`read_splits`) cut to what a trial scores, as `load_splits` cuts it:
    duplicates dropped where the section says so, then `max_eval_examples`. Redaction and leaked
    training copies change no validation example's count or group, so neither is applied here."""
    splits = {"validation": validation}
    apply_options(splits, config.model_copy(update={"redact_pii": False, "drop_leaked": False}))
    return stratified_subset(splits["validation"], config.max_eval_examples, config.seed)


def apply_options(splits: dict[str, Split], config: DatasetConfig) -> dict[str, int]:
    """Redact personal data, drop exact duplicates within a split, drop training examples whose text is
    (exactly or nearly) in validation or test; in place. Return how many each option dropped or changed."""
    done: dict[str, int] = {}
    if config.redact_pii:
        from hpsearch.data._pii import redact

        changed = 0
        for split in splits.values():
            redacted = [redact(t) for t in split.texts]
            changed += sum(a != b for a, b in zip(split.texts, redacted))
            split.texts = redacted
        done["redact_pii"] = changed
    if config.drop_duplicates:
        done["drop_duplicates"] = 0
        for name, split in splits.items():
            seen: set[str] = set()
            keep = []
            for i, text in enumerate(split.texts):
                key = duplicate_key(text)
                if key not in seen:
                    seen.add(key)
                    keep.append(i)
            done["drop_duplicates"] += len(split) - len(keep)
            splits[name] = _take(split, keep)
    if config.drop_leaked:
        from hpsearch.data._dupes import leaked_indices

        held = [t for name in ("validation", "test") if name in splits for t in splits[name].texts]
        leaked = leaked_indices(splits["train"].texts, held, config.check.near_duplicate_threshold)
        done["drop_leaked"] = len(leaked)
        splits["train"] = _take(splits["train"], [i for i in range(len(splits["train"])) if i not in leaked])
    return done


def _read_sources(config: DatasetConfig, base_dir: str | Path, source: str) -> list[tuple[str, Table]]:
    """(the section's key, a table) for each file or split the section names."""
    out: list[tuple[str, Table]] = []
    if config.hub is not None:
        return [("hub", t) for t in _named(read_hub(config.hub, source, "dataset.hub"), source, "hub")]
    if config.demo is not None:
        files = {"demo": demo_path(config.demo)}
    elif config.path is not None:
        files = {"path": _resolve(base_dir, config.path)}
    else:
        files = {k: _resolve(base_dir, getattr(config, k)) for k in SPLIT_ORDER if getattr(config, k) is not None}
    for key, path in files.items():
        tables = read_tables(path, source, f"dataset.{key}")
        if key in SPLIT_ORDER:  # the file is that split, whatever it holds
            if len(tables) != 1:
                raise UserError(Problem(source, f"dataset.{key}", f"{path.name} holds splits "
                                        f"{', '.join(tables)}; give it as path"))
            out.append((key, _tagged(next(iter(tables.values())), key)))
        elif "" in tables:
            out.append((key, tables[""]))
        else:
            out += [(key, t) for t in _named(tables, source, key)]
    return out


def _named(tables: dict[str, Table], source: str, key: str) -> list[Table]:
    """A saved or hub DatasetDict's splits, each tagged with the split it is."""
    out = []
    for split, table in tables.items():
        name = SPLIT_NAMES.get(split.lower())
        if name is None:
            raise UserError(Problem(source, f"dataset.{key}", f"split {split!r} of {table.name.split('[')[0]} is none "
                                    f"of {', '.join(sorted(SPLIT_NAMES))}"))
        out.append(_tagged(table, name))
    return out


def _tagged(table: Table, split: str) -> Table:
    table.split = split
    return table


def _by_split(table: Table, key: str, config: DatasetConfig, source: str) -> dict[str, dict[str, list[Any]]]:
    """The table's rows as columns, per split: its own, else its split column's, else all 'train'."""
    if table.split is not None:
        where = [table.split] * len(table)
    elif config.split_column is not None:
        where = []
        for row, value in zip(table.rows, table.columns[config.split_column]):
            split = SPLIT_NAMES.get(str(value).strip().lower())
            if split is None:
                raise UserError(Problem(source, "dataset.split_column",
                                        f"{table.name} row {row} column {config.split_column!r}: {value!r} is none of "
                                        f"{', '.join(sorted(SPLIT_NAMES))}"))
            where.append(split)
    else:
        where = ["train"] * len(table)
    wanted = [config.text_column, config.label_column, *config.group_columns]
    if config.annotator_column:
        wanted.append(config.annotator_column)
    parts: dict[str, dict[str, list[Any]]] = {}
    for i, split in enumerate(where):
        part = parts.setdefault(split, {c: [] for c in [*wanted, _ORIGIN]})
        for c in wanted:
            part[c].append(table.columns[c][i])
        part[_ORIGIN].append(f"{table.name} row {table.rows[i]}")
    return parts


def _aggregate(part: dict[str, list[Any]], config: DatasetConfig, split: str, annotations: list[Annotation]) -> Split:
    """Normalised texts; with an annotator column, one example per text labelled by majority
    (ties go to the label seen first) and every annotation kept for the agreement."""
    texts = [normalise(str(t)) for t in part[config.text_column]]
    labels = [str(y) for y in part[config.label_column]]
    groups = {g: [str(v) for v in part[g]] for g in config.group_columns}
    origins = part[_ORIGIN]
    if config.annotator_column is None:
        return Split(texts, labels, groups, origins)  # type: ignore[arg-type]  # encoded later
    by_text: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        by_text.setdefault(text, []).append(i)
        annotations.append(Annotation(split, text, str(part[config.annotator_column][i]), labels[i]))
    first = [rows[0] for rows in by_text.values()]
    majority = [Counter(labels[i] for i in rows).most_common(1)[0][0] for rows in by_text.values()]
    kept_groups = {g: [v[i] for i in first] for g, v in groups.items()}
    kept_texts, kept_origins = [texts[i] for i in first], [origins[i] for i in first]
    return Split(kept_texts, majority, kept_groups, kept_origins)  # type: ignore[arg-type]  # encoded later


def _hold_out(train: Split, share: float, seed: int, source: str, key: str) -> tuple[Split, Split]:
    """(the rest, `share` of `train`), stratified by label, by `seed`.

    Copies of one text (``duplicate_key``) go to the same side: split apart, the held-out split would
    score texts the model trained on (the data check's LEAKAGE, made by hpsearch itself). The texts
    are split, each by its first copy's label; where no text repeats, the rows are split as they are.
    """
    from sklearn.model_selection import train_test_split

    if len(train) < 4:
        raise UserError(Problem(source, "dataset", f"needs at least 4 rows to split, got {len(train)}"))
    copies: dict[str, list[int]] = {}
    for i, text in enumerate(train.texts):
        copies.setdefault(duplicate_key(text), []).append(i)
    if len(copies) < 4:
        raise UserError(Problem(source, "dataset", f"needs at least 4 distinct texts to split, got {len(copies)} "
                                f"in {len(train)} rows (copies of a text are held out together)"))
    firsts = [rows[0] for rows in copies.values()]  # in row order: range(len(train)) where none repeats
    try:
        tr, va = train_test_split(firsts, test_size=share, random_state=seed,
                                  stratify=_stratify([train.labels[i] for i in firsts]))
    except ValueError as exc:
        raise UserError(Problem(source, key, str(exc))) from None
    rows_of = {rows[0]: rows for rows in copies.values()}
    return (_take(train, sorted(i for first in tr for i in rows_of[first])),
            _take(train, sorted(i for first in va for i in rows_of[first])))


def _content_hash(split: Split, group_columns: list[str]) -> str:
    content = {"texts": split.texts, "labels": [str(y) for y in split.labels],
               "groups": {g: split.groups[g] for g in group_columns}}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def stratified_subset(split: Split, limit: int | None, seed: int) -> Split:
    """`limit` examples of `split` (all where it holds no more), stratified by label, in their order."""
    if limit is None or len(split) <= limit:
        return split
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        list(range(len(split))), train_size=limit, random_state=seed, stratify=_stratify(split.labels)
    )
    return _take(split, sorted(keep))


def _stratify(labels: list[Any]) -> list[Any] | None:
    return labels if min(Counter(labels).values()) >= 2 else None


def _take(split: Split, idx: list[int]) -> Split:
    return Split(
        texts=[split.texts[i] for i in idx],
        labels=[split.labels[i] for i in idx],
        groups={g: [v[i] for i in idx] for g, v in split.groups.items()},
        origins=[split.origins[i] for i in idx] if split.origins else [],
    )


def _resolve(base_dir: str | Path, relative: str) -> Path:
    return (Path(base_dir) / relative).expanduser()
