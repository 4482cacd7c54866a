"""The study database: any SQLAlchemy URL Optuna's RDB storage takes; passwords never shown."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.errors import Problem, UserError

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial
    from sqlalchemy.engine import URL

DEFAULT_STORAGE = "sqlite:///hpsearch.db"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, for logs, reports and errors."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


def scrub(text: str, url: str) -> str:
    """Remove the password of `url` from any text (error messages of drivers, say)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    text = text.replace(url, mask_url(url))
    if password:
        text = text.replace(str(password), "***")
    return text


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_storage(url: str, source: str = "--storage", *, existing: bool = False) -> "optuna.storages.RDBStorage":
    """Connect to the study database (creating Optuna's tables); raise UserError if we cannot.

    With `existing` (the commands that only read a study), a SQLite file that is not there is an
    error rather than a new empty database left behind. A server in the middle of a restart is
    waited for; a SQLite database is switched to WAL, so several local drivers
    and readers share it.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise UserError(Problem(source, "", f"not a database URL: {mask_url(url)!r} "
                                "(e.g. sqlite:///hpsearch.db or postgresql://user@host/db)")) from None
    if parsed.get_backend_name() == "sqlite" and (parsed.database in (None, "", ":memory:")
                                                  or parsed.query.get("mode") == "memory"):
        shown = url if parsed.password is None else mask_url(url)
        raise UserError(Problem(source, "", f"{shown} is an in-memory SQLite database, which keeps "
                                "nothing once the command ends: name a file, e.g. sqlite:///hpsearch.db"))
    file = sqlite_file(url)
    if file is not None:
        if not file.resolve().parent.is_dir():
            raise UserError(Problem(source, "", f"directory does not exist for {mask_url(url)}"))
        if existing and not file.is_file():
            raise UserError(Problem(source, "", f"no study database at {mask_url(url)}; run `hpsearch run` "
                                    "first, or give --storage (or $HPSEARCH_STORAGE)"))
    _check_driver(parsed, url, source)
    import optuna

    from hpsearch.study._faults import is_restarting, retrying

    def connect() -> "optuna.storages.RDBStorage":
        storage = optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(parsed.get_backend_name()))
        if parsed.get_backend_name() == "sqlite":
            _use_wal(storage)
        return storage

    try:
        if existing:  # the reading commands answer at once
            return connect()
        # a server in the middle of a restart is waited for; one that refuses is a wrong URL
        return retrying(connect, f"opening {mask_url(url)}", deadline_s=60, retry_if=is_restarting)
    except Exception as exc:  # noqa: BLE001 - any driver error is the user's URL or server
        raise UserError(Problem(source, "", f"cannot open {mask_url(url)}: {scrub(first_line(exc), url)}")) from None


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite database URL names; None for another database, an in-memory SQLite database or
    something that is not a database URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:") \
            or parsed.query.get("mode") == "memory":
        return None
    return Path(parsed.database).expanduser()


def _check_driver(parsed: "URL", url: str, source: str) -> None:
    """UserError where the URL's database driver is not installed: SQLAlchemy's own message ("Please
    install appropriate one") names neither the module nor what hpsearch ships with."""
    try:
        dialect = parsed.get_dialect()
    except Exception:  # noqa: BLE001 - an unknown scheme: connecting says so
        return
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        module = exc.name or parsed.drivername
        raise UserError(Problem(source, "", f"cannot open {mask_url(url)}: its driver, the Python module "
                                f"{module!r}, is not installed (hpsearch installs the drivers of sqlite:// and "
                                "postgresql://; pip install another into its environment)")) from None


def _use_wal(storage: "optuna.storages.RDBStorage") -> None:
    """Write-ahead logging: readers never block the writer, and a busy database waits (the engine's
    timeout) rather than failing."""
    from sqlalchemy import text

    with storage.engine.connect() as connection:
        connection.execute(text("PRAGMA journal_mode=WAL"))


def _engine_kwargs(backend: str) -> dict[str, object]:
    if backend == "sqlite":
        return {"connect_args": {"timeout": 60}}
    return {"pool_pre_ping": True}


#: Optuna RDB schema revisions whose ``trials``, ``trial_params``, ``trial_values``,
#: ``trial_user_attributes`` and ``trial_system_attributes`` tables :func:`write_user_attrs`,
#: :func:`write_claim` and :func:`finish_trial` write to directly (tested in tests/study/test_storage.py).
#: Any other revision takes Optuna's own one-transaction-per-write path.
BATCHED_SCHEMA_REVISIONS = frozenset({"v3.2.0.a"})
_revisions: "weakref.WeakKeyDictionary[Any, str | None]" = weakref.WeakKeyDictionary()


def write_user_attrs(storage: Any, trial_id: int, attrs: Mapping[str, Any]) -> None:
    """Set every user attribute of a running trial at once: one transaction, not one per key.

    A trial records 100-300 metrics and attributes; Optuna's public API writes each in its own
    transaction (a read of the trial, an upsert and a commit). On an Optuna ``RDBStorage`` whose
    schema revision is in :data:`BATCHED_SCHEMA_REVISIONS` (SQLite or PostgreSQL), the rows go in
    with one multi-row upsert into the table Optuna reads them from, after the same check Optuna
    makes (the trial is not finished). Anything else — another schema, another database, another
    storage — is written key by key through Optuna's ``set_trial_user_attr``. Readers see the same
    ``user_attrs`` either way.
    """
    import optuna

    if not attrs:
        return
    if not _batchable(storage):
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        return
    from sqlalchemy import text

    with storage.engine.begin() as connection:  # one transaction: committed whole, or rolled back
        state = connection.execute(text("SELECT state FROM trials WHERE trial_id = :id"), {"id": trial_id}).scalar()
        if state is None:
            raise KeyError(f"no trial with trial_id {trial_id}")
        if str(state).rsplit(".", 1)[-1] not in ("RUNNING", "WAITING"):
            raise optuna.exceptions.UpdateFinishedTrialError(
                f"trial with trial_id {trial_id} is {state} and can no longer be updated")
        _upsert_user_attrs(connection, trial_id, attrs)


def _upsert_user_attrs(connection: Any, trial_id: int, attrs: Mapping[str, Any]) -> None:
    """Set the user attributes `attrs` of a trial within the transaction of `connection` (one multi-row upsert)."""
    import json

    from sqlalchemy import text

    if attrs:
        connection.execute(text(
            "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (:trial_id, :key, :value_json) "
            "ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json"),
            [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()])


def _batchable(storage: Any) -> bool:
    import sqlite3

    import optuna

    if not isinstance(storage, optuna.storages.RDBStorage):
        return False
    backend = storage.engine.name
    if backend not in ("sqlite", "postgresql") or (backend == "sqlite" and sqlite3.sqlite_version_info < (3, 24, 0)):
        return False  # no INSERT … ON CONFLICT
    if storage not in _revisions:
        try:
            _revisions[storage] = storage.get_current_version()
        except Exception:  # noqa: BLE001 - no revision to trust: Optuna's own path
            _revisions[storage] = None
    return _revisions[storage] in BATCHED_SCHEMA_REVISIONS


class HeldParams:
    """Optuna's storage as one trial's sampling sees it: the parameters that trial's suggestions write
    are held here (their distributions checked against the study's, as Optuna checks them), for
    :func:`write_claim` to write with the claim's attributes in one transaction; every other call goes
    through to the storage.

    ``optuna.Trial`` writes a suggested parameter through its ``storage`` (``Trial.suggest_*`` ends in
    ``trial.storage.set_trial_param``, after the sampler's calls); :func:`params_held` puts this there
    for the length of a proposal, so the values are Optuna's own: the same sampler calls in the same
    order, fixed, enqueued and conditional parameters alike (pinned in tests/study/test_storage.py).
    """

    def __init__(self, storage: Any, trial_id: int, known: Mapping[str, "BaseDistribution"]) -> None:
        self.storage = storage
        self.trial_id = trial_id
        self.known = dict(known)
        #: name -> (Optuna's internal value, distribution), in the order suggested
        self.params: dict[str, tuple[float, "BaseDistribution"]] = {}

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float,
                        distribution: "BaseDistribution") -> None:
        from optuna.distributions import check_distribution_compatibility

        if trial_id != self.trial_id:
            self.storage.set_trial_param(trial_id, param_name, param_value_internal, distribution)
            return
        if param_name in self.known:  # what Optuna's RDB storage checks before it writes one
            check_distribution_compatibility(self.known[param_name], distribution)
        self.params[param_name] = (param_value_internal, distribution)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


