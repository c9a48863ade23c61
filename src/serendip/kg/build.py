"""``kg build``: the workspace's records -> NER -> MeSH normalisation -> co-occurrence edges, stored in
the workspace database (:mod:`serendip.kg.store`).

:func:`build` reads, in batches of ``batch`` records (title and abstract), every record the graph has
not read yet or whose text changed since (:class:`~serendip.kg.store.kg_records` keeps a digest per
record), tags them (a :mod:`~serendip.kg.taggers` tagger), normalises the mentions
(:class:`~serendip.kg.normalise.Normaliser`) and reads them into mentions and entity pairs
(:func:`serendip.kg.reading.read_record`). Each batch is one transaction: its mentions, new entities,
new edges, the counts added to existing ones, its evidence rows and its ``kg_records`` rows, so a
killed build keeps the batches it finished and the next build reads only the rest.

Counts: an edge's ``sentence_count`` is the number of sentences holding both entities and its
``abstract_count`` the number of records holding both; an entity's ``n_records`` the records
mentioning it. Once the batches are written, every co-occurrence edge's NPMI (and ``score``) is set
over the records read (``kg_records``, those without any entity included; Bouma 2009, as
:func:`serendip.kg.graph.npmi`), and the touched entities take the surface form their mentions use
most as their ``name``, a name before a short form (:func:`entity_name`).

Relations (``relations=RUN_DIR``, :mod:`serendip.kg.build_relations`): each batch's records also go
through a CID classifier, on their normalised mentions (resolved MeSH ids); each chemical-disease
candidate at or above the threshold becomes a ``cid`` edge (or adds to one) with the record's evidence
sentence and probability, in the same transaction; an edge's score is its highest probability.

Records deleted from the workspace, or changed in place, lose their rows first (:mod:`serendip.kg.build_plan`:
their edges' (co-occurrence and ``cid``) and entities' counts recomputed from what remains; an edge or
entity left with nothing is removed). A second build over unchanged records adds nothing.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from serendip.core.progress import Steps, start_step
from serendip.errors import ConfigError
from serendip.kg.build_plan import (
    chunks,
    indexed_passages,
    passage_index,
    plan,
    remove_records,
)
from serendip.kg.build_relations import (
    CID,
    RelationStep,
    check_relations,
    refresh_cid_scores,
)
from serendip.kg.reading import RecordRead, read_record
from serendip.kg.store import (
    COOCCURRENCE,
    KG_TABLES,
    graph_counts,
    kg_builds,
    kg_edges,
    kg_entities,
    kg_evidence,
    kg_mentions,
    kg_records,
)
from serendip.workspace.schema import records

if TYPE_CHECKING:  # pragma: no cover
    from serendip.workbench import Workspace

__all__ = ["BuildReport", "build"]


@dataclass
class BuildReport:
    """What :func:`build` did: the build's id, ``tagger`` and ``normaliser`` (its cache file);
    ``records_read`` (records tagged by this build: new or changed), ``records_removed`` (records whose
    old rows were removed: ``records_changed`` in the workspace since the last build, read again, and
    ``records_deleted`` from it), ``records_left`` (records still
    unread, when ``limit`` stopped the build early), ``mentions_added``, ``passages_reused`` (records
    whose sentences came from the workspace's passage index instead of the splitter), ``unsplit`` (ids of records the
    sentence splitter failed on: each field counted as one sentence), ``counts`` (the graph after it:
    records, entities, mentions, edges, evidence), ``seconds`` (wall) and ``docs_per_s``. With relations:
    ``relations`` (the CID run folder, None without), ``relation_threshold`` and where it came from
    (``threshold_source``: ``"given"``, ``"stacker"``, ``"run"`` or ``"default"``), ``candidates_scored`` (this build)
    and ``cid_edges`` (``cid`` edges in the graph after it, 0 without relations)."""

    build_id: int
    tagger: str
    normaliser: str
    records_read: int = 0
    records_removed: int = 0
    records_changed: int = 0
    records_deleted: int = 0
    records_left: int = 0
    mentions_added: int = 0
    passages_reused: int = 0
    unsplit: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    relations: str | None = None
    relation_threshold: float | None = None
    threshold_source: str | None = None
    candidates_scored: int = 0
    cid_edges: int = 0

    @property
    def docs_per_s(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "docs_per_s": round(self.docs_per_s, 2)}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- writing a batch ---------------------------------------------------------------------------------
class _Ids:
    """Entity key -> id and entity-id pair -> co-occurrence edge id, loaded once, extended as rows are added."""

    def __init__(self, conn: Connection):
        self.entities: dict[str, int] = dict(conn.execute(select(kg_entities.c.key, kg_entities.c.id)).all())
        e = kg_edges.c
        self.edges: dict[tuple[int, int], int] = {
            (s, t): i for i, s, t in conn.execute(select(e.id, e.source_id, e.target_id).where(e.type == COOCCURRENCE))}
        self.touched: set[int] = set()

    def add_entities(self, conn: Connection, reads: list[RecordRead]) -> None:
        new: dict[str, dict] = {}
        for rec in reads:
            for m in rec.mentions:
                if m.key not in self.entities and m.key not in new:
                    new[m.key] = {"key": m.key, "type": m.type, "mesh_id": m.mesh_id, "name": m.text,
                                  "n_mentions": 0, "n_records": 0}
        if new:
            stmt = insert(kg_entities).returning(kg_entities.c.key, kg_entities.c.id, sort_by_parameter_order=True)
            self.entities.update(dict(conn.execute(stmt, list(new.values())).all()))


def _edge_increments(reads: list[RecordRead], ids: _Ids) -> dict[tuple[int, int], list]:
    """(source id, target id) -> [sentence rows to add, records to add, evidence rows]."""
    out: dict[tuple[int, int], list] = {}
    for rec in reads:
        texts = {p.number: p for p in rec.passages}
        for ka, kb in rec.record_pairs:
            a, b = sorted((ids.entities[ka], ids.entities[kb]))
            entry = out.setdefault((a, b), [0, 0, []])
            entry[1] += 1
            sentences = rec.sentence_pairs.get((ka, kb), [])
            entry[0] += len(sentences)
            base = {"record_id": rec.record_id, "pmid": rec.pmid}
            if not sentences:
                entry[2].append({**base, "sentence": None, "field": None, "char_start": None, "char_end": None,
                                 "text": None})
            for s in sentences:
                p = texts[s]
                entry[2].append({**base, "sentence": s, "field": p.field, "char_start": p.start,
                                 "char_end": p.end, "text": p.text})
    return out


def _write_edges(conn: Connection, reads: list[RecordRead], ids: _Ids) -> None:
    inc = _edge_increments(reads, ids)
    new = [pair for pair in inc if pair not in ids.edges]
    if new:
        stmt = insert(kg_edges).returning(kg_edges.c.id, sort_by_parameter_order=True)
        rows = [{"source_id": a, "target_id": b, "type": COOCCURRENCE, "sentence_count": inc[(a, b)][0],
                 "abstract_count": inc[(a, b)][1]} for a, b in new]
        for pair, eid in zip(new, conn.execute(stmt, rows).scalars().all()):
            ids.edges[pair] = eid
    fresh = set(new)
    old = [{"eid": ids.edges[p], "ds": v[0], "dr": v[1]} for p, v in inc.items() if p not in fresh]
    if old:
        e = kg_edges.c
        conn.execute(update(kg_edges).where(e.id == bindparam("eid"))
                     .values(sentence_count=e.sentence_count + bindparam("ds"),
                             abstract_count=e.abstract_count + bindparam("dr")), old)
    evidence = [{"edge_id": ids.edges[p], **row} for p, v in inc.items() for row in v[2]]
    if evidence:
        conn.execute(insert(kg_evidence), evidence)


def _write_batch(conn: Connection, reads: list[RecordRead], ids: _Ids, build_id: int, hits: list | None = None,
                 step: RelationStep | None = None) -> int:
    """Store the records read (and the relation ``step``'s ``hits`` in them); returns the mentions added."""
    ids.add_entities(conn, reads)
    mentions = [{"entity_id": ids.entities[m.key], "record_id": rec.record_id, "pmid": rec.pmid,
                 "sentence": m.sentence, "field": m.field, "char_start": m.start, "char_end": m.end,
                 "text": m.text, "method": m.method, "score": m.score} for rec in reads for m in rec.mentions]
    if mentions:
        conn.execute(insert(kg_mentions), mentions)
    n_mentions: Counter = Counter(row["entity_id"] for row in mentions)
    n_records: Counter = Counter(e for rec in reads for e in {ids.entities[m.key] for m in rec.mentions})
    if n_mentions:
        c = kg_entities.c
        conn.execute(update(kg_entities).where(c.id == bindparam("eid"))
                     .values(n_mentions=c.n_mentions + bindparam("dm"), n_records=c.n_records + bindparam("dr")),
                     [{"eid": e, "dm": n, "dr": n_records[e]} for e, n in n_mentions.items()])
        ids.touched.update(n_mentions)
    _write_edges(conn, reads, ids)
    if step is not None:
        step.write(conn, hits or [], ids.entities)
    conn.execute(insert(kg_records), [{"record_id": rec.record_id, "digest": rec.digest, "build_id": build_id,
                                       "n_mentions": len(rec.mentions), "split": rec.split} for rec in reads])
    return len(mentions)


def _read_batch(engine, record_ids: Sequence[int], tagger, normaliser, pindex=None) -> list[RecordRead]:
    """Fetch, tag and read a batch of records (outside any write transaction: tagging can be slow);
    sentences from ``pindex`` (:func:`~serendip.kg.build_plan.passage_index`) where it holds the record as stored."""
    r = records.c
    with engine.connect() as conn:
        rows = conn.execute(select(r.id, r.pmid, r.title, r.abstract).where(r.id.in_(list(record_ids)))
                            .order_by(r.id)).all()
    spans = tagger.tag_records([(row.title or "", row.abstract or "") for row in rows])  # short forms: both parts
    return [read_record(row.id, row.pmid, row.title, row.abstract, (title, abstract), normaliser,
                        passages=indexed_passages(pindex, row))
            for row, (title, abstract) in zip(rows, spans)]


# -- finishing ------------------------------------------------------------------------------------------
def _finish(conn: Connection, touched: set[int]) -> None:
    """NPMI and score of every co-occurrence edge over the records read; score of every ``cid`` edge;
    names of the ``touched`` entities."""
    from serendip.kg.graph import npmi

    n_docs = conn.execute(select(func.count()).select_from(kg_records)).scalar_one()
    n_x = dict(conn.execute(select(kg_entities.c.id, kg_entities.c.n_records)).all())
    e = kg_edges.c
    changes = []
    for eid, a, b, n_xy, old in conn.execute(select(e.id, e.source_id, e.target_id, e.abstract_count, e.npmi)
                                             .where(e.type == COOCCURRENCE)):
        value = npmi(n_xy, n_x[a], n_x[b], n_docs) if n_docs else None
        if value != old:
            changes.append({"eid": eid, "v": value})
    if changes:
        conn.execute(update(kg_edges).where(e.id == bindparam("eid")).values(npmi=bindparam("v"), score=bindparam("v")),
                     changes)
    refresh_cid_scores(conn)
    m = kg_mentions.c
    for chunk in chunks(sorted(touched)):
        forms: dict[int, dict[str, int]] = {}
        for eid, text, n in conn.execute(select(m.entity_id, m.text, func.count()).where(m.entity_id.in_(chunk))
                                         .group_by(m.entity_id, m.text)):
            forms.setdefault(eid, {})[text] = n
        if forms:
            conn.execute(update(kg_entities).where(kg_entities.c.id == bindparam("eid")).values(name=bindparam("nm")),
                         [{"eid": k, "nm": entity_name(v)} for k, v in forms.items()])


def entity_name(forms: dict[str, int]) -> str:
    """The name an entity is shown by, from its mentions' surface forms and their counts: among the forms
    longer than :data:`~serendip.kg.normalise.CASE_KEPT_MAX` characters (names, not short forms such as
    ``PD`` or ``ASA``, which take their long form's entity) when there is one, the spelling mentioned
    most counted case-insensitively (``Aspirin`` and ``aspirin`` together), written as its most frequent
    exact form; ties by the text. Forms are compared and the name written in Unicode NFKC (a full-width
    ``ＰＤ`` or a ligature ``ﬁbrosis`` counts as, and is shown as, ``PD`` or ``fibrosis``: what the tagger
    matched them as; the mentions keep what was written). Raises ValueError for no forms."""
    import unicodedata

    from serendip.kg.normalise import CASE_KEPT_MAX

    if not forms:
        raise ValueError("an entity name needs at least one surface form")
    nfkc: dict[str, int] = {}
    for text, n in forms.items():
        key = unicodedata.normalize("NFKC", text)
        nfkc[key] = nfkc.get(key, 0) + n
    forms = nfkc
    long_forms = {t: n for t, n in forms.items() if len(t.strip()) > CASE_KEPT_MAX} or forms
    folded: dict[str, int] = {}
    for text, n in long_forms.items():
        folded[text.casefold()] = folded.get(text.casefold(), 0) + n
    return min(long_forms, key=lambda t: (-folded[t.casefold()], -long_forms[t], t))


def _start(conn: Connection, tagger: str, normaliser: str, rebuild: bool, step: RelationStep | None) -> int:
    """Clear the graph (``rebuild``) or check its tagger and relations run; record the build as running; its id."""
    if rebuild:
        for t in KG_TABLES:
            conn.execute(delete(t))
    elif conn.execute(select(kg_entities.c.id).limit(1)).first() is not None:
        b = kg_builds.c
        last = conn.execute(select(b.tagger, b.relations, b.relation_threshold).where(b.status == "done")
                            .order_by(b.id.desc()).limit(1)).first()
        if last is not None and last.tagger != tagger:
            raise ConfigError(f"the workspace's knowledge graph was built with tagger {last.tagger!r}, not {tagger!r}: "
                              f"run `serendip kg build --rebuild` to build it again with {tagger!r}")
        check_relations(last, step)
    return conn.execute(insert(kg_builds).values(
        started_at=_now(), status="running", tagger=tagger, normaliser=normaliser, records_read=0, records_removed=0,
        relations=step.name if step else None, relation_threshold=step.threshold if step else None)
                        ).inserted_primary_key[0]


def build(ws: Workspace, tagger: str = "dictionary", *, batch: int = 64, limit: int | None = None,
          rebuild: bool = False, training: Sequence[str | Path] | None = None, steps: Steps | None = None,
          tagger_options: dict[str, Any] | None = None, relations: str | Path | None = None,
          relation_threshold: float | None = None, relation_stacker: bool = True) -> BuildReport:
    """Bring the workspace's knowledge graph up to date with its records (module docstring).

    Parameters
    ----------
    ws : Workspace
    tagger : str, default "dictionary"
        A tagger of :data:`serendip.kg.taggers.TAGGERS` or a fine-tuned ``token`` run folder
        (:func:`serendip.kg.taggers.make_tagger`).
    batch : int, default 64
        Records per batch (tagged together, written in one transaction).
    limit : int, optional
        Read at most this many of the records still to read (the rest stay for the next build).
    rebuild : bool, default False
        Remove the whole graph first (needed to change the tagger).
    training : list of paths, optional
        PubTator files the dictionary and the normaliser are fitted on (default: BC5CDR train + dev,
        :func:`serendip.kg.taggers.training_documents`).
    steps : callable, optional
        :mod:`serendip.core.progress` steps: one step ``"kg build"`` counting the records read.
    tagger_options : dict, optional
        Passed to the model tagger (``window``, ``overlap``, ``batch_size``, ``device``).
    relations : path, optional
        A CID classifier run folder (:mod:`serendip.kg.build_relations`): add ``cid`` edges too.
    relation_threshold : float, optional
        Probability in [0, 1] at or above which a candidate is an edge; default: the threshold saved
        with the run (``cid_threshold.json``), else 0.5.
    relation_stacker : bool, default True
        Score with the run's second stage (``cid_stacker.json``) when it has one (its threshold is then the
        default); False: the classifier alone.

    Returns
    -------
    BuildReport

    Raises
    ------
    WorkspaceReadOnly
        The workspace was opened without write access.
    ConfigError
        ``batch`` < 1 or ``limit`` < 0; an unknown tagger; a threshold outside [0, 1] or given without
        ``relations``; the graph was built with another tagger, or another relations run or threshold,
        or with relations where none are given, or the reverse (without ``rebuild``).
    RunNotFound
        ``relations`` is not a complete run folder.
    ParseError, DatasetNotFound, DataError
        The training files cannot be read; a tagger gave a span outside its text; the ``relations``
        run is not a CID classifier.
    """
    from serendip.kg.taggers import load_normaliser, make_tagger, training_documents
    from serendip.workspace.locks import kg_lock

    ws.store.require_writable("kg build")
    if batch < 1 or (limit is not None and limit < 0):
        raise ConfigError(f"kg build needs batch >= 1 and limit >= 0; got batch {batch}, limit {limit}")
    if relation_threshold is not None and relations is None:
        raise ConfigError("kg build: a relation threshold needs a relations run (--relations RUN_DIR)")
    t0 = time.perf_counter()
    docs, paths = training_documents(training)
    tg = make_tagger(tagger, docs, **(tagger_options or {}))
    normaliser, norm_name = load_normaliser(ws.path / "models" / "kg", docs, paths)
    step = RelationStep(relations, relation_threshold, stacked=relation_stacker) if relations is not None else None
    engine = ws.engine
    with kg_lock(ws.path):
        with engine.begin() as conn:
            build_id = _start(conn, tg.name, norm_name, rebuild, step)
        report = BuildReport(build_id, tg.name, norm_name)
        if step is not None:
            report.relations, report.relation_threshold, report.threshold_source = (
                step.name, step.threshold, step.threshold_source)
        try:
            _run(engine, report, tg, normaliser, batch, limit, steps, passage_index(ws), step)
        except BaseException:
            with engine.begin() as conn:
                conn.execute(update(kg_builds).where(kg_builds.c.id == build_id)
                             .values(status="failed", finished_at=_now(), records_read=report.records_read))
            raise
        _done(engine, report, t0)
    return report


def _done(engine, report: BuildReport, t0: float) -> None:
    """Fill the report's counts and time; mark the build done."""
    report.counts = graph_counts(engine)
    report.seconds = time.perf_counter() - t0
    with engine.begin() as conn:
        report.cid_edges = conn.execute(select(func.count()).select_from(kg_edges)
                                        .where(kg_edges.c.type == CID)).scalar_one()
        conn.execute(update(kg_builds).where(kg_builds.c.id == report.build_id).values(
            status="done", finished_at=_now(), records_read=report.records_read,
            records_removed=report.records_removed, counts=report.counts))


def _run(engine, report: BuildReport, tagger, normaliser, batch: int, limit: int | None, steps: Steps | None,
         pindex=None, step: RelationStep | None = None) -> None:
    with engine.begin() as conn:
        todo, changed, gone, report.records_left = plan(conn, limit)
        touched = remove_records(conn, changed + gone) if changed or gone else set()
        report.records_removed = len(changed) + len(gone)
        report.records_changed, report.records_deleted = len(changed), len(gone)
        ids = _Ids(conn)
        ids.touched |= touched
        if step is not None:
            step.load(conn)
    advance = start_step(steps, "kg build", len(todo))
    for chunk in chunks(todo, batch):
        reads = _read_batch(engine, chunk, tagger, normaliser, pindex)
        hits = step.classify(reads) if step is not None else None  # outside the transaction, as tagging
        with engine.begin() as conn:
            report.mentions_added += _write_batch(conn, reads, ids, report.build_id, hits, step)
        report.records_read += len(reads)
        report.passages_reused += sum(r.reused for r in reads)
        report.unsplit.extend(r.record_id for r in reads if not r.split)
        advance(len(chunk))
    with engine.begin() as conn:
        _finish(conn, ids.touched)
    report.candidates_scored = step.candidates if step is not None else 0
