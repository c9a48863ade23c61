"""The rerank step of :meth:`serendip.workbench.Workspace.search` (``serendip search --rerank``).

A reranker is named by its kind (a :data:`serendip.retrieval.rerank.RERANKERS` entry, registered by a
domain package: ``cross-encoder`` by :mod:`serendip.evidence`) and a run: a run folder, or the id of a
run recorded in the workspace (``serendip runs list``). The records it reads are the candidates'
title and abstract as stored, joined by one space (the text the dense index embeds).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from serendip.errors import ConfigError
from serendip.workspace.schema import records

if TYPE_CHECKING:  # pragma: no cover
    from serendip.retrieval.rerank import Reranker
    from serendip.workbench import Workspace

__all__ = ["RerankStep", "candidate_texts", "load_reranker", "rerank_step"]

Scored = list[tuple[str, float]]


@dataclass(frozen=True)
class RerankStep:
    """A loaded reranker and the depth (``k``: candidates re-scored) and fusion ``weight`` a search uses."""

    reranker: Reranker
    k: int
    weight: float

    def apply(self, ws: Workspace, query: str, scored: Scored) -> Scored:
        """``scored`` (the first stage's candidates, best first) re-scored by the reranker over the
        records' texts (:func:`serendip.retrieval.rerank.rerank`), all of them, best first; records
        deleted since the index was built are dropped first."""
        from serendip.retrieval.rerank import rerank

        texts = candidate_texts(ws, [d for d, _ in scored])
        kept = [(d, s) for d, s in scored if d in texts]
        if not kept:
            return []
        return rerank(self.reranker, query, kept, [texts[d] for d, _ in kept], len(kept), self.weight)


def rerank_step(ws: Workspace, ref: str | Path, kind: str, k: int | None = None,
                weight: float | None = None, backend: str | None = None, backend_from: str | None = None
                ) -> RerankStep:
    """The rerank step of a search: the reranker ``kind`` of ``ref`` run by ``backend`` (loaded once per
    workspace object, :func:`load_reranker`), with depth ``k`` and fusion ``weight``, each None for the
    reranker's own tuned value, else :data:`~serendip.retrieval.rerank.DEFAULT_RERANK_K` and 1.0
    (:func:`~serendip.retrieval.rerank.reranker_defaults`). ``backend_from`` says where ``backend``
    came from when it was not given (e.g. the workspace's ``serendip.toml``), for the error message.

    Raises
    ------
    ConfigError
        ``k`` < 1, ``weight`` outside [0, 1], an unknown ``kind``, or a ``backend`` it does not offer.
    RunNotFound, DataError, ExportError
        See :func:`load_reranker`.
    """
    from serendip.retrieval.rerank import reranker_defaults

    if k is not None and k < 1:
        raise ConfigError(f"rerank_k must be >= 1, got {k}")
    if weight is not None and not 0.0 <= weight <= 1.0:
        raise ConfigError(f"rerank_weight must be in [0, 1], got {weight}")
    key = (kind.lower(), str(ref), backend)
    if key not in ws._rerankers:
        ws._rerankers[key] = load_reranker(ws, ref, kind, backend, backend_from)
    model = ws._rerankers[key]
    tuned_k, tuned_weight = reranker_defaults(model)
    return RerankStep(model, k or tuned_k, tuned_weight if weight is None else float(weight))


def load_reranker(ws: Workspace, ref: str | Path, kind: str, backend: str | None = None,
                  backend_from: str | None = None) -> Reranker:
    """The reranker ``kind`` loaded from ``ref`` (a run folder, or a run id of ``ws``), run by
    ``backend`` (one of the kind's :attr:`~serendip.retrieval.rerank.RerankerSpec.backends`; None: its
    default).

    Raises
    ------
    ConfigError
        ``kind`` is not a registered reranker, or ``backend`` is not one of its backends (the message
        lists them).
    RunNotFound
        ``ref`` is neither a folder nor a run of the workspace (one line).
    DataError
        The run is not a reranker of that kind, or saved no model.
    ExportError
        An ONNX backend's export failed or its cached file is damaged (one line naming it).
    """
    from serendip.models.plugins import load_domains
    from serendip.models.runs import RunNotFound, resolve_run
    from serendip.retrieval.rerank import RERANKERS

    load_domains()
    spec = RERANKERS.get(kind)
    if backend is not None and backend not in spec.backends:
        where = f" ({backend_from})" if backend_from else ""
        raise ConfigError(f"reranker {spec.name!r} has no backend {backend!r}{where}; expected one of: "
                          f"{', '.join(spec.backends) or 'none (it runs one way)'}")
    if not str(ref).strip():
        raise ConfigError("--rerank needs a reranker run: a run folder or a run id of `serendip runs list`; got ''")
    path = Path(str(ref)).expanduser()
    if path.is_file():
        raise RunNotFound(f"reranker {str(ref)!r} is a file: give the run folder that holds run.json")
    if not path.is_dir():
        try:
            path = resolve_run(str(ref), ws)
        except RunNotFound as exc:
            raise RunNotFound(f"reranker {str(ref)!r}: no such folder, and {exc}") from None
    return spec.load(path) if backend is None else spec.load(path, backend)


def candidate_texts(ws: Workspace, ids: Sequence[str]) -> dict[str, str]:
    """``{record id: "title abstract"}`` for the ids still in the database (a deleted record is left
    out), read in one primary-key query per 900 ids."""
    from serendip.literature.record import Record

    wanted = [int(i) for i in ids]
    out: dict[str, str] = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(wanted), 900):  # under SQLite's bound-parameter limit
            for rid, data in conn.execute(select(records.c.id, records.c.data)
                                          .where(records.c.id.in_(wanted[start:start + 900]))):
                rec = Record.from_dict(data)
                out[str(rid)] = " ".join(t for t in (rec.title or "", rec.abstract) if t)
    return out
