"""The study's artifact store: where it lives, and keeping only the front's adapters."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.artifacts import upload_artifact
from optuna.artifacts.exceptions import ArtifactNotFound

from hpsearch.study._artifacts import REMOVED_ATTR, keep_front_only, open_store, store_root


def test_the_store_sits_beside_a_sqlite_database_unless_the_environment_says(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HPSEARCH_ARTIFACTS", raising=False)
    assert store_root(f"sqlite:///{tmp_path / 'team.db'}") == tmp_path / "team-artifacts"
    monkeypatch.setenv("HPSEARCH_ARTIFACTS", str(tmp_path / "shared"))
    assert store_root("postgresql://u:pw@db/x") == tmp_path / "shared"


def test_keep_front_only_removes_the_adapters_of_trials_off_the_front(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HPSEARCH_ARTIFACTS", raising=False)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="s", storage=url, directions=["maximize"])
    study.set_metric_names(["macro_f1"])
    store = open_store(study, url)
    ids = []
    for number, f1 in enumerate([0.5, 0.7, 0.6]):
        path = tmp_path / f"a{number}.tar.gz"
        path.write_bytes(b"adapter %d" % number)
        artifact_id = upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study)
        ids.append(artifact_id)
        study.add_trial(optuna.trial.create_trial(values=[f1], user_attrs={
            "macro_f1": f1, "artifact": {"id": artifact_id, "kind": "lora_adapter", "bytes": 9}}))
    assert keep_front_only(study, store) == [0, 2]
    assert store.open_reader(ids[1]).read() == b"adapter 1"
    for gone in (ids[0], ids[2]):
        with pytest.raises(ArtifactNotFound):
            store.open_reader(gone)
    assert study.user_attrs[REMOVED_ATTR] == [0, 2]
    assert keep_front_only(study, store) == []  # nothing twice
