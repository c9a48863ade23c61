"""Meta-tests over every registered ingest format (PyKEEN's habit): each reader parses a tiny fixture,
keeps the good records, reports the bad one with file and line/record, and its sniffer recognises
its own fixture; a format registered without a case here fails the run. Also: a reader module that
fails to import is an error naming it, and a new module is all a new format needs."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from serendip.literature import readers
from serendip.literature.readers import (
    READERS,
    ReaderImportError,
    formats,
    read_head,
    reader_spec,
    reader_specs,
    sniff_format,
)
from serendip.literature.record import ParseIssue, Record


@dataclass(frozen=True)
class ReaderCase:
    """A fixture with two good records and one bad one, and where the bad one is reported."""

    file_name: str  # relative to the folder read; "beir/corpus.jsonl" reads the folder "beir"
    text: str
    titles: tuple[str, ...]  # of the records kept, in file order
    bad_line: int
    bad_record: str
    read_folder: bool = False


_PUBMED = ('<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n'
           + "".join(f"<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>{title}"
                     "</ArticleTitle></Article></MedlineCitation></PubmedArticle>\n"
                     for pmid, title in (("11", "First."), ("", "No PMID."), ("13", "Last.")))
           + "</PubmedArticleSet>\n")
_RIS = "TY  - JOUR\nTI  - {}\nER  - \n"

CASES: dict[str, ReaderCase] = {
    "beir": ReaderCase("beir/corpus.jsonl",
                       '{"_id": "d1", "title": "First", "text": "a"}\n{"title": "no id"}\n'
                       '{"_id": "d3", "title": "Last", "text": "c"}\n',
                       ("First", "Last"), bad_line=2, bad_record="2", read_folder=True),
    "pubmed": ReaderCase("set.xml", _PUBMED, ("First.", "Last."), bad_line=4, bad_record="2"),
    "medline": ReaderCase("refs.nbib", "PMID- 1\nTI  - First.\n\nTI  - No PMID.\n\nPMID- 3\nTI  - Last.\n",
                          ("First.", "Last."), bad_line=4, bad_record="2"),
    "bibtex": ReaderCase("refs.bib",
                         "@article{a,\n  title = {First},\n}\n\n"
                         "@article{bad,\n  title = {Broken}\n  journal = {Leaked},\n}\n\n"
                         "@article{c,\n  title = {Last},\n}\n",
                         ("First", "Last"), bad_line=5, bad_record="bad"),
    "ris": ReaderCase("refs.ris", _RIS.format("First") + "TY  - JOUR\nTI  - Unclosed\n\n" + _RIS.format("Last"),
                      ("First", "Last"), bad_line=4, bad_record="2"),
    "jsonl": ReaderCase("refs.jsonl", '{"title": "First"}\n{"title": broken\n{"title": "Last"}\n',
                        ("First", "Last"), bad_line=2, bad_record="2"),
    "csv": ReaderCase("refs.csv", "Title,Abstract\nFirst,a\nToo,many,fields\nLast,c\n",
                      ("First", "Last"), bad_line=3, bad_record="2"),
    "scopus": ReaderCase("scopus.csv", "Authors,Title,Year,Source title,EID\n"
                         "Smith J.,First,2020,J One,2-s2.0-1,\nJones B.,Broken,2020,\n"
                         "Lee K.,Last,2021,J Two,2-s2.0-3,\n",
                         ("First", "Last"), bad_line=3, bad_record="2"),
    "wos-tab": ReaderCase("savedrecs.txt", "PT\tAU\tTI\tSO\tPY\tUT\n"
                          "J\tSmith, J\tFirst\tJ ONE\t2020\tWOS:1\t\nJ\tJones, B\tBroken\t\n"
                          "J\tLee, K\tLast\tJ TWO\t2021\tWOS:3\t\n",
                          ("First", "Last"), bad_line=3, bad_record="2"),
    "wos": ReaderCase("wos.txt", "FN Clarivate Analytics Web of Science\nVR 1.0\n"
                      "PT J\nTI First\nUT WOS:1\nER\n\nPT J\nTI Unclosed\n\n"
                      "PT J\nTI Last\n   continued\nUT WOS:3\nER\n\nEF\n",
                      ("First", "Last continued"), bad_line=8, bad_record="2"),
}


def _case(name: str) -> ReaderCase:
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"no test case for reader {name}: add one to CASES in {__file__}")
    return case


def _fixture(tmp_path: Path, case: ReaderCase) -> tuple[Path, Path]:
    """(path to read, file the issues name)."""
    file = tmp_path / case.file_name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(case.text, encoding="utf-8")
    return (file.parent if case.read_folder else file), file


NAMES = [spec.name for spec in reader_specs()]


def test_every_case_is_a_registered_reader():
    assert sorted(set(CASES) - set(NAMES)) == [], "a case for a format that is not registered"


@pytest.mark.parametrize("name", NAMES)
def test_reader_keeps_good_records_and_reports_the_bad_one(tmp_path, name):
    case = _case(name)
    path, file = _fixture(tmp_path, case)
    out = list(reader_spec(name).make().read(path))
    recs = [x for x in out if isinstance(x, Record)]
    issues = [x for x in out if isinstance(x, ParseIssue)]
    assert tuple(r.title for r in recs) == case.titles
    assert all(r.source_format == name and r.source_file == str(file) for r in recs)
    assert [(i.file, i.line, i.record) for i in issues] == [(str(file), case.bad_line, case.bad_record)]
    assert str(file) in str(issues[0]) and issues[0].reason


@pytest.mark.parametrize("name", NAMES)
def test_sniffer_recognises_its_own_fixture(tmp_path, name):
    case = _case(name)
    path, _ = _fixture(tmp_path, case)
    spec = reader_spec(name)
    head = b"" if path.is_dir() else read_head(path)
    assert spec.sniffs(path, head)
    assert sniff_format(path).name == name  # auto picks it over every other format


@pytest.mark.parametrize("name", NAMES)
def test_declaration_is_complete(name):
    spec = reader_spec(name)
    assert spec.reader.name == name and spec.label
    assert all(READERS.get(alias) is spec for alias in spec.aliases)
    assert all(s.startswith(".") and s == s.lower() for s in spec.suffixes)
    assert not spec.suffix_is_enough or spec.suffixes
    spec.make()  # every option has a default
    assert name in formats() and set(spec.aliases) <= set(formats())


@pytest.fixture
def fresh_registry(monkeypatch, tmp_path):
    """Reader modules are looked for in ``tmp_path`` too; the registry is restored afterwards."""
    reader_specs()  # the real modules are imported (and stay in sys.modules)
    monkeypatch.setattr(READERS, "_items", dict(READERS._items))
    monkeypatch.setattr(readers, "_loaded", False)
    monkeypatch.setattr(readers, "__path__", [*readers.__path__, str(tmp_path)])
    yield tmp_path
    for mod in [m for m in sys.modules if m.startswith("serendip.literature.readers.toy_")]:
        del sys.modules[mod]


def test_a_broken_reader_module_is_an_error_naming_it(fresh_registry):
    (fresh_registry / "toy_broken.py").write_text("import serendip_no_such_package_xyz\n")
    with pytest.raises(ReaderImportError, match=r"serendip\.literature\.readers\.toy_broken failed to "
                       r"import \(ModuleNotFoundError: No module named 'serendip_no_such_package_xyz'\)"):
        formats()
    with pytest.raises(ReaderImportError, match="toy_broken"):  # never a format that silently vanishes
        readers.get_reader("auto", fresh_registry / "toy_broken.py")


def test_one_module_is_all_a_new_format_needs(fresh_registry):
    (fresh_registry / "toy_lines.py").write_text(
        "from serendip.literature.readers import register_reader\n"
        "from serendip.literature.record import Record\n\n"
        "@register_reader('toylines', label='one title a line', suffixes=('.toy',), priority=5)\n"
        "class ToyReader:\n"
        "    name = 'toylines'\n\n"
        "    def sniff(self, path, head):\n"
        "        return head.startswith(b'TOY\\n')\n\n"
        "    def read(self, path):\n"
        "        for i, line in enumerate(path.read_text().splitlines()[1:]):\n"
        "            yield Record(source_file=str(path), source_format=self.name, source_index=i, title=line)\n")
    data = fresh_registry / "x.txt"
    data.write_text("TOY\nOne\nTwo\n")
    assert "toylines" in formats()
    assert [r.title for r in readers.get_reader("auto", data).read(data)] == ["One", "Two"]
    from serendip.cli.literature_cmd import _format_help

    assert "toylines (one title a line)" in _format_help()


def test_unknown_format_lists_the_registered_ones():
    from serendip.errors import ConfigError

    with pytest.raises(ConfigError, match="expected one of: .*beir.*csv.*ris"):
        readers.get_reader("endnote")


def test_cli_starts_and_ingest_fails_cleanly_with_a_broken_reader_module(fresh_registry, tmp_path):
    from typer.testing import CliRunner

    from serendip.cli.app import app
    from serendip.cli.literature_cmd import _format_help

    (fresh_registry / "toy_broken.py").write_text("raise RuntimeError('half-installed')\n")
    assert "toy_broken failed to import (RuntimeError: half-installed)" in _format_help()
    data = tmp_path / "refs.ris"
    data.write_text(_RIS.format("One"))
    assert CliRunner().invoke(app, ["init", str(tmp_path / "ws")]).exit_code == 0
    result = CliRunner().invoke(app, ["ingest", str(data), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2
    assert "toy_broken failed to import" in result.output and "Traceback" not in result.output
