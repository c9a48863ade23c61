"""Evidence fixtures: the tiny reranker runs of :func:`evidence_helpers.make_tiny_runs`, made once."""
from __future__ import annotations

import pytest
from evidence_helpers import make_tiny_runs


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    return make_tiny_runs(tmp_path_factory.mktemp("rerank"))
