"""``verify_claim`` over a real workspace (BM25 retrieval, stored abstracts split with offsets), the
verifier's models replaced by fixed probabilities; and the claim checks and the missing-model message."""
from __future__ import annotations

import json

import pytest
from evidence_helpers import fixed_verifier as _verifier

from serendip.errors import DataError
from serendip.evidence.api import MAX_CLAIM_CHARS, verifier_runs, verify_claim
from serendip.workbench import Workspace

RECORDS = [
    {"id": "z1", "title": "Zinc lozenges and the common cold",
     "abstract": "Zinc lozenges were tested (e.g. zinc acetate). Zinc shortened colds by 2 days. Funding: none."},
    {"id": "c1", "title": "Coffee and liver fibrosis", "abstract": "Coffee drinkers had less fibrosis."},
]


@pytest.fixture()
def ws(tmp_path):
    src = tmp_path / "r.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as w:
        w.ingest([src])
        w.index(dense=False)
        yield w


def test_verdicts_carry_offsets_into_the_stored_abstract(ws):
    probs = {"Zinc lozenges were tested (e.g. zinc acetate).": 0.2, "Zinc shortened colds by 2 days.": 0.9,
             "Funding: none.": 0.1, "Coffee drinkers had less fibrosis.": 0.3}
    out = verify_claim(ws, "zinc lozenges shorten colds more than coffee", k=2, mode="bm25",
                       verifier=_verifier(probs, [[0.05, 0.05, 0.9]]))
    assert [(v.rank, v.label) for v in out] == [(1, "SUPPORT"), (2, "NEI")]
    (r,) = out[0].rationale
    stored = dict(ws.records())[out[0].record_id].abstract
    assert stored[r["start"]:r["end"]] == r["text"] == "Zinc shortened colds by 2 days." and r["index"] == 1
    assert out[1].rationale == [] and out[1].to_dict()["label"] == "NEI"


@pytest.mark.parametrize("claim,match", [("  ", "claim is empty"), ("x" * (MAX_CLAIM_CHARS + 1), "over the")])
def test_bad_claims_are_one_clear_error(ws, claim, match):
    with pytest.raises(DataError, match=match):
        verify_claim(ws, claim, verifier=_verifier({}, []))


def test_no_trained_verifier_says_how_to_train(ws):
    with pytest.raises(DataError, match="serendip verify --train"):
        verifier_runs(ws)
