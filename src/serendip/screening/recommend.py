"""Records like these: recommendations from a few seed records, each with the reasons it was chosen.

Four signals, each a score in [0, 1] per candidate record (the seeds themselves are never recommended):

* ``similarity``: the highest cosine between the candidate and any seed (clipped at 0), with the seed
  it is closest to. From the workspace's dense index when ``serendip index`` built one and it holds
  the seeds (its embeddings, all-MiniLM-L6-v2 by default; reason ``"cosine 0.83 to 123"``), else from
  TF-IDF vectors fitted here on every record's title and abstract (scikit-learn ``TfidfVectorizer``,
  English stop words, sublinear tf; reason ``"TF-IDF cosine 0.41 to 123"``).
* ``mesh``: MeSH headings shared with the seeds (the records' ``mesh_terms``, compared case-blind),
  each weighted by its inverse document frequency over the workspace, ``idf(t) = ln((N + 1) / (df(t)
  + 1)) + 1`` (scikit-learn's smooth idf), so a shared "Humans" counts for little; the score is the
  idf mass of the seeds' headings the candidate shares over the idf mass of all the seeds' headings
  (reason ``"shares MeSH Aspirin, Myocardial Infarction"``, rarest first, at most 3 named).
* ``kg``: knowledge-graph entities (``serendip kg build``) mentioned by the candidate and by a seed,
  weighted the same way by the number of records mentioning each (``kg_entities.n_records`` over the
  records the graph has read); the candidate is a neighbour of the seeds in the record-entity graph
  (reason ``"shares KG entity Aspirin (D001241)"``).
* ``citations``: records linked to a seed by the workspace's reference lists (PubMed XML's, where
  present): direct citation, bibliographic coupling and co-citation (:mod:`serendip.screening.citations`;
  reasons ``"cites 123"``, ``"shares 5 references with 123"``, ``"co-cited with 123 by 2 records"``).

Fusion: ``score = sum_c w_c * s_c / sum_c w_c`` over the signals available for this call (a signal is
unavailable when no seed has MeSH headings, or no graph has been built or it mentions nothing in the
seeds, or no seed cites a work or is cited in the workspace), with weights :data:`WEIGHTS` (similarity
0.6, MeSH 0.2, KG 0.2, citations 0.2: content first, the curated and extracted vocabularies and the
citation links as corroboration; not tuned on a benchmark). So a score is a weighted mean
in [0, 1]; ties go to the lower record id. Candidates are every record sharing a MeSH heading or an
entity or a citation link with a seed plus the ``max(5 k, 100)`` nearest records by similarity.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
from sqlalchemy import select

from serendip.errors import ConfigError, DataError
from serendip.screening.citations import citation_scores
from serendip.workspace.schema import records

__all__ = ["WEIGHTS", "Recommendation", "RecommendResult", "recommend"]

#: Weight of each signal in the fused score (see the module docstring)
WEIGHTS = {"similarity": 0.6, "mesh": 0.2, "kg": 0.2, "citations": 0.2}


@dataclass
class Recommendation:
    """One recommended record: ``rank`` (1 = best), workspace ``record_id``, fused ``score`` in [0, 1],
    PMID, title, year, ``reasons`` (one line per signal that found it) and ``parts`` (signal -> its score)."""

    rank: int
    record_id: int
    score: float
    pmid: str | None
    title: str | None
    year: int | None
    reasons: list[str] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RecommendResult:
    """The recommendations, best first, with the signals used (signal -> how: ``"dense"``, ``"tfidf"``,
    ``"mesh"``, ``"kg"``, ``"citations"``) and notes on those left out or limited."""

    seeds: list[int]
    items: list[Recommendation]
    signals: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"seeds": self.seeds, "signals": self.signals, "notes": self.notes,
                "items": [r.to_dict() for r in self.items]}


def _idf(df: int, n: int) -> float:
    return math.log((n + 1) / (df + 1)) + 1.0


def _read_all(ws) -> tuple[list[int], dict[int, dict]]:
    """Every record id (ascending) and per record its pmid, title, year, text, MeSH terms and the PMIDs it
    cites (``refs``: PubMed XML's reference list, ``extra["cited_pmids"]``)."""
    from serendip.literature.record import Record

    ids, info = [], {}
    with ws.engine.connect() as conn:
        for rid, data in conn.execute(select(records.c.id, records.c.data).order_by(records.c.id)):
            rec = Record.from_dict(data)
            ids.append(rid)
            info[rid] = {"pmid": rec.pmid, "title": rec.title, "year": rec.year,
                         "text": f"{rec.title or ''} {rec.abstract}", "mesh": list(dict.fromkeys(rec.mesh_terms)),
                         "refs": list(rec.extra.get("cited_pmids") or ())}
    return ids, info


def _dense_similarity(ws, ids: list[int], seeds: list[int], depth: int) -> dict[int, tuple[float, int]] | None:
    """candidate -> (cosine, nearest seed) from the dense index, or None when there is none or it holds
    no seed. Exact for every candidate returned: the index's top ``depth`` per seed."""
    from serendip import indexing

    if not indexing.has_index(ws.index_dir / "dense"):
        return None
    index = ws.searcher().dense
    if index is None:
        return None
    have = [s for s in seeds if str(s) in index]
    if not have:
        return None
    pos = {doc: i for i, doc in enumerate(index.ids)}
    svecs = np.asarray(index.embeddings[[pos[str(s)] for s in have]], dtype=np.float32)
    known = set(ids)
    found: dict[int, tuple[float, int]] = {}
    for seed, hits in zip(have, index.search_vectors(svecs, depth + len(have))):
        for doc, cos in hits:
            rid = int(doc)
            if rid in known and (rid not in found or cos > found[rid][0]):
                found[rid] = (float(cos), seed)
    return found


def _tfidf_similarity(ids: list[int], info: dict[int, dict], seeds: list[int]) -> dict[int, tuple[float, int]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [info[r]["text"] for r in ids]
    try:
        X = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts).tocsr()
    except ValueError:  # no term at all (empty texts)
        return {}
    row = {rid: i for i, rid in enumerate(ids)}
    sims = (X @ X[[row[s] for s in seeds]].T).toarray()  # (n_records, n_seeds)
    best = sims.argmax(axis=1)
    return {rid: (float(sims[i, best[i]]), seeds[best[i]]) for i, rid in enumerate(ids)}


def _mesh_scores(ids: list[int], info: dict[int, dict], seeds: list[int]) -> dict[int, tuple[float, list[str]]]:
    df = Counter(t.casefold() for r in ids for t in info[r]["mesh"])
    names: dict[str, str] = {}
    for s in seeds:
        for t in info[s]["mesh"]:
            names.setdefault(t.casefold(), t)
    if not names:
        return {}
    weight = {t: _idf(df[t], len(ids)) for t in names}
    total = sum(weight.values())
    out = {}
    for r in ids:
        shared = {t.casefold() for t in info[r]["mesh"]} & names.keys()
        if shared:
            ranked = sorted(shared, key=lambda t: (-weight[t], t))
            out[r] = (sum(weight[t] for t in shared) / total, [names[t] for t in ranked])
    return out


def _kg_scores(ws, seeds: list[int]) -> dict[int, tuple[float, list[str]]] | None:
    """candidate -> (score, shared entity labels), or None when no graph mentions a seed."""
    from sqlalchemy import func

    from serendip.kg.store import kg_entities, kg_mentions, kg_records

    with ws.engine.connect() as conn:
        ents = conn.execute(select(kg_entities.c.id, kg_entities.c.name, kg_entities.c.mesh_id, kg_entities.c.n_records)
                            .where(kg_entities.c.id.in_(select(kg_mentions.c.entity_id).distinct()
                                                        .where(kg_mentions.c.record_id.in_(seeds))))).all()
        if not ents:
            return None
        n_read = conn.execute(select(func.count()).select_from(kg_records)).scalar_one()
        pairs = conn.execute(select(kg_mentions.c.record_id, kg_mentions.c.entity_id).distinct()
                             .where(kg_mentions.c.entity_id.in_([e.id for e in ents]))).all()
    weight = {e.id: _idf(e.n_records, max(n_read, e.n_records)) for e in ents}
    label = {e.id: f"{e.name} ({e.mesh_id})" if e.mesh_id else e.name for e in ents}
    total = sum(weight.values())
    shared: dict[int, set[int]] = {}
    for rid, eid in pairs:
        shared.setdefault(int(rid), set()).add(eid)
    return {rid: (sum(weight[e] for e in es) / total, [label[e] for e in sorted(es, key=lambda e: (-weight[e], label[e]))])
            for rid, es in shared.items()}


def _check(ws, seeds: list[int], k: int, ids: list[int]) -> None:
    if not seeds:
        raise ConfigError("give at least one record id to recommend from (--from ID)")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    missing = sorted(set(seeds) - set(ids))
    if missing:
        raise DataError(f"record id(s) {', '.join(map(str, missing))} are not records of workspace {ws.path} "
                        f"(record ids: the `record` column of `serendip search`, not PMIDs)")


def recommend(ws, from_ids: Iterable[int], k: int = 20, *, weights: dict[str, float] | None = None,
              similarity: str = "auto") -> RecommendResult:
    """The ``k`` records most like the seed records ``from_ids`` (see the module docstring).

    Parameters
    ----------
    ws : serendip.workbench.Workspace
    from_ids : iterable of int
        Workspace record ids (at least one).
    k : int, default 20
    weights : dict, optional
        Signal weights overriding :data:`WEIGHTS` (keys ``similarity``, ``mesh``, ``kg``, ``citations``; >= 0).
    similarity : {"auto", "dense", "tfidf"}
        ``auto``: the dense index when it holds a seed, else TF-IDF; ``dense`` fails without one.

    Returns
    -------
    RecommendResult

    Raises
    ------
    ConfigError
        No seed, k < 1, an unknown signal or a negative weight, an unknown ``similarity``.
    DataError
        A seed id that is no record of the workspace.
    IndexNotBuilt
        ``similarity="dense"`` without a dense index holding a seed.
    """
    from serendip.errors import IndexNotBuilt

    w = dict(WEIGHTS, **(weights or {}))
    if set(w) != set(WEIGHTS) or any(v < 0 for v in w.values()):
        raise ConfigError(f"weights take the signals {', '.join(WEIGHTS)} with values >= 0, got {weights}")
    if similarity not in ("auto", "dense", "tfidf"):
        raise ConfigError(f"similarity must be auto, dense or tfidf, got {similarity!r}")
    seeds = list(dict.fromkeys(int(i) for i in from_ids))
    ids, info = _read_all(ws)
    _check(ws, seeds, k, ids)
    notes: list[str] = []
    sim = None if similarity == "tfidf" else _dense_similarity(ws, ids, seeds, max(5 * k, 100))
    if sim is None and similarity == "dense":
        raise IndexNotBuilt(f"no dense index of {ws.path} holds the seed records: run `serendip index`")
    how = "dense" if sim is not None else "tfidf"
    if sim is None:
        sim = _tfidf_similarity(ids, info, seeds)
    mesh = _mesh_scores(ids, info, seeds)
    kg = _kg_scores(ws, seeds)
    cites = citation_scores(ids, info, seeds)
    signals = {"similarity": how}
    if mesh:
        signals["mesh"] = "mesh"
    else:
        notes.append("no MeSH signal: the seed records have no MeSH headings")
    if kg:
        signals["kg"] = "kg"
    else:
        notes.append("no knowledge-graph signal: no graph mentions the seed records (run `serendip kg build`)")
    if cites:
        signals["citations"] = "citations"
    else:
        notes.append("no citation signal: the seed records cite nothing and are cited by no record here (reference "
                     "lists come from PubMed XML, where PMC deposited them)")
    norm = sum(w[s] for s in signals) or 1.0
    top_sim = sorted(sim, key=lambda r: (-sim[r][0], r))[:max(5 * k, 100) + len(seeds)]
    candidates = (set(top_sim) | set(mesh) | set(kg or {}) | set(cites or {})) - set(seeds)
    gone = candidates - set(info)  # deleted since the dense index or the graph was built: never shown
    if gone:
        candidates -= gone
        notes.append(f"{len(gone)} record(s) of the dense index or the knowledge graph are no longer in the "
                     f"workspace (deleted): left out; `serendip index` and `serendip kg build` bring them up to date")
    scored = []
    for rid in candidates:
        parts, reasons = {}, []
        cos, near = sim.get(rid, (0.0, seeds[0]))
        parts["similarity"] = max(cos, 0.0)
        reasons.append(f"{'cosine' if how == 'dense' else 'TF-IDF cosine'} {cos:.2f} to {near}")
        if rid in mesh:
            parts["mesh"] = mesh[rid][0]
            reasons.append("shares MeSH " + ", ".join(mesh[rid][1][:3]) + (" …" if len(mesh[rid][1]) > 3 else ""))
        if kg and rid in kg:
            parts["kg"] = kg[rid][0]
            reasons.append(("shares KG entity " if len(kg[rid][1]) == 1 else "shares KG entities ")
                           + ", ".join(kg[rid][1][:3]) + (" …" if len(kg[rid][1]) > 3 else ""))
        if cites and rid in cites:
            parts["citations"] = cites[rid][0]
            reasons.extend(cites[rid][1])
        score = sum(w[s] * parts.get(s, 0.0) for s in signals) / norm
        scored.append((score, rid, parts, reasons))
    scored.sort(key=lambda t: (-t[0], t[1]))
    items = [Recommendation(n, rid, float(score), info[rid]["pmid"], info[rid]["title"], info[rid]["year"],
                            reasons, {s: round(v, 6) for s, v in parts.items()})
             for n, (score, rid, parts, reasons) in enumerate(scored[:k], 1)]
    return RecommendResult(seeds, items, signals, notes)
