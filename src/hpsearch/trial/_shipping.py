"""What a driver sends its trials' workers, through Ray's object store: the dataset's splits and
the model, never the driver's file paths, which another node does not have.

A local model directory travels as its files' bytes (the whole directory goes into the object
store once, so a model of a few GB costs that much memory on each node that runs a trial); the
packaged model and hub ids travel by name, since every node has the same environment
(``setup.sh``), a hub id with the commit the driver found, which every node loads. On the worker
:func:`unpack` checks the data against the study's fingerprint and writes the model's files once
per node.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hpsearch.data import Split, Splits
from hpsearch.errors import UserError
from hpsearch.plan import Plan
from hpsearch.space import PACKAGED, commit_snapshot, hub_commit, resolve_model
from hpsearch.trial._worker import TrialFailed

#: Where a worker node keeps the model directories it was sent, one folder per content digest
#: (per user: another user's folder there is not ours to write).
MODEL_CACHE = Path(tempfile.gettempdir()) / f"hpsearch-models-{os.getuid()}"


@dataclass
class Shipment:
    """The data and the model of a plan, as a worker on any node receives them."""

    splits: Splits
    #: :func:`content_fingerprint` of `splits`: what the worker checks its copy against.
    content_fingerprint: str
    #: The space's ``model:`` as given (a packaged name, a hub id or a local directory).
    model_ref: str
    #: A local model directory's files (relative POSIX path -> bytes); None: `model_ref` goes by name.
    model_files: dict[str, bytes] | None
    #: sha256 of `model_files` (names and bytes): the folder a node caches them in.
    model_digest: str | None = None
    #: A hub id's commit, as the driver resolved it (``space.hub_commit``): what its trials record.
    model_commit: str | None = None

    @property
    def model_bytes(self) -> int:
        return sum(map(len, (self.model_files or {}).values()))

    def describe(self) -> str:
        by_name = f"by name, commit {self.model_commit}" if self.model_commit else "by name"
        model = (f"{self.model_ref} ({len(self.model_files)} files, {self.model_bytes / 2**20:.1f} MB)"
                 if self.model_files is not None else f"{self.model_ref} ({by_name})")
        return f"data {self.splits.describe()} (fingerprint {self.content_fingerprint}); model {model}"


def ship(plan: Plan) -> Shipment:
    """On the driver: read the plan's data and pack its model for the workers."""
    splits = plan.splits()
    ref = plan.space.model
    resolved = plan.model_path()
    files = None if ref in PACKAGED or not Path(resolved).is_dir() else _pack(Path(resolved))
    return Shipment(splits, content_fingerprint(splits), ref, files, None if files is None else _digest(files),
                    hub_commit(ref, resolved, plan.base_dir))


def content_fingerprint(splits: Splits) -> str:
    """sha256 of what a trial learns from and is measured on: texts, labels, groups, label names.

    Like ``Splits.fingerprint`` it is of the content, but of the labels as encoded and without the
    section's options, so a worker can recompute it from the splits it received alone.
    """

    def split(s: Split | None) -> object:
        return None if s is None else {"texts": s.texts, "labels": s.labels, "groups": s.groups}

    content = {"train": split(splits.train), "validation": split(splits.validation), "test": split(splits.test),
               "label_names": splits.label_names, "group_columns": splits.group_columns}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def unpack(shipment: Shipment, expected_fingerprint: str) -> tuple[Splits, str]:
    """On a worker: the splits, checked against the study's fingerprint, and a model path of this node.

    Raise TrialFailed when the data differs from the study's or the model cannot be found here.
    """
    host = socket.gethostname()
    found = content_fingerprint(shipment.splits)
    if found != expected_fingerprint:
        raise TrialFailed(f"the worker on {host} sees different data than the study "
                          f"(fingerprint {found}, study has {expected_fingerprint})")
    if shipment.model_files is None:
        return shipment.splits, _by_name(shipment, host)
    digest = shipment.model_digest or _digest(shipment.model_files)
    return shipment.splits, str(_unpack_model(shipment.model_files, digest))


def _by_name(shipment: Shipment, host: str) -> str:
    """A model that travels by name, as this node loads it. A hub id loads the commit the driver found
    (``Shipment.model_commit``, what the study's trials record), whatever this node's cache or the hub
    calls ``main`` now, so every node trains the same weights: from this node's cache where it holds
    that commit, else fetched from the hub at that commit (``space.commit_snapshot``); a node that
    cannot have it (offline, the hub down or without it) fails the trial in one line saying how to
    fetch it."""
    ref, commit = shipment.model_ref, shipment.model_commit
    if commit is None:
        try:
            return resolve_model(ref)
        except UserError as exc:
            raise TrialFailed(f"the worker on {host}: {exc}") from None
    try:
        return commit_snapshot(ref, commit)
    except LookupError as exc:
        raise TrialFailed(f"the worker on {host}: cannot load {ref!r} at commit {commit} (the driver's, which every "
                          f"trial of the study loads): {exc}") from None


def _pack(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:24]


def _unpack_model(files: dict[str, bytes], digest: str) -> Path:
    """Write the files once per node: into a scratch folder, then renamed into place, so that a
    folder under its digest is always whole, whichever of a node's workers wrote it."""
    target = MODEL_CACHE / digest
    if target.is_dir():
        return target
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=MODEL_CACHE))
    try:
        for name, data in files.items():
            path = scratch / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.rename(scratch, target)
    except OSError:
        if not target.is_dir():  # not another worker's rename that came first
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
