"""Knowledge-graph build fixtures: a workspace on each database backend (SQLite always, PostgreSQL when
SERENDIP_TEST_PG_URL names a server) and the tiny training file of ``tests/kg_helpers.py``."""
from __future__ import annotations

import pytest
from kg_helpers import write_training

from serendip.workbench import Workspace


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kg_ws(request, tmp_path):
    """A new empty workspace on each backend."""
    if request.param == "sqlite":
        ws = Workspace.init(tmp_path / "ws")
    else:
        ws = Workspace.init(tmp_path / "ws", database=request.getfixturevalue("fresh_pg_database")())
    yield ws
    ws.close()


@pytest.fixture
def training(tmp_path):
    """The tiny annotated PubTator file the dictionary and normaliser are fitted on (a list of one path)."""
    return [write_training(tmp_path)]
