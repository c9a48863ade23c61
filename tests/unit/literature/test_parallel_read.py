"""Ingest's parallel parsing (a splitter and several workers, :mod:`serendip.literature.parallel_read`)
gives exactly the items of the PubMed XML streaming reader, in order, on well-formed files and on every
kind of file where it must hand over to the streaming reader (syntax errors, truncated gzip, entities,
other encodings, content between records, no root end tag...); blocks and read buffers are made tiny so
that every boundary is crossed."""
from __future__ import annotations

import gzip
import multiprocessing as mp
from pathlib import Path

import pytest

import serendip.literature.readers._pubmed_split as split
from serendip.literature.parallel_read import read_parallel
from serendip.literature.readers import get_reader
from serendip.literature.record import Record
from tests.literature_helpers import PROLOG, article

PMIDS = ["31000001", "31000002", "31000003", "31000004"] * 5  # 20 records (same PMIDs: the reader keeps all)


def _body(n: int = 20) -> list[str]:
    return [article(p) for p in PMIDS[:n]]


def _file(path: Path, text: str | bytes, gz: bool = False) -> Path:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _doc(records: list[str], prolog: str = PROLOG, end: str = "</PubmedArticleSet>\n") -> str:
    return prolog + "<PubmedArticleSet>\n" + "".join(records) + end


def _items(items) -> list:
    return [x.to_dict() if isinstance(x, Record) else x if isinstance(x, dict) else repr(x) for x in items]


@pytest.fixture(autouse=True)
def tiny_blocks(monkeypatch):
    monkeypatch.setattr(split, "BLOCK_RECORDS", 3)
    monkeypatch.setattr(split, "READ_BYTES", 997)


def _same(path: Path, workers: int = 2) -> list:
    reader = get_reader("pubmed")
    serial = _items(reader.read(path))
    parallel = _items(read_parallel(reader, path, as_dicts=True, workers=workers))
    assert parallel == serial
    assert not mp.active_children()  # every splitter and worker stopped
    return serial


def _with_record(records: list[str], i: int, old: str, new: str) -> list[str]:
    out = list(records)
    assert old in out[i]
    out[i] = out[i].replace(old, new, 1)
    return out


VARIANTS = {
    "plain": lambda r: _doc(r),
    "one-line records": lambda r: _doc([x.replace("\n", " ") for x in r]),
    "crlf": lambda r: _doc(r).replace("\n", "\r\n"),
    "no prolog": lambda r: _doc(r, prolog=""),
    "utf-8 bom": lambda r: "\ufeff" + _doc(r),
    "syntax error in record 8": lambda r: _doc(_with_record(r, 7, "</ArticleTitle>", "</ArticleTitl>")),
    "record without pmid": lambda r: _doc(_with_record(r, 4, "<PMID Version=\"1\">31000001</PMID>", "")),
    "undefined entity": lambda r: _doc(_with_record(r, 5, "Zinc", "Zinc &eacute;")),
    "deletions at the end": lambda r: _doc(r + ['<DeleteCitation>\n  <PMID Version="1">31000002</PMID>\n'
                                                '</DeleteCitation>\n']),
    "comment between records": lambda r: _doc(r[:4] + ["<!-- <PubmedArticle> -->\n"] + r[4:]),
    "text between records": lambda r: _doc(r[:9] + ["stray text\n"] + r[9:]),
    "start tag in a comment inside a record": lambda r: _doc(_with_record(r, 2, "<Volume>", "<!-- <PubmedArticle> --><Volume>")),
    "no root end": lambda r: _doc(r, end=""),
    "two roots": lambda r: _doc(r[:5]) + "<PubmedArticleSet>\n" + "".join(r[5:]) + "</PubmedArticleSet>\n",
    "no records": lambda r: _doc([]),
    "comment in prolog": lambda r: "<!-- exported -->\n" + _doc(r),
    "book article": lambda r: _doc(r[:2] + ["<PubmedBookArticle><BookDocument><PMID>777</PMID><Book><BookTitle>"
                                           "Handbook</BookTitle></Book><ArticleTitle>Chapter one.</ArticleTitle>"
                                           "</BookDocument></PubmedBookArticle>\n"] + r[2:]),
}


