"""Dagster's SQLite event log storage, with its database engines kept open.

Dagster's own :class:`SqliteEventLogStorage` (one database per run plus an index database, in
``$DAGSTER_HOME/history/runs``) builds a SQLAlchemy engine, opens a connection and disposes of
both for every statement it runs; storing one event takes about six of them. This class keeps one
engine per database, with its connections pooled, for the life of the process: the same files, the
same tables and the same rows, so the UI, the daemon and Dagster's own class read them as before.

At most :data:`MAX_OPEN_DATABASES` databases are kept open (the index, and the runs used most
recently); the webserver reads many runs and must not hold a file open for each. ``trialpipe``
writes it into the ``dagster.yaml`` of a ``DAGSTER_HOME`` that has none (:mod:`pipelines.instance`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

MAX_OPEN_DATABASES = 16
"""Databases (the index and run databases) whose engine is kept open at once."""


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """:class:`SqliteEventLogStorage` with one engine per database, kept open (module docstring).
    Configured as Dagster's: ``base_dir``, the folder of the databases."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        # Its own lock: has_table is called while _connect holds the storage's (not re-entrant) lock.
        self._engines_lock = threading.RLock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **dict(config_value))

    def _engine(self, shard: str) -> Engine:
        """The engine of ``shard``'s database, made on first use; the least recently used one is
        disposed of when more than :data:`MAX_OPEN_DATABASES` are open (never the index)."""
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = sa.create_engine(
                self.conn_string_for_shard(shard),
                # A pooled connection can be handed to another thread (Dagster's event watcher): each
                # use of one is under the storage's lock (_connect) or on its own checked-out connection.
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            self._engines[shard] = engine
            runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
            for oldest in runs[: max(0, len(self._engines) - MAX_OPEN_DATABASES)]:
                self._engines.pop(oldest).dispose()
            return engine

    def dispose_engines(self) -> None:
        """Close every open database (before its files are removed, and when the storage is)."""
        with self._engines_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # ty: ignore[invalid-method-override]
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def wipe(self) -> None:
        self.dispose_engines()  # the run databases' files are removed
        super().wipe()

    def upgrade(self) -> None:
        self.dispose_engines()
        super().upgrade()

    def dispose(self) -> None:
        super().dispose()
        self.dispose_engines()
