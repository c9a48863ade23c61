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

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from serendip.errors import ConfigError, WorkspaceError
from serendip.workspace.config import WorkspaceConfig
from serendip.workspace.database import make_engine, upgrade
from serendip.workspace.paths import CONFIG_NAME, FOLDERS, resolve_workspace_path
from serendip.workspace.schema import ingest_reports, records

__all__ = ["WorkspaceStore"]


@dataclass
class WorkspaceStore:
    """A workspace folder: ``path``, its validated ``config`` and a migrated database ``engine``."""

    path: Path
    config: WorkspaceConfig
    engine: Engine

    @classmethod
    def create(cls, path: str | Path | None = None, database: str | None = None,
               mode_choices: Iterable[str] | None = None) -> "WorkspaceStore":
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

        Raises
        ------
        WorkspaceError
            The folder cannot be created or the database cannot be used (a folder created by this
            call is removed again).
        ConfigError
            An existing workspace uses another database than ``database``.
        """
        path = resolve_workspace_path(path)
        cfg_path = path / CONFIG_NAME
        if cfg_path.exists():
            store = cls.open(path, mode_choices)
            if database and store.config.database != database:
                raise ConfigError(f"{cfg_path}: workspace already uses database "
                                  f"{store.config.database or 'sqlite (serendip.db)'}")
            return store
        if path.exists() and not path.is_dir():
            raise WorkspaceError(f"{path} exists and is not a folder")
        created = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
            for sub in FOLDERS:
                (path / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace folder {path}: {exc.strerror}") from None
        config = WorkspaceConfig(database=database)
        try:
            engine = make_engine(cls._url(path, config))
            upgrade(engine)
        except WorkspaceError:
            if created:  # leave nothing behind from a workspace that could not be made
                shutil.rmtree(path, ignore_errors=True)
            raise
        config.dump(cfg_path)
        return cls(path, config, engine)

    @classmethod
    def open(cls, path: str | Path | None = None,
             mode_choices: Iterable[str] | None = None) -> "WorkspaceStore":
        """Open an existing workspace folder (default: the default workspace) and migrate its database.

        Raises
        ------
        WorkspaceError
            ``path`` holds no ``serendip.toml``, or its database cannot be used.
        ConfigError
            The config is invalid (every bad key named).
        """
        path = resolve_workspace_path(path)
        cfg_path = path / CONFIG_NAME
        if not cfg_path.exists():
            raise WorkspaceError(f"{path} is not a Serendip workspace (no {CONFIG_NAME}); "
                                 f"create one with `serendip init {path}`")
        config = WorkspaceConfig.load(cfg_path, mode_choices)
        engine = make_engine(cls._url(path, config))
        upgrade(engine)
        for sub in FOLDERS:
            (path / sub).mkdir(exist_ok=True)
        return cls(path, config, engine)

    @staticmethod
    def _url(path: Path, config: WorkspaceConfig) -> str:
        return config.database or f"sqlite:///{(path / 'serendip.db').resolve()}"

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def count(self) -> int:
        """Number of stored records."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(records)).scalar_one()

    def ingest_reports(self) -> list[dict[str, Any]]:
        """Every ingest report row, oldest first."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(ingest_reports).order_by(ingest_reports.c.id))]
