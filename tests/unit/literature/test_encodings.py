"""Issue 13 item 4: the same RIS, BibTeX and CSV exports in UTF-16 (LE, with BOM), CP1252 and gzip
read the same records, every field, as the UTF-8 originals; bad bytes are reported per record with
file and line; an encoding that cannot be told says so and suggests --encoding."""
from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serendip.literature.readers import get_reader, sniff_format
from serendip.literature.record import ParseIssue, Record
from serendip.workbench import Workspace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "encodings"
SOURCES = {"ris": "refs.ris", "bibtex": "refs.bib", "csv": "refs.csv"}


def _variants(fmt: str, folder: Path) -> dict[str, Path]:
    """The UTF-8 source of ``fmt`` re-written in every variant; the gzip ones once without .gz."""
    source = FIXTURES / SOURCES[fmt]
    text = source.read_text(encoding="utf-8")
    stem, suffix = source.stem, source.suffix
    data = {
        "utf-8": text.encode(),
        "utf-16-le-bom": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "cp1252": text.encode("cp1252"),
        "utf-8.gz": gzip.compress(text.encode()),
        "cp1252.gz": gzip.compress(text.encode("cp1252")),
        "utf-16.gz": gzip.compress(codecs.BOM_UTF16_LE + text.encode("utf-16-le")),
    }
    out = {}
    for name, raw in data.items():
        path = folder / (f"{stem}-{name.removesuffix('.gz')}{suffix}" + (".gz" if name.endswith(".gz") else ""))
        path.write_bytes(raw)
        out[name] = path
    nameless = folder / f"{stem}-export.dat"  # gzip known by its magic bytes only
    nameless.write_bytes(data["cp1252.gz"])
    out["gzip, no suffix"] = nameless
    return out


def _fields(items: list) -> list[dict]:
    assert all(isinstance(i, Record) for i in items), [str(i) for i in items if isinstance(i, ParseIssue)]
    return [{k: v for k, v in rec.to_dict().items() if k != "source_file"} for rec in items]


@pytest.mark.parametrize("fmt", sorted(SOURCES))
def test_every_variant_reads_the_same_records(tmp_path, fmt):
    variants = _variants(fmt, tmp_path)
    original = _fields(list(get_reader(fmt).read(variants.pop("utf-8"))))
    assert len(original) == 3
    first = original[0]
    assert first["title"].startswith("Café workers’ sleep – a cohort study of “night shifts”")
    assert any(a.get("family") == "Müller" for a in first["authors"]), first["authors"]
    for name, path in variants.items():
        spec = sniff_format(path)  # --format auto: sniffed on the un-gzipped, decoded content
        assert spec.name == fmt, name
        assert _fields(list(spec.make().read(path))) == original, name


