"""Shared fixtures: the data mirror, the cases folder, temporary workspaces."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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
    """``../shared/cases``: small real-world inputs with their right values (see CASES.md)."""
    path = Path(os.environ.get("SERENDIP_CASES", SHARED / "cases"))
    if not path.is_dir():
        pytest.skip(f"cases folder {path} not found (it sits beside the repository as ../shared/cases)")
    return path


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Tests never reach a model hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
