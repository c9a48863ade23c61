"""Workspace fixtures on both database backends: SQLite always, PostgreSQL when a server is given."""
from __future__ import annotations

import os
import uuid

import pytest

from serendip.workbench import Workspace


def _pg_database():
    """Create a fresh database on the server named by SERENDIP_TEST_PG_URL; yield its URL; drop it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("SERENDIP_TEST_PG_URL")
    if not base:
        pytest.skip("SERENDIP_TEST_PG_URL is not set (.ci/run starts PostgreSQL and sets it)")
    name = f"serendip_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def workspace(request, tmp_path):
    """A new empty workspace on each backend."""
    if request.param == "sqlite":
        ws = Workspace.init(tmp_path / "ws")
        yield ws
        ws.close()
    else:
        gen = _pg_database()
        url = next(gen)
        ws = Workspace.init(tmp_path / "ws", database=url)
        yield ws
        ws.close()
        gen.close()
