"""Transient database faults, retried with backoff; and a lock that serialises the drivers of a study.

A deadlock, a serialisation failure, a dropped connection or a PostgreSQL restart is retried (for
`deadline_s` seconds in all) and never becomes a failed trial or a crashed driver; anything else,
or a fault that outlasts the deadline, is raised as :class:`DatabaseUnavailable`.

:class:`StudyLock` is what makes a study's budget atomic: a driver holds it while it counts the
study's trials and claims the next one, so two drivers cannot both take the last slot. On
PostgreSQL it is a session advisory lock (released by the server if the holder dies), on MySQL a
named lock, on SQLite an ``flock`` on a file beside the database (drivers on one machine).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")

log = logging.getLogger("hpsearch.study")

#: Words in a driver's error message that mean "try again" (PostgreSQL, MySQL, SQLite, psycopg).
_TRANSIENT = (
    "deadlock", "could not serialize", "serialization failure", "database is locked", "server closed the connection",
    "connection refused", "connection reset", "terminating connection", "the database system is starting up",
    "the database system is shutting down", "the database system is in recovery mode", "connection is closed",
    "connection timeout", "connection timed out", "lost connection", "server has gone away", "ssl syscall",
    "consuming input failed", "connection failed", "can't connect", "broken pipe", "admin_shutdown",
    "cannot connect now", "no connection to the server", "connection to server",
)


class DatabaseUnavailable(RuntimeError):
    """The study database kept failing past the retry deadline."""


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it: Optuna wraps SQLAlchemy's errors) is worth retrying."""
    from sqlalchemy import exc as sa_exc

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (sa_exc.OperationalError, sa_exc.DisconnectionError, sa_exc.InterfaceError,
                                sa_exc.TimeoutError)):
            return True
        text = str(current).lower()
        if any(word in text for word in _TRANSIENT):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_restarting(exc: BaseException) -> bool:
    """Whether `exc` says the server is restarting (rather than that the URL is wrong)."""
    text = f"{exc} {exc.__cause__ or ''}".lower()
    return any(word in text for word in ("starting up", "shutting down", "recovery mode", "terminating connection",
                                         "cannot connect now", "admin_shutdown"))


def retrying(call: Callable[[], T], what: str, *, deadline_s: float = 180.0, first_wait_s: float = 0.2,
             on_retry: Callable[[BaseException, int], None] | None = None,
             retry_if: Callable[[BaseException], bool] = is_transient) -> T:
    """`call()`, retried with jittered exponential backoff while it fails transiently."""
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified below; anything not transient is re-raised
            if not retry_if(exc):
                raise
            attempt += 1
            waited = time.monotonic() - started
            if waited >= deadline_s:
                from hpsearch.study._storage import first_line

                raise DatabaseUnavailable(f"{what}: the study database kept failing for {waited:.0f}s "
                                          f"({attempt} tries): {first_line(exc)}") from exc
            if on_retry is not None:
                on_retry(exc, attempt)
            log.info("%s: transient database fault, retry %d: %s", what, attempt, type(exc).__name__)
            time.sleep(min(5.0, first_wait_s * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.0))


class StudyLock:
    """A lock over one study, shared by every driver that writes to it (see the module docstring)."""

    def __init__(self, url: str, study_name: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = url
        self.parsed = make_url(url)
        self.backend = self.parsed.get_backend_name()
        digest = hashlib.sha256(f"hpsearch/{study_name}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.name = f"hpsearch-{digest[:12].hex()}"
        self._local = threading.Lock()  # threads of one driver (the heartbeat, the searcher) queue here
        self._engine: Any = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            if self.backend == "sqlite":
                with self._file_lock():
                    yield
            elif self.backend in ("postgresql", "mysql", "mariadb"):
                with self._server_lock():
                    yield
            else:
                yield  # another backend: one driver at a time is the team's to ensure

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        database = self.parsed.database
        if database in (None, "", ":memory:"):
            yield
            return
        import fcntl

        path = Path(database).expanduser().resolve()
        with open(path.with_name(path.name + ".lock"), "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextmanager
    def _server_lock(self) -> Iterator[None]:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        if self._engine is None:
            self._engine = create_engine(self.url, poolclass=NullPool)
        if self.backend == "postgresql":
            take, give = text("SELECT pg_advisory_lock(:key)"), text("SELECT pg_advisory_unlock(:key)")
            args: dict[str, Any] = {"key": self.key}
        else:
            take, give = text("SELECT GET_LOCK(:name, -1)"), text("SELECT RELEASE_LOCK(:name)")
            args = {"name": self.name}

        def connect() -> Any:
            connection = self._engine.connect()
            try:
                connection.execute(take, args)
                connection.commit()
            except BaseException:
                connection.close()
                raise
            return connection

        connection = retrying(connect, "taking the study lock")
        try:
            yield
        finally:
            try:
                connection.execute(give, args)
                connection.commit()
            except Exception:  # noqa: BLE001 - a dropped connection has released the lock with it
                pass
            finally:
                connection.close()
