"""BC5CDR-CID builder: PubTator parsing and the query / relevance / split construction, on tiny
PubTator text shaped like the BC5CDR files (mention, composite and -1 lines, a stray trailing tab,
CID relation lines)."""
from __future__ import annotations

import gzip

import pytest

from serendip.datasets.bc5cdr_cid import build_cid_set, parse_pubtator, read_pubtator
from serendip.errors import ParseError

TRAIN = """\
100|t|Lidocaine-induced cardiac asystole.
100|a|A bolus of lidocaine caused asystole; Lidocaine again.
100\t0\t9\tLidocaine\tChemical\tD008012
100\t18\t34\tcardiac asystole\tDisease\tD006323
100\t47\t56\tlidocaine\tChemical\tD008012
100\t64\t72\tasystole\tDisease\tD006323\t
100\t74\t83\tLidocaine\tChemical\tD008012
100\tCID\tD008012\tD006323

101|t|Lithium and renal or hepatic failure.
101|a|Nalozone was given.
101\t0\t7\tLithium\tChemical\tD008094
101\t12\t36\trenal or hepatic failure\tDisease\tD051437|D048550\trenal failure|hepatic failure
101\t38\t46\tNalozone\tChemical\t-1
101\tCID\tD008094\tD051437
101\tCID\tD008094\tD048550

"""
TEST = """\
200|t|Lidocaine and asystole again.
200|a|No abstract text here.
200\t0\t9\tLidocaine\tChemical\tD008012
200\t14\t22\tasystole\tDisease\tD006323
200\tCID\tD008012\tD006323

201|t|Lidocaine and asystole without a relation.
201|a|
201\t0\t9\tLidocaine\tChemical\tD008012
201\t14\t22\tasystole\tDisease\tD006323

"""


def _docs(text):
    return list(parse_pubtator(text.splitlines(keepends=True), "fixture"))


def test_parse_documents_mentions_and_relations():
    docs = _docs(TRAIN)
    assert [d.pmid for d in docs] == ["100", "101"]
    assert docs[0].title == "Lidocaine-induced cardiac asystole."
    assert docs[0].abstract.startswith("A bolus of lidocaine")
    assert docs[0].mentions[3] == ("D006323", "asystole")  # stray trailing tab ignored
    assert docs[0].cid == [("D008012", "D006323")]
    # composite mention split into its ids with their own texts; id -1 dropped
    assert docs[1].mentions == [("D008094", "Lithium"), ("D051437", "renal failure"),
                                ("D048550", "hepatic failure")]


def test_build_queries_relevance_and_disjoint_splits():
    built = build_cid_set([("train", _docs(TRAIN)), ("test", _docs(TEST))])
    assert built["doc_ids"] == ["100", "101", "200", "201"]
    assert built["titles"][3] == "Lidocaine and asystole without a relation."
    # the most frequent mention text (lower-cased) over the pair's documents: "lidocaine" 4x (3 in 100,
    # 1 in 200), "asystole" 2x beats "cardiac asystole" 1x
    assert built["queries"]["D008012|D006323"] == "lidocaine asystole"
    assert built["queries"]["D008094|D051437"] == "lithium renal failure"
    # a pair in any test document is a test query, its train document stays relevant;
    # 201 mentions both entities without the relation: not relevant
    assert built["qrels"]["test"] == {"D008012|D006323": {"100": 1, "200": 1}}
    assert built["qrels"]["tune"] == {"D008094|D051437": {"101": 1}, "D008094|D048550": {"101": 1}}
    assert set(built["qrels"]["test"]).isdisjoint(built["qrels"]["tune"])
    assert built["dropped"] == []


def test_surface_form_tie_goes_to_the_first_seen_and_missing_mention_drops_the_pair():
    text = ("1|t|Aspirin or ASA and ulcer.\n1|a|\n"
            "1\t0\t7\tAspirin\tChemical\tD001241\n1\t11\t14\tASA\tChemical\tD001241\n"
            "1\t19\t24\tulcer\tDisease\tD014456\n1\tCID\tD001241\tD014456\n1\tCID\tD001241\tD000001\n\n")
    built = build_cid_set([("train", _docs(text))])
    assert built["queries"] == {"D001241|D014456": "aspirin ulcer"}
    assert built["dropped"] == [("D001241", "D000001")]


def test_read_gzip_file(tmp_path):
    path = tmp_path / "CDR_TestSet.PubTator.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(TEST)
    assert [d.pmid for d in read_pubtator(path)] == ["200", "201"]


@pytest.mark.parametrize("bad, message", [
    ("1|t|T\n1|a|A\n1\t0\t1\n\n", "expected an annotation"),
    ("1|t|T\n2\t0\t1\tx\tChemical\tD1\n\n", "outside its document"),
    ("1|t|T\n1|x|A\n\n", "unknown PubTator text field"),
])
def test_malformed_lines_raise_parse_error(bad, message):
    with pytest.raises(ParseError, match=message):
        _docs(bad)


def test_duplicate_pmid_is_an_error():
    with pytest.raises(ParseError, match="PMID 200 appears twice"):
        build_cid_set([("dev", _docs(TEST)), ("test", _docs(TEST))])
