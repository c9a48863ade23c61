"""Migration 0003 on a database with records at 0002: the rows survive, the merge columns appear
(NULL on old rows), and it downgrades again."""
from __future__ import annotations

import json

from sqlalchemy import create_engine, inspect, text

from serendip.workspace.database import MIGRATIONS, current_revision


def _alembic(engine, target: str, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)


def test_0003_upgrades_a_0002_database_with_records(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _alembic(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ingest_reports (id, started_at, status, paths, format, ingested, "
                          "duplicates, failed, errors) VALUES (1, '2026-01-01', 'done', '[]', 'auto', 1, "
                          "0, 0, '[]')"))
        conn.execute(text("INSERT INTO records (pmid, title, ingest_id, data) VALUES "
                          "('1', 'Old record', 1, :d)"), {"d": json.dumps({"title": "Old record"})})
    _alembic(engine, "0003")
    assert current_revision(engine) == "0003"
    cols = {c["name"] for c in inspect(engine).get_columns("records")}
    assert {"first_author", "first_page"} <= cols
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title, first_author FROM records")).one() == ("Old record", None)
        assert conn.execute(text("SELECT merged, conflicts FROM ingest_reports")).one() == (0, None)
    _alembic(engine, "0002", down=True)
    assert "first_author" not in {c["name"] for c in inspect(engine).get_columns("records")}
    engine.dispose()
