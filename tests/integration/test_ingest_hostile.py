"""Hostile and awkward inputs found by trying to break ingest (see the closing notes of issue 2)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from serendip.errors import ConfigError
from serendip.workbench import Workspace


def test_records_without_title_are_deduplicated_by_abstract(tmp_path):
    f = tmp_path / "no_title.csv"
    f.write_text("name,abstract,year\nA,Zinc lozenges shortened colds.,2011\nB,Vitamin C did not.,2012\n")
    ws = Workspace.init(tmp_path / "ws")
    assert ws.ingest([f]).ingested == 2
    again = ws.ingest([f])
    assert (again.ingested, again.duplicates) == (0, 2)
    assert ws.count() == 2


def test_concurrent_ingests_of_one_file_store_each_record_once(tmp_path):
    f = tmp_path / "many.jsonl"
    f.write_text("\n".join(json.dumps({"title": f"Work {i}", "year": 2000}) for i in range(6000)) + "\n")
    ws_path = tmp_path / "ws"
    Workspace.init(ws_path).close()
    code = ("import sys; from serendip.workbench import Workspace; "
            "r = Workspace.open(sys.argv[1]).ingest([sys.argv[2]]); print(r.ingested, r.duplicates)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(ws_path), str(f)], stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = sorted(p.communicate(timeout=120)[0].split() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert outs == [["0", "6000"], ["6000", "0"]]
    assert Workspace.open(ws_path).count() == 6000


def test_mapping_applies_to_csv_inputs_only(tmp_path, cases_dir):
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("Headline,year\nZinc and the common cold,2011\n")
    xml = cases_dir / "C01_pubmed-structured-abstract" / "structured_abstract.xml"
    ws = Workspace.init(tmp_path / "ws")
    rep = ws.ingest([csv_file, xml], mapping={"title": "Headline"})
    assert (rep.ingested, rep.failed) == (3, 0)
    with pytest.raises(ConfigError, match="apply to none of the inputs"):
        ws.ingest([xml], mapping={"title": "Headline"})


def test_huge_record_and_overlong_line_are_reported_not_stored(tmp_path):
    import serendip.literature.readers.jsonl as jsonl_mod

    f = tmp_path / "big.jsonl"
    lines = [json.dumps({"id": "ok1", "title": "Small record"}),
             json.dumps({"id": "huge", "title": "Huge", "abstract": "word " * 300_000}),
             json.dumps({"id": "ok2", "title": "Another small record"})]
    f.write_text("\n".join(lines) + "\n")
    ws = Workspace.init(tmp_path / "ws")
    rep = ws.ingest([f])
    assert (rep.ingested, rep.failed) == (2, 1)
    assert "line 2" in rep.errors[0] and "over the 1,000,000 limit" in rep.errors[0]

    old = jsonl_mod.MAX_LINE_BYTES
    jsonl_mod.MAX_LINE_BYTES = 1000
    try:
        g = tmp_path / "long.jsonl"
        g.write_text(json.dumps({"id": "a", "title": "First"}) + "\n" + "x" * 5000 + "\n"
                     + json.dumps({"id": "b", "title": "Third"}) + "\n")
        rep = ws.ingest([g])
    finally:
        jsonl_mod.MAX_LINE_BYTES = old
    assert (rep.ingested, rep.failed) == (2, 1)
    assert "line 2" in rep.errors[0] and "longer than 1,000 bytes" in rep.errors[0]
