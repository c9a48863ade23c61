"""Engine creation and Alembic migrations for a workspace database.

SQLite (``sqlite:///path``) is the embedded default; any SQLAlchemy URL works, e.g.
``postgresql+psycopg://user@127.0.0.1:5432/db``. The schema is created and upgraded only through the
Alembic revisions in ``migrations/versions`` (never ``metadata.create_all``). Opening a database whose
schema is current costs one ``SELECT`` of ``alembic_version`` compared with the head revision read from
the revision files (:func:`ensure_schema`); Alembic is imported only to migrate.
"""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError

from serendip.errors import WorkspaceError, WorkspaceReadOnly

MIGRATIONS = Path(__file__).with_name("migrations")
#: ``revision = "0003"`` / ``down_revision: str | None = "0002"`` lines of a revision file
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


class RawJSON(str):
    """JSON text stored as it is in a JSON column (already what :func:`_json_dumps` would write; see
    :func:`serendip.workspace.postgres.insert_records`)."""

    __slots__ = ()


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


def upgrade(engine: Engine, *, records_partitions: int | None = None) -> None:
    """Bring the database schema to the newest Alembic revision ("head").

    ``records_partitions`` (PostgreSQL, a new database only): make ``records`` a table partitioned by
    hash of ``id`` into that many partitions (revision 0006; raises on a database whose ``records``
    holds rows).

    Raises
    ------
    WorkspaceError
        A migration failed (the transaction is rolled back, the database left as it was).
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["records_partitions"] = records_partitions
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except Exception as exc:
        raise WorkspaceError(f"cannot migrate database {engine.url!r}: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision (None for an empty database): one ``SELECT version_num FROM
    alembic_version``, without Alembic; a read, never a write.

    Raises
    ------
    WorkspaceError
        The database cannot be read (unreadable file, server down).
    """
    try:
        with engine.connect() as conn:
            try:
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            except DBAPIError:
                conn.rollback()
                if not inspect(conn).has_table("alembic_version"):
                    return None  # never migrated
                raise
    except Exception as exc:  # OperationalError: unreadable file, server down
        raise WorkspaceError(f"cannot read database {engine.url!r}: {exc}") from exc
    # several rows only on branched histories (not ours): a value no head equals, so Alembic decides
    return rows[0] if len(rows) == 1 else (",".join(sorted(rows)) or None)


@functools.cache
def head_revision() -> str:
    """The newest Alembic revision this Serendip ships (the schema :func:`upgrade` brings a database to).

    Read from the ``revision`` and ``down_revision`` lines of ``migrations/versions/*.py`` (the one
    revision no other names as its parent), without importing Alembic or running its environment;
    ``tests/unit/workspace`` checks it equals Alembic's own answer.

    Raises
    ------
    WorkspaceError
        The revision files do not name exactly one head.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(ast.literal_eval(found["revision"]))
        down = ast.literal_eval(found.get("down_revision", "None"))
        parents.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
    heads = revisions - parents
    if len(heads) != 1:
        raise WorkspaceError(f"the migrations in {MIGRATIONS / 'versions'} have {len(heads)} heads "
                             f"({', '.join(sorted(heads)) or 'none'}), expected one")
    return heads.pop()


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
