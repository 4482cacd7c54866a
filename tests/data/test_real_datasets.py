"""`hpsearch data check` on the three curated datasets in ../shared/datasets: every number the report
states (sizes, labels, groups, exact duplicates, shared texts, leakage, conflicting labels, e-mail
addresses) against the same number computed here from the files, and no e-mail address in full in
any output. About ten seconds a dataset (the personal-data scan)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from sklearn.model_selection import train_test_split

from hpsearch.cli import main

from ..conftest import need

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/datasets")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _expected(name: str) -> dict:
    """The splits as the check makes them, from the files: train.jsonl with 25% of its texts held out
    for validation (seed 0, stratified by label, every copy of a text on the side of its first, as
    documented), test.jsonl as it is."""
    root = SHARED / name
    train = _rows(root / "train.jsonl")
    for i, row in enumerate(train, 1):
        row["origin"] = f"train.jsonl row {i}"
    copies: dict[str, list[int]] = {}
    for i, row in enumerate(train):
        copies.setdefault(_key(row["text"]), []).append(i)
    firsts = [rows[0] for rows in copies.values()]
    kept, held = train_test_split(firsts, test_size=0.25, random_state=0, stratify=[train[i]["label"] for i in firsts])
    side = {i: part for part, chosen in (("train", kept), ("validation", held))
            for first in chosen for i in copies[_key(train[first]["text"])]}
    splits = {part: [r for i, r in enumerate(train) if side[i] == part] for part in ("train", "validation")}
    if (root / "test.jsonl").is_file():
        splits["test"] = _rows(root / "test.jsonl")
        for i, row in enumerate(splits["test"], 1):
            row["origin"] = f"test.jsonl row {i}"
    return splits


_CACHE: dict[str, tuple[dict, str, str]] = {}


def _check(name: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, str]:
    need((SHARED / name / "train.jsonl").is_file(), f"the shared dataset {name} is in {SHARED}")
    if name not in _CACHE:
        out = tmp_path_factory.mktemp(name)
        capture = out / "stdout.txt"
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["data", "check", str(SHARED / name), "--out", str(out / "report")]) == 0
        capture.write_text(buffer.getvalue(), encoding="utf-8")
        data = json.loads((out / "report" / "data_check.json").read_text(encoding="utf-8"))
        files = buffer.getvalue() + (out / "report" / "DATASET_CARD.md").read_text(encoding="utf-8") + \
            (out / "report" / "data_check.json").read_text(encoding="utf-8")
        _CACHE[name] = (data, buffer.getvalue(), files)
    return _CACHE[name]


@pytest.mark.parametrize("name", ["legal_unfair_tos", "medical_abstracts", "engineering_issues"])
def test_the_report_states_what_is_really_in_the_shared_dataset(name: str, tmp_path_factory) -> None:
    data, stdout, everything = _check(name, tmp_path_factory)
    expected = _expected(name)
    keys = {s: [_key(r["text"]) for r in rows] for s, rows in expected.items()}
    for split, rows in expected.items():
        stated = data["splits"][split]
        assert stated["examples"] == len(rows)
        assert stated["labels"] == dict(Counter(str(r["label"]) for r in rows))
        if "group" in rows[0]:
            assert stated["groups"] == {"group": dict(Counter(r["group"] for r in rows))}
        within = data["duplicates"]["within"][split]
        assert within["extra_copies"] == len(rows) - len(set(keys[split]))
        assert within["groups"] == sum(1 for n in Counter(keys[split]).values() if n > 1)
    for shared in data["duplicates"]["across"]:
        a, b = shared["splits"]
        assert shared["texts"] == len(set(keys[a]) & set(keys[b]))
    for split in ("validation", "test"):
        if split in expected:
            exact = sum(1 for k in keys[split] if k in set(keys["train"]))
            assert data["leakage"][split]["exact"] == exact
    assert data["leakage"]["validation"]["exact"] == 0  # hpsearch's own split puts no text on both sides
    labels_of: dict[str, set[str]] = {}
    for split, rows in expected.items():
        for k, r in zip(keys[split], rows):
            labels_of.setdefault(k, set()).add(str(r["label"]))
    assert data["conflicts"]["exact_groups"] == sum(1 for v in labels_of.values() if len(v) > 1)
    # every address-shaped string is reported but ONNX operator names ('Tile@ai.onnx': no such domain)
    emails = {r["origin"] for rows in expected.values() for r in rows
              if [m for m in EMAIL.findall(r["text"]) if not m.endswith("@ai.onnx")]}
    assert set(data["pii"]["rows"].get("EMAIL_ADDRESS", [])) == emails
    found = {m for rows in expected.values() for r in rows for m in EMAIL.findall(r["text"])}
    assert [e for e in found if e in everything] == []  # no address in full, anywhere


def test_legal_unfair_tos_has_four_language_groups_and_leaks_into_test(tmp_path_factory) -> None:
    data, stdout, _ = _check("legal_unfair_tos", tmp_path_factory)
    test_groups = dict(Counter(r["group"] for r in _rows(SHARED / "legal_unfair_tos" / "test.jsonl")))
    assert test_groups == {"en": 666, "pl": 618, "it": 581, "de": 556}
    assert data["splits"]["test"]["groups"]["group"] == test_groups
    assert "    group: en 666, pl 618, it 581, de 556" in stdout
    # 8 of test's texts are in train.jsonl; the copies of 2 of them went to validation together
    assert data["leakage"]["test"]["exact"] == 6 and "LEAKAGE: test examples whose text is in train: 6" in stdout


def test_engineering_issues_has_duplicates_and_one_text_labelled_two_ways(tmp_path_factory) -> None:
    data, stdout, _ = _check("engineering_issues", tmp_path_factory)
    texts = [_key(r["text"]) for r in _rows(SHARED / "engineering_issues" / "train.jsonl")]
    assert len(texts) - len(set(texts)) == 2  # in the file as a whole
    assert data["duplicates"]["within"]["train"]["extra_copies"] + data["duplicates"]["within"]["validation"][
        "extra_copies"] + data["duplicates"]["across"][0]["texts"] == 2
    assert data["conflicts"]["exact_groups"] == 1
