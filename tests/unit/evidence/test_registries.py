"""Registry meta-test: every reranker registered in RERANKERS (after the domains are loaded) is
exercised for real on a tiny run; an entry without a case fails ("no test case for reranker <name>")."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from evidence_helpers import QUERY

from serendip.models.plugins import load_domains
from serendip.retrieval.rerank import RERANKERS, reranker_names


def _case_cross_encoder(spec, runs) -> None:
    assert spec.backends == ("torch", "onnx", "onnx-int8", "openvino-int8")
    optional = {"openvino-int8": ("openvino", "nncf")}  # an optional extra: run where installed
    for backend in (None, *spec.backends):  # None: the default one
        if not all(importlib.util.find_spec(m) for m in optional.get(backend, ())):
            continue
        rr = spec.load(runs["good"]) if backend is None else spec.load(runs["good"], backend)
        scores = rr.score(QUERY, [f"{QUERY} AAAAGGGGTTTTCCCA", f"{QUERY} AAAATTTTCCCCATAT"])
        assert scores.shape == (2,) and scores.dtype == np.float64 and scores[0] > scores[1], backend


RERANKER_CASES = {"cross-encoder": _case_cross_encoder}


def _entries() -> list[str]:
    load_domains()
    return reranker_names()


def test_the_evidence_domain_registers_the_cross_encoder():
    assert "cross-encoder" in _entries()


@pytest.mark.parametrize("name", _entries())
def test_every_registered_reranker_has_a_case(name, tiny_runs, onnx_cache):
    if name not in RERANKER_CASES:
        pytest.fail(f"no test case for reranker {name}")
    spec = RERANKERS.get(name)
    assert spec.name == name and spec.description
    RERANKER_CASES[name](spec, tiny_runs)
