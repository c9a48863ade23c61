"""One Web of Science record exported as plain text (``wos``) and tab-delimited (``wos-tab``) is one
work: its accession ``UT`` is the source id in either layout, shown as WoS prints it (``WOS:000…``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from serendip.literature.dedupe import keys_of
from serendip.literature.readers import get_reader, source_id_of
from serendip.literature.readers._wos_fields import accession
from serendip.workbench import Workspace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "exports"
# no PMID, no DOI: before the fix, the two layouts' ids ("wos:WOS:…" / "wos-tab:WOS:…") conflicted and
# kept the copies apart even though title and year agree
PLAIN = ("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Mensah, K\nTI Malaria bed nets in "
         "rural Ghana\nSO MALARIA JOURNAL\nPY 2017\nBP 12\nUT WOS:000400000000001\nER\n\nEF\n")
TAB = ("PT\tAU\tTI\tSO\tPY\tBP\tAB\tUT\t\n"
       "J\tMensah, K\tMalaria bed nets in rural Ghana\tMALARIA JOURNAL\t2017\t12\t"
       "Nets were used by most households.\tWOS:000400000000001\t\n")


def test_accession_normal_form():
    assert accession("WOS:000424022700066") == "WOS:000424022700066"
    assert accession("wos:000424022700066") == "WOS:000424022700066"
    assert accession("000424022700066") == "WOS:000424022700066"
    assert accession("MEDLINE:29370169") == "MEDLINE:29370169"
    assert accession(None) is None


def test_both_layouts_give_one_source_id(tmp_path):
    plain, tab = tmp_path / "savedrecs.txt", tmp_path / "savedrecs_tab.txt"
    plain.write_text(PLAIN, encoding="utf-8")
    tab.write_text(TAB, encoding="utf-8")
    [a] = list(get_reader("wos").read(plain))
    [b] = list(get_reader("wos-tab").read(tab))
    assert keys_of(a).source_id == keys_of(b).source_id == "WOS:000400000000001"
    assert source_id_of("beir", "4983") == "beir:4983"  # other id-keyed formats keep their prefix


@pytest.mark.parametrize("order", [("plain", "tab"), ("tab", "plain")])
def test_one_record_with_both_sources(tmp_path, order):
    files = {"plain": tmp_path / "savedrecs.txt", "tab": tmp_path / "savedrecs_tab.txt"}
    files["plain"].write_text(PLAIN, encoding="utf-8")
    files["tab"].write_text(TAB, encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as ws:
        first = ws.ingest([files[order[0]]])
        second = ws.ingest([files[order[1]]])
        assert (first.ingested, second.ingested, second.duplicates) == (1, 0, 1)
        [(_, rec)] = list(ws.records())
        assert sorted(s["format"] for s in rec.sources) == ["wos", "wos-tab"]
        assert rec.abstract == "Nets were used by most households."  # filled from the tab layout
        ws.index(dense=False)
        [hit] = ws.search("malaria bed nets", mode="bm25", k=1)
        assert hit.source_id == "WOS:000400000000001"


def test_fixture_exports_of_both_layouts_dedupe(tmp_path):
    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([FIXTURES / "wos_plain.txt", FIXTURES / "wos_savedrecs.txt"])
        recs = [rec for _, rec in ws.records()]
        assert len(recs) == 3
        assert all(sorted(s["format"] for s in r.sources) == ["wos", "wos-tab"] for r in recs)
        assert sorted({s["key"] for r in recs for s in r.sources}) == [
            "WOS:000424022700040", "WOS:000424022700066", "WOS:000999999900001"]