@contextmanager
def params_held(trial: "optuna.Trial", storage: Any, trial_id: int,
                trials: Sequence["FrozenTrial"]) -> Iterator[dict[str, tuple[float, "BaseDistribution"]]]:
    """Hold the parameters `trial` is given within the block (:class:`HeldParams`) in the dict it yields,
    where `storage` allows :func:`write_claim` to write them at once; elsewhere Optuna writes each as
    it is suggested and the dict stays empty. `trials`: the study's trials, just read, whose
    distributions a parameter must be compatible with."""
    import optuna

    through = getattr(trial, "storage", None)
    if not _batchable(storage) or not isinstance(through, optuna.storages.BaseStorage):
        yield {}
        return
    held = HeldParams(through, trial_id, {n: d for t in reversed(trials) for n, d in t.distributions.items()})
    trial.storage = held  # type: ignore[assignment]
    try:
        yield held.params
    finally:
        trial.storage = through


def write_claim(storage: Any, trial_id: int, params: Mapping[str, tuple[float, "BaseDistribution"]],
                attrs: Mapping[str, Any]) -> None:
    """A claimed trial's parameters (Optuna's internal value and distribution of each, as
    :class:`HeldParams` holds them) and user attributes, in one transaction: a trial is never seen
    with some of its parameters. On any other storage than Optuna's RDB schema at a pinned revision
    (:data:`BATCHED_SCHEMA_REVISIONS`), one write each through Optuna. A trial that is no longer running raises Optuna's ``UpdateFinishedTrialError``.
    """
    import optuna
    from optuna.distributions import distribution_to_json
    from optuna.trial import TrialState
    from sqlalchemy import text

    if not params or not _batchable(storage):
        for name, (value, distribution) in params.items():
            storage.set_trial_param(trial_id, name, value, distribution)
        write_user_attrs(storage, trial_id, attrs)
        return
    with storage.engine.begin() as connection:  # one transaction: committed whole, or rolled back
        # a write first (SQLite takes its write lock at once; PostgreSQL locks the trial's row) that
        # changes nothing: the check Optuna makes before a write, that the trial still runs
        running = connection.execute(
            text("UPDATE trials SET state = state WHERE trial_id = :id AND state IN (:running, :waiting)"),
            {"id": trial_id, "running": TrialState.RUNNING.name, "waiting": TrialState.WAITING.name})
        if running.rowcount != 1:
            _not_writable(connection, trial_id)
        # in the order suggested (Optuna reads a trial's parameters in the order of their rows); a
        # retried write whose first try was committed finds them there
        connection.execute(text(
            "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
            "VALUES (:trial_id, :name, :value, :distribution) ON CONFLICT (trial_id, param_name) DO NOTHING"),
            [{"trial_id": trial_id, "name": name, "value": float(value), "distribution": distribution_to_json(d)}
             for name, (value, d) in params.items()])
        _upsert_user_attrs(connection, trial_id, attrs)


