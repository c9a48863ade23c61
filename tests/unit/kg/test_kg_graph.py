"""serendip.kg.graph: MeSH records read with their problems reported, co-occurrence counts, evidence
PMIDs, first years and NPMI against values worked out by hand."""
from __future__ import annotations

import gzip
import json
import math

import pytest

from serendip.kg.graph import (
    CHECK_TAGS,
    EntityRecord,
    build_graph,
    graph_matrix,
    mesh_descriptor,
    npmi,
    read_mesh_records,
)

RECORDS = [
    EntityRecord("1", 2000, ("A", "B", "C")),
    EntityRecord("2", 2001, ("A", "B")),
    EntityRecord("3", 2002, ("B", "D")),
    EntityRecord("4", None, ("A", "D")),
    EntityRecord("5", 2000, None),
]


def test_counts_evidence_first_year_and_npmi_by_hand():
    g = build_graph(RECORDS)
    assert g.graph["n_docs"] == 4 and g.graph["left_out"] == {"no_entities": 1}
    assert {n: g.nodes[n]["count"] for n in g} == {"A": 3, "B": 3, "C": 1, "D": 2}
    assert g.nodes["D"]["first_year"] == 2002
    assert sorted(g.edges) == [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D")]
    ab = g.edges["A", "B"]
    assert (ab["count"], ab["pmids"], ab["first_year"]) == (2, ["1", "2"], 2000)
    assert g.edges["A", "D"]["first_year"] is None  # only in the year-less record
    # p(A) = p(B) = 3/4, p(A,B) = 2/4: log((1/2) / (9/16)) / log 2 = log(8/9) / log 2
    assert ab["npmi"] == pytest.approx(-0.169925, abs=1e-6)
    # p(A) = 3/4, p(C) = 1/4, p(A,C) = 1/4: log(4/3) / log 4
    assert g.edges["A", "C"]["npmi"] == pytest.approx(0.207519, abs=1e-6)
    # p(B) = 3/4, p(D) = 2/4, p(B,D) = 1/4: log(2/3) / log 4
    assert g.edges["B", "D"]["npmi"] == pytest.approx(-0.292481, abs=1e-6)


def test_until_leaves_out_later_and_yearless_records_and_counts_them():
    g = build_graph(RECORDS, until=2001)
    assert g.graph["left_out"] == {"no_entities": 1, "no_year": 1, "after_until": 1}
    assert g.graph["n_docs"] == 2 and set(g) == {"A", "B", "C"}
    assert g.edges["A", "B"]["npmi"] == 1.0  # together in every record: complete co-occurrence
    assert g.edges["A", "C"]["npmi"] == pytest.approx(0.0)  # p(A) = 1: independent
    assert max(y for _, _, y in g.edges(data="first_year")) <= 2001


def test_exclude_drops_the_heading_everywhere():
    g = build_graph(RECORDS, exclude={"B"})
    assert set(g) == {"A", "C", "D"} and sorted(g.edges) == [("A", "C"), ("A", "D")]
    assert g.graph["excluded"] == ["B"] and g.graph["n_docs"] == 4


def test_npmi_bounds_and_bad_counts():
    assert npmi(0, 2, 3, 10) == -1.0
    assert npmi(5, 5, 5, 5) == 1.0
    assert npmi(2, 4, 5, 10) == pytest.approx(0.0)  # p(x,y) = p(x) p(y)
    assert npmi(3, 3, 3, 10) == pytest.approx(math.log(10 / 3) / math.log(10 / 3))
    with pytest.raises(ValueError, match="inconsistent"):
        npmi(4, 3, 5, 10)


def test_mesh_descriptor_strips_qualifiers_and_stars():
    assert mesh_descriptor("*Hypertension/drug therapy") == "Hypertension"
    assert mesh_descriptor("Hypertension/DT*") == "Hypertension"
    assert mesh_descriptor(" Aged, 80 and over ") == "Aged, 80 and over"
    assert mesh_descriptor("*/x") == ""
    assert {"Humans", "Female", "Male", "Animals", "Aged"} <= CHECK_TAGS
    assert "Hypertension" not in CHECK_TAGS and "Rats" not in CHECK_TAGS


def test_read_reports_bad_lines_and_counts_records_without_mesh_or_year(tmp_path):
    path = tmp_path / "records.jsonl.gz"
    lines = [json.dumps({"pmid": "1", "year": 1999, "mesh": ["*Hypertension/DT", "Hypertension", "Humans"]}),
             "{not json",
             json.dumps({"pmid": "2", "year": "1999", "mesh": []}),
             "",
             json.dumps({"pmid": "3", "year": None, "mesh": ["Pain"]}),
             json.dumps({"pmid": 4, "year": 2001, "mesh": None}),
             json.dumps({"year": 2001, "mesh": ["Pain"]})]
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    records, report = read_mesh_records(path)
    assert [r.pmid for r in records] == ["1", "3", "4"]
    assert records[0].entities == ("Hypertension", "Humans")  # qualifiers stripped, kept once
    assert (report.n_records, report.n_no_entities, report.n_no_year) == (3, 1, 1)
    assert [(i.line, i.record) for i in report.issues] == [(2, None), (3, "2"), (7, None)]
    assert str(report.issues[1]).startswith(f"{path}, line 3, record 2: year '1999'")
    assert "3 records read (1 without MeSH, 1 without a year); 3 bad lines skipped" == report.summary()


def test_graph_matrix_is_symmetric_in_node_order():
    gm = graph_matrix(build_graph(RECORDS))
    assert gm.nodes == ["A", "B", "C", "D"] and gm.index["C"] == 2
    dense = gm.adj.toarray()
    assert (dense == dense.T).all() and dense.trace() == 0
    assert list(gm.degree) == [3, 3, 2, 2]
