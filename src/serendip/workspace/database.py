"""Engine creation and Alembic migrations for a workspace database.

SQLite (``sqlite:///path``) is the embedded default; any SQLAlchemy URL works, e.g.
``postgresql+psycopg://user@127.0.0.1:5432/db``. The schema is created and upgraded only through the
Alembic revisions in ``migrations/versions`` (never ``metadata.create_all``).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from serendip.errors import WorkspaceError, WorkspaceReadOnly

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


def sqlite_read_only_url(db_file: Path) -> str:
    """A URL that opens the SQLite file ``db_file`` read-only (``mode=ro``), writing nothing beside it.

    With no ``-wal`` file beside it (a cleanly closed WAL database) the file is also opened
    ``immutable=1``, since SQLite cannot create the ``-shm`` index on a read-only folder; with a non-empty
    ``-wal`` file the committed pages in it are read through the existing ``-shm``.
    """
    wal = db_file.with_name(db_file.name + "-wal")
    immutable = "" if wal.is_file() and wal.stat().st_size > 0 else "&immutable=1"
    return f"sqlite:///file:{db_file.resolve()}?mode=ro{immutable}&uri=true"


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL journaling and foreign keys on.

    Parameters
    ----------
    url : str
        SQLAlchemy URL.
    read_only : bool, default=False
        The URL opens the database read-only (e.g. :func:`sqlite_read_only_url`): the journal mode is
        left as the file has it (setting it would be a write).

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
                if not read_only:
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
    """The database's Alembic revision (None for an empty database); a read, never a write."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # OperationalError: unreadable file, server down
        raise WorkspaceError(f"cannot read database {engine.url!r}: {exc}") from exc


def head_revision() -> str:
    """The newest Alembic revision this Serendip ships (the schema :func:`upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def ensure_schema(engine: Engine, *, read_only: bool = False, where: str = "") -> None:
    """Migrate the database to :func:`head_revision` only when it is behind; a current schema costs
    one read and no write.

    Raises
    ------
    WorkspaceError
        The database cannot be read or migrated; with ``read_only``, its schema is not current
        (``where`` names the workspace in the message).
    """
    if current_revision(engine) == head_revision():
        return
    if read_only:
        raise WorkspaceReadOnly(f"workspace {where or engine.url} is read-only and its database schema is not "
                             f"current: open it once with write access to migrate it")
    upgrade(engine)