def test_ingest_reports_each_files_encoding_and_stores_no_copies(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    first = ws.ingest([FIXTURES / "refs.ris"])
    assert (first.ingested, first.failed) == (3, 0)
    (tmp_path / "in").mkdir()
    variants = _variants("ris", tmp_path / "in")
    del variants["utf-8"]
    report = ws.ingest(sorted(variants.values()))
    assert (report.ingested, report.duplicates, report.failed) == (0, 3 * len(variants), 0), report.errors
    used = {Path(f).name: how for f, how in report.encodings.items()}
    assert used["refs-utf-16-le-bom.ris"] == "utf-16 (byte-order mark)"
    assert used["refs-cp1252.ris"] == "cp1252 (detected by charset-normalizer)"
    assert used["refs-utf-8.ris.gz"] == "utf-8 (UTF-8 check)"
    assert report.to_dict()["encodings"] == report.encodings
    stored = [rec for _, rec in ws.records()]
    assert [r.title for r in stored][1] == "Plain-language summaries: a randomised trial"
    assert not any("\ufffd" in (r.title or "") + r.abstract for r in stored)


def test_wrong_encoding_names_file_and_line_and_keeps_the_rest(tmp_path):
    path = tmp_path / "refs.ris"
    path.write_bytes((FIXTURES / "refs.ris").read_text(encoding="utf-8").encode("cp1252"))
    ws = Workspace.init(tmp_path / "ws")
    report = ws.ingest([path], encoding="utf-8")
    assert (report.ingested, report.failed) == (1, 2)
    assert report.errors[0].startswith(f"{path}, line 1, record 1: record skipped: ")
    assert "not utf-8 text (byte 0xFC)" in report.errors[0] and "--encoding cp1252" in report.errors[0]
    assert report.errors[1].startswith(f"{path}, line 19, record 2: ")
    assert report.encodings[str(path)] == "utf-8 (--encoding)"


def test_undecodable_byte_in_given_encoding_is_reported_per_record(tmp_path):
    text = (FIXTURES / "refs.bib").read_text(encoding="utf-8")
    data = text.encode("cp1252").replace(b"Notes on ASCII-only", b"Notes on \x81ASCII-only")
    path = tmp_path / "refs.bib"
    path.write_bytes(data)
    items = list(get_reader("bibtex", options={"encoding": "cp1252"}).read(path))
    assert [type(i).__name__ for i in items] == ["Record", "Record", "ParseIssue"]
    issue = items[2]
    assert (issue.file, issue.line, issue.record) == (str(path), 24, "smith2015")
    assert "not cp1252 text (byte 0x81)" in issue.reason
    assert items[0].title.startswith("Café workers’ sleep")


def test_stray_byte_in_utf8_csv_is_reported_with_its_line(tmp_path):
    data = (FIXTURES / "refs.csv").read_bytes().replace(b"Plain-language", b"Plain\xe9language")
    path = tmp_path / "refs.csv.gz"
    path.write_bytes(gzip.compress(data))
    items = list(get_reader("auto", path).read(path))
    assert [type(i).__name__ for i in items] == ["Record", "ParseIssue", "Record"]
    assert (items[1].line, items[1].record) == (3, "2") and "byte 0xE9" in items[1].reason


def test_unknown_encoding_says_so_and_suggests_the_option(tmp_path):
    path = tmp_path / "odd.ris"
    path.write_bytes(b"TY  - JOUR\nTI  - " + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 1, 2, 3, 4]) * 30
                     + b"\nER  - \n")
    ws = Workspace.init(tmp_path / "ws")
    report = ws.ingest([path])
    assert report.failed == 1 and report.ingested == 0
    assert str(path) in report.errors[0] and "cannot tell the text encoding" in report.errors[0]
    assert "--encoding" in report.errors[0]


def test_cli_encoding_option(tmp_path):
    from serendip.cli.app import app

    path = tmp_path / "refs.csv"
    path.write_bytes((FIXTURES / "refs.csv").read_text(encoding="utf-8").encode("cp1252"))
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    bad = runner.invoke(app, ["ingest", str(path), "-w", str(ws), "--encoding", "klingon"])
    assert bad.exit_code != 0 and "unknown text encoding 'klingon'" in bad.output
    ok = runner.invoke(app, ["ingest", str(path), "-w", str(ws), "--encoding", "cp1252"])
    assert ok.exit_code == 0, ok.output
    assert "ingested 3" in ok.output and "as cp1252 (--encoding)" in ok.output


def test_json_lines_in_utf16_with_bom_and_gzip(tmp_path):
    import json

    objs = [{"title": "Café workers’ sleep – “night shifts”", "authors": ["Müller, Jürgen"], "year": 2019},
            {"title": "Plain ASCII", "year": 2015}]
    text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)
    plain, utf16 = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    plain.write_text(text, encoding="utf-8")
    utf16.write_bytes(gzip.compress(codecs.BOM_UTF16_LE + text.encode("utf-16-le")))
    assert sniff_format(utf16).name == "jsonl"
    assert _fields(list(get_reader("jsonl").read(utf16))) == _fields(list(get_reader("jsonl").read(plain)))
