"""Retrieval benchmark sets, each with a tuning split and a report split: one registry,
:data:`RETRIEVAL_SETS`, that ``benchmarks/fusion_sets.py`` iterates over.

A set is read from (or built from) the files of a catalog dataset (:mod:`serendip.datasets.registry`),
found through :func:`serendip.datasets.resolve` (mirror, cache, download; sha256 checked):

* ``scifact`` — the BEIR layout as published (tune on ``train`` qrels, report on ``test``);
* ``bc5cdr-cid`` — built from the ``bc5cdr`` PubTator files (:mod:`serendip.datasets.bc5cdr_cid`
  documents the construction; tune on the pairs of the train+development documents, report on the
  pairs of the test documents).

A new set is one :func:`register_retrieval_set` call with a ``load`` function returning
:class:`RetrievalData`.
"""
from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass

from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["RETRIEVAL_SETS", "RetrievalData", "RetrievalSet", "register_retrieval_set", "retrieval_set_names"]


@dataclass(frozen=True)
class RetrievalData:
    """A loaded retrieval set: corpus (``doc_ids``, ``titles``, ``abstracts``, parallel lists),
    ``queries`` ``{qid: text}`` and ``qrels`` ``{split: {qid: {doc_id: relevance}}}``."""

    doc_ids: list[str]
    titles: list[str]
    abstracts: list[str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, dict[str, int]]]

    def split(self, name: str) -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
        """(query ids, query texts, qrels) of split ``name``; ConfigError on an unknown split."""
        if name not in self.qrels:
            raise ConfigError(f"no split {name!r}; this set has: {', '.join(sorted(self.qrels))}")
        qrels = self.qrels[name]
        qids = [q for q in qrels if q in self.queries]
        return qids, [self.queries[q] for q in qids], qrels


@dataclass(frozen=True)
class RetrievalSet:
    """One registered retrieval benchmark set.

    Parameters
    ----------
    name : str
    source : str
        The catalog dataset whose files it reads (``serendip.datasets.get(source)``).
    tune, report : str
        Split names: settings are chosen on ``tune`` and reported on ``report`` too.
    load : callable
        ``load() -> RetrievalData`` (resolves the source's files; DatasetNotFound when absent).
    description : str
        One line: what the queries and relevance are.
    """

    name: str
    source: str
    tune: str
    report: str
    load: Callable[[], RetrievalData]
    description: str


#: name -> :class:`RetrievalSet`
RETRIEVAL_SETS: Registry[RetrievalSet] = Registry("retrieval set")


def register_retrieval_set(entry: RetrievalSet) -> RetrievalSet:
    """Add ``entry`` to :data:`RETRIEVAL_SETS`; ValueError if the name is taken."""
    RETRIEVAL_SETS.add(entry.name, entry)
    return entry


def retrieval_set_names() -> list[str]:
    """Names of the registered retrieval sets, sorted."""
    return sorted(RETRIEVAL_SETS.keys())


def _load_scifact() -> RetrievalData:
    from serendip.datasets.store import resolve
    from serendip.retrieval.evaluate import load_beir_qrels, load_beir_queries

    files = resolve("scifact")
    ids, titles, abstracts = [], [], []
    with gzip.open(files["scifact/corpus.jsonl.gz"], "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            ids.append(str(doc["_id"]))
            titles.append(doc.get("title") or "")
            abstracts.append(doc.get("text") or "")
    qrels = {split: load_beir_qrels(files[f"scifact/qrels/{split}.tsv"]) for split in ("train", "test")}
    return RetrievalData(ids, titles, abstracts, load_beir_queries(files["scifact/queries.jsonl"]), qrels)


def _load_bc5cdr_cid() -> RetrievalData:
    from serendip.datasets.bc5cdr_cid import SPLIT_FILES, build_cid_set, read_pubtator
    from serendip.datasets.store import resolve

    files = resolve("bc5cdr")
    built = build_cid_set((split, read_pubtator(files[f"bc5cdr/{stem}.PubTator.txt.gz"]))
                          for split, stem in SPLIT_FILES)
    return RetrievalData(built["doc_ids"], built["titles"], built["abstracts"], built["queries"],
                         built["qrels"])


register_retrieval_set(RetrievalSet(
    "scifact", "scifact", "train", "test", _load_scifact,
    "SciFact claims as queries over 5,183 abstracts (BEIR); train 809 / test 300 queries"))
register_retrieval_set(RetrievalSet(
    "bc5cdr-cid", "bc5cdr", "tune", "test", _load_bc5cdr_cid,
    "chemical-induced-disease pairs of BC5CDR as '<chemical> <disease>' queries over its 1,500 abstracts; "
    "relevant: the documents annotated with the pair"))
