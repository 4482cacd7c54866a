"""`hpsearch export`: a real study (tiny model, real Ray) picked by policy into a bundle whose files
instantiate the classes they name and whose adapter loads with peft."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from hpsearch.cli import main
from hpsearch.errors import UserError
from hpsearch.plan import load_plan

from ..conftest import toy_rows, write_jsonl

pytestmark = pytest.mark.integration

SPACE = """name: handoff
model: {model}
objectives: objectives.yaml
baselines: [tfidf]
dataset:
  path: {data}
  group_columns: group
  test_fraction: 0.2
params:
  learning_rate: {{type: float, low: 3.0e-3, high: 8.0e-3, log: true}}
  lora_r: {{type: categorical, choices: [4, 8]}}
fixed:
  epochs: 12
  batch_size: 16
  max_length: 16
"""

OBJECTIVES = """objectives:
  - {name: macro_f1, direction: maximize}
  - {name: f1_gap, direction: minimize}
  - {name: latency_p50_ms, direction: minimize}
collapse: {patience: 1000}
min_gain_over_trivial: 0.0
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("handoff")
    rows = toy_rows(240)
    for row in rows[::4]:  # a quarter of the labels wrong: no trial scores 1.0, so reproducing one means something
        row["label"] = {"bug": "feature", "feature": "question", "question": "bug"}[row["label"]]
    data = write_jsonl(root / "toy.jsonl", rows)
    (root / "objectives.yaml").write_text(OBJECTIVES, encoding="utf-8")
    space = root / "handoff.yaml"
    space.write_text(SPACE.format(model=tiny_model_dir, data=data), encoding="utf-8")
    url = f"sqlite:///{root / 'study.db'}"
    run = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(space), "--storage", url, "--trials", "2"],
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return url, root


def test_export_writes_a_bundle_whose_files_instantiate_and_whose_adapter_loads(study, tmp_path: Path) -> None:
    import peft
    import transformers
    import yaml

    url, _ = study
    out = tmp_path / "bundle"
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(out),
                 "--policy", "max macro_f1 where latency_p50_ms <= 10000"]) == 0
    trials = [t for t in optuna.load_study(study_name="handoff", storage=url).get_trials()
              if t.state.name == "COMPLETE" and not t.user_attrs.get("baseline")]
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    (picked,) = [t for t in trials if t.number == config["provenance"]["trial"]]
    assert picked.user_attrs["macro_f1"] == max(t.user_attrs["macro_f1"] for t in trials)
    assert config["config"] == picked.user_attrs["config"]
    assert set(config["provenance"]["versions"]) >= {"hpsearch", "torch", "transformers", "peft"}
    lora = peft.LoraConfig(**json.loads((out / "lora_config.json").read_text(encoding="utf-8")))
    assert lora.r == picked.params["lora_r"]
    args = transformers.TrainingArguments(**{**json.loads((out / "training_arguments.json").read_text()),
                                             "output_dir": str(tmp_path / "args")})
    assert args.learning_rate == pytest.approx(picked.params["learning_rate"])
    base = transformers.AutoModelForSequenceClassification.from_pretrained(
        config["model"], num_labels=len(config["labels"]), ignore_mismatched_sizes=True)
    model = peft.PeftModel.from_pretrained(base, str(out / "adapter"))
    assert isinstance(model, peft.PeftModel)
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "max macro_f1 where latency_p50_ms <= 10000" in card and "| tfidf |" in card
    assert not (out / "bitsandbytes_config.json").exists()
    # the data's card, from `hpsearch data check` when the study began, travels with the bundle
    study_attrs = optuna.load_study(study_name="handoff", storage=url).user_attrs
    data_card = (out / "DATASET_CARD.md").read_text(encoding="utf-8")
    # test_fraction: 48 of the 240 rows held out as test, 60 as validation (both shares of the file)
    assert data_card == study_attrs["dataset_card"] and "| train | 132 |" in data_card
    assert "`DATASET_CARD.md`" in card
    assert set(study_attrs["dataset_split_fingerprints"]) == {"train", "validation", "test"}
    # the test split's scores, the baseline's beside the picked trial's, as the run recorded them
    (baseline,) = [t for t in optuna.load_study(study_name="handoff", storage=url).get_trials()
                   if t.user_attrs.get("baseline") == "tfidf"]
    test = json.loads((out / "test_metrics.json").read_text(encoding="utf-8"))["metrics"]
    assert "| metric | this trial | tfidf |" in card
    assert (f"| macro_f1 | {test['macro_f1']:.4g} | {baseline.user_attrs['test/macro_f1']:.4g} |") in card
    assert all(t.user_attrs["dataset_fingerprint"] == study_attrs["dataset_fingerprint"] for t in trials)


