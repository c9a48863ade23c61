"""BC5CDR-CID: a retrieval benchmark built from the BC5CDR corpus (Li et al. 2016).

Construction (every step deterministic, from the three PubTator files of the ``bc5cdr`` dataset):

* **corpus**: the 1,500 BC5CDR documents (500 train, 500 development, 500 test), id = PMID, title and
  abstract as in the files;
* **queries**: one per distinct chemical-induced-disease pair ``(chemical MeSH id, disease MeSH id)``
  among the document-level ``CID`` relations, written ``"<chemical> <disease>"``: for each MeSH id the
  most frequent mention text (lower-cased; ties: the first seen in file order) over the documents that
  carry the pair; a composite mention (``D1|D2`` with its 7th column of individual texts) gives each id
  its own text;
* **relevance**: every corpus document annotated with that CID pair (relevance 1); the other documents
  are not relevant, including those that mention both entities without the relation;
* **splits**: a pair annotated in any TEST document is a ``test`` query (its train/development documents
  stay relevant), every other pair is a ``tune`` query; the two query sets are disjoint.

Leakage, by nature of the set: the query words are the relevant documents' own mention texts, so a
relevant document always contains them; documents mentioning both entities without a CID relation are
the hard negatives. This favours lexical matching (BM25) over dense retrieval, as a MeSH-as-query set
(Hersh et al. 1994, OHSUMED) does.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from serendip.errors import ParseError
from serendip.kg.pubtator import Document, Mention
from serendip.kg.pubtator import parse_pubtator as parse_kg_pubtator
from serendip.kg.pubtator import read_pubtator as read_kg_pubtator

__all__ = ["CDRDocument", "build_cid_set", "parse_pubtator", "read_pubtator"]

#: BC5CDR file name stem per source split, in corpus order
SPLIT_FILES = (("train", "CDR_TrainingSet"), ("dev", "CDR_DevelopmentSet"), ("test", "CDR_TestSet"))


@dataclass
class CDRDocument:
    """One PubTator document: its PMID, title, abstract, ``mentions`` as (MeSH id, text) pairs in file
    order (composite mentions split into their ids) and ``cid`` as (chemical id, disease id) pairs."""

    pmid: str
    title: str = ""
    abstract: str = ""
    mentions: list[tuple[str, str]] = field(default_factory=list)
    cid: list[tuple[str, str]] = field(default_factory=list)


def _mention_pairs(mention: Mention) -> list[tuple[str, str]]:
    """(id, text) pairs of one mention: none for an unresolved id (``-1``); a composite gives each id
    its own text from the 7th column, and nothing without it (no reliable surface form per id)."""
    if len(mention.ids) == 1:
        return [] if mention.ids[0] is None else [(mention.ids[0], mention.text)]
    if mention.texts is None:
        return []
    return [(i, t) for i, t in zip(mention.ids, mention.texts) if i is not None]


def _cdr_document(doc: Document) -> CDRDocument:
    return CDRDocument(doc.pmid, doc.title, doc.abstract,
                       [pair for m in doc.mentions for pair in _mention_pairs(m)],
                       [(r.id1, r.id2) for r in doc.relations if r.type == "CID"])


def parse_pubtator(lines: Iterable[str], source: str = "<pubtator>") -> Iterator[CDRDocument]:
    """Parse PubTator text (BC5CDR layout) into documents, with :func:`serendip.kg.pubtator.parse_pubtator`
    (the one PubTator parser, which also checks every mention's offsets against the text).

    Parameters
    ----------
    lines : iterable of str
        ``PMID|t|title``, ``PMID|a|abstract``, tab-separated annotation lines
        (``PMID start end text type id [texts]``) and relation lines (``PMID CID chem disease``);
        documents separated by blank lines. A trailing empty column is ignored.
    source : str
        Name used in error messages.

    Yields
    ------
    CDRDocument
        Relations other than ``CID`` are not kept.

    Raises
    ------
    ParseError
        On a line that is none of the above, whose PMID differs from its document's, or a mention whose
        offsets do not give its text (names the file and line).
    """
    for doc in parse_kg_pubtator(lines, source):
        yield _cdr_document(doc)


def read_pubtator(path: str | Path) -> list[CDRDocument]:
    """Documents of a PubTator file (``.gz`` read compressed). Raises ParseError as :func:`parse_pubtator`."""
    return [_cdr_document(doc) for doc in read_kg_pubtator(path)]


def _surface(counts: Counter, first: dict[str, int]) -> str:
    return max(counts, key=lambda t: (counts[t], -first[t]))


def build_cid_set(docs_by_split: Iterable[tuple[str, list[CDRDocument]]]) -> dict:
    """The BC5CDR-CID retrieval set (see the module docstring) from parsed documents.

    Parameters
    ----------
    docs_by_split : iterable of (split, documents)
        Source split names ("train", "dev", "test") with their documents, in corpus order.

    Returns
    -------
    dict
        ``doc_ids``, ``titles``, ``abstracts`` (lists, corpus order); ``queries`` ``{qid: text}`` with
        qid ``"<chemical id>|<disease id>"``; ``qrels`` ``{"tune"|"test": {qid: {pmid: 1}}}``;
        ``dropped``: pairs without a mention text for one of their ids.

    Raises
    ------
    ParseError
        If a PMID appears twice.
    """
    doc_ids, titles, abstracts, seen = [], [], [], set()
    pair_docs: dict[tuple[str, str], list[CDRDocument]] = defaultdict(list)
    in_test: set[tuple[str, str]] = set()
    for split, docs in docs_by_split:
        for doc in docs:
            if doc.pmid in seen:
                raise ParseError(f"PMID {doc.pmid} appears twice in the BC5CDR files", file=split)
            seen.add(doc.pmid)
            doc_ids.append(doc.pmid)
            titles.append(doc.title)
            abstracts.append(doc.abstract)
            for pair in dict.fromkeys(doc.cid):
                pair_docs[pair].append(doc)
                if split == "test":
                    in_test.add(pair)
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, dict[str, int]]] = {"tune": {}, "test": {}}
    dropped = []
    for pair, docs in pair_docs.items():
        names = []
        for mesh in pair:
            counts: Counter = Counter()
            first: dict[str, int] = {}
            for doc in docs:
                for mid, text in doc.mentions:
                    if mid == mesh:
                        text = text.lower()
                        counts[text] += 1
                        first.setdefault(text, len(first))
            names.append(_surface(counts, first) if counts else None)
        if None in names:
            dropped.append(pair)
            continue
        qid = "|".join(pair)
        queries[qid] = " ".join(names)
        qrels["test" if pair in in_test else "tune"][qid] = {d.pmid: 1 for d in docs}
    return {"doc_ids": doc_ids, "titles": titles, "abstracts": abstracts, "queries": queries,
            "qrels": qrels, "dropped": dropped}
