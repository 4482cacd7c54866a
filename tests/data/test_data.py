from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hpsearch.data import demo_path
from hpsearch.errors import UserError
from hpsearch.plan import load_plan

from ..conftest import toy_rows, write_jsonl


def _study(tmp_path: Path, dataset: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nmodel: minilm\ndataset: {dataset}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["legal", "healthcare", "engineering"])
def test_demo_datasets_are_packaged_with_groups(name: str) -> None:
    rows = demo_path(name).read_text(encoding="utf-8").splitlines()
    assert len(rows) >= 300


def test_single_file_is_split_stratified_and_reproducibly(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(120))
    study = load_plan(_study(tmp_path, f"{{path: {data}, group_columns: group, validation_fraction: 0.25}}"))
    a, b = study.splits(), study.splits()
    assert len(a.validation) == 30 and len(a.train) == 90
    assert a.validation.texts == b.validation.texts
    assert a.fingerprint == b.fingerprint
    assert sorted(a.validation.labels).count(0) == 10  # stratified: 10 of each of 3 labels
    assert set(a.train.texts).isdisjoint(a.validation.texts)
    assert a.label_names == ["bug", "feature", "question"]
    assert set(a.validation.groups["group"]) == {"a", "b"}


def test_test_fraction_holds_out_a_test_split_from_one_file(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", toy_rows(120))
    plain = load_plan(_study(tmp_path, f"{{path: {data}, group_columns: group}}")).splits()
    study = load_plan(_study(tmp_path, f"{{path: {data}, group_columns: group, validation_fraction: 0.25, "
                                       "test_fraction: 0.25}"))
    a, b = study.splits(), study.splits()
    assert a.test is not None and (len(a.train), len(a.validation), len(a.test)) == (60, 30, 30)  # shares of the file
    assert sorted(a.test.labels).count(0) == 10  # stratified
    assert set(a.test.texts).isdisjoint(set(a.train.texts) | set(a.validation.texts))
    assert set(a.train.texts).isdisjoint(a.validation.texts)
    assert a.test.texts == b.test.texts and a.fingerprint == b.fingerprint
    assert plain.test is None and a.fingerprint != plain.fingerprint  # other splits: another study's data


def test_copies_of_a_text_are_held_out_together(tmp_path: Path) -> None:
    """A training file with repeated texts (medical_abstracts has 54, legal_unfair_tos 71): split row by
    row, 21 of medical_abstracts' held-out validation texts were also in train (the data check's
    LEAKAGE, made by the split). Copies now go to one side; without repeats the split is as before."""
    rows = toy_rows(120)
    repeated = rows + [dict(r, label=["bug", "feature", "question"][(k + 1) % 3]) if k % 4 == 0 else dict(r)
                       for k, r in enumerate(rows[:40])]  # 40 texts twice, 10 of them with another label
    data = write_jsonl(tmp_path / "d.jsonl", repeated)
    spec = f"{{path: {data}, group_columns: group, validation_fraction: 0.25, test_fraction: 0.25}}"
    splits = load_plan(_study(tmp_path, spec)).splits()
    assert splits.test is not None
    train, validation, test = (set(s.texts) for s in (splits.train, splits.validation, splits.test))
    assert train.isdisjoint(validation) and train.isdisjoint(test) and validation.isdisjoint(test)
    assert len(splits.train) + len(splits.validation) + len(splits.test) == 160  # nothing dropped
    assert 30 <= len(splits.validation) <= 50 and 30 <= len(splits.test) <= 50  # about a quarter each
    again = load_plan(_study(tmp_path, spec)).splits()
    assert again.validation.texts == splits.validation.texts and again.fingerprint == splits.fingerprint
    # no text repeats: the rows are split exactly as sklearn's stratified split of the row indices
    from sklearn.model_selection import train_test_split

    plain = load_plan(_study(tmp_path, f"{{path: {write_jsonl(tmp_path / 'p.jsonl', rows)}, "
                                       "group_columns: group, validation_fraction: 0.25}")).splits()
    _, held = train_test_split(list(range(120)), test_size=0.25, random_state=0, stratify=[r["label"] for r in rows])
    assert plain.validation.texts == [" ".join(rows[i]["text"].split()) for i in sorted(held)]
    same = write_jsonl(tmp_path / "same.jsonl", [dict(r, text="the same text") for r in rows[:20]])
    with pytest.raises(UserError, match=r"dataset: needs at least 4 distinct texts to split, got 1 in 20 rows"):
        load_plan(_study(tmp_path, f"{{path: {same}, group_columns: group}}")).splits()


def test_test_fraction_with_a_test_split_or_nothing_left_is_an_error(tmp_path: Path) -> None:
    rows = toy_rows(60)
    train, test = write_jsonl(tmp_path / "train.jsonl", rows[:45]), write_jsonl(tmp_path / "test.jsonl", rows[45:])
    with pytest.raises(UserError, match="dataset.test_fraction: the data has a test split already"):
        load_plan(_study(tmp_path, f"{{train: {train}, test: {test}, test_fraction: 0.2}}"))
    with pytest.raises(UserError, match=r"dataset.test_fraction: 0.8 \+ validation_fraction 0.25 leave nothing"):
        load_plan(_study(tmp_path, f"{{train: {train}, test_fraction: 0.8}}"))


def test_csv_and_separate_files(tmp_path: Path) -> None:
    rows = toy_rows(60)
    for name, part in (("train", rows[:45]), ("dev", rows[45:])):
        with (tmp_path / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["text", "label", "group"])
            writer.writeheader()
            writer.writerows(part)
    study = load_plan(_study(tmp_path, "{train: train.csv, validation: dev.csv, group_columns: group}"))
    splits = study.splits()
    assert (len(splits.train), len(splits.validation)) == (45, 15)


def test_rows_are_named_as_the_user_finds_them(tmp_path: Path) -> None:
    """A CSV row by its number in a spreadsheet (the header is row 1), a JSON Lines row by its line
    (blank lines count)."""
    rows = toy_rows(30)
    rows[4]["text"] = ""  # the fifth example
    with (tmp_path / "train.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label", "group"])
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(UserError, match=r"train.csv row 6 has no value in column 'text'"):
        load_plan(_study(tmp_path, "{train: train.csv, group_columns: group}"))
    lines = [json.dumps(r) for r in rows]
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"train.jsonl row 6 has no value in column 'text'"):
        load_plan(_study(tmp_path, "{train: train.jsonl, group_columns: group}"))


