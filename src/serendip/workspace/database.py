"""Engine creation and Alembic migrations for a workspace database.

SQLite (``sqlite:///path``) is the embedded default; any SQLAlchemy URL works, e.g.
``postgresql+psycopg://user@127.0.0.1:5432/db``. The schema is created and upgraded only through the
Alembic revisions in ``migrations/versions`` (never ``metadata.create_all``).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from serendip.errors import WorkspaceError

MIGRATIONS = Path(__file__).with_name("migrations")


def _json_dumps(obj) -> str:
    """JSON for the database's JSON columns: orjson (several times faster than ``json``), falling
    back to ``json`` for what orjson refuses (e.g. non-string keys)."""
    import json

    import orjson

    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        return json.dumps(obj, ensure_ascii=False)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL journaling and foreign keys on.

    Raises
    ------
    WorkspaceError
        If the URL cannot be parsed or its driver is not installed.
    """
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=_json_dumps)

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

            return engine
        return create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps)
    except Exception as exc:  # ArgumentError, NoSuchModuleError, ImportError of the driver
        raise WorkspaceError(f"cannot use database URL {url!r}: {exc}") from exc


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest Alembic revision ("head")."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except Exception as exc:
        raise WorkspaceError(f"cannot migrate database {engine.url!r}: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
