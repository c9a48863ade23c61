"""JSON Lines and BEIR corpus readers: bad lines located, gzip, key variants, folders, sniffing."""
from __future__ import annotations

import gzip
import json

import pytest

from serendip.errors import ParseError
from serendip.literature.readers import get_reader, read_head
from serendip.literature.readers.beir import BEIRReader
from serendip.literature.readers.jsonl import JSONLReader
from serendip.literature.record import Author, ParseIssue, Record


def split(out):
    out = list(out)
    return [o for o in out if isinstance(o, Record)], [o for o in out if isinstance(o, ParseIssue)]


def test_registered():
    assert isinstance(get_reader("jsonl"), JSONLReader) and isinstance(get_reader("beir"), BEIRReader)


@pytest.mark.parametrize("gz", [False, True])
def test_jsonl_bad_lines_in_the_middle(tmp_path, gz):
    lines = [
        json.dumps({"id": 1, "title": "First", "abstract": "A."}),
        '{"title": "broken", ',
        "",
        "[1, 2]",
        json.dumps({"id": "x3", "title": "Last", "text": "From text."}),
    ]
    data = ("\n".join(lines) + "\n").encode() + b'{"title": "\xff"}\n'
    path = tmp_path / ("r.jsonl.gz" if gz else "r.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    recs, issues = split(JSONLReader().read(path))
    assert [(r.source_key, r.title, r.abstract, r.source_line, r.source_index) for r in recs] == [
        ("1", "First", "A.", 1, 0), ("x3", "Last", "From text.", 5, 3)]
    assert [(i.file, i.line, i.record) for i in issues] == [
        (str(path), 2, "2"), (str(path), 4, "3"), (str(path), 6, "5")]
    assert issues[0].reason.startswith("line skipped: invalid JSON")
    assert issues[1].reason == "line skipped: a JSON list, not an object"
    assert issues[2].reason.startswith("line skipped: not UTF-8")


def test_jsonl_field_variants(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in [
        {"pmid": "1341608", "title": " T  one ", "abstract": ["S1.", "S2."], "year": 1992,
         "authors": ["A Ciavarella", "L C Borgnino"], "mesh": ["Humans", "Male"],
         "doi": "https://doi.org/10.1000/ABC", "source": "cohen"},
        {"doc_id": 7, "title": "T2", "authors": "Doe, Jane; Roe, R", "year": "Spring 1990",
         "keywords": "a; b", "pmid": "n/a", "month": 4,
         "journal": "J"},
        {"title": "T3", "authors": [{"family": "Fam", "given": "Giv", "orcid": "0000-0002-1825-0097"},
                                    {"name": "Smith JA"}, {"collective": "Group X"}]},
    ]) + "\n", encoding="utf-8")
    (a, b, c), issues = split(JSONLReader().read(path))
    assert issues == []
    assert (a.pmid, a.title, a.abstract, a.year, a.mesh_terms, a.doi, a.extra) == (
        "1341608", "T one", "S1. S2.", 1992, ["Humans", "Male"], "10.1000/abc", {"source": "cohen"})
    assert a.authors == [Author(family="Ciavarella", initials="A"), Author(family="Borgnino", initials="LC")]
    assert (b.source_key, b.year, b.month, b.keywords, b.pmid, b.extra, b.journal) == (
        "7", 1990, 4, ["a", "b"], None, {"pmid_raw": "n/a"}, "J")
    assert b.authors == [Author(family="Doe", given="Jane"), Author(family="Roe", initials="R")]
    assert c.authors == [Author(family="Fam", given="Giv", orcid="0000-0002-1825-0097"),
                         Author(family="Smith", initials="JA"), Author(collective="Group X")]


def test_beir_folder_file_and_bad_lines(tmp_path):
    corpus = tmp_path / "ds" / "corpus.jsonl"
    corpus.parent.mkdir()
    corpus.write_text("\n".join([
        json.dumps({"_id": "d1", "title": "One", "text": "Text one.", "metadata": {"url": "u"}}),
        json.dumps({"title": "no id", "text": "x"}),
        "{not json",
        json.dumps({"_id": "d4", "title": ["list"], "text": "x"}),
        json.dumps({"_id": 5, "title": "", "text": " \n "}),
        json.dumps({"_id": "d6", "title": "Six"}),
    ]) + "\n", encoding="utf-8")
    for target in (corpus.parent, corpus):
        recs, issues = split(BEIRReader().read(target))
        assert [(r.source_key, r.title, r.abstract_sections, r.source_line, r.source_index)
                for r in recs] == [("d1", "One", recs[0].abstract_sections, 1, 0),
                                   ("5", None, [], 5, 4), ("d6", "Six", [], 6, 5)]
        assert recs[0].abstract == "Text one." and recs[0].extra == {"metadata": {"url": "u"}}
        assert all(r.source_file == str(corpus) and r.source_format == "beir" for r in recs)
        assert [(i.file, i.line) for i in issues] == [(str(corpus), 2), (str(corpus), 3),
                                                      (str(corpus), 4)]
        assert issues[0].reason == 'line skipped: no "_id" (a BEIR document needs one)'
        assert issues[2].reason == 'line skipped: "title" is a JSON list, not a string'


