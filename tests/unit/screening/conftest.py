"""Fixtures of the screening session tests."""
from __future__ import annotations

import pytest
from screening_helpers import make_workspace


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sws(request, tmp_path):
    """(workspace, include ids, exclude ids) of :func:`screening_helpers.make_workspace` on each backend."""
    url = None if request.param == "sqlite" else request.getfixturevalue("fresh_pg_database")()
    ws, inc, exc = make_workspace(tmp_path / "ws", database=url)
    yield ws, inc, exc
    ws.close()
