"""``COPY`` bulk insert of records on PostgreSQL: rows written by ``COPY`` read back identical to rows
written by the executemany ``INSERT`` (every column, the JSON column as stored text), with tabs,
newlines, backslashes, the COPY null marker ``\\N`` as text, empty strings and non-ASCII text; ingest
takes the ``COPY`` path on PostgreSQL (psycopg 3) and the ``INSERT`` path on SQLite."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from serendip.workbench import Workspace
from serendip.workspace import postgres
from serendip.workspace.database import upgrade
from serendip.workspace.schema import records

#: strings COPY's text format must escape (or must not mistake for its null marker)
ODD = ["tab\there", "new\nline", "cr\r\nlf", "back\\slash", "\\N", "\\.", "ends with a backslash\\",
       "\\t is not a tab", "quote \" and ' apostrophe", "", "  spaces kept  ", "comma,semi;pipe|",
       "naïve café — “quotes” ≤ ∑ 𝔘 😀 中文 العربية", "line\u2028separator\u2029", "ctrl \x01\x1f\x7f",
       "\ufeffbyte-order mark", "e\u0301 combining", "\b\f\v"]

_COLUMNS = [c.name for c in records.columns if c.name != "data"]


def _rows() -> list[dict]:
    out = []
    for i, s in enumerate(ODD + [None]):
        data = {"title": s, "abstract_sections": [{"label": s, "text": s}], "n": i, "x": 0.1, "tiny": 1e-7,
                "flags": [True, False, None], "ключ\t\\": s, "nested": {"list": ODD[:3]}}
        out.append({"pmid": str(1000 + i), "doi": f"10.1/{i}", "pmcid": None, "source_id": s,
                    "title_key": s and s[:255], "year": 1990 + i, "title": s, "abstract": s, "journal": s,
                    "source_file": s, "source_format": "jsonl", "first_author": s and s[:64],
                    "first_page": None, "ingest_id": None, "data": data})
    return out


def _stored(url: str) -> list[tuple]:
    """Every records row as the database holds it: the plain columns, and ``data`` as stored text."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {', '.join(_COLUMNS)}, data::text FROM records ORDER BY id")).all()
        objects = conn.execute(select(records.c.data).order_by(records.c.id)).scalars().all()
    engine.dispose()
    return [tuple(r) for r in rows], objects


@pytest.mark.postgres
@pytest.mark.parametrize("partitions", [None, 3])
def test_copy_stores_rows_identical_to_executemany(fresh_pg_database, monkeypatch, partitions):
    urls = {}
    for method in ("executemany", "copy"):
        urls[method] = fresh_pg_database()
        engine = create_engine(urls[method])
        upgrade(engine, records_partitions=partitions)
        monkeypatch.setattr(postgres, "COPY_ENABLED", method == "copy")
        with engine.begin() as conn:
            assert postgres.uses_copy(conn) is (method == "copy")
            postgres.insert_records(conn, _rows())
        engine.dispose()
    by_insert, objects_insert = _stored(urls["executemany"])
    by_copy, objects_copy = _stored(urls["copy"])
    assert by_copy == by_insert
    assert objects_copy == objects_insert == [r["data"] for r in _rows()]
    assert [r[_COLUMNS.index("title")] for r in by_copy] == ODD + [None]  # right, not merely alike
    assert [r[_COLUMNS.index("id")] for r in by_copy] == list(range(1, len(ODD) + 2))


@pytest.mark.postgres
def test_copy_error_is_a_dbapi_error_naming_the_line(fresh_pg_database):
    from sqlalchemy.exc import DataError

    engine = create_engine(fresh_pg_database())
    upgrade(engine)
    rows = _rows()[:3]
    rows[1]["pmid"] = "9" * 40  # longer than VARCHAR(32)
    with pytest.raises(DataError, match="COPY records, line 2"), engine.begin() as conn:
        postgres.insert_records(conn, rows)
    with engine.connect() as conn:  # the transaction was rolled back whole
        assert conn.execute(text("SELECT count(*) FROM records")).scalar() == 0
    engine.dispose()


def _jsonl(path: Path) -> Path:
    lines = [json.dumps({"id": f"r{i}", "title": f"Work {i}: {s}", "abstract": f"About {s} and more",
                         "authors": [{"family": f"Ødegård{i}", "given": "Å"}], "year": 2000 + i,
                         "journal": s}, ensure_ascii=False) for i, s in enumerate(ODD)]
    lines.append(json.dumps({"id": "r0", "title": f"Work 0: {ODD[0]}", "journal": "Other journal"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.postgres
@pytest.mark.parametrize("partitions", [None, 3])
def test_ingest_by_copy_reads_back_as_ingest_by_executemany(fresh_pg_database, monkeypatch, tmp_path,
                                                            partitions):
    """The same file ingested on each path (a duplicate merged into a stored record included) stores
    the same rows; MEDLINE's sample too when the data mirror is set."""
    files = [_jsonl(tmp_path / "odd.jsonl")]
    mirror = os.environ.get("SERENDIP_DATA_MIRROR")
    if mirror and (Path(mirror) / "medline" / "pubmed_sample.xml.gz").is_file():
        files.append(Path(mirror) / "medline" / "pubmed_sample.xml.gz")
    stored = {}
    for method in ("executemany", "copy"):
        monkeypatch.setattr(postgres, "COPY_ENABLED", method == "copy")
        url = fresh_pg_database()
        with Workspace.init(tmp_path / method, database=url, partitions=partitions) as ws:
            for f in files:
                report = ws.ingest([f])
                assert report.failed == 0, report.errors
        rows, _ = _stored(url)
        stored[method] = rows
    assert stored["copy"] == stored["executemany"]
    assert len(stored["copy"]) == len(ODD) + (604 if len(files) == 2 else 0)
    journals = {r[_COLUMNS.index("journal")] for r in stored["copy"]}
    assert {"back\\slash", "\\N", "naïve café — “quotes” ≤ ∑ 𝔘 😀 中文 العربية"} <= journals


def test_sqlite_inserts_without_copy(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    with ws.engine.begin() as conn:
        assert not postgres.uses_copy(conn)
        postgres.insert_records(conn, _rows()[:2])
        assert conn.execute(select(records.c.title).order_by(records.c.id)).scalars().all() == ODD[:2]
    assert postgres.records_partitions(ws.engine) is None
    ws.close()
