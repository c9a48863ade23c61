"""Hash-partitioned ``records`` on PostgreSQL (migration 0006, ``serendip init --partitions N``): made only
when a workspace is created, with the schema's indexes on every partition; refused with a clear error
for SQLite, an existing workspace, or a database already migrated; 0006 leaves other databases alone."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.errors import ConfigError, WorkspaceError
from serendip.workbench import Workspace
from serendip.workspace.config import WorkspaceConfig
from serendip.workspace.database import current_revision, head_revision, upgrade
from serendip.workspace.postgres import records_partitions

INDEXED = ["pmid", "doi", "source_id", "title_key", "ingest_id"]


def test_partitions_need_postgresql(tmp_path):
    with pytest.raises(ConfigError, match="partitioned records need a PostgreSQL database"):
        Workspace.init(tmp_path / "ws", partitions=4)
    assert not (tmp_path / "ws").exists()
    with pytest.raises(ConfigError, match="partitions: Input should be greater than or equal to 2"):
        Workspace.init(tmp_path / "ws", database="postgresql+psycopg://u@127.0.0.1:1/x", partitions=1)
    cfg = tmp_path / "serendip.toml"
    cfg.write_text("partitions = 8\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{cfg}: partitions: partitioned records need a PostgreSQL"):
        WorkspaceConfig.load(cfg)


def test_an_existing_sqlite_workspace_cannot_be_partitioned(tmp_path):
    Workspace.init(tmp_path / "ws").close()
    with pytest.raises(ConfigError, match="already has one unpartitioned records table; partitions are "
                                          "chosen when a workspace is created"):
        Workspace.init(tmp_path / "ws", partitions=4)


@pytest.mark.postgres
def test_init_partitions_records_by_hash_with_every_index(fresh_pg_database, tmp_path):
    url = fresh_pg_database()
    r = CliRunner().invoke(app, ["init", str(tmp_path / "ws"), "--database", url, "--partitions", "5"])
    assert r.exit_code == 0, r.output
    assert "records in 5 partitions" in r.output
    assert "partitions = 5" in (tmp_path / "ws" / "serendip.toml").read_text(encoding="utf-8")
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.config.partitions == 5 and records_partitions(ws.engine) == 5
        assert current_revision(ws.engine) == head_revision()
        with ws.engine.connect() as conn:
            bound = conn.execute(text(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'records'::regclass "
                "ORDER BY c.relname")).all()
            assert bound == [(f"records_p{i}", f"FOR VALUES WITH (modulus 5, remainder {i})") for i in range(5)]
            for part in ("records", "records_p0", "records_p4"):
                cols = conn.execute(text(
                    "SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid "
                    "AND a.attnum = x.indkey[0] WHERE x.indrelid = CAST(:t AS regclass) ORDER BY 1"),
                    {"t": part}).scalars().all()
                assert cols == sorted(["id", *INDEXED]), part
        insp = inspect(ws.engine)
        assert sorted(ix["name"] for ix in insp.get_indexes("records")) == [f"ix_records_{c}" for c in sorted(INDEXED)]
        assert [fk["referred_table"] for fk in insp.get_foreign_keys("records")] == ["ingest_reports"]
    # re-opening with the same count is fine; another count, or none, is refused
    Workspace.init(tmp_path / "ws", partitions=5).close()
    with pytest.raises(ConfigError, match="already has 5 partitions"):
        Workspace.init(tmp_path / "ws", partitions=8)


@pytest.mark.postgres
def test_existing_postgres_workspace_or_database_is_not_partitioned(fresh_pg_database, tmp_path):
    url = fresh_pg_database()
    Workspace.init(tmp_path / "ws", database=url).close()
    with pytest.raises(ConfigError, match="already has one unpartitioned records table"):
        Workspace.init(tmp_path / "ws", database=url, partitions=4)
    # a new folder on the database the first workspace migrated: refused, the folder removed
    with pytest.raises(WorkspaceError, match="records table is not in 4 partitions: the database was "
                                             "already migrated"):
        Workspace.init(tmp_path / "ws2", database=url, partitions=4)
    assert not (tmp_path / "ws2").exists()


@pytest.mark.postgres
def test_0006_refuses_a_database_with_records_and_passes_others(fresh_pg_database):
    from alembic import command
    from alembic.config import Config

    from serendip.workspace.database import MIGRATIONS

    engine = create_engine(fresh_pg_database())
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        conn.execute(text("INSERT INTO records (title, data) VALUES ('Old', '{}')"))
    with pytest.raises(WorkspaceError, match="records holds rows: a workspace's records are partitioned "
                                             "only when it is created"):
        upgrade(engine, records_partitions=4)
    assert current_revision(engine) == "0005"  # rolled back whole
    upgrade(engine)  # no partitions asked: 0006 changes nothing
    assert current_revision(engine) == head_revision() and records_partitions(engine) is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM records")).scalars().all() == ["Old"]
    engine.dispose()
