"""MeSH headings in screening: read from the records file, placed beside the text TF-IDF by
``tfidf-mesh-svm`` only when most records have them, and read from a workspace's records in a session."""
from __future__ import annotations

import json

import numpy as np
from screening_helpers import tiny_set

from serendip.screening import load_screening_set, simulate
from serendip.screening.data import ScreeningSet, read_records
from serendip.screening.features import ELAS_TFIDF, FeatureStore


def _records(tmp_path, rows):
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_mesh_is_read_and_a_bad_mesh_is_a_named_issue(tmp_path):
    path = _records(tmp_path, [
        {"pmid": "1", "title": "a", "abstract": "b", "mesh": ["Humans", " Aspirin ", ""]},
        {"pmid": "2", "title": "c", "abstract": None, "mesh": None},
        {"pmid": "3", "title": "d", "mesh": "Humans"},
        {"pmid": "4", "title": "e", "mesh": ["Humans", 7]},
    ])
    records, issues = read_records([path])
    assert records["1"].mesh == ("Humans", "Aspirin") and records["2"].mesh == ()
    assert sorted(records) == ["1", "2"]
    assert [(i.line, i.record) for i in issues] == [(3, "3"), (4, "4")]
    assert all("mesh is not a list of strings" in i.reason for i in issues)


def test_the_set_carries_mesh_in_label_order(tmp_path):
    path = _records(tmp_path, [{"pmid": "1", "title": "x", "mesh": ["A"]}, {"pmid": "2", "title": "y"}])
    labels = tmp_path / "labels.tsv"
    labels.write_text("review\tpmid\tlabel_abstract_screening\nR\t2\t0\nR\t1\t1\n", encoding="utf-8")
    ds = load_screening_set(path, labels, "R")
    assert ds.ids == ["2", "1"] and ds.mesh == [[], ["A"]]


def _with_mesh(ds: ScreeningSet, share: float) -> ScreeningSet:
    """``ds`` with MeSH for the first ``share`` of its records: includes get "Include Heading"."""
    k = int(round(share * len(ds)))
    mesh = [(["Include Heading", "Humans"] if ds.labels[i] else ["Humans"]) if i < k else [] for i in range(len(ds))]
    return ScreeningSet(ds.name, ds.ids, ds.titles, ds.abstracts, ds.labels, mesh=mesh, source="tiny")


def test_text_mesh_adds_the_mesh_block_only_when_most_records_have_mesh():
    ds = tiny_set(6, 30)
    text = FeatureStore(ds).tfidf(ELAS_TFIDF)
    few = FeatureStore(_with_mesh(ds, 0.3))
    assert few.mesh_coverage() == 11 / 36
    assert few.text_mesh(0.5) is few.tfidf(ELAS_TFIDF)          # under half: the text alone
    most = FeatureStore(_with_mesh(ds, 1.0))
    X = most.text_mesh(0.5)
    assert X.shape == (36, text.shape[1] + 2)                   # two distinct headings, case-folded
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)), 1.0)
    inc = int(np.flatnonzero(ds.labels)[0])
    assert X[inc, text.shape[1]:].nnz == 2 and X[inc + 1, text.shape[1]:].nnz == 1


def test_mesh_svm_is_the_text_svm_without_mesh_and_finds_includes_sooner_with_it():
    ds = tiny_set(6, 30)
    plain = simulate(ds, "tfidf-svm", "max", [0, 1], stop_rules=())
    same = simulate(ds, "tfidf-mesh-svm", "max", [0, 1], stop_rules=())
    assert [r.order for r in plain.runs] == [r.order for r in same.runs]
    # the heading names every include: with it the includes come first
    told = simulate(_with_mesh(ds, 1.0), "tfidf-mesh-svm", "max", [0, 1], stop_rules=())
    assert all(r.metrics["wss@100"] >= p.metrics["wss@100"] for r, p in zip(told.runs, plain.runs))
    assert told.runs[0].order[:5] == sorted(told.runs[0].order[:5], key=lambda i: -ds.labels[i])


def test_a_labelled_record_skipped_for_its_mesh_is_named_with_the_reason(tmp_path):
    import pytest

    from serendip.errors import ParseError

    path = _records(tmp_path, [{"pmid": "1", "title": "x", "mesh": "Humans; Aspirin"}, {"pmid": "2", "title": "y"}])
    labels = tmp_path / "labels.tsv"
    labels.write_text("review\tpmid\tlabel_abstract_screening\nR\t1\t1\nR\t2\t0\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"PMID 1 .*skipped: .*records\.jsonl, line 1, record 1: mesh is not a list"):
        load_screening_set(path, labels, "R")
