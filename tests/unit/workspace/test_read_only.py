"""Opening a workspace: a current schema is not migrated, and a folder without write access opens
read-only (SQLite ``mode=ro``), where only writes fail and say so."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from serendip.errors import WorkspaceError, WorkspaceReadOnly
from serendip.workbench import Workspace
from serendip.workspace import database as database_module
from serendip.workspace import store as store_module
from serendip.workspace.store import WorkspaceStore

DOCS = [{"id": "a1", "title": "Aspirin and colorectal cancer", "abstract": "Aspirin lowered adenoma recurrence."},
        {"id": "a2", "title": "Statins and muscle pain", "abstract": "Myalgia was as common on placebo."}]


@pytest.fixture
def built(tmp_path) -> Path:
    """A closed workspace with two records and a BM25 index."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(json.dumps(d) for d in DOCS) + "\n")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([docs])
        ws.index(dense=False)
    return tmp_path / "ws"


def no_write_access(monkeypatch, folder: Path) -> None:
    """Deny write access under ``folder`` as os.access reports it (tests may run as root, whom
    chmod does not stop)."""
    real = os.access
    root = str(folder.resolve())

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and str(Path(path).resolve()).startswith(root):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "access", access)


def test_a_current_schema_is_opened_without_migrating(built, monkeypatch):
    def refuse(engine):
        raise AssertionError("upgrade called on a current schema")

    monkeypatch.setattr(database_module, "upgrade", refuse)
    store = WorkspaceStore.open(built)
    assert not store.read_only and store.count() == 2
    store.close()


def test_a_current_schema_costs_one_select_and_no_migration_machinery(built, monkeypatch):
    """The second open reads alembic_version once and never touches Alembic (no environment run,
    no script directory, no migration context, no upgrade)."""
    import alembic.command
    import alembic.runtime.migration
    import alembic.script
    from sqlalchemy import event

    calls = []

    def refuse(name):
        def call(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called on a current schema")
        return call

    monkeypatch.setattr(database_module, "upgrade", refuse("upgrade"))
    monkeypatch.setattr(alembic.command, "upgrade", refuse("alembic.command.upgrade"))
    monkeypatch.setattr(alembic.runtime.migration.MigrationContext, "configure", refuse("MigrationContext"))
    monkeypatch.setattr(alembic.script.ScriptDirectory, "__init__", refuse("ScriptDirectory"))
    statements = []
    real_make_engine = database_module.make_engine

    def counting_engine(*args, **kwargs):
        engine = real_make_engine(*args, **kwargs)
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: statements.append(statement))
        return engine

    monkeypatch.setattr(store_module, "make_engine", counting_engine)
    store = WorkspaceStore.open(built)
    assert statements == ["SELECT version_num FROM alembic_version"] and calls == []
    store.close()


def test_head_revision_read_from_the_scripts_equals_alembics():
    from alembic.script import ScriptDirectory

    assert database_module.head_revision() == ScriptDirectory(str(database_module.MIGRATIONS)).get_current_head()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_database_never_migrated_has_no_revision(tmp_path, backend, request):
    """No alembic_version table: the failed SELECT is rolled back (PostgreSQL aborts the transaction),
    the revision is None, and ensure_schema migrates."""
    url = (request.getfixturevalue("fresh_pg_database")() if backend == "postgres"
           else f"sqlite:///{tmp_path / 'empty.db'}")
    engine = database_module.make_engine(url)
    assert database_module.current_revision(engine) is None
    database_module.ensure_schema(engine)
    assert database_module.current_revision(engine) == database_module.head_revision()
    engine.dispose()


def test_read_only_open_reads_and_refuses_writes(built, monkeypatch):
    no_write_access(monkeypatch, built)
    before = sorted(p.name for p in built.iterdir())
    with Workspace.open(built) as ws:
        assert ws.store.read_only and ws.count() == 2
        assert [h.title for h in ws.search("aspirin adenoma", mode="bm25", k=1)] == [DOCS[0]["title"]]
        for call, action in ((lambda: ws.ingest([built / "x.jsonl"]), "ingest"),
                             (lambda: ws.index(dense=False), "index")):
            with pytest.raises(WorkspaceReadOnly) as exc:
                call()
            assert str(exc.value) == f"workspace {built} is read-only: {action} needs write access"
        with pytest.raises(Exception, match="readonly"), ws.engine.begin() as conn:  # the database too
            conn.execute(text("DELETE FROM records"))
    assert sorted(p.name for p in built.iterdir()) == before  # no -wal/-shm or folder created


def test_read_only_with_an_old_schema_says_it_needs_write_access(built, monkeypatch):
    with sqlite3.connect(built / "serendip.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    no_write_access(monkeypatch, built)
    with pytest.raises(WorkspaceReadOnly, match="open it once with write access"):
        WorkspaceStore.open(built)


def test_an_old_schema_is_migrated_when_writable(built):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{built / 'serendip.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(database_module.MIGRATIONS))
    with engine.begin() as conn:  # the schema of a workspace made before 0002 (runs) and 0003
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    engine.dispose()
    assert database_module.current_revision(database_module.make_engine(f"sqlite:///{built / 'serendip.db'}")) == "0001"
    store = WorkspaceStore.open(built)
    assert database_module.current_revision(store.engine) == database_module.head_revision()
    store.close()


def test_unreadable_database_is_a_workspace_error(built):
    (built / "serendip.db").write_bytes(b"not a database" * 100)
    with pytest.raises(WorkspaceError, match="serendip.db"):
        WorkspaceStore.open(built)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod; covered by the os.access case")
def test_chmod_read_only_folder_is_searchable(built):
    modes = {p: p.stat().st_mode for p in [built, *built.rglob("*")]}
    try:
        for p in modes:
            p.chmod(stat.S_IMODE(modes[p]) & ~0o222)
        with Workspace.open(built) as ws:
            assert ws.store.read_only
            assert ws.search("statins myalgia", mode="bm25", k=1)[0].title == DOCS[1]["title"]
            with pytest.raises(WorkspaceReadOnly, match="ingest needs write access"):
                ws.ingest([built / "x.jsonl"])
    finally:
        for p, mode in modes.items():
            p.chmod(stat.S_IMODE(mode))