def test_unseen_validation_label_is_an_error(tmp_path: Path) -> None:
    rows = toy_rows(30)
    write_jsonl(tmp_path / "tr.jsonl", [r for r in rows if r["label"] != "question"])
    write_jsonl(tmp_path / "va.jsonl", rows)
    with pytest.raises(UserError, match="dataset.validation: labels not in the training split: question"):
        load_plan(_study(tmp_path, "{train: tr.jsonl, validation: va.jsonl, group_columns: group}"))


def test_fairness_objective_without_group_column_is_an_error(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", toy_rows(30))
    with pytest.raises(UserError, match="dataset.group_columns: objective 'f1_gap' needs a group column"):
        load_plan(_study(tmp_path, "{path: d.jsonl}"))


def test_a_gap_no_trial_could_measure_is_an_error_before_any_trial(tmp_path: Path) -> None:
    """f1_gap compares groups of at least fairness.min_group_size validation examples: with fewer than two
    such groups every trial would train and then fail ('objective(s) not measured: f1_gap')."""
    rows = toy_rows(60)
    write_jsonl(tmp_path / "tr.jsonl", rows[:40])
    write_jsonl(tmp_path / "va.jsonl", rows[40:46] + [r for r in rows[46:] if r["group"] == "b"][:4])  # b 7, a 3
    with pytest.raises(UserError) as caught:
        load_plan(_study(tmp_path, "{train: tr.jsonl, validation: va.jsonl, group_columns: group}"))
    (problem,) = caught.value.problems
    assert str(problem) == (f"{tmp_path / 's.yaml'}: dataset.group_columns: objective 'f1_gap' compares the groups "
                            "of 'group' with at least 5 validation examples each (fairness.min_group_size), but the "
                            "validation split has 1 such group(s) (b 7, a 3): no trial could measure it")
    # a constraint on a column names it; with two groups of 5 the plan loads
    (tmp_path / "o.yaml").write_text("objectives: [{name: macro_f1, direction: maximize}]\n"
                                     "constraints: ['worst_group_f1/group >= 0.1']\n", encoding="utf-8")
    space = _study(tmp_path, "{train: tr.jsonl, validation: va.jsonl, group_columns: group}")
    space.write_text(space.read_text(encoding="utf-8") + "objectives: o.yaml\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"constraint 'worst_group_f1/group >= 0\.1' compares the groups of 'group'"):
        load_plan(space)
    write_jsonl(tmp_path / "va.jsonl", rows[40:50])  # a 5, b 5
    assert load_plan(space).space.dataset.group_columns == ["group"]


def test_the_groups_are_counted_in_what_a_trial_scores_after_max_eval_examples(tmp_path: Path) -> None:
    rows = toy_rows(60)
    write_jsonl(tmp_path / "tr.jsonl", rows[:40])
    write_jsonl(tmp_path / "va.jsonl", rows[40:52])  # a 6, b 6: enough as read
    dataset = "{train: tr.jsonl, validation: va.jsonl, group_columns: group, max_eval_examples: MAX}"
    assert len(load_plan(_study(tmp_path, dataset.replace("MAX", "12"))).splits().validation) == 12
    with pytest.raises(UserError, match=r"but the validation split has 0 such group\(s\) \(. 4, . 4\)"):
        load_plan(_study(tmp_path, dataset.replace("MAX", "8")))  # a trial scores 8 of them: 4 and 4
