"""Per-file ingest: a file that fails whole is reported and the others are still ingested; the report
has one line per file (format, records read, ingested, duplicates, failed); empty files warn."""
from __future__ import annotations

import gzip
import json

import pytest

from serendip.literature.file_report import FILE_COLUMNS, FileReport, is_empty
from serendip.workbench import Workspace

RIS = "TY  - JOUR\nTI  - Zinc lozenges and the common cold\nPY  - 2011\nER  - \n"


@pytest.fixture()
def ws(tmp_path):
    with Workspace.init(tmp_path / "ws") as workspace:
        yield workspace


def _jsonl(path, n, start=0):
    path.write_text("".join(json.dumps({"id": f"j{i}", "title": f"Trial {i} of vitamin D", "year": 2000 + i})
                            + "\n" for i in range(start, start + n)))
    return path


def test_bad_csv_in_the_middle_fails_whole_and_the_files_after_it_are_ingested(ws, tmp_path):
    first = tmp_path / "a.ris"
    first.write_text(RIS)
    bad = tmp_path / "b.csv"
    bad.write_text("name,year\nA,2011\nB,2012\n")  # no title or abstract column: the reader refuses it
    last = _jsonl(tmp_path / "c.jsonl", 3)
    rep = ws.ingest([first, bad, last])
    assert (rep.ingested, rep.duplicates, rep.failed) == (4, 0, 1)
    assert ws.count() == 4
    assert [f.path for f in rep.failed_files] == [str(bad)]
    assert "no title or abstract column" in rep.failed_files[0].error
    assert rep.errors == [f"{bad}: {rep.failed_files[0].error}"]
    rows = {f.path: (f.format, f.read, f.ingested, f.duplicates, f.failed, f.status()) for f in rep.files}
    assert rows == {str(first): ("ris", 1, 1, 0, 0, "ok"), str(bad): ("csv", 0, 0, 0, 0, "FAILED"),
                    str(last): ("jsonl", 3, 3, 0, 0, "ok")}
    stored = json.loads((ws.path / "reports" / f"ingest-{rep.id}.json").read_text())
    assert stored["failed_files"] == [str(bad)] and len(stored["files"]) == 3


def test_per_file_counts_split_duplicates_and_bad_records(ws, tmp_path):
    one = _jsonl(tmp_path / "one.jsonl", 4)
    two = tmp_path / "two.jsonl"
    two.write_text(_jsonl(tmp_path / "x.jsonl", 3, start=2).read_text() + "{broken\n")
    rep = ws.ingest([one, two])
    by_path = {f.path: f for f in rep.files}
    assert (by_path[str(one)].read, by_path[str(one)].ingested, by_path[str(one)].duplicates) == (4, 4, 0)
    two_entry = by_path[str(two)]
    assert (two_entry.read, two_entry.ingested, two_entry.duplicates, two_entry.failed) == (3, 1, 2, 1)
    assert not rep.failed_files  # a bad record is not a whole-file failure
    assert sum(f.ingested for f in rep.files) == rep.ingested == 5


def test_explicit_format_that_finds_no_record_fails_whole(ws, tmp_path):
    f = _jsonl(tmp_path / "data.jsonl", 2)
    rep = ws.ingest([f], fmt="ris")
    assert [x.path for x in rep.failed_files] == [str(f)]
    assert "format 'ris' (given with --format) found no record" in rep.failed_files[0].error
    assert ws.count() == 0
    rep = ws.ingest([f])  # sniffed, the same file is fine
    assert rep.ingested == 2 and not rep.failed_files


def test_bad_first_line_of_a_jsonl_file_under_auto_is_reported_as_with_format_jsonl(tmp_path):
    """``--format auto`` on a ``.jsonl`` file whose first line is malformed keeps the good records and
    reports the bad line with its file and line number: the outcome of ``--format jsonl``."""
    path = tmp_path / "first_bad.jsonl"
    path.write_text('{"id": "j0", "title": "cut off\n' + _jsonl(tmp_path / "x.jsonl", 3, start=1).read_text())
    outcomes = []
    for fmt in ("auto", "jsonl"):
        with Workspace.init(tmp_path / f"ws-{fmt}") as workspace:
            rep = workspace.ingest([path], fmt=fmt)
            titles = sorted(r.title for _, r in workspace.records())
        assert not rep.failed_files and [f.format for f in rep.files] == ["jsonl"]
        assert len(rep.errors) == 1 and rep.errors[0].startswith(f"{path}, line 1,")
        outcomes.append((rep.ingested, rep.failed, rep.errors, titles))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][:2] == (3, 1) and outcomes[0][3] == ["Trial 1 of vitamin D", "Trial 2 of vitamin D",
                                                            "Trial 3 of vitamin D"]


def test_sniffed_format_with_no_record_warns(ws, tmp_path):
    header_only = tmp_path / "h.csv"
    header_only.write_text("title,abstract,year\n")
    rep = ws.ingest([header_only])
    assert not rep.failed_files
    assert rep.warnings == [f"{header_only}: no record found (read as csv)"]


