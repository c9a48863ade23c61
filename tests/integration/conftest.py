"""Workspace fixtures on both database backends: SQLite always, PostgreSQL when a server is given."""
from __future__ import annotations

import pytest

from serendip.workbench import Workspace


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("postgres-partitioned", marks=pytest.mark.postgres)])
def workspace(request, tmp_path):
    """A new empty workspace on each backend (PostgreSQL also with ``records`` in 3 hash partitions)."""
    if request.param == "sqlite":
        ws = Workspace.init(tmp_path / "ws")
    else:
        ws = Workspace.init(tmp_path / "ws", database=request.getfixturevalue("fresh_pg_database")(),
                            partitions=3 if request.param == "postgres-partitioned" else None)
    yield ws
    ws.close()
