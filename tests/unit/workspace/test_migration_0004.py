"""Migration 0004 on a database with records at 0003: the change counter starts at 0, rows keep a
NULL revision, Web of Science source ids lose their layout's name, and it downgrades again."""
from __future__ import annotations

import json

import pytest
from alembic_helpers import alembic_to
from sqlalchemy import create_engine, inspect, text

from serendip.workspace.database import current_revision


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("fresh_pg_database")()


def test_0004_upgrades_a_0003_database_with_records(db_url):
    engine = create_engine(db_url)
    alembic_to(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ingest_reports (id, started_at, status, paths, format, ingested, "
                          "duplicates, failed, errors) VALUES (1, '2026-01-01', 'done', '[]', 'auto', 3, "
                          "0, 2, '[]')"))
        for sid, fmt in (("wos:WOS:000424022700066", "wos"), ("wos-tab:WOS:000424022700040", "wos-tab"),
                         ("beir:4983", "beir")):
            conn.execute(text("INSERT INTO records (source_id, source_format, title, ingest_id, data) "
                              "VALUES (:s, :f, 'Old', 1, :d)"),
                         {"s": sid, "f": fmt, "d": json.dumps({"title": "Old"})})
    alembic_to(engine, "0004")
    assert current_revision(engine) == "0004"
    assert "revision" in {c["name"] for c in inspect(engine).get_columns("records")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT source_id, revision FROM records ORDER BY id")).all() == [
            ("WOS:000424022700066", None), ("WOS:000424022700040", None), ("beir:4983", None)]
        assert conn.execute(text("SELECT name, value FROM workspace_counters")).all() == [("changes", 0)]
        assert conn.execute(text("SELECT deleted, skipped, failed FROM ingest_reports")).one() == (0, None, 2)
    alembic_to(engine, "0003", down=True)
    assert "workspace_counters" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT source_id FROM records ORDER BY id"))] == [
            "wos:WOS:000424022700066", "wos-tab:WOS:000424022700040", "beir:4983"]
    engine.dispose()
