"""The citation signal of ``recommend``: PubMed XML reference lists read into ``extra["cited_pmids"]``,
direct citation, bibliographic coupling and co-citation scored by hand, and the signal fused with its
reasons on a workspace; a workspace without reference lists says so."""
from __future__ import annotations

import math

import pytest
from literature_helpers import PROLOG

from serendip.screening.citations import citation_scores
from serendip.screening.recommend import WEIGHTS, recommend
from serendip.workbench import Workspace


def _article(pmid: str, title: str, cites: list[str]) -> str:
    refs = "".join(f'<Reference><Citation>Ref {p}</Citation><ArticleIdList><ArticleId IdType="pubmed">{p}'
                   f'</ArticleId></ArticleIdList></Reference>' for p in cites)
    ref_list = f"<ReferenceList><Title>References</Title>{refs}</ReferenceList>" if cites else ""
    return (f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{pmid}</PMID>'
            f'<Article PubModel="Print"><Journal><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue>'
            f'<Title>J</Title></Journal><ArticleTitle>{title}</ArticleTitle><Abstract><AbstractText>{title} text.'
            f'</AbstractText></Abstract></Article></MedlineCitation><PubmedData><ArticleIdList>'
            f'<ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList>{ref_list}</PubmedData></PubmedArticle>\n')


def test_reference_lists_are_read_and_links_scored_by_hand():
    # seed 1 cites 2 and x, y; record 3 cites x, y, z (couples with 1); record 4 cites 1 and 5 (co-cites 1 and 5)
    info = {1: {"pmid": "11", "refs": ["22", "900", "901"]}, 2: {"pmid": "22", "refs": []},
            3: {"pmid": "33", "refs": ["900", "901", "902"]}, 4: {"pmid": "44", "refs": ["11", "55"]},
            5: {"pmid": "55", "refs": []}, 6: {"pmid": "66", "refs": []}}
    got = citation_scores(list(info), info, [1])
    assert got[2] == (1.0, ["cited by 1"])
    assert got[4] == (1.0, ["cites 1"])
    assert got[3][0] == pytest.approx(2 / math.sqrt(3 * 3)) and got[3][1] == ["shares 2 references with 1"]
    # 5 and the seed are cited by one record each, record 4, which cites both: 1 / sqrt(1 * 1)
    assert got[5] == (1.0, ["co-cited with 1 by 1 record"])
    assert 6 not in got and 1 not in got
    assert citation_scores(list(info), info, [6]) is None  # cites nothing, cited by nothing


def test_recommend_fuses_the_citation_signal_with_its_reasons(tmp_path):
    xml = tmp_path / "refs.xml"
    xml.write_text(PROLOG + "<PubmedArticleSet>\n" + "".join([
        _article("101", "Aspirin for secondary prevention after myocardial infarction", ["900", "901", "902"]),
        _article("102", "Statins and bleeding risk in older adults", ["900", "901", "903"]),
        _article("103", "Zebrafish fin regeneration genes", ["101", "104"]),
        _article("104", "Gene expression in zebrafish embryos", []),
        _article("105", "Aspirin dosing schedules after stroke", []),
    ]) + "</PubmedArticleSet>\n", encoding="utf-8")
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([xml], fmt="pubmed-xml")
    rid = {rec.pmid: r for r, rec in ws.records()}
    assert dict(ws.records())[rid["101"]].extra["cited_pmids"] == ["900", "901", "902"]
    res = recommend(ws, [rid["101"]], k=4, similarity="tfidf")
    assert res.signals["citations"] == "citations"
    by = {r.record_id: r for r in res.items}
    assert "shares 2 references with %d" % rid["101"] in by[rid["102"]].reasons
    assert by[rid["102"]].parts["citations"] == pytest.approx(2 / 3, abs=1e-6)
    assert "cites %d" % rid["101"] in by[rid["103"]].reasons and by[rid["103"]].parts["citations"] == 1.0
    assert "co-cited with %d by 1 record" % rid["101"] in by[rid["104"]].reasons
    top = res.items[0]
    assert top.score == pytest.approx(sum(WEIGHTS[s] * top.parts.get(s, 0.0) for s in res.signals)
                                      / sum(WEIGHTS[s] for s in res.signals), abs=1e-5)
    alone = recommend(ws, [rid["105"]], k=3, similarity="tfidf")
    assert "citations" not in alone.signals and any("no citation signal" in n for n in alone.notes)
    ws.close()
