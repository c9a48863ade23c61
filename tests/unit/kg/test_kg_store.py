"""Migration 0007 creates exactly the kg tables :mod:`serendip.kg.store` defines (Alembic's own
comparison finds no difference, on SQLite and PostgreSQL), downgrades again, and entity keys; migration
0009 adds ``deleted_citations.held`` as :mod:`serendip.workspace.schema` defines it; migration 0010 adds
the relations run and threshold of a build and the probability of an evidence row, and removes them again."""
from __future__ import annotations

import pytest
from alembic_helpers import alembic_to
from sqlalchemy import create_engine, inspect

from serendip.kg.store import KG_TABLES, MAX_KEY_CHARS, entity_key
from serendip.workspace.database import (
    current_revision,
    head_revision,
    upgrade,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kg.db'}"
    return request.getfixturevalue("fresh_pg_database")()



def test_migration_matches_the_kg_tables_and_downgrades(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from serendip.workspace.schema import metadata

    engine = create_engine(db_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()  # 0007 or a later revision
    names = {t.name for t in KG_TABLES}
    assert names <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if names & set(_names(d))] == []
    alembic_to(engine, "0006", down=True)
    assert not names & set(inspect(engine).get_table_names())
    assert current_revision(engine) == "0006"
    engine.dispose()


def test_migration_0009_adds_the_held_flag_of_tombstones(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from serendip.workspace.schema import metadata

    engine = create_engine(db_url)
    upgrade(engine)
    assert "held" in {c["name"] for c in inspect(engine).get_columns("deleted_citations")}
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if "deleted_citations" in set(_names(d))] == []
    alembic_to(engine, "0008", down=True)
    assert "held" not in {c["name"] for c in inspect(engine).get_columns("deleted_citations")}
    engine.dispose()


def test_migration_0010_adds_the_relations_columns_and_downgrades(db_url):
    engine = create_engine(db_url)
    upgrade(engine)
    cols = lambda table: {c["name"] for c in inspect(engine).get_columns(table)}  # noqa: E731
    assert {"relations", "relation_threshold"} <= cols("kg_builds") and "score" in cols("kg_evidence")
    alembic_to(engine, "0009", down=True)
    assert not {"relations", "relation_threshold"} & cols("kg_builds") and "score" not in cols("kg_evidence")
    assert current_revision(engine) == "0009"
    alembic_to(engine, "0010")
    assert "score" in cols("kg_evidence") and current_revision(engine) == "0010"
    engine.dispose()


def _names(diff):
    """Every table name a compare_metadata difference mentions: as text, or as a table, column or
    index object's table (a difference is a tuple, or a list of tuples for column changes)."""
    for item in diff if isinstance(diff, list) else [diff]:
        for x in item[1:]:
            if isinstance(x, str):
                yield x
            else:
                table = getattr(x, "table", None)
                yield getattr(table if table is not None else x, "name", None)


def test_entity_keys():
    assert entity_key("Chemical", "D001241", "aspirin") == "Chemical:D001241"
    assert entity_key("Disease", None, "renal failure") == "Disease:?renal failure"
    long = entity_key("Disease", None, "x" * 1000)
    assert len(long) < MAX_KEY_CHARS and long.startswith("Disease:?xxx") and "#" in long
    assert long != entity_key("Disease", None, "x" * 999)
