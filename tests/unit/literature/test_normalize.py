import pytest

from serendip.errors import ConfigError
from serendip.literature import normalize as n
from serendip.literature.record import AbstractSection, Author, Record
from serendip.registry import Registry


def test_doi_forms():
    assert n.doi("https://doi.org/10.5555/IMM.2020.E2115") == "10.5555/imm.2020.e2115"
    assert n.doi("doi: 10.5555/S2213-0000(14)70019-0") == "10.5555/s2213-0000(14)70019-0"
    assert n.doi("http://dx.doi.org/10.1000/xyz.") == "10.1000/xyz"
    assert n.doi("S2213-0000(14)70019-0") is None
    assert n.doi("") is None and n.doi(None) is None


def test_orcid_forms():
    assert n.orcid("https://orcid.org/0000-0002-1825-0097") == "0000-0002-1825-0097"
    assert n.orcid("0000000345127745") == "0000-0003-4512-7745"
    assert n.orcid("0000-0002-1694-233x") == "0000-0002-1694-233X"
    assert n.orcid("12345") is None


def test_years_and_titles():
    assert n.first_year("Spring 1990") == 1990
    assert n.first_year("1998 Dec-1999 Jan") == 1998
    assert n.first_year("Summer") is None
    assert n.title_key("[Low-dose therapy: a pilot study].") == n.title_key("low dose therapy a pilot study")
    assert n.title_key("   ") is None
    assert n.collapse_ws(" a\r\n  b ") == "a b"
    assert n.pmcid("7000002") == "PMC7000002" and n.pmid(" 123 ") == "123" and n.pmid("12a") is None


def test_record_roundtrip_and_abstract():
    rec = Record(title="T", abstract_sections=[AbstractSection("One.", "BACKGROUND", "BACKGROUND"),
                                               AbstractSection("Two.")],
                 authors=[Author(family="Doe", given="J", affiliations=["X", "Y"])], year=2001)
    assert rec.abstract == "One. Two."
    assert Record.from_dict(rec.to_dict()) == rec
    assert rec.search_text() == "T One. Two."


def test_registry_unknown_name_lists_choices():
    reg = Registry("thing")
    reg.register("a", "alias")(1)
    assert reg.get("ALIAS") == 1
    with pytest.raises(ConfigError, match="expected one of: a, alias"):
        reg.get("zzz")
    with pytest.raises(ValueError):
        reg.register("a")(2)
    assert reg.canonical("ALIAS") == reg.canonical("A") == "a"   # the name first registered
    with pytest.raises(ConfigError, match="unknown thing 'zzz'"):
        reg.canonical("zzz")


def test_record_pickles_exactly():
    import pickle

    rec = Record(title="T", abstract_sections=[AbstractSection("One.", "L", "C")],
                 authors=[Author(family="Doe", affiliations=["X"], orcid="0000-0002-1825-0097"),
                          Author(collective="Group")], year=2001, mesh_terms=["Humans"],
                 source_file="f.xml", source_line=3, source_index=0, extra={"a": [1, 2]})
    assert pickle.loads(pickle.dumps(rec)) == rec
