"""Evidence fixtures: the tiny reranker runs of :func:`evidence_helpers.make_tiny_runs`, made once, and a
private ONNX export cache for the tests that load a reranker (its default backend exports the run)."""
from __future__ import annotations

import pytest
from evidence_helpers import make_tiny_runs


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    return make_tiny_runs(tmp_path_factory.mktemp("rerank"))


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("serendip-cache")


@pytest.fixture
def onnx_cache(_session_cache, monkeypatch):
    """``SERENDIP_CACHE`` set to a folder private to this test session (so each tiny run is exported
    once, and never into the user's cache); returns it."""
    monkeypatch.setenv("SERENDIP_CACHE", str(_session_cache))
    return _session_cache
