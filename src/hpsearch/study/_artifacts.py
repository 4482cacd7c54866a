"""The trained adapters (or heads) of a study's trials, kept in Optuna's artifact store.

The store is a directory: ``$HPSEARCH_ARTIFACTS`` if set (a team points it at shared storage),
else beside a SQLite database (``hpsearch-artifacts/`` next to ``hpsearch.db``), else
``.hpsearch/artifacts`` under the working directory. The study records where (user attribute
``artifact_store``) and each trial what it keeps (``artifact``: id, kind, size), so export finds
them from the study alone. Only the driver writes here; workers send the pack with their result.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.study._faults import retrying

if TYPE_CHECKING:
    import optuna
    from optuna.artifacts import FileSystemArtifactStore
    from optuna.trial import FrozenTrial

STORE_ATTR = "artifact_store"
ARTIFACT_ATTR = "artifact"


def store_root(url: str) -> Path:
    """Where a study at database `url` keeps artifacts, unless the study already says."""
    if os.environ.get("HPSEARCH_ARTIFACTS"):
        return Path(os.environ["HPSEARCH_ARTIFACTS"]).expanduser().resolve()
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database).expanduser().resolve()
        return database.with_name(f"{database.stem}-artifacts")
    return Path(".hpsearch", "artifacts").resolve()


def open_store(study: "optuna.Study", url: str, *, create: bool = True) -> "FileSystemArtifactStore":
    """The study's artifact store, made (and recorded on the study) if it is new; with `create`
    False (reading), FileNotFoundError if it is not there."""
    from optuna.artifacts import FileSystemArtifactStore

    recorded = study.user_attrs.get(STORE_ATTR)
    root = Path(recorded) if recorded and not os.environ.get("HPSEARCH_ARTIFACTS") else store_root(url)
    if not create:
        if not root.is_dir():
            raise FileNotFoundError(f"{root} is not there")
        return FileSystemArtifactStore(str(root))
    root.mkdir(parents=True, exist_ok=True)
    if recorded != str(root):
        retrying(lambda: study.set_user_attr(STORE_ATTR, str(root)), "recording the artifact store")
    return FileSystemArtifactStore(str(root))


def keep(store: "FileSystemArtifactStore", trial: "optuna.Trial", kind: str, data: bytes) -> dict[str, Any]:
    """Upload a trial's pack (before the trial is told) and record it on the trial."""
    from optuna.artifacts import upload_artifact

    with tempfile.TemporaryDirectory(prefix="hpsearch-upload-") as tmp:
        path = Path(tmp) / f"trial-{trial.number}-{kind}.tar.gz"
        path.write_bytes(data)
        artifact_id = retrying(lambda: upload_artifact(artifact_store=store, file_path=str(path),
                                                       study_or_trial=trial, mimetype="application/gzip"),
                               f"keeping trial {trial.number}'s {kind}")
    record = {"id": artifact_id, "kind": kind, "bytes": len(data)}
    retrying(lambda: trial.set_user_attr(ARTIFACT_ATTR, record), f"recording trial {trial.number}'s {kind}")
    return record


def fetch(store: "FileSystemArtifactStore", trial: "FrozenTrial", into: Path) -> Path:
    """Download and unpack the trial's artifact into `into`; KeyError if the trial kept none."""
    from optuna.artifacts import download_artifact

    from hpsearch.trial._artifact import unpack_trained

    record = trial.user_attrs.get(ARTIFACT_ATTR)
    if not isinstance(record, dict):
        raise KeyError(f"trial {trial.number} kept none")
    with tempfile.TemporaryDirectory(prefix="hpsearch-download-") as tmp:
        path = Path(tmp) / "artifact.tar.gz"
        download_artifact(artifact_store=store, file_path=str(path), artifact_id=record["id"])
        return unpack_trained(path.read_bytes(), into)


REMOVED_ATTR = "artifacts_removed"


def keep_front_only(study: "optuna.Study", store: "FileSystemArtifactStore") -> list[int]:
    """Remove the artifacts of complete trials that are not on the honest front (``keep_artifacts:
    front``); the study lists the trials whose artifact is gone. Return their numbers."""
    from hpsearch.study._front import honest_front

    front = {t.number for t in honest_front(study).trials}
    removed = list(study.user_attrs.get(REMOVED_ATTR) or [])
    gone = []
    for trial in study.get_trials(deepcopy=False):
        record = trial.user_attrs.get(ARTIFACT_ATTR)
        if not isinstance(record, dict) or trial.number in front or trial.number in removed:
            continue
        if trial.state.is_finished():
            try:
                store.remove(record["id"])
            except Exception:  # noqa: BLE001 - already gone: nothing to keep
                pass
            gone.append(trial.number)
    if gone:
        retrying(lambda: study.set_user_attr(REMOVED_ATTR, sorted(removed + gone)), "recording removed artifacts")
    return gone
