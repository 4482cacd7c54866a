"""`hpsearch data check` on data with planted defects of every kind: each is found where it was
planted, counted as planted, and no personal data appears in full in any output."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from hpsearch.cli import main

from ..conftest import write_jsonl

LABELS = ("bug", "feature", "question")
EMAIL, PHONE, CARD, IBAN = "jane.roe@example.org", "+1 415-555-2671", "4111 1111 1111 1111", "DE89370400440532013000"
SSN, PESEL, FISCAL = "536-22-8819", "44051401359", "RSSMRA85T10A562S"
SECRETS = (EMAIL, PHONE, CARD, IBAN, SSN, PESEL, FISCAL, "4111111111111111", "415-555-2671")


def sentence(rng: random.Random, n: int = 14) -> str:
    """Random words from a large vocabulary: two such texts share no word 3-gram, in practice."""
    return " ".join(f"w{rng.randrange(5000)}" for _ in range(n))


def clean_rows(n: int, seed: int, groups: tuple[str, ...] = ("a", "b")) -> list[dict]:
    rng = random.Random(seed)
    return [{"text": sentence(rng), "label": LABELS[i % 3], "group": groups[i % len(groups)]} for i in range(n)]


@pytest.fixture()
def planted(tmp_path: Path) -> dict:
    """train / validation / test with one of every defect, and where each was planted (1-based rows)."""
    train, validation, test = clean_rows(90, 1), clean_rows(60, 2), clean_rows(60, 3)
    rng = random.Random(9)
    # exact duplicate within train: same text, other case and spacing (rows 91, 92)
    dup = sentence(rng)
    train += [{"text": dup, "label": "bug", "group": "a"},
              {"text": "  " + dup.upper() + " ", "label": "bug", "group": "b"}]
    # near duplicate within train: one word of 30 changed (rows 93, 94)
    long = sentence(rng, 30).split()
    near = long.copy()
    near[-1] = "changed"
    train += [{"text": " ".join(long), "label": "feature", "group": "a"},
              {"text": " ".join(near), "label": "feature", "group": "b"}]
    # conflicting labels: one text, two labels (rows 95, 96)
    conflict = sentence(rng)
    train += [{"text": conflict, "label": "bug", "group": "a"}, {"text": conflict, "label": "question", "group": "b"}]
    # personal data (rows 97..100)
    train += [{"text": f"write to {EMAIL} about it", "label": "question", "group": "a"},
              {"text": f"call me on {PHONE} tomorrow", "label": "question", "group": "b"},
              {"text": f"paid with card {CARD} twice", "label": "bug", "group": "a"},
              {"text": f"refund to {IBAN} please", "label": "bug", "group": "b"}]
    # national-ID-like numbers (rows 101..103), and numbers that are none of these (row 104)
    train += [{"text": f"my ssn is {SSN} ok", "label": "question", "group": "a"},
              {"text": f"numer PESEL {PESEL} w umowie", "label": "question", "group": "b"},
              {"text": f"codice fiscale {FISCAL} allegato", "label": "feature", "group": "a"},
              {"text": "accuracy 0.9963 on version 16.8.6 since 2022-03-10-19, pid 0 96 5476", "label": "bug",
               "group": "b"}]
    # leakage: train row 1 exactly in test (row 61); train row 2 nearly in validation (row 61)
    test.append(dict(train[0]))
    leaked = train[1]["text"].split() + ["extra"] * 0
    leaked[0] = "different"  # 13 of 14 words kept: word 3-gram Jaccard 11/13 ~ 0.85
    validation.append({"text": " ".join(leaked), "label": train[1]["label"], "group": "a"})
    # a small group in validation: 'c' with 3 examples (rows 62..64)
    validation += [{"text": sentence(rng), "label": LABELS[i], "group": "c"} for i in range(3)]
    paths = {name: write_jsonl(tmp_path / f"{name}.jsonl", rows)
             for name, rows in (("train", train), ("validation", validation), ("test", test))}
    space = tmp_path / "planted.yaml"
    space.write_text("name: planted\nmodel: minilm\ndataset:\n  train: train.jsonl\n  validation: validation.jsonl\n"
                     "  test: test.jsonl\n  group_columns: group\n  check: {near_duplicate_threshold: 0.8}\n",
                     encoding="utf-8")
    return {"space": space, "paths": paths, "dir": tmp_path}


def check(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["data", "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_planted_defect_is_found_where_it_was_planted(planted: dict, capsys) -> None:
    out_dir = planted["dir"] / "report"
    code, out, err = check([str(planted["space"]), "--out", str(out_dir)], capsys)
    assert code == 0 and err == ""
    data = json.loads((out_dir / "data_check.json").read_text(encoding="utf-8"))
    assert {n: s["examples"] for n, s in data["splits"].items()} == {"train": 104, "validation": 64, "test": 61}

    within = data["duplicates"]["within"]["train"]
    assert within["groups"] == 2 and within["extra_copies"] == 2  # the planted pair and the conflicting pair
    assert ["train.jsonl row 91", "train.jsonl row 92"] in within["rows"]
    assert data["near_duplicates"]["rows"] == [["train.jsonl row 93", "train.jsonl row 94"],
                                               ["train.jsonl row 2", "validation.jsonl row 61"]] or \
        sorted(map(sorted, data["near_duplicates"]["rows"])) == sorted(
            [["train.jsonl row 93", "train.jsonl row 94"], ["train.jsonl row 2", "validation.jsonl row 61"]])
    assert data["leakage"]["test"] == {"examples": 1, "exact": 1, "near": 0, "rows": ["test.jsonl row 61"]}
    assert data["leakage"]["validation"] == {"examples": 1, "exact": 0, "near": 1, "rows": ["validation.jsonl row 61"]}
    assert data["conflicts"]["groups"] == 1 and data["conflicts"]["rows"] == [
        ["train.jsonl row 95 (bug)", "train.jsonl row 96 (question)"]]

    pii = data["pii"]
    assert pii["counts"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1, "IBAN_CODE": 1, "IT_FISCAL_CODE": 1,
                             "PHONE_NUMBER": 1, "PL_PESEL": 1, "US_SSN": 1}
    assert pii["rows"]["EMAIL_ADDRESS"] == ["train.jsonl row 97"]
    assert pii["rows"]["PHONE_NUMBER"] == ["train.jsonl row 98"]
    assert pii["rows"]["CREDIT_CARD"] == ["train.jsonl row 99"]
    assert pii["rows"]["US_SSN"] == ["train.jsonl row 101"] and pii["rows"]["PL_PESEL"] == ["train.jsonl row 102"]
    assert pii["examples"] == 7  # not row 104's decimals, versions, dates and process ids

    assert {(g["split"], g["group"], g["n"]) for g in data["small_groups"]} >= {("validation", "c", 3)}
    (small_c,) = [g for g in data["small_groups"] if g["group"] == "c"]
    assert small_c["half_width"] == pytest.approx(1.96 * 0.5 / 3 ** 0.5, abs=1e-3)
    assert "warning: group 'c' (group) has 3 validation examples" in out and "±0.57" in out
    assert "LEAKAGE: test examples whose text is in train: 1 (1 exact, 0 near)" in out
    assert "  to train without those texts: dataset.drop_leaked: true" in out  # what to do about it
    assert "\npassed: no rule set, so findings are reported, not failed" in out

    card = (out_dir / "DATASET_CARD.md").read_text(encoding="utf-8")
    assert "| train | 104 |" in card
    for text in (out, card, (out_dir / "data_check.json").read_text(encoding="utf-8")):
        assert not [s for s in SECRETS if s in text]


def test_fail_on_rules_exit_1_when_crossed_and_0_below_their_limits(planted: dict, capsys) -> None:
    code, out, _ = check([str(planted["space"]), "--fail-on", "leakage,pii"], capsys)
    assert code == 1 and "FAILED: leakage: 2 > 0; pii: 7 > 0" in out
    code, out, _ = check([str(planted["space"]), "--fail-on", "leakage>2,pii>7,duplicates>2,conflicts>1"], capsys)
    assert code == 0 and out.rstrip().endswith("passed")
    space = planted["space"]
    space.write_text(space.read_text().replace("check: {", "check: {fail_on: [near_duplicates], "), encoding="utf-8")
    assert check([str(space)], capsys)[0] == 1  # the space's own rules


def test_a_bad_rule_is_one_line_exit_2(planted: dict, capsys) -> None:
    code, out, err = check([str(planted["space"]), "--fail-on", "leaks"], capsys)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("error: --fail-on: a rule is one of duplicates, near_duplicates, leakage")


def test_the_clean_part_alone_passes_every_rule(tmp_path: Path, capsys) -> None:
    write_jsonl(tmp_path / "train.jsonl", clean_rows(400, 1, groups=("a", "b")))
    write_jsonl(tmp_path / "test.jsonl", clean_rows(80, 2, groups=("a", "b")))
    code, out, _ = check([str(tmp_path), "--fail-on", "duplicates,near_duplicates,leakage,conflicts,pii,small_groups,"
                          "small_classes"], capsys)
    assert code == 0, out
    assert "  train: 300 examples;" in out and "  validation: 100 examples (held out of train by seed)" in out


def _annotated(tmp_path: Path, votes: list[tuple[str, ...]], annotators: tuple[str, ...]) -> Path:
    rng = random.Random(4)
    rows = []
    for labels in votes:
        text = sentence(rng)
        rows += [{"text": text, "label": y, "who": a} for y, a in zip(labels, annotators)]
    return write_jsonl(tmp_path / "annotated.jsonl", rows)


def test_two_annotators_get_cohens_kappa_and_rows_of_one_text_are_one_example(tmp_path: Path, capsys) -> None:
    votes = [("bug", "bug")] * 10 + [("feature", "feature")] * 8 + [("bug", "feature")] * 2 + [("feature", "bug")] * 4
    path = _annotated(tmp_path, votes, ("ann", "bob"))
    code, out, _ = check([str(path), "--annotator", "who", "--out", str(tmp_path / "r")], capsys)
    data = json.loads((tmp_path / "r" / "data_check.json").read_text())
    # by hand: p_o = 18/24; ann says bug 12/24, bob 14/24; p_e = (12*14 + 12*10) / 24^2
    p_o, p_e = 18 / 24, (12 * 14 + 12 * 10) / 24 ** 2
    assert data["agreement"]["method"] == "Cohen's kappa" and data["agreement"]["items"] == 24
    assert data["agreement"]["kappa"] == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-4)
    assert sum(s["examples"] for s in data["splits"].values()) == 24  # 48 rows, 24 texts
    assert code == 0 and "annotator agreement: Cohen's kappa" in out


def test_three_annotators_get_fleiss_kappa(tmp_path: Path, capsys) -> None:
    votes = [("a", "a", "a")] * 6 + [("b", "b", "b")] * 6 + [("a", "a", "b")] * 4 + [("a", "b", "b")] * 4
    path = _annotated(tmp_path, votes, ("x", "y", "z"))
    code, out, _ = check([str(path), "--annotator", "who", "--out", str(tmp_path / "r"), "--fail-on", "agreement<0.9"],
                         capsys)
    data = json.loads((tmp_path / "r" / "data_check.json").read_text())
    # by hand (Fleiss 1971): n = 3 raters, N = 20 items
    n, items = 3, votes
    p_i = [(sum(v.count(c) ** 2 for c in "ab") - n) / (n * (n - 1)) for v in items]
    share = {c: sum(v.count(c) for v in items) / (n * len(items)) for c in "ab"}
    p_bar, p_e = sum(p_i) / len(items), sum(s ** 2 for s in share.values())
    assert data["agreement"]["method"] == "Fleiss' kappa"
    assert data["agreement"]["kappa"] == pytest.approx((p_bar - p_e) / (1 - p_e), abs=1e-4)
    assert code == 1 and "agreement: kappa" in out


@pytest.mark.parametrize("defect, expect", [
    ("unreadable", "train.jsonl: line 3: not JSON"),
    ("missing_column", "dataset.label_column: column 'label' is not in train.jsonl"),
    ("empty_text", "dataset.text_column: train.jsonl row 4 has no value in column 'text'"),
    ("null_label", "dataset.label_column: train.jsonl row 5 has no value in column 'label'"),
    ("unseen_label", "dataset.test: labels not in the training split: other (first: test.jsonl row 2, column 'label')"),
    ("mixed_types", "dataset.label_column: train.jsonl row 6 column 'label' holds a number where row 1 holds a string"),
])
def test_bad_input_is_one_line_naming_file_row_and_column_exit_2(tmp_path: Path, capsys, defect: str,
                                                                 expect: str) -> None:
    train, test = clean_rows(30, 1), clean_rows(10, 2)
    lines = None
    if defect == "missing_column":
        train = [{"text": r["text"], "kind": r["label"]} for r in train]
    elif defect == "empty_text":
        train[3]["text"] = "   "
    elif defect == "null_label":
        train[4]["label"] = None
    elif defect == "unseen_label":
        test[1]["label"] = "other"
    elif defect == "mixed_types":
        train[5]["label"] = 7
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", test)
    if defect == "unreadable":
        lines = (tmp_path / "train.jsonl").read_text().splitlines()
        lines[2] = lines[2][:-1]
        (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")
    space = tmp_path / "s.yaml"
    space.write_text("name: s\nmodel: minilm\ndataset: {train: train.jsonl, test: test.jsonl, group_columns: group}\n",
                     encoding="utf-8")
    for command in (["data", "check", str(space)], ["validate", str(space)]):
        assert main(command) == 2
        out, err = capsys.readouterr()
        (line,) = err.strip().splitlines()
        assert expect in line and line.startswith(f"error: {space}: ") and "Traceback" not in err


def test_a_hub_dataset_offline_is_one_line(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    space = tmp_path / "s.yaml"
    space.write_text("name: s\nmodel: minilm\ndataset: {hub: coastalcph/lex_glue}\n", encoding="utf-8")
    assert main(["data", "check", str(space)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (f"error: {space}: dataset.hub: hub dataset 'coastalcph/lex_glue' needs network, and this machine "
                    "is offline (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE is set); save it with save_to_disk where there "
                    "is network and give that folder as path")


def test_the_options_a_space_sets_are_shown_with_what_the_search_reads(planted: dict, capsys) -> None:
    space = planted["space"]
    space.write_text(space.read_text().replace("  group_columns: group\n", "  group_columns: group\n  drop_duplicates: "
                                               "true\n  drop_leaked: true\n  redact_pii: true\n"), encoding="utf-8")
    code, out, _ = check([str(space)], capsys)
    # train: 2 exact copies dropped (rows 92 and 96), 2 leaked (rows 1 and 2); 7 texts redacted
    assert ("options on load: redact_pii 7, drop_duplicates 2, drop_leaked 2 (examples dropped or redacted); the "
            "search reads train 100, validation 64, test 61") in out
    assert code == 0 and not [s for s in SECRETS if s in out]
    assert "dataset.drop_leaked: true" not in out  # set already: no advice to set it


def test_a_data_file_that_is_not_there_is_not_taken_for_a_hub_id(tmp_path: Path, capsys) -> None:
    assert main(["data", "check", "data/tickets.jsonl"]) == 2
    assert capsys.readouterr().err.strip() == "error: data/tickets.jsonl: not found"


@pytest.mark.parametrize("name", ["legal", "healthcare", "engineering"])
def test_the_demo_datasets_pass_data_check_cleanly(name: str, capsys) -> None:
    """No duplicates, near duplicates, leakage, conflicting labels or personal data in the packaged
    demo sets; their validation splits are small, which the check says (a warning, not a failure)."""
    space = Path(__file__).resolve().parents[2] / "spaces" / f"{name}.yaml"
    code, out, err = check([str(space), "--fail-on", "duplicates,near_duplicates,leakage,conflicts,pii"], capsys)
    assert code == 0 and err == "" and out.rstrip().endswith("passed"), out
    assert "personal data: 0 example(s)" in out and "conflicting labels: 0 group(s)" in out
