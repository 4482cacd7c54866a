"""`hpsearch init`: a space written from the data, every value with its reason, that loads and validates.

Every test runs the command (`hpsearch.cli.main`) on small JSONL files and the packaged MiniLM
tokenizer (local, no network), as if on a machine without a GPU unless it says otherwise.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from hpsearch.cli import main
from hpsearch.plan import load_plan

from ..conftest import write_jsonl

WORDS = "the contract may be ended by either party with notice and all fees remain due".split()


def rows(counts: dict[str, int], words: int = 12, long_every: int = 0, seed: int = 0) -> list[dict]:
    """Labelled rows: `counts` per label; a group column `lang` (3 values), `region` that splits the
    rows as `lang` does, an id-like `source` (one value per row); every `long_every`-th text ~900 tokens."""
    rng = random.Random(seed)
    out = []
    for label, n in counts.items():
        for _ in range(n):
            i = len(out)
            size = 900 if long_every and i % long_every == 0 else words
            text = f"{label} " + " ".join(rng.choice(WORDS) for _ in range(size))
            lang = ["en", "de", "it"][i % 3]
            out.append({"text": text, "label": label, "lang": lang, "region": f"r-{lang}", "source": f"doc{i}"})
    rng.shuffle(out)
    return out


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def init(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    code = main(["init", *args])
    captured = capsys.readouterr()
    return code, captured.out, [line for line in captured.err.splitlines() if line.strip()]


def written(path: Path) -> tuple[dict, str]:
    """The YAML as data, and its comments as one line of prose (comments wrap)."""
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text), " ".join(line.split("# ", 1)[1] for line in text.splitlines() if "# " in line)


def test_imbalanced_long_grouped_data(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    data = write_jsonl(tmp_path / "data" / "clauses.jsonl", rows({"fair": 96, "ltd": 16, "j": 8}, long_every=4))
    out = tmp_path / "spaces" / "clauses.yaml"
    code, printed, errors = init([str(data), "--out", str(out)], capsys)
    assert (code, errors) == (0, [])
    space, text = written(out)
    assert space["name"] == "clauses"
    assert space["dataset"]["path"] == "../data/clauses.jsonl"  # relative to the space's folder
    assert space["dataset"]["validation_fraction"] == 0.25
    assert space["dataset"]["group_columns"] == ["lang"]  # not region (same split) nor source (id-like)
    assert "region splits the rows as lang does" in text and "source has 120 distinct values" in text
    assert "80% of rows are 'fair'; the rarest label 'j' has 8 rows (ratio 12:1)" in text
    params, fixed = space["params"], space["fixed"]
    assert params["class_weighting"] == {"type": "categorical", "choices": ["balanced", "sqrt"], "when": {"sampling": "none"}}
    assert params["sampling"]["choices"] == ["none", "balanced"]
    # no GPU here: windows of at most 256 tokens, the longer texts read from their start, or start and end;
    # chunks (2-3x the cost, read worst on two shared sets) are left out, and the space says why
    assert params["long_text"]["choices"] == ["head", "head_tail"] and "max_chunks" not in fixed
    assert "of texts are longer than the largest window (256 tokens)" in text
    assert "chunk_mean (windows averaged) is left out without a GPU: in docs/benchmarks.md it trained 2.2x" in text
    assert params["max_length"] == {"type": "categorical", "choices": [32, 128, 256]}  # p50 fits to p90, at most 3 and 256
    assert "at most 256 without a GPU" in text
    assert params["learning_rate"] == {"type": "float", "low": 3e-4, "high": 1.5e-3, "log": True}
    assert params["lora_alpha"] == {"type": "derived", "from": "lora_r", "times": 2}
    assert params["epochs"] == {"type": "int", "low": 3, "high": 4}
    assert fixed["method"] == "lora" and fixed["warmup_ratio"] == 0.1 and fixed["batch_size"] == 16
    assert space["baselines"] == ["linear_probe", "tfidf"]
    assert "max_train_examples" not in space["dataset"]  # 90 training rows
    # every value in params and fixed carries a comment, on its line or on the lines above it
    lines = out.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  ") and not line.startswith("  #") and lines.index("params:") < i:
            assert "#" in line or lines[i - 1].lstrip().startswith("#"), line

    objectives, _ = written(out.with_name("clauses.objectives.yaml"))
    assert [o["name"] for o in objectives["objectives"]] == ["macro_f1", "f1_gap", "latency_p50_ms"]
    search, _ = written(out.with_name("clauses.search.yaml"))
    assert search["trials"] == 12 and search["sampler"]["name"] == "gp_pool" and "gpus_per_trial" not in search
    assert search["max_concurrent_trials"] == 2  # as search/default.yaml, on a CPU
    plan = load_plan(out)
    assert plan.objectives.names() == ["macro_f1", "f1_gap", "latency_p50_ms"] and plan.search.trials == 12
    assert "ratio 12:1" in printed and f"wrote {out}" in printed
    assert "long_text [head, head_tail] (chunk_mean left out without a GPU: in docs/benchmarks.md" in printed
    assert main(["validate", str(out), str(out.with_name("clauses.search.yaml")),
                 str(out.with_name("clauses.objectives.yaml"))]) == 0
    # with a GPU the chunks are searched too, and the summary says what the readings cost side by side:
    # chunk_mean reads up to 2 windows of 512 (p90 / 512), head one of 32
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    gpu_out = tmp_path / "spaces" / "gpu.yaml"
    code, printed, errors = init([str(data), "--out", str(gpu_out)], capsys)
    assert (code, errors) == (0, [])
    space, text = written(gpu_out)
    assert space["params"]["long_text"]["choices"] == ["head", "head_tail", "chunk_mean"]
    assert space["fixed"]["max_chunks"] == 2 and "left out" not in text
    assert ("(a trial reading chunk_mean at 512 processes up to 32x the tokens per text of one reading the head "
            "at 32: up to 1024 against 32)") in printed


def test_balanced_short_data_without_groups(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "notes.jsonl", [
        {k: v for k, v in r.items() if k not in ("lang", "region")} for r in rows({"a": 40, "b": 40, "c": 40})])
    out = tmp_path / "notes.yaml"
    code, _, errors = init([str(data), "--out", str(out)], capsys)
    assert (code, errors) == (0, [])
    space, text = written(out)
    assert space["fixed"]["class_weighting"] == "none" and "sampling" not in space["params"]
    assert "(ratio 1.0:1): balanced, nothing to weight" in text
    assert space["fixed"]["long_text"] == "head" and "long_text" not in space["params"]
    assert "texts fit:" in text
    assert space["dataset"].get("group_columns") is None and "no group column found" in text
    objectives, _ = written(tmp_path / "notes.objectives.yaml")
    assert [o["name"] for o in objectives["objectives"]] == ["macro_f1", "latency_p50_ms"]
    load_plan(out)


def test_mild_imbalance_searches_mild_weighting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", rows({"a": 60, "b": 30}))
    assert init([str(data), "--out", str(tmp_path / "d.yaml")], capsys)[0] == 0
    space, text = written(tmp_path / "d.yaml")
    assert space["params"]["class_weighting"]["choices"] == ["none", "sqrt"] and "ratio 2.0:1" in text


def test_a_folder_of_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "tickets"
    folder.mkdir()
    for name, seed in (("train", 0), ("validation", 1), ("test", 2)):
        write_jsonl(folder / f"{name}.jsonl", rows({"bug": 30, "feature": 30}, seed=seed))
    out = tmp_path / "spaces" / "t.yaml"
    assert init([str(folder), "--out", str(out)], capsys)[0] == 0
    dataset = written(out)[0]["dataset"]
    assert (dataset["train"], dataset["validation"], dataset["test"]) == (
        "../tickets/train.jsonl", "../tickets/validation.jsonl", "../tickets/test.jsonl")
    assert "validation_fraction" not in dataset and "path" not in dataset
    load_plan(out)


def test_default_out_is_spaces_dataset_name(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(tmp_path / "legal tos.jsonl", rows({"a": 30, "b": 30}))
    monkeypatch.chdir(tmp_path)
    assert init(["legal tos.jsonl"], capsys)[0] == 0
    space = written(tmp_path / "spaces" / "legal-tos.yaml")[0]
    assert space["name"] == "legal-tos" and space["dataset"]["path"] == "../legal tos.jsonl"
    assert (tmp_path / "spaces" / "legal-tos.search.yaml").is_file()


def test_text_column_defaults_to_the_longest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"title": r["label"], "body": r["text"], "label": r["label"]}
                                               for r in rows({"a": 30, "b": 30})])
    assert init([str(data), "--out", str(tmp_path / "d.yaml")], capsys)[0] == 0
    space, text = written(tmp_path / "d.yaml")
    assert space["dataset"]["text_column"] == "body" and "the longest text column" in text


def test_cpu_caps_training_rows_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "big.jsonl", rows({"a": 2000, "b": 2000}, words=4))
    assert init([str(data), "--out", str(tmp_path / "big.yaml")], capsys)[0] == 0
    space, text = written(tmp_path / "big.yaml")
    assert space["dataset"]["max_train_examples"] == 2000
    # 800 held out for validation and 800 for test
    assert "no GPU here: each trial trains on 2,000 of the 2,400 training rows" in text
    assert "--max-train-examples" in text
    # under the evaluation cap
    assert "max_eval_examples" not in space["dataset"]
    assert init([str(data), "--out", str(tmp_path / "big.yaml"), "--force", "--max-train-examples", "500"],
                capsys)[0] == 0
    assert written(tmp_path / "big.yaml")[0]["dataset"]["max_train_examples"] == 500


def test_cpu_caps_a_large_validation_split_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", rows({"a": 200, "b": 200}, words=4))
    write_jsonl(folder / "validation.jsonl", rows({"a": 900, "b": 300}, words=4))
    assert init([str(folder), "--out", str(tmp_path / "v.yaml")], capsys)[0] == 0
    space, text = written(tmp_path / "v.yaml")
    assert space["dataset"]["max_eval_examples"] == 1000 and "max_train_examples" not in space["dataset"]
    assert "each trial's evaluation scores 1,000 of the 1,200 validation rows" in text
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU scores every row
    assert init([str(folder), "--out", str(tmp_path / "g.yaml")], capsys)[0] == 0
    assert "max_eval_examples" not in written(tmp_path / "g.yaml")[0]["dataset"]


def test_a_gpu_affords_more(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    data = write_jsonl(tmp_path / "big.jsonl", rows({"a": 1500, "b": 1500}, words=4))
    assert init([str(data), "--out", str(tmp_path / "big.yaml")], capsys)[0] == 0
    space, text = written(tmp_path / "big.yaml")
    assert "max_train_examples" not in space["dataset"] and space["params"]["epochs"]["high"] == 8
    preset = written(tmp_path / "big.search.yaml")[0]
    assert preset["gpus_per_trial"] == 1 and preset["max_concurrent_trials"] == 1


@pytest.mark.parametrize("method, low, high", [("full", 1e-5, 1e-4), ("head", 1e-3, 1e-2)])
def test_method_sets_the_learning_rates(tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str,
                                        low: float, high: float) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", rows({"a": 30, "b": 30}))
    assert init([str(data), "--out", str(tmp_path / "d.yaml"), "--method", method], capsys)[0] == 0
    space = written(tmp_path / "d.yaml")[0]
    assert space["params"]["learning_rate"]["low"] == low and space["params"]["learning_rate"]["high"] == high
    assert "lora_r" not in space["params"] and space["fixed"]["method"] == method
    load_plan(tmp_path / "d.yaml")


@pytest.mark.parametrize("args, key, message", [
    (["--text", "body"], "--text", "column 'body' is not in d.jsonl (columns: text, label, lang, region, source)"),
    (["--label", "kind"], "--label", "column 'kind' is not in d.jsonl (columns: text, label"),
    (["--group", "lang", "country"], "--group", "column 'country' is not in d.jsonl"),
    (["--max-train-examples", "0"], "--max-train-examples", "must be >= 1, got 0"),
    (["--model", "./no/such/model"], "--model", "model directory not found"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  args: list[str], key: str, message: str) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", rows({"a": 30, "b": 30}))
    code, _, errors = init([str(data), "--out", str(tmp_path / "out" / "d.yaml"), *args], capsys)
    assert code == 2 and len(errors) == 1, errors
    assert errors[0].startswith(f"error: {key}: ") and message in errors[0], errors[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, message", [
    ('{"text": "a", "label": "x"}\nnot json\n', "d.jsonl: line 2: not JSON"),
    ('{"body": "a", "label": "x"}\n{"body": "b", "label": "y"}\n', None),
])
def test_bad_data_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                              message: str | None) -> None:
    (tmp_path / "d.jsonl").write_text(content, encoding="utf-8")
    code, _, errors = init([str(tmp_path / "d.jsonl"), "--out", str(tmp_path / "d.yaml")], capsys)
    if message is None:  # two rows, one per label: read, but too few to split
        assert code == 2 and len(errors) == 1 and errors[0].startswith("error: DATA: dataset:"), errors
    else:
        assert code == 2 and errors == [f"error: DATA: {tmp_path / 'd.jsonl'}: line 2: not JSON (Expecting value)"]
    assert not (tmp_path / "d.yaml").exists()


def test_missing_label_column_and_missing_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "a", "kind": "x"}, {"text": "b", "kind": "y"}])
    code, _, errors = init([str(data), "--out", str(tmp_path / "d.yaml")], capsys)
    assert code == 2 and errors == ["error: --label: no column 'label' in d.jsonl; name the label column with "
                                    "--label (columns: text, kind)"]
    (tmp_path / "semi.csv").write_text("text;label\nan issue;bug\nanother;feature\n", encoding="utf-8")
    code, _, errors = init([str(tmp_path / "semi.csv"), "--out", str(tmp_path / "d.yaml")], capsys)
    assert code == 2 and errors == ["error: DATA: no column 'label' in semi.csv (columns: text;label); its header is "
                                    "one column holding ';': a .csv is read comma-separated and a .tsv tab-separated, "
                                    "so write it with commas"]
    code, _, errors = init([str(tmp_path / "nope"), "--out", str(tmp_path / "d.yaml")], capsys)
    assert code == 2 and errors == [f"error: DATA: not found: {tmp_path / 'nope'}"]
    (tmp_path / "empty").mkdir()
    code, _, errors = init([str(tmp_path / "empty"), "--out", str(tmp_path / "d.yaml")], capsys)
    assert code == 2 and len(errors) == 1 and "a folder needs a train.jsonl or train.csv" in errors[0]


def test_existing_out_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", rows({"a": 30, "b": 30}))
    out = tmp_path / "d.yaml"
    out.write_text("mine\n", encoding="utf-8")
    code, _, errors = init([str(data), "--out", str(out)], capsys)
    assert code == 2 and errors == [f"error: --out: {out} already exist(s); give --force to overwrite"]
    assert out.read_text(encoding="utf-8") == "mine\n" and not (tmp_path / "d.search.yaml").exists()
    (tmp_path / "d.objectives.yaml").write_text("theirs\n", encoding="utf-8")
    out.unlink()
    assert init([str(data), "--out", str(out)], capsys)[0] == 2  # a sibling it would write counts too
    assert init([str(data), "--out", str(out), "--force"], capsys)[0] == 0
    load_plan(out)


def test_a_local_model_named_from_here_is_written_from_the_space_s_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tiny_model_dir: Path) -> None:
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "models" / "tiny")
    write_jsonl(tmp_path / "d.jsonl", rows({"a": 30, "b": 30}))
    monkeypatch.chdir(tmp_path)
    assert init(["d.jsonl", "--model", "models/tiny", "--out", "spaces/d.yaml"], capsys)[0] == 0
    assert written(tmp_path / "spaces" / "d.yaml")[0]["model"] == "../models/tiny"
    monkeypatch.chdir(tmp_path / "models")  # anywhere: the space names its model as it names its data
    assert main(["validate", str(tmp_path / "spaces" / "d.yaml")]) == 0


def test_a_file_without_a_test_split_gets_one_held_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "one.jsonl", rows({"a": 60, "b": 50}, words=4))
    code, printed, _ = init([str(data), "--out", str(tmp_path / "one.yaml")], capsys)
    assert code == 0 and "no test file: 20% of one.jsonl held out as test, 20% as validation" in printed
    space, text = written(tmp_path / "one.yaml")
    assert space["dataset"]["test_fraction"] == 0.2 and space["dataset"]["validation_fraction"] == 0.2
    assert "validation chooses the front, test says how it holds" in text
    splits = load_plan(tmp_path / "one.yaml").splits()
    assert splits.test is not None and (len(splits.train), len(splits.validation), len(splits.test)) == (66, 22, 22)
    assert not set(splits.test.texts) & (set(splits.train.texts) | set(splits.validation.texts))
    # the rarest label would keep fewer than 10 test rows: no test split, and the space says what that costs
    few = write_jsonl(tmp_path / "few.jsonl", rows({"a": 60, "b": 45}, words=4))
    assert init([str(few), "--out", str(tmp_path / "few.yaml")], capsys)[0] == 0
    space, text = written(tmp_path / "few.yaml")
    assert "test_fraction" not in space["dataset"] and space["dataset"]["validation_fraction"] == 0.25
    assert "too few rows to hold one out (the rarest label has 45)" in text


def test_data_sharing_only_the_root_with_the_space_is_named_whole() -> None:
    from hpsearch.plan._init import _from_space

    assert _from_space(Path("/srv/data/x.jsonl"), Path("/home/me/spaces/x.yaml")) == "/srv/data/x.jsonl"
    assert _from_space(Path("/home/me/data/x.jsonl"), Path("/home/me/spaces/x.yaml")) == "../data/x.jsonl"
