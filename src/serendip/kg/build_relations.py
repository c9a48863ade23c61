"""The relation step of ``kg build --relations RUN_DIR``: chemical-induced disease (CID) edges from the
classifier of :class:`serendip.kg.relations.CidClassifier`, run on the predicted and normalised
entities of each record the build reads.

Candidates (:func:`record_document`, then :func:`serendip.kg.relations.document_candidates`): each pair
of a chemical and a disease MeSH id among the record's normalised mentions (resolved ids only: an
unresolved mention gives no candidate; a composite ``D1|D2`` mention gives one per id). The record's
text is ``title + " " + abstract`` and its sentences are the build's passages
(:func:`serendip.evidence.passages.split_record`, or the passage index), so the classifier marks its
mentions (:mod:`serendip.kg.relation_data`) in the same sentences the co-occurrence evidence names.

Edges: a candidate whose probability is at or above the threshold becomes a ``cid`` edge between its
chemical's and its disease's entities (``source_id < target_id``, as every edge of
:mod:`serendip.kg.store`; the entity types say which end is the chemical), with one evidence row per
record that supports it: the evidence sentence (the first passage holding mentions of both, else the
first holding a mention of either, as :func:`serendip.kg.relations.evidence_sentence` chooses) with its
``sentence``, ``field``, ``char_start``/``char_end`` and ``text`` stored as the co-occurrence evidence
rows store them, and ``score``, the probability in that record. The edge's ``sentence_count`` counts
those evidence sentences, its ``abstract_count`` the records, its ``score`` is the highest probability
over its records (:func:`refresh_cid_scores`, set again after records are removed) and its ``npmi``
stays NULL.

Scores: the classifier's probability, or, when the run folder holds a second-stage scorer
(``cid_stacker.json``, :mod:`serendip.kg.cid_stack`), the stacker's probability from it and the
document's features.

Threshold: given, else the stacker's, else the one saved with the run (``cid_threshold.json``, written by
:meth:`~serendip.kg.relations.CidClassifier.save_threshold`, as ``benchmarks/kg_cid.py`` does with the
threshold chosen on the development set), else 0.5. The run folder and the threshold are kept in the
build's ``kg_builds`` row; a build with another run, another threshold, or without ``--relations`` over
a graph built with them (or with them over one built without) raises :class:`~serendip.errors.ConfigError`
asking for ``--rebuild``, as another tagger does.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from serendip.errors import ConfigError
from serendip.evidence.passages import ABSTRACT, Passage
from serendip.kg.pubtator import Document, Mention
from serendip.kg.reading import RecordRead
from serendip.kg.relations import CHEMICAL, DISEASE
from serendip.kg.store import entity_key, kg_edges, kg_evidence

__all__ = ["CID", "CidHit", "RelationStep", "check_relations", "record_document", "refresh_cid_scores"]

#: The edge type of the CID classifier's edges (:mod:`serendip.kg.store`)
CID = "cid"
#: What a relations run's name in ``kg_builds`` carries after the folder when a stacker scored it
STACKER_MARK = " (stacker sha256 "


@dataclass(frozen=True)
class CidHit:
    """One candidate at or above the threshold in one record: the record, the entity keys of its
    chemical and its disease, the probability (0-1) and the evidence passage."""

    record_id: int
    pmid: str | None
    chemical: str
    disease: str
    probability: float
    passage: Passage


def record_document(rec: RecordRead) -> tuple[Document, list[tuple[int, int]]]:
    """The record as a :class:`~serendip.kg.pubtator.Document` of its resolved mentions, and its sentences.

    Returns
    -------
    doc : Document
        PMID (``"record-<id>"`` without one), title, abstract; one mention per tagged span with a
        resolved MeSH id, at offsets into ``title + " " + abstract``, ids all the MeSH ids its span was
        normalised to (a composite keeps them together, as :func:`serendip.kg.relations.with_normalised`).
    sentences : list of (start, end)
        The record's passages, in passage order, at offsets into the same text.
    """
    shift = len(rec.title) + 1
    spans: dict[tuple[int, int, int, str], list[str]] = {}
    texts: dict[tuple[int, int, int, str], str] = {}
    for m in rec.mentions:
        if m.mesh_id is None:
            continue
        where = (m.field, m.start, m.end, m.type)
        spans.setdefault(where, []).append(m.mesh_id)
        texts[where] = m.text
    mentions = [Mention(s + (shift if f == ABSTRACT else 0), e + (shift if f == ABSTRACT else 0), texts[(f, s, e, t)],
                        t, tuple(dict.fromkeys(ids))) for (f, s, e, t), ids in spans.items()]
    mentions.sort(key=lambda m: (m.start, m.end))
    doc = Document(rec.pmid or f"record-{rec.record_id}", rec.title, rec.abstract, mentions)
    sentences = [(p.start + (shift if p.field == ABSTRACT else 0), p.end + (shift if p.field == ABSTRACT else 0))
                 for p in rec.passages]
    return doc, sentences


def _evidence_passage(rec: RecordRead, chemical: str, disease: str) -> Passage:
    """The first passage holding mentions of both ids, else the first holding a mention of either."""
    chem = {m.sentence for m in rec.mentions if m.type == CHEMICAL and m.mesh_id == chemical}
    dis = {m.sentence for m in rec.mentions if m.type == DISEASE and m.mesh_id == disease}
    number = (sorted(chem & dis) or sorted(chem | dis))[0]
    return next(p for p in rec.passages if p.number == number)


class RelationStep:
    """The CID classifier of one build, with the ``cid`` edges it has written (module docstring).

    Parameters
    ----------
    run_dir : str or Path
        A run folder of a CID classifier (:class:`~serendip.kg.relations.CidClassifier`).
    threshold : float, optional
        In [0, 1]; default: the run's saved threshold, else 0.5.
    batch_size : int, default 32
    device : str, optional
    stacked : bool, default True
        Score with the run's stacker (``cid_stacker.json``) when it has one; False: the classifier alone.

    Attributes
    ----------
    name : str
        The run folder, resolved, and with a stacker `` (stacker sha256 <12 hex digits>)`` of its file
        (kept in ``kg_builds.relations``: another stacker, or none, needs ``--rebuild``).
    threshold : float
    threshold_source : str
        ``"given"``, ``"stacker"`` (the run's ``cid_stacker.json``), ``"run"`` (its ``cid_threshold.json``) or
        ``"default"`` (0.5).

    Raises
    ------
    ConfigError
        ``threshold`` outside [0, 1].
    RunNotFound, DataError
        As :class:`~serendip.kg.relations.CidClassifier` (not a run; not a CID classifier).
    """

    def __init__(self, run_dir: str | Path, threshold: float | None = None, *, batch_size: int = 32,
                 device: str | None = None, stacked: bool = True):
        from serendip.kg.relation_data import CidTextFitter
        from serendip.kg.relations import THRESHOLD_FILE, CidClassifier

        if threshold is not None and not (0.0 <= threshold <= 1.0 and math.isfinite(threshold)):
            raise ConfigError(f"kg build: the relation threshold must be in [0, 1], got {threshold}")
        self.classifier = CidClassifier(run_dir, threshold=threshold, batch_size=batch_size, device=device,
                                        stacked=stacked)
        self.name = str(Path(run_dir).resolve())
        if self.classifier.stacker is not None:  # another stacker scores otherwise: a build notices it
            import hashlib

            from serendip.kg.cid_stack import STACKER_FILE

            digest = hashlib.sha256((Path(run_dir) / STACKER_FILE).read_bytes()).hexdigest()[:12]
            self.name += f"{STACKER_MARK}{digest})"
        self.threshold = self.classifier.threshold
        self.threshold_source = ("given" if threshold is not None else
                                 "stacker" if self.classifier.stacker is not None else
                                 "run" if (Path(run_dir) / THRESHOLD_FILE).is_file() else "default")
        bundle = self.classifier.bundle
        self._fitter = CidTextFitter(bundle.tokenizer, bundle.max_length)
        self.edges: dict[tuple[int, int], int] = {}
        self.candidates = 0

    def load(self, conn: Connection) -> None:
        """Read the ids of the graph's ``cid`` edges (once, before the first batch)."""
        e = kg_edges.c
        rows = conn.execute(select(e.id, e.source_id, e.target_id).where(e.type == CID))
        self.edges = {(s, t): i for i, s, t in rows}

    def classify(self, reads: list[RecordRead]) -> list[CidHit]:
        """Score every candidate of ``reads`` (one classifier pass over the batch); the hits at or above
        the threshold, in record order, then candidate order."""
        from serendip.kg.relation_data import pair_examples

        examples, where = [], []
        for rec in reads:
            doc, sentences = record_document(rec)
            if not doc.mentions:
                continue
            for cand, ex in pair_examples(doc, self._fitter, labelled=False, sentences=sentences):
                examples.append(ex)
                where.append((rec, doc, cand, sentences))
        self.candidates += len(examples)
        probs = self.classifier.pair_probabilities([w[1:] for w in where], examples)
        return [CidHit(rec.record_id, rec.pmid, entity_key(CHEMICAL, cand.chemical, ""),
                       entity_key(DISEASE, cand.disease, ""), p, _evidence_passage(rec, cand.chemical, cand.disease))
                for (rec, _, cand, _), p in zip(where, probs) if p >= self.threshold]

    def write(self, conn: Connection, hits: list[CidHit], entities: dict[str, int]) -> None:
        """Add the ``cid`` edges and evidence rows of ``hits`` (``entities``: entity key -> id, holding
        every key of the hits); counts of existing edges are increased, scores set by :func:`refresh_cid_scores`."""
        if not hits:
            return
        by_pair: dict[tuple[int, int], list[CidHit]] = defaultdict(list)
        for h in hits:
            a, b = sorted((entities[h.chemical], entities[h.disease]))
            by_pair[(a, b)].append(h)
        new = [pair for pair in by_pair if pair not in self.edges]
        if new:
            stmt = insert(kg_edges).returning(kg_edges.c.id, sort_by_parameter_order=True)
            rows = [{"source_id": a, "target_id": b, "type": CID, "sentence_count": 0, "abstract_count": 0,
                     "score": max(h.probability for h in by_pair[(a, b)])} for a, b in new]
            self.edges.update(zip(new, conn.execute(stmt, rows).scalars().all()))
        e = kg_edges.c
        conn.execute(update(kg_edges).where(e.id == bindparam("eid"))
                     .values(sentence_count=e.sentence_count + bindparam("ds"),
                             abstract_count=e.abstract_count + bindparam("dr")),
                     [{"eid": self.edges[p], "ds": len(v), "dr": len({h.record_id for h in v})}
                      for p, v in by_pair.items()])
        evidence = [{"edge_id": self.edges[p], "record_id": h.record_id, "pmid": h.pmid, "sentence": h.passage.number,
                     "field": h.passage.field, "char_start": h.passage.start, "char_end": h.passage.end,
                     "text": h.passage.text, "score": h.probability} for p, v in by_pair.items() for h in v]
        if evidence:
            conn.execute(insert(kg_evidence), evidence)


def refresh_cid_scores(conn: Connection) -> None:
    """Set each ``cid`` edge's ``score`` to the highest ``score`` of its evidence rows (one UPDATE)."""
    ev = kg_evidence.c
    best = select(func.max(ev.score)).where(ev.edge_id == kg_edges.c.id).scalar_subquery()
    conn.execute(update(kg_edges).where(kg_edges.c.type == CID).values(score=best))


def check_relations(last: Any, step: RelationStep | None) -> None:
    """Raise ConfigError when the graph's last build (``last``: a ``kg_builds`` row with ``relations``
    and ``relation_threshold``, or None) used another relations run or threshold than ``step`` (None:
    no relations), asking for ``--rebuild``."""
    if last is None:
        return
    was, now = last.relations, step.name if step else None
    was_run = was.split(STACKER_MARK)[0] if was else was
    same_threshold = (step is None or last.relation_threshold is None
                      or math.isclose(last.relation_threshold, step.threshold, abs_tol=1e-12))
    if was == now and same_threshold:
        return
    t = last.relation_threshold
    before = f"with relations run {was} at threshold {t}" if was else "without relations"
    after = f"with relations run {now} at threshold {step.threshold}" if step else "without relations"
    keep = ""
    if was:
        from serendip.kg.cid_stack import STACKER_FILE

        # a run scored without a stacker that has one now: keep it out to build as before
        stacker = " --no-relation-stacker" if STACKER_MARK not in was and (Path(was_run) / STACKER_FILE).is_file() else ""
        keep = (f"give --relations {was_run} --relation-threshold {t}{stacker} to keep building it that way"
                f"{' (with the stacker it had)' if STACKER_MARK in was else ''}, or ")
    raise ConfigError(f"the workspace's knowledge graph was built {before}, not {after}: {keep}add --rebuild to "
                      f"build it again {after}")
