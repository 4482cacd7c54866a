"""The trained adapters (or heads) of a study's trials, kept in Optuna's artifact store.

The store is ``$HPSEARCH_ARTIFACTS`` if set — a directory on shared storage, or a bucket of one of
Optuna's object stores for a team (``s3://BUCKET``: ``Boto3ArtifactStore``, needs boto3 and the
usual AWS settings; ``gs://BUCKET``: ``GCSArtifactStore``, needs google-cloud-storage) — else a
directory beside a SQLite database (``hpsearch-artifacts/`` next to ``hpsearch.db``), else
``.hpsearch/artifacts`` under the working directory. The study records where (user attribute
``artifact_store``) and each trial what it keeps (``artifact``: id, kind, size), so export finds
them from the study alone. Only the driver writes here; workers send the pack with their result.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError
from hpsearch.study._faults import retrying

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

STORE_ATTR = "artifact_store"
ARTIFACT_ATTR = "artifact"


def store_root(url: str) -> Path:
    """The directory a study at database `url` keeps artifacts in, unless the study already says."""
    if os.environ.get("HPSEARCH_ARTIFACTS"):
        return Path(os.environ["HPSEARCH_ARTIFACTS"]).expanduser().resolve()
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database).expanduser().resolve()
        return database.with_name(f"{database.stem}-artifacts")
    return Path(".hpsearch", "artifacts").resolve()


_BUCKETS = ("s3://", "gs://")


def _bucket_store(location: str) -> Any:
    """Optuna's store for ``s3://BUCKET`` or ``gs://BUCKET``; UserError for anything it cannot be."""
    scheme, _, rest = location.partition("://")
    bucket, slash, prefix = rest.partition("/")
    if not bucket or prefix.strip("/"):
        raise UserError(Problem("$HPSEARCH_ARTIFACTS", "", f"{location!r}: Optuna's {scheme} store keeps artifacts "
                                f"at the top of a bucket; give {scheme}://BUCKET"))
    try:
        if scheme == "s3":
            from optuna.artifacts import Boto3ArtifactStore

            return Boto3ArtifactStore(bucket)
        from optuna.artifacts import GCSArtifactStore

        return GCSArtifactStore(bucket)
    except ImportError as exc:
        package = "boto3" if scheme == "s3" else "google-cloud-storage"
        raise UserError(Problem("$HPSEARCH_ARTIFACTS", "", f"{location!r} needs the package {package} "
                                f"(pip install {package}): {exc}")) from None


def check_setting() -> None:
    """A bucket in ``$HPSEARCH_ARTIFACTS`` that cannot be a store: UserError before anything is written."""
    wanted = os.environ.get("HPSEARCH_ARTIFACTS", "")
    if wanted.startswith(_BUCKETS):
        _bucket_store(wanted)


def open_store(study: "optuna.Study", url: str, *, create: bool = True) -> Any:
    """The study's artifact store, made (and recorded on the study) if it is new; with `create`
    False (reading), FileNotFoundError if a directory store is not there."""
    from optuna.artifacts import FileSystemArtifactStore

    recorded = study.user_attrs.get(STORE_ATTR)
    wanted = os.environ.get("HPSEARCH_ARTIFACTS", "")
    if wanted.startswith(_BUCKETS) or (not wanted and str(recorded or "").startswith(_BUCKETS)):
        location = wanted or str(recorded)
        store = _bucket_store(location)
    else:
        root = Path(recorded) if recorded and not wanted else store_root(url)
        if not create:
            if not root.is_dir():
                raise FileNotFoundError(f"{root} is not there")
            return FileSystemArtifactStore(str(root))
        root.mkdir(parents=True, exist_ok=True)
        location, store = str(root), FileSystemArtifactStore(str(root))
    if create and recorded != location:
        retrying(lambda: study.set_user_attr(STORE_ATTR, location), "recording the artifact store")
    return store


def keep(store: Any, trial: "optuna.Trial", kind: str, data: bytes) -> dict[str, Any]:
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


def fetch(store: Any, trial: "FrozenTrial", into: Path) -> Path:
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


def keep_front_only(study: "optuna.Study", store: Any) -> list[int]:
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
