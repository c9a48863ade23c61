"""The PubTator reader of serendip.kg: offsets kept and checked, composite and unresolved ids, CID
relations, bad lines raised or skipped with file and line, and the written form read back."""
from __future__ import annotations

import gzip

import pytest

from serendip.errors import ParseError
from serendip.issues import Issue
from serendip.kg.pubtator import (
    Mention,
    Relation,
    format_pubtator,
    parse_pubtator,
    read_pubtator,
    write_pubtator,
)

# Two documents shaped like BC5CDR's: PMID 227508's opening (its real offsets, one -1 mention,
# a CID line) and a composite mention with its 7th column of individual texts.
TWO_DOCS = """\
227508|t|Naloxone reverses the antihypertensive effect of clonidine.
227508|a|In unanesthetized, spontaneously hypertensive rats the decrease in blood pressure and heart rate produced by intravenous clonidine, 5 to 20 micrograms/kg, was inhibited or reversed by nalozone, 0.2 to 2 mg/kg.
227508\t0\t8\tNaloxone\tChemical\tD009270
227508\t49\t58\tclonidine\tChemical\tD003000
227508\t93\t105\thypertensive\tDisease\tD006973
227508\t181\t190\tclonidine\tChemical\tD003000
227508\t244\t252\tnalozone\tChemical\t-1
227508\tCID\tD008750\tD007022

101|t|Lithium and renal or hepatic failure.
101|a|No abstract text here.
101\t0\t7\tLithium\tChemical\tD008094\t
101\t12\t36\trenal or hepatic failure\tDisease\tD051437|D048550\trenal failure|hepatic failure
101\tCID\tD008094\tD051437
"""


def _parse(text, **kw):
    return list(parse_pubtator(text.splitlines(keepends=True), "fixture.pubtator", **kw))


def test_documents_keep_offsets_ids_and_relations():
    a, b = _parse(TWO_DOCS)
    assert (a.pmid, a.line, b.pmid, b.line) == ("227508", 1, "101", 10)
    assert a.text.startswith("Naloxone reverses") and a.text[len(a.title)] == " "
    assert a.mentions[1] == Mention(49, 58, "clonidine", "Chemical", ("D003000",), None, 4)
    # -1: kept, unresolved
    assert a.mentions[4].ids == (None,) and not a.mentions[4].resolved and a.mentions[4].text == "nalozone"
    assert a.relations == [Relation("CID", "D008750", "D007022", 8)]
    # stray trailing tab ignored; composite split into its ids, with its own texts
    assert b.mentions[0].ids == ("D008094",)
    comp = b.mentions[1]
    assert comp.ids == ("D051437", "D048550") and comp.texts == ("renal failure", "hepatic failure")
    assert all(d.text[m.start:m.end] == m.text for d in (a, b) for m in d.mentions)


def test_composite_without_texts_and_missing_id_column():
    text = ("7|t|HITT and salt.\n7|a|\n7\t0\t4\tHITT\tDisease\tD013921|-1\n7\t9\t13\tsalt\tChemical\n\n")
    (doc,) = _parse(text)
    assert doc.mentions[0].ids == ("D013921", None) and doc.mentions[0].texts is None
    assert doc.mentions[1].ids == (None,)  # no id column: unresolved, kept


@pytest.mark.parametrize("bad, line, message", [
    ("1|t|T\n1|a|A\n1\t0\t1\n\n", 3, "expected an annotation"),
    ("1|t|T\n2\t0\t1\tT\tChemical\tD1\n\n", 2, "outside its document"),
    ("1|t|T\n1|x|A\n\n", 2, "unknown PubTator text field 'x'"),
    ("1|t|T\n1|a|A\n1\tzero\t1\tT\tChemical\tD1\n\n", 3, "not whole numbers"),
    ("1|t|T\n1|a|A\n1\t1\t0\tT\tChemical\tD1\n\n", 3, "need 0 <= start < end"),
    ("1|t|Ta\n1|a|A\n1\t0\t2\tTa\tDisease\tD1|D2\tx\n\n", 3, "1 concept texts for 2 ids"),
    ("1|t|T\n1|a|A\n1\t0\t1\tT\n\n", 3, "a relation type '0' that is a number"),
    ("1|t|T\n1|t|U\n\n", 2, "a second title line"),
    ("1|t|T\n1|a|A\n2|a|B\n\n", 3, "PMID 2 inside document 1"),
])
def test_bad_line_names_file_and_line(bad, line, message):
    with pytest.raises(ParseError, match=message) as err:
        _parse(bad)
    assert (err.value.file, err.value.line) == ("fixture.pubtator", line)
    assert f"fixture.pubtator, line {line}" in str(err.value)


