"""Shared by the CID relation tests: a hand-made PubTator document with a composite disease id, an
unresolved chemical, a chemical mentioned twice and a gold pair one of whose sides is never mentioned.
Importable from any test module (``tests/conftest.py`` puts this folder on ``sys.path``)."""
from __future__ import annotations

from serendip.kg.pubtator import (
    Document,
    Mention,
    Relation,
    format_pubtator,
    parse_pubtator,
)

TITLE = "Renal and hepatic failure after cocaine use."
ABSTRACT = "Cocaine and an unknown drug X were given. Seizures followed."


def _mention(text: str, surface: str, type: str, ids: tuple, nth: int = 0) -> Mention:
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return Mention(start, start + len(surface), surface, type, ids)


def make_doc(pmid: str = "1") -> Document:
    """A title and two sentences: a composite disease (D1|D2), a chemical C1 mentioned twice, an
    unresolved chemical (-1), a disease D3 alone in the last sentence; CID C1-D1, C1-D3 and C9-D3
    (C9 is never mentioned)."""
    doc = Document(pmid, TITLE, ABSTRACT)
    text = doc.text
    doc.mentions = [_mention(text, "Renal and hepatic failure", "Disease", ("D1", "D2")),
                    _mention(text, "cocaine", "Chemical", ("C1",)),
                    _mention(text, "Cocaine", "Chemical", ("C1",)),
                    _mention(text, "drug X", "Chemical", (None,)),
                    _mention(text, "Seizures", "Disease", ("D3",))]
    doc.relations = [Relation("CID", "C1", "D1"), Relation("CID", "C1", "D3"), Relation("CID", "C9", "D3")]
    # through the PubTator text and back, as a file would give it
    return next(parse_pubtator(format_pubtator(doc).splitlines()))
