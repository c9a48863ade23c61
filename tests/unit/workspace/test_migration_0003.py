"""Migration 0003 on a database with records at 0002: the rows survive, the merge columns appear
(NULL on old rows), and it downgrades again."""
from __future__ import annotations

import json

from alembic_helpers import alembic_to
from sqlalchemy import create_engine, inspect, text

from serendip.workspace.database import current_revision


def test_0003_upgrades_a_0002_database_with_records(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    alembic_to(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ingest_reports (id, started_at, status, paths, format, ingested, "
                          "duplicates, failed, errors) VALUES (1, '2026-01-01', 'done', '[]', 'auto', 1, "
                          "0, 0, '[]')"))
        conn.execute(text("INSERT INTO records (pmid, title, ingest_id, data) VALUES "
                          "('1', 'Old record', 1, :d)"), {"d": json.dumps({"title": "Old record"})})
    alembic_to(engine, "0003")
    assert current_revision(engine) == "0003"
    cols = {c["name"] for c in inspect(engine).get_columns("records")}
    assert {"first_author", "first_page"} <= cols
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title, first_author FROM records")).one() == ("Old record", None)
        assert conn.execute(text("SELECT merged, conflicts FROM ingest_reports")).one() == (0, None)
    alembic_to(engine, "0002", down=True)
    assert "first_author" not in {c["name"] for c in inspect(engine).get_columns("records")}
    engine.dispose()
