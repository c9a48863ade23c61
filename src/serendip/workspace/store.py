"""The storage side of a workspace: one folder with its config, database and sub-folders.

:class:`WorkspaceStore` creates or opens the folder, reads the config, connects to the database and
migrates it; it knows nothing of records, readers or indexes (the façade
:class:`serendip.workbench.Workspace` drives those and calls down into this layer).

Layout::

    <workspace>/
      serendip.toml      config (database URL, dense model, default retrieval mode)
      serendip.db        SQLite database (absent when the config names another database)
      indexes/  models/  runs/  reports/
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, select, update

from serendip.core.config import describe_validation_error
from serendip.errors import ConfigError, WorkspaceError, WorkspaceReadOnly
from serendip.workspace.config import WorkspaceConfig
from serendip.workspace.database import (
    ensure_schema,
    make_engine,
    sqlite_read_only_url,
    upgrade,
)
from serendip.workspace.paths import CONFIG_NAME, FOLDERS, resolve_workspace_path
from serendip.workspace.postgres import records_partitions
from serendip.workspace.schema import ingest_reports, records, workspace_counters

__all__ = ["SQLITE_NAME", "WorkspaceStore", "count_changes"]

#: the embedded SQLite database file of a workspace
SQLITE_NAME = "serendip.db"


def count_changes(conn: Connection, n: int) -> int:
    """Add ``n`` to the workspace's ``changes`` counter (records changed in place or deleted) inside
    the caller's transaction, and return its new value (the revision to stamp changed rows with).

    The counter only grows, so an index that remembers the value it saw knows it is stale after
    any later change (see ``Workspace.index_status``).
    """
    counter = workspace_counters.c
    conn.execute(update(workspace_counters).where(counter.name == "changes")
                 .values(value=counter.value + n))
    return conn.execute(select(counter.value).where(counter.name == "changes")).scalar_one()


@dataclass
class WorkspaceStore:
    """A workspace folder: ``path``, its validated ``config`` and a migrated database ``engine``."""

    path: Path
    config: WorkspaceConfig
    engine: Engine
    #: opened without write access (folder or database file not writable): reads only
    read_only: bool = False

    @classmethod
    def create(cls, path: str | Path | None = None, database: str | None = None,
               mode_choices: Iterable[str] | None = None, *,
               partitions: int | None = None) -> "WorkspaceStore":
        """Create (or re-open) the workspace at ``path`` (default: the default workspace) and migrate
        its database to the newest schema.

        Parameters
        ----------
        path : str or Path, optional
        database : str, optional
            SQLAlchemy URL (e.g. ``postgresql+psycopg://user@127.0.0.1/db``); None keeps the embedded
            SQLite file ``serendip.db`` in the folder.
        mode_choices : iterable of str, optional
            Registered retrieval modes, checked against ``retrieval.default_mode`` when re-opening.
        partitions : int, optional
            PostgreSQL only: partition ``records`` by hash of ``id`` into this many partitions (2 to
            :data:`~serendip.workspace.config.MAX_PARTITIONS`; for 10^7+ records). Chosen when the
            workspace is made; stored in the config as ``partitions``.

        Raises
        ------
        WorkspaceError
            The folder cannot be created or the database cannot be used (a folder created by this
            call is removed again).
        ConfigError
            An existing workspace uses another database than ``database``, or was made with another
            partitioning than ``partitions`` (an existing workspace cannot be partitioned); ``partitions``
            is out of range or given without a PostgreSQL database.
        """
        path = resolve_workspace_path(path, discover=False)
        cfg_path = path / CONFIG_NAME
        if cfg_path.exists():
            store = cls.open(path, mode_choices)
            if database and store.config.database != database:
                raise ConfigError(f"{cfg_path}: workspace already uses database "
                                  f"{store.config.database or 'sqlite (serendip.db)'}")
            if partitions is not None and store.config.partitions != partitions:
                store.close()
                has = (f"{store.config.partitions} partitions" if store.config.partitions
                       else "one unpartitioned records table")
                raise ConfigError(f"{cfg_path}: workspace already has {has}; partitions are chosen when a "
                                  f"workspace is created: make a new workspace with --partitions "
                                  f"{partitions} and ingest into it")
            return store
        try:
            config = WorkspaceConfig(database=database, partitions=partitions)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, WorkspaceConfig)) from None
        if path.exists() and not path.is_dir():
            raise WorkspaceError(f"{path} exists and is not a folder")
        created = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
            for sub in FOLDERS:
                (path / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace folder {path}: {exc.strerror}") from None
        try:
            engine = make_engine(cls._url(path, config))
            upgrade(engine, records_partitions=config.partitions)
            if config.partitions and records_partitions(engine) != config.partitions:
                engine.dispose()
                raise WorkspaceError(f"database {engine.url!r}: its records table is not in {config.partitions} "
                                     f"partitions: the database was already migrated (by another "
                                     f"workspace?); partitions are made only in an empty database")
        except WorkspaceError:
            if created:  # leave nothing behind from a workspace that could not be made
                shutil.rmtree(path, ignore_errors=True)
            raise
        config.dump(cfg_path)
        return cls(path, config, engine)

    @classmethod
    def open(cls, path: str | Path | None = None,
             mode_choices: Iterable[str] | None = None) -> "WorkspaceStore":
        """Open an existing workspace folder (default: the default workspace), migrating its database
        only when its schema is behind.

        A folder (or SQLite file) this process cannot write is opened read-only (:attr:`read_only`):
        the SQLite file with ``mode=ro``, nothing created or migrated; searching works, writes raise
        :class:`~serendip.errors.WorkspaceReadOnly` (:meth:`require_writable`).

        Raises
        ------
        WorkspaceError
            ``path`` holds no ``serendip.toml``, or its database cannot be used.
        WorkspaceReadOnly
            Read-only, and the database schema is not current (it needs a migration).
        ConfigError
            The config is invalid (every bad key named).
        """
        path = resolve_workspace_path(path)
        cfg_path = path / CONFIG_NAME
        if not cfg_path.exists():
            raise WorkspaceError(f"{path} is not a Serendip workspace (no {CONFIG_NAME}); "
                                 f"create one with `serendip init {path}`")
        config = WorkspaceConfig.load(cfg_path, mode_choices)
        read_only = not cls._writable(path, config)
        if read_only and not config.database:
            engine = make_engine(sqlite_read_only_url(path / SQLITE_NAME), read_only=True)
        else:
            engine = make_engine(cls._url(path, config))
        ensure_schema(engine, read_only=read_only, where=str(path))
        if not read_only:
            for sub in FOLDERS:
                (path / sub).mkdir(exist_ok=True)
        return cls(path, config, engine, read_only)

    @staticmethod
    def _writable(path: Path, config: WorkspaceConfig) -> bool:
        """Whether this process may write the folder (and its SQLite file, when it keeps one)."""
        if not os.access(path, os.W_OK):
            return False
        db_file = path / SQLITE_NAME
        return bool(config.database) or not db_file.exists() or os.access(db_file, os.W_OK)

    def require_writable(self, action: str) -> None:
        """Raise :class:`~serendip.errors.WorkspaceReadOnly` naming ``action`` when opened read-only."""
        if self.read_only:
            raise WorkspaceReadOnly(f"workspace {self.path} is read-only: {action} needs write access")

    @staticmethod
    def _url(path: Path, config: WorkspaceConfig) -> str:
        return config.database or f"sqlite:///{(path / SQLITE_NAME).resolve()}"

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def count(self) -> int:
        """Number of stored records."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(records)).scalar_one()

    def records_after(self, record_id: int) -> int:
        """Number of records whose id is above ``record_id`` (one range count on the primary key, so
        it costs in proportion to the records it finds, not to the table)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(records)
                                .where(records.c.id > record_id)).scalar_one()

    def changes(self) -> int:
        """The ``changes`` counter: records changed in place or deleted since the workspace was made."""
        with self.engine.connect() as conn:
            value = conn.execute(select(workspace_counters.c.value)
                                 .where(workspace_counters.c.name == "changes")).scalar_one_or_none()
        return value or 0

    def revised_after(self, changes: int) -> list[int]:
        """Ids of the records changed in place after the counter stood at ``changes``."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(records.c.id).where(records.c.revision > changes)
                                     .order_by(records.c.id)).scalars())

    def change_token(self) -> tuple | None:
        """A cheap fingerprint of the embedded SQLite files (size and modification time of
        ``serendip.db`` and its ``-wal``): any committed write changes it. None for another database
        (the caller then asks the database)."""
        if self.config.database:
            return None
        token = []
        for name in (SQLITE_NAME, SQLITE_NAME + "-wal"):
            try:
                st = os.stat(self.path / name)
                token.append((st.st_size, st.st_mtime_ns, st.st_ino))
            except OSError:
                token.append(None)
        return tuple(token)

    def ingest_reports(self) -> list[dict[str, Any]]:
        """Every ingest report row, oldest first."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(ingest_reports).order_by(ingest_reports.c.id))]
