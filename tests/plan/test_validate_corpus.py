"""`hpsearch validate` over a corpus of malformed files, and over every YAML example in docs/spaces.md.

Each file in tests/corpus/ opens with one or more lines

    # expect: KEY: SUBSTRING

and validating it must print, for each, a line ``error: FILE: KEY: ...SUBSTRING...`` (exit code 2).
``KEY`` is ``(file)`` for a problem with the whole file (``error: FILE: SUBSTRING...``). The shipped
spaces, search presets and objectives files validating cleanly is tested in tests/test_cli.py.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
import yaml

from hpsearch.cli import main
from hpsearch.space import KNOBS

from ..conftest import ROOT, toy_rows, write_jsonl

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))
DOCS = ROOT / "docs" / "spaces.md"


def expectations(path: Path) -> list[tuple[str, str]]:
    """(key, substring) for every `# expect:` line of a corpus file."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    out = []
    for line in text.splitlines():
        if line.startswith("# expect: "):
            key, sep, substring = line[len("# expect: "):].partition(": ")
            assert sep, f"{path.name}: an expect line reads '# expect: KEY: SUBSTRING', got {line!r}"
            out.append((key, substring))
    return out


def validate(paths: list[Path], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["validate", *map(str, paths)])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def missing(path: Path, lines: list[str]) -> list[str]:
    """The expectations of `path` that no line meets."""
    out = []
    for key, substring in expectations(path):
        prefix = f"error: {path}: " if key == "(file)" else f"error: {path}: {key}: "
        if not any(line.startswith(prefix) and substring in line[len(prefix):] for line in lines):
            out.append(f"{key}: {substring}")
    return out


def test_the_corpus_covers_enough_mistakes() -> None:
    assert len(FILES) >= 30
    assert [f.name for f in FILES if not expectations(f)] == []
    kinds = {f.name.split("-")[0] for f in FILES}
    assert {"space", "search", "objectives"} <= kinds


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_each_mistake_is_one_line_naming_file_and_key(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = validate([path], capsys)
    assert code == 2, lines
    assert missing(path, lines) == [], "\n".join(lines)
    for line in lines:
        assert line.startswith(f"error: {path}: "), line  # every problem is about this file
        assert "bug in hpsearch" not in line and "Traceback" not in line, line


def test_every_problem_in_every_file_is_reported_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = validate(FILES, capsys)
    assert code == 2
    assert [f.name for f in FILES if not any(line.startswith(f"error: {f}: ") for line in lines)] == []
    assert {f.name: m for f in FILES if (m := missing(f, lines))} == {}
    assert len(lines) == len(set(lines)), "a problem is reported twice"


# --------------------------------------------------------------------------- docs/spaces.md


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", DOCS.read_text(encoding="utf-8"), flags=re.S | re.M)


def as_file(block: str) -> str:
    """A docs example as a whole file: a fragment of a space gets a name and a dataset."""
    keys = set(re.findall(r"^([A-Za-z_]+):", block, flags=re.M))
    if keys & {"sampler", "trials", "objectives", "name"} or "max_concurrent_trials" in keys:
        return block
    head = "" if "name" in keys else "name: example\n"
    head += "" if "dataset" in keys else "dataset: {demo: legal, group_columns: group}\n"
    return head + block


def write_data(space: Path) -> None:
    """The data files a docs example names, with the columns it names (toy rows)."""
    dataset = (yaml.safe_load(space.read_text(encoding="utf-8")) or {}).get("dataset") or {}
    groups = dataset.get("group_columns", [])
    groups = [groups] if isinstance(groups, str) else groups
    for key in ("path", "train", "validation", "test"):
        if key not in dataset:
            continue
        text, label = dataset.get("text_column", "text"), dataset.get("label_column", "label")
        rows = [{text: r["text"], label: r["label"], **{g: r["group"] for g in groups}} for r in toy_rows(80)]
        path = space.parent / dataset[key]
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        else:
            write_jsonl(path, rows)


def test_docs_yaml_examples_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = yaml_blocks()
    assert len(blocks) >= 20
    # examples name ../search/*.yaml and ../objectives/*.yaml as the shipped spaces do
    for folder in ("search", "objectives"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "spaces").mkdir()
    paths = []
    for i, block in enumerate(blocks):
        path = tmp_path / "spaces" / f"example{i:02d}.yaml"
        path.write_text(as_file(block), encoding="utf-8")
        write_data(path)
        paths.append(path)
    code, lines = validate(paths, capsys)
    assert (code, lines) == (0, []), "\n".join(lines)
    assert sum(bool(re.search(r"^name:", block, flags=re.M)) for block in blocks) >= 3  # whole spaces


def test_docs_describe_every_key_and_objective() -> None:
    from hpsearch.data import DatasetConfig
    from hpsearch.objectives import REGISTRY, ObjectivesConfig
    from hpsearch.search import SearchConfig
    from hpsearch.space import SpaceConfig

    text = DOCS.read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| `")}
    keys = [*SpaceConfig.model_fields, *DatasetConfig.model_fields, *SearchConfig.model_fields]
    keys += [f"check.{k}" for k in DatasetConfig.model_fields["check"].annotation.model_fields]
    for name, field in ObjectivesConfig.model_fields.items():
        nested = getattr(field.annotation, "model_fields", None)  # latency: {...} -> latency.batch_size
        keys += [f"{name}.{sub}" for sub in nested] if nested else [name]
    assert [k for k in keys if f"`{k}`" not in rows] == []
    assert [name for name in REGISTRY if f"`{name}`" not in rows] == []


def test_docs_describe_every_knob() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert [name for name in KNOBS if f"### `{name}`" not in text] == []
    for name, knob in KNOBS.items():  # the table row: type, default and every allowed value
        row = next((line for line in text.splitlines() if line.startswith(f"| `{name}` |")), "")
        assert row.startswith(f"| `{name}` | {knob.kind.__name__} | `{knob.default}` |"), (name, row)
        assert all(f"`{choice}`" in row for choice in knob.choices or ()), (name, row)
