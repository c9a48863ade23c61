"""Screening sessions over a workspace's records: start, show the next record, label, status, resume.

A session screens a fixed set of the workspace's records: all of them, or the top ``top`` hits of a
search (:meth:`serendip.workbench.Workspace.search`). It starts from prior knowledge: record ids the
reviewer already knows to be includes and excludes (at least one of each: the model needs both
classes). Each call of :meth:`ScreeningSession.next` then does what one step of
:func:`serendip.screening.simulate.simulate_seed` does, on the labels given so far:

1. fit the session's model (:data:`~serendip.screening.models.SCREENING_MODELS`) on the records
   labelled ``include`` (1) or ``exclude`` (0), in the order they were first labelled, weighted or
   resampled by its balancer (:data:`~serendip.screening.strategies.BALANCERS`);
2. score the records not labelled yet and show the one the query strategy
   (:data:`~serendip.screening.strategies.QUERY_STRATEGIES`) picks;
3. report each stopping rule's answer (:data:`~serendip.screening.stopping.STOPPING_RULES`) on the
   screening so far: stop or not and the recall it estimates.

The record shown comes with the session's keywords found in its title and abstract
(:mod:`serendip.screening.keywords`, :mod:`serendip.screening.highlight`) and the labelled records it may
duplicate (:mod:`serendip.screening.duplicates`); neither changes what the model learns.

Labels are ``include``, ``exclude`` or ``maybe``, each with an optional note. **A ``maybe`` record is
neither an include nor an exclude for training**: the model never sees it, the query strategy never
shows it again, and the stopping rules count it as not yet screened (it may be an include, so it can
only lower their estimated recall, never raise it). Labelling a record again keeps every label in the
history (``screen_labels`` rows are only ever added); the newest is the record's label.

Everything is stored in the workspace database (:mod:`serendip.screening.store`, Alembic revision
0008), nothing in memory between calls, so a session can be closed and reopened (another process,
another day) and shows the same next record: the model's random state is the session's seed, and
the query strategy's and balancer's generator is seeded by (seed, number of labels given), so one
state of the labels always gives one next record.

The TF-IDF features are fitted on the session's records when a session object first needs them
(seconds for 10^4 records) and kept on disk in the workspace
(:mod:`serendip.screening.feature_cache`: ``indexes/screening/``, keyed by the session's record ids,
texts and MeSH headings and the feature code), so a later ``next`` (another process) reads them back
instead, reading no record's text while the workspace's ``changes`` counter has not moved (only the
record it shows: :mod:`serendip.screening.session_texts`); embedding models embed the records once and cache the vectors on disk
(:class:`~serendip.screening.features.FeatureStore`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from serendip.errors import ConfigError, DataError
from serendip.screening.duplicates import labelled_title_keys, possible_duplicates
from serendip.screening.embedding_source import embedding_model_id
from serendip.screening.feature_cache import CachedFeatureStore, SessionFeatureCache
from serendip.screening.features import FeatureContext, FeatureStore
from serendip.screening.highlight import find_highlights
from serendip.screening.keywords import add_keywords, read_keywords, remove_keywords
from serendip.screening.models import SCREENING_MODELS
from serendip.screening.session_checks import (
    check_priors,
    check_scope,
    embedding_models,
    existing_ids,
    stored_embedding_context,
)
from serendip.screening.session_results import NextRecord, SessionStatus
from serendip.screening.session_texts import SessionTexts
from serendip.screening.stopping import STOPPING_RULES, StopCheck
from serendip.screening.store import LABELS, screen_labels, screen_sessions
from serendip.screening.strategies import BALANCERS, QUERY_STRATEGIES
from serendip.workspace.schema import records

__all__ = ["DEFAULT_STOP_RULE", "NextRecord", "ScreeningSession", "SessionStatus", "list_sessions",
           "open_session", "start_session"]

#: The rule whose answer is the session's "stop" (Callaghan & Mueller-Hansen 2020: in simulation on the
#: Cohen reviews it reached the 95 % recall target; 50 consecutive excludes did not, see the README)
DEFAULT_STOP_RULE = "hypergeometric"
#: the model a session uses unless told: ``tfidf-mesh-svm`` (mean WSS@95 32.4 % against ASReview's 30.3 %
#: over the 14 Cohen reviews, seeds 0-4, ``benchmarks/screening_cohen.py``; the same screening as ASReview's
#: elas_u4 on records without MeSH). The benchmark's leave-one-review-out choice, ``fused-mesh-wmean``
#: (32.6 % with MiniLM, 33.0 % with a domain-adapted encoder), needs sentence embeddings of every record of
#: the workspace (minutes to hours on a laptop's CPU): ``--model fused-mesh-wmean`` asks for it.
DEFAULT_MODEL = "tfidf-mesh-svm"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _current(history: list[dict]) -> dict[int, dict]:
    """record id -> its newest label row, keyed in the order records were first labelled."""
    out: dict[int, dict] = {}
    for row in history:
        out.setdefault(row["record_id"], {}).update(row)
    return out


def _scope_ids(ws, query: str | None, top: int | None, mode: str | None) -> tuple[list[int], dict]:
    if query is None:
        with ws.engine.connect() as conn:
            ids = list(conn.execute(select(records.c.id).order_by(records.c.id)).scalars())
        return ids, {"kind": "all"}
    hits = ws.search(query, mode=mode, k=top)
    return [h.record_id for h in hits], {"kind": "query", "query": query, "top": top, "mode": mode}


def start_session(ws, name: str, includes: Iterable[int], excludes: Iterable[int], *, model: str = DEFAULT_MODEL,
                  strategy: str = "max", balance: str | None = None, seed: int = 0,
                  stop_rules: Sequence[str] = tuple(STOPPING_RULES.keys()), query: str | None = None,
                  top: int | None = None, mode: str | None = None, embedding_model: str | Path | None = None,
                  context: FeatureContext | None = None) -> "ScreeningSession":
    """Start the session ``name`` over the workspace's records (all, or a search's top ``top``).

    Parameters
    ----------
    ws : serendip.workbench.Workspace
    name : str
        Unique in the workspace (1-200 characters).
    includes, excludes : iterable of int
        Workspace record ids known to be includes / excludes (at least one of each); stored as the
        session's first labels (``prior``). A prior outside a search's top ``top`` is added to the session.
    model, strategy, balance : str
        Registry names (model default :data:`DEFAULT_MODEL`; balance None: the model's own).
    seed : int, default 0
    stop_rules : sequence of str
    query, top, mode : optional
        Screen the top ``top`` hits of ``ws.search(query, mode)`` instead of every record.
    embedding_model : str or Path, optional
        The sentence embeddings an embedding model (``minilm-logreg``, ``fused-*``) reads: a
        sentence-transformers folder or a ``serendip pretrain`` checkpoint
        (:func:`~serendip.screening.embedding_source.embedding_context`; default: the bundled MiniLM).
        Stored with the session with a sha256 of its weights, configuration and tokenizer files
        (:func:`~serendip.screening.embedding_source.model_digest`): :meth:`ScreeningSession.next` refuses
        once they change, so a resumed session never shows another model's next record.
    context : FeatureContext, optional
        How embedding models embed, overriding ``embedding_model`` for this process (tests; not stored).

    Returns
    -------
    ScreeningSession

    Raises
    ------
    ConfigError
        Unknown model, strategy, balancer or stopping rule; a name already used or empty; top without
        query or top < 1; a read-only workspace; ``embedding_model`` with a model that reads no
        embeddings, or a folder that holds no embedding model.
    DataError
        A prior id that is no record of the workspace; no prior include or no prior exclude; an id
        given as both; a scope with no record.
    """
    ws.store.require_writable("screen start")
    spec = SCREENING_MODELS.get(model)
    if embedding_model is not None and not spec.needs_embeddings:
        raise ConfigError(f"model {model!r} reads no sentence embeddings, so --embedding-model does not apply: "
                          f"choose an embedding model ({', '.join(embedding_models())}) or leave it out")
    emb_folder, emb_sha = embedding_model_id(embedding_model) if embedding_model is not None else (None, None)
    QUERY_STRATEGIES.get(strategy)
    if balance is not None:
        BALANCERS.get(balance)
    rules = [STOPPING_RULES.get(r).name for r in stop_rules]
    if not rules:
        raise ConfigError("give at least one stopping rule")
    if not name or len(name) > 200 or not name.strip():
        raise ConfigError(f"a session name must be 1-200 characters, not blank; got {name!r}")
    check_scope(query, top, mode)
    inc, exc = [int(i) for i in includes], [int(i) for i in excludes]
    with ws.engine.connect() as conn:
        if conn.execute(select(screen_sessions.c.id).where(screen_sessions.c.name == name)).first():
            raise ConfigError(f"a screening session named {name!r} already exists in {ws.path}: resume it "
                              f"(serendip screen next --session {name}) or choose another name")
        missing = sorted(set(inc + exc) - existing_ids(conn, inc + exc))
    if missing:
        raise DataError(f"record id(s) {', '.join(map(str, missing))} are not records of workspace {ws.path} "
                        f"(record ids: the `record` column of `serendip search`, not PMIDs)")
    check_priors(inc, exc)  # after the ids: an unknown id is the first thing to fix
    ids, scope = _scope_ids(ws, query, top, mode)
    ids += [i for i in dict.fromkeys(inc + exc) if i not in set(ids)]
    if len(ids) < 3:
        raise DataError(f"session {name!r} would hold {len(ids)} records: nothing left to screen after the priors")
    now = _now()
    with ws.engine.begin() as conn:
        sid = conn.execute(insert(screen_sessions).values(
            name=name, created_at=now, model=model, strategy=strategy,
            balance=balance, seed=int(seed), stop_rules=rules, scope=scope, record_ids=ids,
            embedding_model=emb_folder, embedding_sha256=emb_sha)).inserted_primary_key[0]
        conn.execute(insert(screen_labels), [{"session_id": sid, "record_id": r, "label": lab, "note": None,
                                              "prior": True, "created_at": now}
                                             for rs, lab in ((inc, "include"), (exc, "exclude")) for r in rs])
    return open_session(ws, name, context=context)


def open_session(ws, name: str, *, context: FeatureContext | None = None,
                 feature_cache: bool = True) -> "ScreeningSession":
    """The stored session ``name`` of ``ws``; ``feature_cache`` False fits the TF-IDF features anew
    instead of reading (and writing) :mod:`serendip.screening.feature_cache`. Its embeddings come from
    ``context`` when given, else from the embedding model it was started with, checked when
    :meth:`ScreeningSession.next` first needs them (so ``status``, ``label``, ``keywords`` and ``export``
    work when that model is gone).

    Raises
    ------
    DataError
        No session of that name (the message lists the workspace's sessions).
    """
    with ws.engine.connect() as conn:
        row = conn.execute(select(screen_sessions).where(screen_sessions.c.name == name)).mappings().first()
    if row is None:
        names = list_sessions(ws)
        raise DataError(f"no screening session named {name!r} in {ws.path}; "
                        + (f"sessions: {', '.join(names)}" if names else "start one with `serendip screen start`"))
    return ScreeningSession(ws, dict(row), context, feature_cache=feature_cache)


def list_sessions(ws) -> list[str]:
    """Names of the workspace's screening sessions, oldest first."""
    with ws.engine.connect() as conn:
        return list(conn.execute(select(screen_sessions.c.name).order_by(screen_sessions.c.id)).scalars())


class ScreeningSession:
    """One stored screening session (see the module docstring); made by :func:`start_session` or
    :func:`open_session`, never directly. Every method reads the labels from the database."""

    def __init__(self, ws, row: dict, context: FeatureContext | None, feature_cache: bool = True):
        self.ws, self.row = ws, row
        self._context = context  # None: the stored embedding model's, read when next() first needs it
        #: progress of a long step of :meth:`next` (embedding every record the first time): ``steps(name,
        #: total) -> advance(n)`` (:mod:`serendip.core.progress`); None: silent
        self.steps = None
        self.name: str = row["name"]
        self.record_ids: list[int] = [int(i) for i in row["record_ids"]]
        self._pos = {rid: i for i, rid in enumerate(self.record_ids)}
        self._store: FeatureStore | None = None
        #: the session's on-disk features (None: not used)
        self.feature_cache: SessionFeatureCache | None = (
            SessionFeatureCache(ws.index_dir / "screening", int(row["id"]), writable=not ws.store.read_only)
            if feature_cache else None)

    @property
    def notes(self) -> list[str]:
        """What the user should hear of this process's work (a damaged feature cache rebuilt, one not
        written)."""
        return list(self.feature_cache.notes) if self.feature_cache is not None else []

    # -- labels ---------------------------------------------------------------------------------
    def history(self) -> list[dict]:
        """Every label given, oldest first: dicts with ``record_id``, ``label``, ``note``, ``prior``,
        ``created_at``."""
        cols = (screen_labels.c.record_id, screen_labels.c.label, screen_labels.c.note, screen_labels.c.prior,
                screen_labels.c.created_at)
        with self.ws.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(screen_labels.c.session_id == self.row["id"])
                                .order_by(screen_labels.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def labels(self) -> dict[int, dict]:
        """record id -> its newest label row, in the order records were first labelled (the screening order)."""
        return _current(self.history())

    def label(self, record_id: int, label: str, note: str | None = None) -> None:
        """Label ``record_id`` ``include`` / ``exclude`` / ``maybe`` (``note``: free text, optional); a
        record labelled before keeps its earlier labels in the history.

        Raises
        ------
        ConfigError
            A label not in :data:`~serendip.screening.store.LABELS`.
        DataError
            ``record_id`` is not in this session (the message says whether the workspace holds it), or
            was deleted from the workspace since the session started.
        """
        if label not in LABELS:
            raise ConfigError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
        rid = int(record_id)
        if rid not in self._pos:
            with self.ws.engine.connect() as conn:
                known = bool(existing_ids(conn, [rid]))
            where = (f"a record of the workspace but not one of the {len(self.record_ids)} records of session "
                     f"{self.name!r}" if known else f"not a record of workspace {self.ws.path}")
            raise DataError(f"record {rid} is {where}: nothing labelled")
        with self.ws.engine.connect() as conn:
            if not existing_ids(conn, [rid]):
                raise DataError(f"record {rid} of session {self.name!r} was deleted from the workspace since the "
                                f"session started (e.g. by a PubMed DeleteCitation): nothing labelled")
        self.ws.store.require_writable("screen label")
        with self.ws.engine.begin() as conn:
            conn.execute(insert(screen_labels).values(session_id=self.row["id"], record_id=rid, label=label,
                                                      note=note, prior=False, created_at=_now()))

    # -- keywords (serendip.screening.keywords) ----------------------------------------------------
    def keywords(self) -> dict[str, str]:
        """The session's highlighting keywords: term -> ``include`` / ``exclude``, oldest first."""
        return read_keywords(self.ws, int(self.row["id"]))

    def add_keywords(self, terms: Iterable[str], kind: str = "include") -> dict[str, str]:
        """:func:`~serendip.screening.keywords.add_keywords` for this session."""
        return add_keywords(self.ws, int(self.row["id"]), terms, kind)

    def remove_keywords(self, terms: Iterable[str]) -> dict[str, str]:
        """:func:`~serendip.screening.keywords.remove_keywords` for this session."""
        return remove_keywords(self.ws, int(self.row["id"]), terms)

    # -- model ----------------------------------------------------------------------------------
    def _features(self) -> FeatureStore:
        """The session's feature store: texts read on first use (:class:`SessionTexts`), matrices from the
        feature cache when one is kept, validated by the workspace's ``changes`` counter first."""
        if self._store is None:
            changes = self.ws.store.changes()  # read before any record: a later change moves it past this
            data = SessionTexts(self.name, self.record_ids, self.ws.engine)
            context = self._context or FeatureContext()  # next() sets the stored model's before any embedding
            self._store = (FeatureStore(data, context) if self.feature_cache is None
                           else CachedFeatureStore(data, context, disk=self.feature_cache, changes=changes))
        return self._store

    def deleted_records(self) -> set[int]:
        """Ids of the session's records deleted from the workspace since it started (e.g. by a PubMed
        ``<DeleteCitation>``); their labels, if any, are kept."""
        return set(self._features().data.gone)

    def _deleted_unlabelled(self, current: dict[int, dict]) -> int:
        """Records of the session deleted from the workspace without a label: they can never be screened,
        so they count neither as screened nor as left (a labelled one keeps its label and counts)."""
        return sum(1 for rid in self.deleted_records() if rid not in current)

    def estimates(self, current: dict[int, dict] | None = None) -> dict[str, StopCheck]:
        """Each stopping rule's answer on the screening so far (``maybe`` records counted as unscreened;
        records deleted from the workspace unlabelled left out of the total)."""
        current = self.labels() if current is None else current
        y = [1 if r["label"] == "include" else 0 for r in current.values() if r["label"] != "maybe"]
        total = len(self.record_ids) - self._deleted_unlabelled(current)
        return {name: STOPPING_RULES.get(name).check(y, total) for name in self.row["stop_rules"]}

    def next(self) -> NextRecord | None:
        """The record to screen next (None when every record of the session is labelled).

        Raises
        ------
        DataError
            The current labels hold no include or no exclude (a prior relabelled): label one first.
        ConfigError
            The session's embedding model is gone or has changed since the session started.
        """
        history = self.history()
        current = _current(history)
        gone = self._features().data.gone
        pool = np.array([i for i, rid in enumerate(self.record_ids) if rid not in current and rid not in gone],
                        dtype=np.int64)
        if len(pool) == 0:
            return None
        decided = [(rid, r["label"]) for rid, r in current.items() if r["label"] != "maybe"]
        rows = np.array([self._pos[rid] for rid, _ in decided if rid in self._pos], dtype=np.int64)
        y = np.array([lab == "include" for rid, lab in decided if rid in self._pos], dtype=np.int8)
        if y.sum() == 0 or y.sum() == len(y):
            which = "include" if y.sum() == 0 else "exclude"
            raise DataError(f"session {self.name!r} has no record labelled {which} now: the model needs both "
                            f"classes; label one {which} first")
        spec = SCREENING_MODELS.get(self.row["model"])
        if spec.needs_embeddings and self._context is None:
            self._context = stored_embedding_context(self.row)  # ConfigError: the model is gone or changed
            self._features().context = self._context
        bal = self.row["balance"] or spec.balance[0]
        params = spec.balance[1] if bal == spec.balance[0] else {}
        rng = np.random.default_rng([int(self.row["seed"]), len(history)])
        fit_rows, fit_y, weight = BALANCERS.get(bal).balance(rows, y, rng, **params)
        self._features().steps = self.steps
        learner = spec.build(self._features(), int(self.row["seed"]))
        learner.fit(fit_rows, fit_y, weight)
        scores = learner.score(pool)
        i = QUERY_STRATEGIES.get(self.row["strategy"]).pick(scores, learner.midpoint, rng)
        pos = int(pool[i])
        rid = self.record_ids[pos]
        title, abstract = self._features().data.text_at(pos)
        with self.ws.engine.connect() as conn:
            ident = conn.execute(select(records.c.pmid, records.c.doi).where(records.c.id == rid)).first()
        keywords = self.keywords()
        marks = find_highlights(title, keywords, "title") + find_highlights(abstract, keywords, "abstract")
        keys = labelled_title_keys(self.ws.engine, [*current, rid])
        twins = possible_duplicates(keys.get(rid), {r: (k, current[r]["label"]) for r, k in keys.items() if r != rid})
        return NextRecord(rid, ident[0] if ident else None, ident[1] if ident else None, title, abstract,
                          float(scores[i]), len(current), len(self.record_ids) - self._deleted_unlabelled(current),
                          self.estimates(current), marks, twins)

    def status(self) -> SessionStatus:
        """Counts, estimated recall per stopping rule and whether :data:`DEFAULT_STOP_RULE` says stop."""
        history = self.history()
        current = _current(history)
        counts = {lab: sum(1 for r in current.values() if r["label"] == lab) for lab in LABELS}
        deleted = self._deleted_unlabelled(current)
        counts["unlabelled"] = len(self.record_ids) - sum(counts.values()) - deleted
        counts["deleted"] = deleted
        est = self.estimates(current)
        rule = DEFAULT_STOP_RULE if DEFAULT_STOP_RULE in est else next(iter(est))
        return SessionStatus(self.name, len(self.record_ids) - deleted, counts, len(history), est, est[rule].stop,
                             rule, self.row["model"], self.row.get("embedding_model"), self.row.get("embedding_sha256"))