def test_quantised_trials_carry_a_bitsandbytes_config_that_instantiates() -> None:
    import transformers

    from hpsearch.export._bundle import bitsandbytes_config

    for kind in ("int8", "nf4", "fp4"):
        transformers.BitsAndBytesConfig(**bitsandbytes_config({"quantization": kind}))
    assert bitsandbytes_config({"quantization": "none"}) is None


@pytest.mark.parametrize("policy, code, says", [
    ("max macro_f1 where latency_p50_ms <= 0.000001", 1, "latency_p50_ms <= 1e-06 excluded 2 of 2 trials"),
    ("max macro_f1 where latency_p50_ms is 3", 2, "expected an operator"),
    ("max test/macro_f1", 2, "validation metrics only"),
    ("max macro_f2", 2, "macro_f1"),
])
def test_a_policy_that_picks_nothing_or_is_wrong_says_so(study, tmp_path: Path, capsys, policy: str, code: int,
                                                         says: str) -> None:
    url, _ = study
    out = tmp_path / "bundle"
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(out), "--policy", policy]) == code
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".bundle-*"))  # nothing half-written


def test_export_refuses_a_full_directory_and_a_missing_adapter(study, tmp_path: Path, capsys) -> None:
    import shutil

    url, root = study
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("x")
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(full), "--policy", "max macro_f1"]) == 2
    assert "is not empty" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(blocker / "bundle"),
                 "--policy", "max macro_f1"]) == 2  # OUT cannot be written
    assert "cannot write to" in capsys.readouterr().err
    assert main(["export", "--study", "nope", "--storage", url, "--out", str(tmp_path / "c"),
                 "--policy", "max macro_f1"]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err
    store = Path(optuna.load_study(study_name="handoff", storage=url).user_attrs["artifact_store"])
    moved = tmp_path / "store"
    shutil.move(store, moved)
    try:
        assert main(["export", "--study", "handoff", "--storage", url, "--out", str(tmp_path / "b"),
                     "--policy", "max macro_f1"]) == 2
        assert "has no trained adapter in the artifact store" in capsys.readouterr().err
        assert not (tmp_path / "b").exists()
    finally:
        shutil.move(moved, store)


def test_train_reproduces_the_exported_trial_and_writes_adapter_merged_model_and_card(study, tmp_path: Path,
                                                                                      capfd) -> None:
    import transformers

    url, _ = study
    bundle = tmp_path / "bundle"
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(bundle), "--policy", "max macro_f1"]) == 0
    out = tmp_path / "retrained"
    capfd.readouterr()
    assert main(["train", str(bundle), "--out", str(out)]) == 0
    printed, errors = capfd.readouterr()
    # long work shows progress: each epoch as it ends, and no third-party loading bars
    assert "configuration on 132 train, 60 validation, 48 test; 3 labels" in printed
    assert "epoch 1/12: loss" in printed and "epoch 12/12: loss" in printed and ", then measuring" in printed
    assert "writing the adapter, the merged model and the card" in printed
    assert "Loading weights" not in printed + errors
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert f"; test macro_f1 {metrics['test']['macro_f1']:.4g}, f1_gap {metrics['test']['f1_gap']:.4g}" in printed
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert 0.3 < metrics["exported_validation"]["macro_f1"] < 0.95  # a score that could move
    assert abs(metrics["macro_f1_difference"]) <= 0.02, metrics  # same data, same seed, on a CPU
    assert metrics["validation"]["macro_f1"] == pytest.approx(metrics["exported_validation"]["macro_f1"], abs=0.02)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(out / "merged")
    assert model.config.id2label[0] == "bug"
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert "## Retrained" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_train_refuses_a_bundle_from_a_newer_hpsearch_and_a_missing_one(study, tmp_path: Path, capsys) -> None:
    import yaml

    url, _ = study
    bundle = tmp_path / "bundle"
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(bundle), "--policy", "max macro_f1"]) == 0
    config = yaml.safe_load((bundle / "config.yaml").read_text(encoding="utf-8"))
    config["hpsearch_bundle"] = 99
    (bundle / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["train", str(bundle), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("format 99 comes from a newer hpsearch; this one reads formats up to 1: upgrade hpsearch")
    assert main(["train", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")]) == 2
    assert "not an hpsearch bundle" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_confirm_reruns_the_top_trial_with_more_seeds_and_export_uses_the_means(study, tmp_path: Path) -> None:
    from hpsearch.study import honest_front

    url, root = study
    top = max((t for t in optuna.load_study(study_name="handoff", storage=url).get_trials()
               if t.state.name == "COMPLETE" and not t.user_attrs.get("baseline")),
              key=lambda t: (t.user_attrs["macro_f1"], -t.user_attrs["f1_gap"], -t.user_attrs["latency_p50_ms"],
                             -t.number))
    result = subprocess.run([sys.executable, "-m", "hpsearch", "confirm", "--study", "handoff", "--storage", url,
                             "--top", "2", "--seeds", "2", "--policy", "max macro_f1"],
                            cwd=root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    said = " ".join(result.stdout.split())  # rich wraps lines where stdout is not a terminal
    assert "queued configurations to confirm (nothing sampled)" in said and "sampler" not in said
    status = subprocess.run([sys.executable, "-m", "hpsearch", "status", "--study", "handoff", "--storage", url],
                            cwd=root, capture_output=True, text=True, timeout=120)
    said = " ".join(status.stdout.split())
    # the study's budget is the search's (2), not the confirmation's (4 trials: 2 seeds of the top 2)
    assert "2 complete of 2 (the last driver's budget)" in said and "4 of 4 confirmation trials complete" in said
    assert "(seed 1, confirming, trials 4)" in said, said
    study_ = optuna.load_study(study_name="handoff", storage=url)
    reruns = [t for t in study_.get_trials() if t.user_attrs.get("confirm_of") == top.number]
    assert [t.state.name for t in reruns] == ["COMPLETE", "COMPLETE"]
    base = top.user_attrs["config"]["seed"]
    assert sorted(t.user_attrs["config"]["seed"] for t in reruns) == [base + 1, base + 2]
    assert all(t.params == top.params for t in reruns)
    figures = study_.user_attrs["confirmed"][str(top.number)]
    values = [top.user_attrs["macro_f1"], *(t.user_attrs["macro_f1"] for t in reruns)]
    assert figures["macro_f1"]["n"] == 3 and figures["macro_f1"]["mean"] == pytest.approx(sum(values) / 3)
    assert not {t.number for t in reruns} & {t.number for t in honest_front(study_).trials}  # never on the front
    mean = f"trial {top.number}: macro_f1 {figures['macro_f1']['mean']:.4g} ± {figures['macro_f1']['std']:.2g} (n=3)"
    assert mean in result.stdout  # confirm says so, and so does the summary after it
    pareto = subprocess.run([sys.executable, "-m", "hpsearch", "pareto", "--study", "handoff", "--storage", url],
                            cwd=root, capture_output=True, text=True, timeout=120)
    assert "Confirmed over seeds (hpsearch confirm; export picks on these means):" in pareto.stdout
    assert mean in pareto.stdout
    assert main(["report", "--study", "handoff", "--storage", url, "--out", str(tmp_path / "report")]) == 0
    html = (tmp_path / "report" / "handoff.html").read_text(encoding="utf-8")
    assert f"<li>{mean}" in html and "6 fine-tuned (4 of them seed re-runs by hpsearch confirm)" in html
    out = tmp_path / "bundle"
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(out), "--policy", "max macro_f1"]) == 0
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "Confirmed over seeds" in card  # both trials confirmed: the pick, on their means, has figures
    assert len(study_.user_attrs["confirmed"]) == 2


def test_a_retrain_on_data_too_small_to_compare_groups_is_not_refused(study, tmp_path: Path) -> None:
    """A search refuses a validation split whose groups are too small for f1_gap (every trial would fail);
    a retrain on such data trains and reports the measures it can (`check_data_fits(gaps=False)`)."""
    import yaml

    from hpsearch.export._train import _plan

    url, _ = study
    bundle = tmp_path / "bundle"
    assert main(["export", "--study", "handoff", "--storage", url, "--out", str(bundle), "--policy", "max macro_f1"]) == 0
    rows = [{**row, "group": "b" if i % 10 == 0 else "a"} for i, row in enumerate(toy_rows(60))]
    small = write_jsonl(tmp_path / "small.jsonl", rows)  # 6 of 60 in group b: fewer than 5 in validation
    data = yaml.safe_load((bundle / "config.yaml").read_text(encoding="utf-8"))
    plan = _plan(bundle, data, str(small))
    assert plan.splits().validation.groups["group"].count("b") < 5
    space = tmp_path / "s.yaml"
    space.write_text(f"name: s\ndataset: {{path: {small}, group_columns: group}}\n", encoding="utf-8")
    with pytest.raises(UserError, match="compares the groups of 'group' with at least 5 validation examples"):
        load_plan(space)