def test_offset_mismatch_names_both_strings():
    text = "5|t|Cocaine-induced seizures.\n5|a|\n5\t0\t8\tcocaine\tChemical\tD003042\n\n"
    with pytest.raises(ParseError) as err:
        _parse(text)
    msg = str(err.value)
    assert "fixture.pubtator, line 3" in msg and "'cocaine'" in msg and "'Cocaine-'" in msg


def test_with_issues_the_bad_document_is_skipped_and_the_rest_kept():
    bad = "9|t|Aspirin.\n9|a|\n9\t0\t7\taspirin\tChemical\tD001241\n\n"  # offsets give "Aspirin"
    issues: list[Issue] = []
    docs = _parse(bad + TWO_DOCS, issues=issues)
    assert [d.pmid for d in docs] == ["227508", "101"]
    assert len(issues) == 1 and (issues[0].line, issues[0].record) == (3, "9")
    assert "document skipped" in issues[0].reason and "'Aspirin'" in issues[0].reason


def _key(doc):
    """A document without line numbers (which differ between the fixture and the written file)."""
    return (doc.pmid, doc.title, doc.abstract,
            [(m.start, m.end, m.text, m.type, m.ids, m.texts) for m in doc.mentions],
            [(r.type, r.id1, r.id2) for r in doc.relations])


def test_write_and_read_back(tmp_path):
    docs = _parse(TWO_DOCS)
    path = write_pubtator(docs, tmp_path / "out.PubTator.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        assert fh.read() == "".join(format_pubtator(d) for d in docs)
    assert [_key(d) for d in read_pubtator(path)] == [_key(d) for d in docs]
    assert "227508\t244\t252\tnalozone\tChemical\t-1\n" in format_pubtator(docs[0])


def test_not_utf8_is_a_parse_error(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("1|t|Caf\xe9\n1|a|\n\n".encode("latin-1"))
    with pytest.raises(ParseError, match="not UTF-8"):
        read_pubtator(path)


def test_a_byte_order_mark_and_a_missing_blank_line_lose_no_document(tmp_path):
    """A BOM at the start is not part of the first PMID; a title line with a new PMID starts a new
    document even without the blank line before it."""
    text = "\ufeff" + TWO_DOCS.replace("\n\n101|t|", "\n101|t|")
    path = tmp_path / "bom.txt"
    path.write_text(text, encoding="utf-8")
    issues: list[Issue] = []
    docs = read_pubtator(path, issues=issues)
    assert [d.pmid for d in docs] == ["227508", "101"] and issues == []
    assert [len(d.mentions) for d in docs] == [5, 2]


def test_a_gzipped_file_is_read_whatever_its_name(tmp_path):
    path = tmp_path / "corpus.pubtator"
    path.write_bytes(gzip.compress(TWO_DOCS.encode()))
    assert [d.pmid for d in read_pubtator(path)] == ["227508", "101"]


def test_a_non_numeric_pmid_is_named_and_the_issue_text_says_where_once(tmp_path):
    with pytest.raises(ParseError, match=r"line 1: PMID 'PMC111' is not a number"):
        list(parse_pubtator(["PMC111|t|Aspirin induced asthma", "PMC111|a|Text."], "f.txt"))
    issues: list[Issue] = []
    bad = TWO_DOCS.replace("227508\t0\t8\tNaloxone", "227508\t1\t8\tNaloxone")
    docs = list(parse_pubtator(bad.splitlines(), "f.txt", issues=issues))
    assert [d.pmid for d in docs] == ["101"]
    assert len(issues) == 1 and issues[0].line == 3
    assert "f.txt" not in issues[0].reason and "line 3" not in issues[0].reason
    assert str(issues[0]).count("line 3") == 1
