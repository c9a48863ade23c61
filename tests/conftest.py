"""Shared fixtures: the data mirror, the cases folder, temporary workspaces."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(Path(__file__).parent) not in sys.path:  # shared test helpers (models_helpers.py)
    sys.path.insert(0, str(Path(__file__).parent))
SHARED = REPO.parent / "shared"


def _mirror() -> Path | None:
    value = os.environ.get("SERENDIP_DATA_MIRROR")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The public-data mirror (``SERENDIP_DATA_MIRROR``); tests using it are skipped without it."""
    path = _mirror()
    if path is None or not path.is_dir():
        pytest.skip("SERENDIP_DATA_MIRROR is not set to a folder (CI sets it to ../shared/data)")
    return path


@pytest.fixture(scope="session")
def cases_dir() -> Path:
    """``../shared/cases``: small real-world inputs with their right values (see CASES.md).

    ``SERENDIP_CASES`` if set; else ``cases`` beside the repository's ``../shared``; else ``cases``
    beside the data mirror (``$SERENDIP_DATA_MIRROR/../cases``, for a clone made elsewhere)."""
    mirror = _mirror()
    candidates = [SHARED / "cases"] + ([mirror.parent / "cases"] if mirror else [])
    default = next((c for c in candidates if c.is_dir()), candidates[0])
    path = Path(os.environ.get("SERENDIP_CASES", default))
    if not path.is_dir():
        pytest.skip(f"cases folder {path} not found (it sits beside the repository as ../shared/cases)")
    return path


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Tests never reach a model hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a module (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    tiny models run fastest on one thread, and several OpenMP threads on shared cores spin-wait (a 10x
    slowdown when another process is busy); restored afterwards."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def fresh_pg_database():
    """``fresh_pg_database()`` -> the URL of a new, empty database on the server named by
    SERENDIP_TEST_PG_URL (the test is skipped without one); every database made is dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("SERENDIP_TEST_PG_URL")
    if not base:
        pytest.skip("SERENDIP_TEST_PG_URL is not set (.ci/run starts PostgreSQL and sets it)")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def make() -> str:
        names.append(f"serendip_test_{uuid.uuid4().hex[:12]}")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{names[-1]}"'))
        return make_url(base).set(database=names[-1]).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()

