"""Ingest's two routes from reader to database store the same rows: a small file read in this process
(records turned into their JSON form here) and a big one parsed in a child (the JSON form sent over and
never rebuilt into a Record); keys and labels computed on the JSON form equal those of the Record."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

import serendip.literature.ingest as ingest_mod
from serendip.literature.dedupe import keys_of, keys_of_dict
from serendip.literature.readers import get_reader, id_keyed_formats
from serendip.literature.record import AbstractSection, Author, Record, record_label
from serendip.workbench import Workspace
from serendip.workspace.schema import records

FIXTURES = Path(__file__).parents[2] / "fixtures" / "dedupe"
EXPORTS = [FIXTURES / "papers.ris", FIXTURES / "papers.bib", FIXTURES / "papers.nbib"]


def _edge_records() -> list[Record]:
    return [
        Record(),
        Record(abstract_sections=[AbstractSection("Zinc shortens colds."), AbstractSection("")], year=2011),
        Record(title="Reply", year=1999, authors=[Author(collective="The ÖZ Group")],
               extra={"pages": "e1002-9"}, source_index=3),
        Record(title="A trial", authors=[Author(), Author(family="Öztürk")], extra={"start_page": "12"},
               source_key="abc", source_format="beir", doi="10.1/x"),
        Record(title="[Not available]", pmid="123", extra={"pages": 12}),
    ]


def test_keys_and_label_of_the_json_form_equal_those_of_the_record():
    id_keyed = id_keyed_formats()
    recs = _edge_records()
    for path, fmt in [*zip(EXPORTS, ("ris", "bibtex", "medline")), (FIXTURES / "cohen_tiny.jsonl", "jsonl")]:
        recs += [r for r in get_reader(fmt).read(path) if isinstance(r, Record)]
    assert len(recs) > 15
    for rec in recs:
        d = rec.to_dict()
        assert keys_of_dict(d, id_keyed) == keys_of(rec, id_keyed)
        assert keys_of_dict(json.loads(json.dumps(d)), id_keyed) == keys_of(rec, id_keyed)
        assert record_label(d) == rec.label


def _stored(tmp_path: Path, name: str, paths: list[Path], batch_size: int) -> tuple[list, list]:
    with Workspace.init(tmp_path / name) as ws:
        reps = [ingest_mod.ingest(ws.engine, [p], batch_size=batch_size) for p in paths]
        with ws.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(select(records).order_by(records.c.id))]
    counts = [(r.ingested, r.duplicates, r.failed, r.merged, r.conflicts, r.errors) for r in reps]
    return rows, counts


@pytest.mark.parametrize("batch_size", [1, 2, 2000])
def test_child_and_in_process_routes_store_the_same_rows(tmp_path, monkeypatch, batch_size):
    in_process = _stored(tmp_path, "here", EXPORTS, batch_size)
    monkeypatch.setattr(ingest_mod, "PREFETCH_BYTES", -1)  # every file parsed in a child
    in_child = _stored(tmp_path, "child", EXPORTS, batch_size)
    assert in_child == in_process
    rows, counts = in_process
    assert len(rows) == 3 and sum(c[3] for c in counts) == 6  # the later exports merged into the first


@pytest.mark.parametrize("prefetch", [False, True])
def test_duplicates_inside_one_batch_and_across_batches_are_found(tmp_path, monkeypatch, prefetch):
    if prefetch:
        monkeypatch.setattr(ingest_mod, "PREFETCH_BYTES", -1)
    docs = [{"title": f"Paper {t}", "year": 2001, "authors": ["Smith J"], "pmid": str(100 + t)}
            for t in (0, 1, 0, 2, 3, 1)]  # batches of 3: copy of 0 in batch 1, copy of 1 in batch 2
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    with Workspace.init(tmp_path / "ws") as ws:
        rep = ingest_mod.ingest(ws.engine, [path], batch_size=3)
        assert (rep.ingested, rep.duplicates, rep.failed) == (4, 2, 0)
        assert ws.count() == 4
        with ws.engine.connect() as conn:
            data = {r.pmid: r.data for r in conn.execute(select(records.c.pmid, records.c.data))}
    assert [s["line"] for s in data["100"]["sources"]] == [1, 3]
    assert [s["line"] for s in data["101"]["sources"]] == [2, 6]