def test_file_whose_every_record_is_skipped_fails_whole(ws, tmp_path):
    good = tmp_path / "good.ris"
    good.write_text(RIS)
    truncated = tmp_path / "trunc.ris"
    truncated.write_text("TY  - JOUR\nTI  - Truncated\nPY  - 2020\n")  # no ER line: its one record is skipped
    rep = ws.ingest([good, truncated])
    assert [f.path for f in rep.failed_files] == [str(truncated)]
    assert "none of its 1 record(s) could be read" in rep.failed_files[0].error
    assert rep.warnings == [] and ws.count() == 1  # not also "no record found"


def test_empty_files_warn_and_do_not_fail(ws, tmp_path):
    empty = tmp_path / "empty.ris"
    empty.write_text("")
    blank = tmp_path / "blank.txt"  # no format would recognise it, but it is only blank
    blank.write_text("\n \n")
    packed = tmp_path / "empty.csv.gz"
    packed.write_bytes(gzip.compress(b""))
    rep = ws.ingest([empty, blank, packed], fmt="auto")
    assert not rep.failed_files and rep.failed == 0
    assert [f.status() for f in rep.files] == ["empty", "empty", "empty"]
    assert all("empty file" in w for w in rep.warnings) and len(rep.warnings) == 3
    rep = ws.ingest([empty], fmt="ris")  # an empty file is not "no record found by --format"
    assert not rep.failed_files and rep.files[0].status() == "empty"


def test_unrecognised_and_unreadable_files_fail_whole_others_kept(ws, tmp_path):
    odd = tmp_path / "notes.txt"
    odd.write_text("just some notes, not a bibliography\n")
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"id": "a", "title": "T"}\n' * 50)[:-12])  # truncated gzip
    good = tmp_path / "a.ris"
    good.write_text(RIS)
    rep = ws.ingest([odd, broken, good])
    assert {f.path for f in rep.failed_files} == {str(odd), str(broken)}
    assert "could not recognise the format" in next(f for f in rep.files if f.path == str(odd)).error
    assert ws.count() >= 1 and rep.files[-1].ingested == 1


def test_file_report_row_and_is_empty(tmp_path):
    entry = FileReport("x.ris", "ris", read=3, ingested=2, duplicates=1)
    assert entry.row() == ("x.ris", "ris", "3", "2", "1", "0", "ok") and len(entry.row()) == len(FILE_COLUMNS)
    entry.error = "unreadable"
    assert entry.failed_whole and entry.status() == "FAILED" and entry.error_line() == "x.ris: unreadable"
    (tmp_path / "e").write_text("")
    (tmp_path / "f").write_text("x")
    assert is_empty(tmp_path / "e") and not is_empty(tmp_path / "f") and not is_empty(tmp_path)


def test_file_failing_midway_keeps_its_stored_batches_and_the_next_file(ws, tmp_path, monkeypatch):
    import serendip.literature.ingest as ingest_mod

    real_stream = ingest_mod._stream

    def failing_stream(reader, path, options):  # the disk goes away after 50 records of the first file
        for n, item in enumerate(real_stream(reader, path, options)):
            if path.name == "first.jsonl" and n == 50:
                raise OSError(5, "Input/output error", str(path))
            yield item

    monkeypatch.setattr(ingest_mod, "_stream", failing_stream)
    first = _jsonl(tmp_path / "first.jsonl", 100)
    after = _jsonl(tmp_path / "after.jsonl", 2, start=500)
    rep = ingest_mod.ingest(ws.engine, [first, after], batch_size=20)
    first_entry, after_entry = rep.files
    assert first_entry.failed_whole and "Input/output error" in first_entry.error
    assert (first_entry.read, first_entry.ingested) == (50, 40)  # two whole batches were stored
    assert after_entry.ingested == 2 and ws.count() == 42


def test_report_of_a_dead_ingest_is_closed_by_the_next_one(ws, tmp_path):
    """A killed ingest leaves its report 'running'; the next ingest (holding the lock, so the other
    one is dead) marks it 'interrupted' with the records it did store."""
    from sqlalchemy import update

    from serendip.workspace.schema import ingest_reports

    first = ws.ingest([_jsonl(tmp_path / "a.jsonl", 3)])
    with ws.engine.begin() as conn:  # as a SIGKILL would leave it
        conn.execute(update(ingest_reports).where(ingest_reports.c.id == first.id).values(
            status="running", ingested=0, finished_at=None))
    second = ws.ingest([_jsonl(tmp_path / "b.jsonl", 2, start=3)])
    rows = {r["id"]: r for r in ws.reports()}
    assert (rows[first.id]["status"], rows[first.id]["ingested"]) == ("interrupted", 3)
    assert (rows[second.id]["status"], rows[second.id]["ingested"]) == ("done", 2)


def test_report_row_tells_files_failed_from_records_skipped():
    from serendip.literature.ingest import REPORT_COLUMNS, report_row

    base = {"id": 1, "started_at": "2026-12-04 10:00:00.123", "status": "done", "ingested": 5,
            "duplicates": 0, "paths": ["a.ris", "b.csv"]}
    new = report_row({**base, "failed": 3, "skipped": 2, "deleted": 4})
    assert new == ("1", "2026-12-04 10:00:00", "done", "5", "0", "4", "1 file, 2 records skipped",
                   "a.ris, b.csv") and len(new) == len(REPORT_COLUMNS)
    assert report_row({**base, "failed": 0, "skipped": 0, "deleted": 0})[6] == "0"
    assert report_row({**base, "failed": 3, "skipped": None})[6] == "3 (files + records)"  # before 0004
