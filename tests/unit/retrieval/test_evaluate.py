"""evaluate_run (ranx) on a hand-computed example; BEIR qrels/queries readers."""
from __future__ import annotations

import math

import pytest

from serendip.errors import DataError, ParseError
from serendip.retrieval.evaluate import (
    ANCHORS,
    evaluate_run,
    load_beir_qrels,
    load_beir_queries,
    run_from_results,
)


def test_ndcg_hand_computed():
    # q1: relevant d1 (rel 2) and d3 (rel 1); run ranks d2, d1, d3.
    # DCG@10 = 2/log2(3) + 1/log2(4); IDCG = 2/log2(2) + 1/log2(3)
    qrels = {"q1": {"d1": 2, "d3": 1}, "q2": {"d9": 1}}
    run = {"q1": {"d2": 0.9, "d1": 0.8, "d3": 0.7}, "q2": {"d9": 0.5, "d8": 0.4}}
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    res = evaluate_run(qrels, run, ("ndcg@10", "recall@100", "mrr@10"))
    assert res["ndcg@10"] == pytest.approx((dcg / idcg + 1.0) / 2, abs=1e-6)
    assert res["recall@100"] == pytest.approx(1.0)
    assert res["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)


def test_missing_query_scores_zero_and_extra_ignored():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    run = {"q1": {"d1": 1.0}, "q3": {"d5": 1.0}}  # q2 has no results, q3 is not judged
    res = evaluate_run(qrels, run, ("ndcg@10",))
    assert res["ndcg@10"] == pytest.approx(0.5)


def test_no_positive_judgement():
    with pytest.raises(DataError):
        evaluate_run({"q1": {"d1": 0}}, {"q1": {"d1": 1.0}})


def test_load_beir_qrels_header_crlf(tmp_path):
    p = tmp_path / "test.tsv"
    p.write_bytes(b"query-id\tcorpus-id\tscore\r\n1\t10\t1\r\n1\t11\t1\r\n\r\n2\t12\t0\r\n")
    assert load_beir_qrels(p) == {"1": {"10": 1, "11": 1}, "2": {"12": 0}}
    bad = tmp_path / "bad.tsv"
    bad.write_text("query-id\tcorpus-id\tscore\n1\t10\n")
    with pytest.raises(ParseError) as exc:
        load_beir_qrels(bad)
    assert "line 2" in str(exc.value)


def test_load_beir_queries(tmp_path):
    p = tmp_path / "queries.jsonl"
    p.write_text('{"_id": "1", "text": "q one", "metadata": {}}\n\n{"_id": 2, "text": "q two"}\n')
    assert load_beir_queries(p) == {"1": "q one", "2": "q two"}
    p.write_text('{"_id": "1"}\n')
    with pytest.raises(ParseError):
        load_beir_queries(p)


def test_run_from_results_and_anchors():
    assert run_from_results(["q"], [[("d", 1.5)]]) == {"q": {"d": 1.5}}
    with pytest.raises(DataError):
        run_from_results(["q"], [])
    assert all({"value", "source"} <= set(a) for a in ANCHORS.values())


@pytest.mark.data
def test_scifact_qrels_from_mirror(mirror):
    test = load_beir_qrels(mirror / "scifact" / "qrels" / "test.tsv")
    train = load_beir_qrels(mirror / "scifact" / "qrels" / "train.tsv")
    assert len(test) == 300 and sum(len(v) for v in test.values()) == 339
    assert len(train) == 809 and sum(len(v) for v in train.values()) == 919
    queries = load_beir_queries(mirror / "scifact" / "queries.jsonl")
    assert len(queries) == 1109 and set(test) <= set(queries)
