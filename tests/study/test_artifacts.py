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


def test_a_team_keeps_artifacts_in_an_s3_bucket(tmp_path: Path, monkeypatch) -> None:
    import boto3
    from moto import mock_aws

    from hpsearch.study._artifacts import STORE_ATTR, fetch, keep

    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HPSEARCH_ARTIFACTS", "s3://team-adapters")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="team-adapters")
        study = optuna.create_study(study_name="s", storage=url, directions=["maximize"])
        store = open_store(study, url)
        assert study.user_attrs[STORE_ATTR] == "s3://team-adapters"
        trial = study.ask()
        import io
        import tarfile

        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo("adapter_config.json")
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
        record = keep(store, trial, "lora_adapter", buffer.getvalue())
        study.tell(trial, [0.5])
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="team-adapters")["Contents"]]
        assert keys == [record["id"]]
        monkeypatch.delenv("HPSEARCH_ARTIFACTS")  # a reader finds the bucket from the study alone
        got = fetch(open_store(study, url, create=False), study.get_trials()[0], tmp_path / "adapter")
        assert (got / "adapter_config.json").read_text() == "{}"


def test_a_bucket_with_a_prefix_is_refused_in_one_line(monkeypatch) -> None:
    from hpsearch.errors import UserError
    from hpsearch.study._artifacts import check_setting

    monkeypatch.setenv("HPSEARCH_ARTIFACTS", "s3://team/adapters/legal")
    with pytest.raises(UserError, match=r"\$HPSEARCH_ARTIFACTS: 's3://team/adapters/legal': Optuna's s3 store "
                                        r"keeps artifacts at the top of a bucket; give s3://BUCKET"):
        check_setting()
