"""A record with no title, no abstract and no identifier (``{}`` in a JSON Lines file, a ``kg export``
line) is reported as skipped with its file and line and never stored, whatever reader made it; a
record with only a title, or only an identifier, is stored."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.literature import ingest as ingest_mod
from serendip.literature.prepared import PreparedRecord, prepare
from serendip.literature.record import AbstractSection, Record
from serendip.workbench import Workspace

JUNK = '{}\n{"foo": 1}\n{"type": "entity", "key": "chem:aspirin", "name": "aspirin"}\n'
REASON = "jsonl record skipped: no title, no abstract and no identifier (PMID, DOI, PMCID or id)"


@pytest.fixture()
def ws(tmp_path):
    with Workspace.init(tmp_path / "ws") as workspace:
        yield workspace


def test_junk_file_stores_nothing_and_reports_each_line_twice_over(ws, tmp_path):
    junk = tmp_path / "junk.jsonl"
    junk.write_text(JUNK)
    for _ in range(2):  # re-ingesting adds nothing
        rep = ws.ingest([junk])
        assert (rep.ingested, rep.skipped, ws.count()) == (0, 3, 0)
        assert rep.errors[:3] == [f"{junk}, line {n}: {REASON}" for n in (1, 2, 3)]
        entry = rep.files[0]
        assert (entry.read, entry.skipped, entry.status()) == (0, 3, "FAILED")
        assert "none of its 3 record(s) could be read" in entry.error


def test_title_only_and_id_only_records_are_kept_beside_a_blank_one(ws, tmp_path):
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(json.dumps(o) for o in (
        {"title": "Zinc and the common cold"}, {"foo": 1}, {"pmid": "123"}, {"doi": "10.1000/xyz"},
        {"id": "d9"}, {"abstract": "Only an abstract."}, {"title": ""})) + "\n")
    rep = ws.ingest([mixed])
    assert (rep.ingested, rep.skipped, ws.count()) == (5, 2, 5)
    assert [e.split(": ")[0] for e in rep.errors] == [f"{mixed}, line 2", f"{mixed}, line 7"]
    assert not rep.failed_files  # some records were stored: only the blank ones are skipped
    assert ws.ingest([mixed]).ingested == 0 and ws.count() == 5
    pmcid_only = tmp_path / "pmc.jsonl"
    pmcid_only.write_text('{"pmcid": "PMC77"}\n')
    assert (ws.ingest([pmcid_only]).ingested, ws.count()) == (1, 6)


def test_blank_check_on_prepared_records_reads_pmcid():
    def wire(rec):
        return PreparedRecord(bytes(prepare(rec.to_dict(), frozenset())))

    blank = Record(source_file="f", source_format="ris", source_index=0)
    assert ingest_mod._is_blank(wire(blank)) and ingest_mod._is_blank(blank.to_dict())
    for kept in (Record(pmcid="PMC5"), Record(title="T"), Record(source_key="k"),
                 Record(abstract_sections=[AbstractSection("text")]), Record(vernacular_title="V")):
        assert not ingest_mod._is_blank(wire(kept)) and not ingest_mod._is_blank(kept.to_dict())


def test_blank_record_without_line_is_named_by_its_number(tmp_path):
    blank = Record(source_file="x.xml", source_format="pubmed", source_index=4).to_dict()
    [issue] = list(ingest_mod._blank_skipped(iter([blank])))
    assert str(issue) == ("x.xml, record 5: pubmed record skipped: no title, no abstract and no identifier "
                          "(PMID, DOI, PMCID or id)")


def test_cli_exit_status_of_a_junk_file_and_of_a_mixed_one(tmp_path):
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    junk = tmp_path / "junk.jsonl"
    junk.write_text(JUNK)
    r = runner.invoke(app, ["ingest", str(junk), "-w", str(ws)], env={"COLUMNS": "250"})
    assert r.exit_code == 1, r.output
    assert f"{junk}, line 3: {REASON}" in r.output
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"title": "Aspirin"}\n{}\n')
    r = runner.invoke(app, ["ingest", str(mixed), "-w", str(ws)], env={"COLUMNS": "250"})
    assert r.exit_code == 0 and f"{mixed}, line 2: {REASON}" in r.output, r.output


def test_a_lone_surrogate_skips_its_record_and_keeps_the_rest_of_the_file(ws, tmp_path):
    # JSON may spell an unpaired surrogate ("\udcff"); it is no Unicode character and cannot be stored as
    # UTF-8: before, the batch's encoding failed and the whole file was lost
    path = tmp_path / "sur.jsonl"
    path.write_text('{"id": "a1", "title": "Good one"}\n{"id": "a2", "title": "Good two"}\n'
                    '{"id": "a3", "title": "Zinc", "authors": [{"family": "Sm\\udcffith"}]}\n'
                    '{"id": "a4", "title": "Good four", "abstract": "Fine \\ud83d\\ude00 pair."}\n', encoding="utf-8")
    rep = ws.ingest([path])
    assert (rep.ingested, rep.skipped, ws.count(), rep.failed_files) == (3, 1, 3, [])
    assert rep.errors == [f"{path}, line 3: key a3 skipped: its authors.1.family holds U+DCFF, a lone "
                          "surrogate, not a Unicode character (the text cannot be stored as UTF-8)"]


def test_surrogate_search_names_the_first_field_nested():
    assert ingest_mod._surrogate_in({"title": "ok é", "abstract_sections": [{"text": "a"}, {"text": "b\ud800"}]}) \
        == "abstract_sections.2.text holds U+D800"
    assert ingest_mod._surrogate_in({"title": "a 😀 pair", "year": 2001, "x": None}) is None