@pytest.mark.parametrize("gz", [False, True], ids=["xml", "gz"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parallel_items_equal_the_streaming_readers(tmp_path, variant, gz):
    items = _same(_file(tmp_path / "f.xml", VARIANTS[variant](_body()), gz=gz))
    assert variant == "no records" or len(items) >= 5


def test_latin1_declared_encoding(tmp_path):
    text = _doc(_with_record(_body(), 1, "Zinc", "Zinc caf\u00e9")).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    items = _same(_file(tmp_path / "l.xml", text.encode("latin-1")))
    assert "Zinc café" in items[1]["title"]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_truncated_gzip_and_any_worker_count(tmp_path, workers, monkeypatch):
    """A failing read loses what it had decompressed. The streaming reader goes on from the start of
    the block being cut; where it stopped earlier than the blocks reached (it reads in other steps),
    the records already given stay and its closing issue ends the items: never fewer records than the
    streaming reader keeps, and the same issue."""
    monkeypatch.setattr(split, "READ_BYTES", 8192)
    full = gzip.compress(_doc(_body() * 20).encode())
    path = _file(tmp_path / "cut.xml.gz", full[: len(full) * 2 // 3])
    reader = get_reader("pubmed")
    serial = _items(reader.read(path))
    parallel = _items(read_parallel(reader, path, as_dicts=True, workers=workers))
    assert not mp.active_children()
    assert parallel[:len(serial) - 1] == serial[:-1] and parallel[-1] == serial[-1]
    assert 0 < len(serial) <= len(parallel) < 400 and "reading stopped" in parallel[-1]
    assert all(isinstance(x, dict) for x in parallel[:-1])


def test_entity_declarations_still_refused(tmp_path):
    from serendip.errors import UnsafeXMLError

    text = _doc(_body()).replace('.dtd">', '.dtd" [<!ENTITY x "y">]>')
    with pytest.raises(UnsafeXMLError):
        list(read_parallel(get_reader("pubmed"), _file(tmp_path / "e.xml", text), as_dicts=True))
    assert not mp.active_children()


def test_stopping_early_stops_every_child(tmp_path):
    items = read_parallel(get_reader("pubmed"), _file(tmp_path / "f.xml", _doc(_body() * 10)), workers=2)
    first = next(items)
    assert len(mp.active_children()) == 2  # two workers
    items.close()
    assert first.pmid == "31000001" and not mp.active_children()


def test_medline_sample(mirror):
    items = _same(mirror / "medline" / "pubmed_sample.xml.gz", workers=2)
    assert len(items) == 604


def _stored(tmp_path: Path, name: str, paths: list[Path]) -> tuple[list, list]:
    from sqlalchemy import select

    import serendip.literature.ingest as ingest_mod
    from serendip.workbench import Workspace
    from serendip.workspace.schema import records

    with Workspace.init(tmp_path / name) as ws:
        reps = [ingest_mod.ingest(ws.engine, [p], batch_size=4) for p in paths]
        with ws.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(select(records).order_by(records.c.id))]
    return rows, [(r.ingested, r.duplicates, r.merged, r.failed, r.deleted, r.conflicts, r.errors,
                   r.withdrawn_lines) for r in reps]


def test_ingest_stores_the_same_rows_in_parallel(tmp_path, monkeypatch):
    """Records made ready to store by the workers (keys, columns, JSON text) are stored exactly as the
    in-process route stores them: copies inside a batch, across batches and across files merged the
    same way, a deletion applied, a withdrawn copy skipped, a record without PMID reported."""
    import serendip.literature.ingest as ingest_mod

    first = _with_record(_body(), 3, "<Volume>7</Volume>", "<Volume>8</Volume>")  # a conflict to report
    first = _with_record(first, 6, '<PMID Version="1">31000003</PMID>', "")
    deletion = ['<DeleteCitation>\n  <PMID Version="1">31000004</PMID>\n</DeleteCitation>\n']
    files = [_file(tmp_path / "a.xml", _doc(first + deletion)),
             _file(tmp_path / "b.xml.gz", _doc(_body()[::-1]), gz=True)]
    here = _stored(tmp_path, "here", files)
    monkeypatch.setattr(ingest_mod, "PREFETCH_BYTES", -1)
    calls = []
    monkeypatch.setattr(ingest_mod, "read_parallel", lambda reader, p, *a, _f=ingest_mod.read_parallel, **k:
                        calls.append(p) or _f(reader, p, *a, **k))
    parallel = _stored(tmp_path, "parallel", files)
    assert calls == files  # both went the parallel way
    assert parallel == here
    rows, counts = here
    assert len(rows) == 3 and counts[0][3] > 0 and counts[0][4] == 1 and counts[1][7]  # merged, deleted, withdrawn


PARENT = """
    import multiprocessing as mp, sys, time
    from pathlib import Path
    import serendip.literature.prefetch as prefetch
    from serendip.literature.parallel_read import read_parallel
    from serendip.literature.readers import get_reader
    prefetch.USE_PDEATHSIG = sys.argv[2] == "1"
    items = read_parallel(get_reader("pubmed"), Path(sys.argv[1]), workers=2)
    next(items)  # then stop reading: the workers fill their queues and block
    print(" ".join(str(p.pid) for p in mp.active_children()), flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to watch processes")
@pytest.mark.parametrize("pdeathsig", [True, False], ids=["pdeathsig", "pipe-watch-only"])
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_workers_die_with_their_parent(tmp_path, pdeathsig, sig):
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    from tests.unit.literature.test_prefetch import alive

    path = _file(tmp_path / "big.xml", _doc(_body() * 40))  # 800 records: 267 blocks of 3, queues fill
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(PARENT), str(path), "1" if pdeathsig else "0"],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    workers = [int(p) for p in parent.stdout.readline().split()]
    try:
        assert len(workers) == 2 and all(alive(w) for w in workers)
        parent.send_signal(getattr(signal, sig))
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(w) for w in workers), "a parsing worker outlived its parent"
    finally:
        parent.kill()
        for w in workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)
