"""Loaders through `datasets` (JSONL, CSV, Parquet, save_to_disk folders), the options a space sets on
load, and the content fingerprint: the same data in any format is the same data; a changed split is
named; a study refuses trials on other data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hpsearch.data import DatasetConfig, load_splits
from hpsearch.errors import UserError

from ..conftest import toy_rows, write_jsonl
from .test_check import EMAIL, clean_rows


def _config(**section) -> DatasetConfig:
    return DatasetConfig(group_columns=["group"], **section)


def _write_all_formats(root: Path, rows: list[dict]) -> dict[str, str]:
    import datasets

    write_jsonl(root / "d.jsonl", rows)
    with (root / "d.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label", "group"])
        writer.writeheader()
        writer.writerows(rows)
    table = datasets.Dataset.from_list(rows)
    table.to_parquet(str(root / "d.parquet"))
    table.save_to_disk(str(root / "saved"))
    return {"jsonl": "d.jsonl", "csv": "d.csv", "parquet": "d.parquet", "save_to_disk": "saved"}


def test_every_format_reads_the_same_data_to_the_same_fingerprint(tmp_path: Path) -> None:
    rows = toy_rows(80)
    files = _write_all_formats(tmp_path, rows)
    loaded = {kind: load_splits(_config(path=name), tmp_path, "s.yaml") for kind, name in files.items()}
    first = loaded["jsonl"]
    assert len(first.train) == 60 and len(first.validation) == 20
    for kind, splits in loaded.items():
        assert splits.train.texts == first.train.texts, kind
        assert splits.fingerprint == first.fingerprint and splits.split_fingerprints == first.split_fingerprints, kind


def test_a_saved_dataset_dict_keeps_its_splits(tmp_path: Path) -> None:
    import datasets

    train, validation = clean_rows(60, 1), clean_rows(20, 2)
    datasets.DatasetDict({"train": datasets.Dataset.from_list(train),
                          "dev": datasets.Dataset.from_list(validation)}).save_to_disk(str(tmp_path / "dd"))
    splits = load_splits(_config(path="dd"), tmp_path, "s.yaml")
    assert (len(splits.train), len(splits.validation), splits.test) == (60, 20, None)
    assert splits.validation.texts == [r["text"] for r in validation]
    assert splits.validation.origins[0] == "dd[dev] row 1"


def test_a_split_column_splits_one_file(tmp_path: Path) -> None:
    rows = clean_rows(90, 1)
    for i, row in enumerate(rows):
        row["part"] = ("train", "dev", "test")[(i // 3) % 3]
    write_jsonl(tmp_path / "d.jsonl", rows)
    splits = load_splits(_config(path="d.jsonl", split_column="part"), tmp_path, "s.yaml")
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (30, 30, 30)
    rows[4]["part"] = "holdout"  # row 5
    write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(UserError, match=r"dataset.split_column: d.jsonl row 5 column 'part': 'holdout' is none of"):
        load_splits(_config(path="d.jsonl", split_column="part"), tmp_path, "s.yaml")


def test_the_fingerprint_is_of_normalised_content_and_names_the_split_that_changed(tmp_path: Path) -> None:
    train, validation = clean_rows(60, 1), clean_rows(30, 2)
    write_jsonl(tmp_path / "tr.jsonl", train)
    write_jsonl(tmp_path / "va.jsonl", validation)
    config = _config(train="tr.jsonl", validation="va.jsonl")
    before = load_splits(config, tmp_path, "s.yaml")
    # other spacing and key order: the same content
    (tmp_path / "tr.jsonl").write_text("".join(json.dumps({"group": r["group"], "label": r["label"],
                                                           "text": "  " + r["text"].replace(" ", "\t ") + "\r"}) + "\n"
                                               for r in train), encoding="utf-8")
    assert load_splits(config, tmp_path, "s.yaml").fingerprint == before.fingerprint
    validation[3]["label"] = "bug" if validation[3]["label"] != "bug" else "feature"
    write_jsonl(tmp_path / "va.jsonl", validation)
    after = load_splits(config, tmp_path, "s.yaml")
    assert after.fingerprint != before.fingerprint
    assert after.split_fingerprints["train"] == before.split_fingerprints["train"]
    assert after.split_fingerprints["validation"] != before.split_fingerprints["validation"]
    # an option applied is other data
    assert load_splits(_config(train="tr.jsonl", validation="va.jsonl", drop_duplicates=True), tmp_path,
                       "s.yaml").fingerprint != after.fingerprint


def test_options_drop_duplicates_and_leaked_examples_and_redact_personal_data(tmp_path: Path) -> None:
    train, test = clean_rows(60, 1), clean_rows(30, 2)
    train += [dict(train[0]), dict(train[1], text=train[1]["text"].upper())]  # two exact duplicates
    train += [dict(test[0]), dict(test[1], text=test[1]["text"] + " w1")]  # leaked: exactly and nearly
    train[5]["text"] += f" mail {EMAIL}"
    write_jsonl(tmp_path / "tr.jsonl", train)
    write_jsonl(tmp_path / "te.jsonl", test)
    base = {"train": "tr.jsonl", "validation": "te.jsonl"}
    plain = load_splits(_config(**base), tmp_path, "s.yaml")
    assert len(plain.train) == 64 and plain.dropped == {}
    dedup = load_splits(_config(**base, drop_duplicates=True), tmp_path, "s.yaml")
    assert len(dedup.train) == 62 and dedup.dropped == {"drop_duplicates": 2}
    unleaked = load_splits(_config(**base, drop_leaked=True), tmp_path, "s.yaml")
    assert len(unleaked.train) == 62 and dedup.dropped != unleaked.dropped
    assert test[0]["text"] not in unleaked.train.texts and test[1]["text"] + " w1" not in unleaked.train.texts
    redacted = load_splits(_config(**base, redact_pii=True), tmp_path, "s.yaml")
    assert redacted.dropped == {"redact_pii": 1}
    assert redacted.train.texts[5].endswith("mail <EMAIL_ADDRESS>") and EMAIL not in " ".join(redacted.train.texts)


def test_a_study_refuses_trials_on_changed_data_naming_the_split(tmp_path: Path) -> None:
    from hpsearch.plan import load_plan
    from hpsearch.study._join import join_study, study_for

    write_jsonl(tmp_path / "tr.jsonl", clean_rows(60, 1))
    validation = clean_rows(30, 2)
    write_jsonl(tmp_path / "va.jsonl", validation)
    space = tmp_path / "s.yaml"
    space.write_text("name: s\nmodel: minilm\ndataset: {train: tr.jsonl, validation: va.jsonl, group_columns: group}\n",
                     encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    plan = load_plan(space)
    study = join_study(url, "s", plan, plan.splits(), [])
    assert study.user_attrs["dataset_split_fingerprints"] == plan.splits().split_fingerprints
    assert "| validation | 30 |" in study.user_attrs["dataset_card"]
    join_study(url, "s", plan, plan.splits(), [])  # the same data joins
    validation[0]["text"] = "w1 w2 w3 w4"
    write_jsonl(tmp_path / "va.jsonl", validation)
    plan = load_plan(space)
    with pytest.raises(UserError) as info:
        join_study(url, "s", plan, plan.splits(), [])
    (problem,) = info.value.problems
    assert problem.key == "" and problem.source == "--study"
    assert "dataset fingerprint" in problem.message and "split 'validation' changed" in problem.message
    assert "split 'train'" not in problem.message and "another --study name (--new-study picks one)" in problem.message
    # --new-study: the first of s-2, s-3, ... that is new or holds this search
    assert study_for(url, "s", plan, plan.splits(), []) == "s-2"
    join_study(url, "s-2", plan, plan.splits(), [])
    assert study_for(url, "s", plan, plan.splits(), []) == "s-2"
    # a test split held out where the study had none: said as such, not as a changed 'test'
    space.write_text("name: s\nmodel: minilm\ndataset: {train: tr.jsonl, validation: va.jsonl, group_columns: group, "
                     "test_fraction: 0.2}\n", encoding="utf-8")
    plan = load_plan(space)
    with pytest.raises(UserError) as info:
        join_study(url, "s-2", plan, plan.splits(), [])
    (problem,) = info.value.problems
    assert "split 'train' changed; a 'test' split the study has not" in problem.message


def test_a_file_with_a_byte_order_mark_reads_as_without_and_a_semicolon_csv_says_so(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark (it failed: 'Field "\\ufefftext" does not exist'),
    and a European Excel separates with ';' (its header read as one column)."""
    rows = toy_rows(80)
    plain = load_splits(_config(path=_write_all_formats(tmp_path, rows)["csv"]), tmp_path, "s.yaml")
    with (tmp_path / "excel.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label", "group"], lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    assert (tmp_path / "excel.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    excel = load_splits(_config(path="excel.csv"), tmp_path, "s.yaml")
    assert excel.train.texts == plain.train.texts and excel.fingerprint == plain.fingerprint
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "d.jsonl").read_bytes())  # JSONL too
    assert load_splits(_config(path="bom.jsonl"), tmp_path, "s.yaml").fingerprint == plain.fingerprint
    with (tmp_path / "semi.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label", "group"], delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(UserError) as caught:
        load_splits(_config(path="semi.csv"), tmp_path, "s.yaml")
    assert str(caught.value) == ("s.yaml: dataset.text_column: column 'text' is not in semi.csv (columns: "
                                 "text;label;group); its header is one column holding ';': a .csv is read "
                                 "comma-separated and a .tsv tab-separated, so write it with commas")