def _not_writable(connection: Any, trial_id: int) -> None:
    """Raise what Optuna raises for a write to a trial that is gone (KeyError) or no longer running."""
    import optuna
    from sqlalchemy import text

    found = connection.execute(text("SELECT state FROM trials WHERE trial_id = :id"), {"id": trial_id}).scalar()
    if found is None:
        raise KeyError(f"no trial with trial_id {trial_id}")
    raise optuna.exceptions.UpdateFinishedTrialError(
        f"trial with trial_id {trial_id} is {found} and can no longer be updated")


#: How Optuna stores a trial's constraint (``Trial.set_constraint``) among its system attributes, on the
#: schema revisions of :data:`BATCHED_SCHEMA_REVISIONS` (tested in tests/study/test_storage.py).
CONSTRAINT_PREFIX = "constraints:"


def can_finish_at_once(storage: Any) -> bool:
    """Whether :func:`finish_trial` may write to `storage` (Optuna's RDB schema at a pinned revision)."""
    return _batchable(storage)


def finish_trial(storage: Any, trial_id: int, state: "optuna.trial.TrialState", values: Sequence[float] | None,
                 attrs: Mapping[str, Any], constraints: Mapping[str, float]) -> None:
    """Finish a running trial in one transaction: its user attributes, its constraints, its values and
    its state, committed whole or not at all (never COMPLETE without its attributes).

    What ``set_user_attr`` for each attribute, ``set_constraint`` for each constraint and
    ``study.tell`` write, without their dozen transactions and two reads of the finished trial back:
    only on a storage for which :func:`can_finish_at_once` holds, and for COMPLETE with finite values
    or FAIL (``study.tell`` gives PRUNED the last intermediate value: that one goes through Optuna).
    A trial that is no longer running raises Optuna's ``UpdateFinishedTrialError``, as ``tell`` does.
    """
    import json
    import math
    from datetime import datetime, timezone

    import optuna
    from optuna.trial import TrialState
    from sqlalchemy import DateTime, bindparam, text

    if state == TrialState.COMPLETE:
        if values is None or not all(math.isfinite(v) for v in values):
            raise ValueError(f"a COMPLETE trial needs finite values, got {values!r}")
    elif state != TrialState.FAIL or values is not None:
        raise ValueError(f"only COMPLETE (with values) or FAIL (without) is finished here, got {state} {values!r}")
    for name, value in constraints.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            raise ValueError(f"constraint {name!r}: a number that is not NaN must be given, got {value!r}")
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # Optuna's RDB storage keeps naive UTC
    with storage.engine.begin() as connection:  # one transaction: committed whole, or rolled back
        # the write comes first, so SQLite takes its write lock at once rather than upgrading a read
        done = connection.execute(
            text("UPDATE trials SET state = :state, datetime_complete = :now "
                 "WHERE trial_id = :id AND state = :running").bindparams(bindparam("now", type_=DateTime)),
            {"state": state.name, "now": now, "id": trial_id, "running": TrialState.RUNNING.name})
        if done.rowcount != 1:
            _not_writable(connection, trial_id)
        if values is not None:
            connection.execute(text(
                "INSERT INTO trial_values (trial_id, objective, value, value_type) "
                "VALUES (:trial_id, :objective, :value, 'FINITE') "
                "ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, "
                "value_type = excluded.value_type"),
                [{"trial_id": trial_id, "objective": i, "value": float(v)} for i, v in enumerate(values)])
        _upsert_user_attrs(connection, trial_id, attrs)
        if constraints:
            connection.execute(text(
                "INSERT INTO trial_system_attributes (trial_id, key, value_json) "
                "VALUES (:trial_id, :key, :value_json) "
                "ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json"),
                [{"trial_id": trial_id, "key": CONSTRAINT_PREFIX + k, "value_json": json.dumps(float(v))}
                 for k, v in constraints.items()])