def test_beir_gz_folder_and_empty_folder(tmp_path):
    (tmp_path / "corpus.jsonl.gz").write_bytes(gzip.compress(b'{"_id": "a", "title": "A"}\n'))
    recs, _ = split(BEIRReader().read(tmp_path))
    assert [r.source_key for r in recs] == ["a"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not BEIRReader().sniff(empty, b"")
    with pytest.raises(ParseError, match="corpus.jsonl"):
        list(BEIRReader().read(empty))


def test_sniffing_beir_before_jsonl(tmp_path):
    beir = tmp_path / "c.jsonl"
    beir.write_text('{"_id": "1", "title": "t", "text": "' + "x" * 5000 + '"}\n')
    plain = tmp_path / "p.jsonl"
    plain.write_text('{"title": "t", "abstract": "' + "x" * 5000 + '"}\n')
    assert BEIRReader().sniff(beir, read_head(beir))  # first line longer than the 4 KiB head
    assert not BEIRReader().sniff(plain, read_head(plain))
    assert JSONLReader().sniff(plain, read_head(plain))
    assert not JSONLReader().sniff(plain, b"Title,Abstract\n")
    assert get_reader("auto", beir).name == "beir"
    assert get_reader("auto", plain).name == "jsonl"
    other = tmp_path / "folder"
    other.mkdir()
    with pytest.raises(ParseError, match="could not recognise"):  # a folder without corpus.jsonl
        get_reader("auto", other)


@pytest.mark.parametrize("name", ["r.jsonl", "r.ndjson", "r.jsonl.gz", "R.NDJSON.GZ"])
def test_a_bad_first_line_in_a_jsonl_named_file_is_still_sniffed_as_jsonl(tmp_path, name):
    """``auto`` looks past a bad first line of a ``.jsonl`` / ``.ndjson`` file: most of its first
    lines are JSON objects, so it is JSON Lines and the bad line is reported where it is."""
    good = [json.dumps({"id": str(i), "title": f"T{i}", "abstract": "x" * 3000}) for i in range(4)]
    data = ('{"id": "0", "title": "cut off\n' + "\n".join(good) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.lower().endswith(".gz") else data)
    reader = get_reader("auto", path)
    assert reader.name == "jsonl"
    recs, issues = split(reader.read(path))
    assert [r.source_key for r in recs] == ["0", "1", "2", "3"] and [r.source_line for r in recs] == [2, 3, 4, 5]
    assert [(i.file, i.line) for i in issues] == [(str(path), 1)] and "invalid JSON" in issues[0].reason
    beir = tmp_path / ("corpus-" + name)  # the same with BEIR's _id keys: still BEIR, as when line 1 is good
    data = data.replace(b'"id"', b'"_id"')
    beir.write_bytes(gzip.compress(data) if name.lower().endswith(".gz") else data)
    assert get_reader("auto", beir).name == "beir"


def test_a_bad_first_line_is_only_forgiven_in_jsonl_named_files_that_are_json_lines(tmp_path):
    ris = tmp_path / "export.jsonl"  # a RIS file renamed: its content decides, as before
    ris.write_text("TY  - JOUR\nTI  - Zinc and colds\nPY  - 2011\nER  - \n" * 3)
    assert get_reader("auto", ris).name == "ris"
    notes = tmp_path / "notes.jsonl"  # text of no format, so named: refused, not read as JSON Lines
    notes.write_text("Reading list\n\nzinc and colds\n" + "vitamin D, fractures\n" * 30)
    mostly_bad = tmp_path / "mostly_bad.jsonl"  # one object among three lines: not JSON Lines
    mostly_bad.write_text('not json\n{"title": "T"}\nnot json either\n')
    other_name = tmp_path / "records.txt"  # JSON Lines content, but no .jsonl name: line 1 decides
    other_name.write_text('{broken\n{"title": "A"}\n{"title": "B"}\n')
    for path in (notes, mostly_bad, other_name):
        with pytest.raises(ParseError, match="could not recognise the format"):
            get_reader("auto", path)
    half = tmp_path / "half.jsonl"  # one bad line and one good: half are objects, read as JSON Lines
    half.write_text('{broken\n{"title": "A"}\n')
    assert get_reader("auto", half).name == "jsonl"


@pytest.mark.data
def test_scifact_corpus(mirror):
    recs, issues = split(get_reader("auto", mirror / "scifact").read(mirror / "scifact"))
    assert issues == [] and len(recs) == 5183  # SOURCE.md: 5,183 docs, distinct ids
    assert len({r.source_key for r in recs}) == 5183
    assert recs[0].source_key == "4983" and recs[0].title.startswith("Microstructural development")
    assert recs[0].abstract.startswith("Alterations of the architecture of cerebral white matter")


@pytest.mark.data
def test_cohen_records_jsonl(mirror):
    path = mirror / "cohen" / "records.jsonl.gz"
    recs, issues = split(get_reader("auto", path).read(path))
    assert issues == [] and len(recs) == 13938  # cohen/SOURCE.md: 13,938 unique PMIDs
    assert len({r.pmid for r in recs}) == 13938
    # SOURCE.md coverage: title 13,915; abstract 13,632; year 13,583 (1991-2003); authors 13,886;
    # MeSH 11,900
    years = [r.year for r in recs if r.year is not None]
    assert (len(years), min(years), max(years)) == (13583, 1991, 2003)
    assert sum(bool(r.title) for r in recs) == 13915
    assert sum(bool(r.abstract) for r in recs) == 13632
    assert sum(bool(r.authors) for r in recs) == 13886
    assert sum(bool(r.mesh_terms) for r in recs) == 11900
