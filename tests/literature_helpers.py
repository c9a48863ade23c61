"""Shared literature test helpers: a small PubMed XML file (articles, and a ``<DeleteCitation>``
as in PubMed's update files) and a RIS copy of one of its papers."""
from __future__ import annotations

import gzip
from pathlib import Path

PROLOG = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
          '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n')
PAPERS = {  # PMID -> (title, abstract, first author)
    "31000001": ("Aspirin and colorectal adenoma recurrence", "Aspirin lowered adenoma recurrence.", "Baron"),
    "31000002": ("Zinc lozenges and the duration of the common cold", "Zinc shortened colds.", "Hemila"),
    "31000003": ("Coffee consumption and liver fibrosis", "Coffee drinkers had less fibrosis.", "Wijarnpreecha"),
    "31000004": ("Melatonin for the prevention of jet lag", "Melatonin shortened jet lag.", "Herxheimer"),
}


def article(pmid: str) -> str:
    title, abstract, author = PAPERS[pmid]
    return f"""<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">{pmid}</PMID>
    <Article PubModel="Print">
      <Journal><JournalIssue CitedMedium="Print"><Volume>7</Volume>
        <PubDate><Year>2019</Year><Month>Mar</Month></PubDate></JournalIssue>
        <Title>Invented Journal of Tests</Title></Journal>
      <ArticleTitle>{title}.</ArticleTitle>
      <Abstract><AbstractText>{abstract}</AbstractText></Abstract>
      <AuthorList><Author><LastName>{author}</LastName><Initials>J</Initials></Author></AuthorList>
    </Article>
  </MedlineCitation>
  <PubmedData><ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList></PubmedData>
</PubmedArticle>
"""


def pubmed_file(path: Path, pmids: list[str], deleted: list[str] = ()) -> Path:
    body = "".join(article(p) for p in pmids)
    if deleted:
        body += "<DeleteCitation>\n" + "".join(f'  <PMID Version="1">{p}</PMID>\n' for p in deleted) + \
            "</DeleteCitation>\n"
    data = PROLOG + "<PubmedArticleSet>\n" + body + "</PubmedArticleSet>\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data.encode()))
    else:
        path.write_text(data, encoding="utf-8")
    return path


RIS = """TY  - JOUR
TI  - Zinc lozenges and the duration of the common cold
AU  - Hemila, J
PY  - 2019
JO  - Invented Journal of Tests
ER  - 
"""
