"""A space whose data is a Parquet file, and one whose data is a folder `save_to_disk` wrote (a
DatasetDict with its own train and validation splits), each run end to end: Ray Tune + Optuna, a
tiny random model, one trial. The study stores the dataset card and per-split fingerprints, every
trial the fingerprint; a second run on changed data is refused naming the split, and nothing is
written."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from hpsearch.cli import main

from ..conftest import toy_rows

pytestmark = pytest.mark.integration

SPACE = """name: {name}
model: {model}
baselines: []
objectives: objectives.yaml
dataset:
  path: {data}
  group_columns: group
fixed:
  epochs: 1
  batch_size: 16
  max_length: 16
  learning_rate: 5.0e-3
"""

OBJECTIVES = """objectives:
  - {name: macro_f1, direction: maximize}
  - {name: f1_gap, direction: minimize}
collapse: {patience: 1000}
min_gain_over_trivial: 0.0
"""


@pytest.fixture(scope="module")
def ray_session():
    import ray

    yield
    ray.shutdown()


def test_parquet_and_save_to_disk_spaces_run_end_to_end(ray_session: None, tmp_path: Path, tiny_model_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import datasets

    rows = toy_rows(120)
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "toy.parquet"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:90]),
                          "validation": datasets.Dataset.from_list(rows[90:])}).save_to_disk(str(tmp_path / "saved"))
    (tmp_path / "objectives.yaml").write_text(OBJECTIVES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'hpsearch.db'}"
    for name, data, sizes in (("parquet", "toy.parquet", (90, 30)), ("saved", "saved", (90, 30))):
        space = tmp_path / f"{name}.yaml"
        space.write_text(SPACE.format(name=name, model=tiny_model_dir, data=data), encoding="utf-8")
        assert main(["run", str(space), "--storage", url, "--trials", "1"]) == 0, capsys.readouterr()
        study = optuna.load_study(study_name=name, storage=url)
        (trial,) = study.get_trials()
        assert trial.state == optuna.trial.TrialState.COMPLETE, trial.user_attrs.get("fail_reason")
        assert study.user_attrs["dataset"].startswith(f"{sizes[0]} train, {sizes[1]} validation")
        assert trial.user_attrs["dataset_fingerprint"] == study.user_attrs["dataset_fingerprint"]
        assert set(study.user_attrs["dataset_split_fingerprints"]) == {"train", "validation"}
        assert f"| train | {sizes[0]} |" in study.user_attrs["dataset_card"]

    # the saved folder's validation split changes: the study refuses, naming it, and writes nothing
    changed = [dict(r) for r in rows[90:]]
    changed[0]["label"] = "bug" if changed[0]["label"] != "bug" else "feature"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:90]),
                          "validation": datasets.Dataset.from_list(changed)}).save_to_disk(str(tmp_path / "saved2"))
    space = tmp_path / "saved.yaml"
    space.write_text(SPACE.format(name="saved", model=tiny_model_dir, data="saved2"), encoding="utf-8")
    before = optuna.load_study(study_name="saved", storage=url)
    capsys.readouterr()  # datasets' progress bars of save_to_disk
    assert main(["run", str(space), "--storage", url, "--trials", "2"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    line = err.strip()
    assert line.startswith("error: --study: study 'saved' holds another search (dataset fingerprint ")
    assert "split 'validation' changed" in line and "'train'" not in line
    after = optuna.load_study(study_name="saved", storage=url)
    assert len(after.get_trials()) == 1 and after.user_attrs == before.user_attrs
    # told to start a new study, it does, and the same command finds it again
    assert main(["run", str(space), "--storage", url, "--trials", "1", "--new-study"]) == 0
    assert "Study 'saved' holds another search: running study 'saved-2'" in capsys.readouterr().out
    assert main(["run", str(space), "--storage", url, "--trials", "1", "--new-study"]) == 0
    (trial,) = optuna.load_study(study_name="saved-2", storage=url).get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
