"""What a screening session's ``next`` and ``status`` return (:mod:`serendip.screening.session`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from serendip.screening.duplicates import PossibleDuplicate
from serendip.screening.highlight import Highlight
from serendip.screening.stopping import StopCheck

__all__ = ["NextRecord", "SessionStatus"]


@dataclass
class NextRecord:
    """The record to screen next: its workspace ``record_id``, PMID, DOI, title and abstract, the model's
    ``score`` (float; higher = more likely an include), ``screened`` (records labelled so far) of
    ``total``, each stopping rule's answer now (``estimates``: rule name -> StopCheck) and the session's
    keywords found in the title and abstract (``highlights``: :class:`~serendip.screening.highlight.Highlight`
    s, title first, offsets into ``title`` / ``abstract``) and the labelled records it may duplicate
    (``duplicates``: :class:`~serendip.screening.duplicates.PossibleDuplicate` s)."""

    record_id: int
    pmid: str | None
    doi: str | None
    title: str
    abstract: str
    score: float
    screened: int
    total: int
    estimates: dict[str, StopCheck] = field(default_factory=dict)
    highlights: list[Highlight] = field(default_factory=list)
    duplicates: list[PossibleDuplicate] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("record_id", "pmid", "doi", "title", "abstract", "score", "screened",
                                              "total")}
        out["estimates"] = {k: {"stop": v.stop, "recall_estimate": v.recall_estimate} for k, v in self.estimates.items()}
        out["highlights"] = [h.to_dict() for h in self.highlights]
        out["duplicates"] = [d.to_dict() for d in self.duplicates]
        return out


@dataclass
class SessionStatus:
    """Counts of current labels (``include``, ``exclude``, ``maybe``, ``unlabelled``; ``deleted``: records
    deleted from the workspace before they were labelled, in no other count), ``total`` records (those
    deleted unlabelled left out),
    ``history`` (labels given, relabels included), each stopping rule's answer (``estimates``) and
    ``stop``: the answer of :data:`DEFAULT_STOP_RULE` (else of the session's first rule), the screening
    ``model`` and its ``embedding_model`` folder with that model's ``embedding_sha256`` when the session
    started (None: the bundled MiniLM, or a model without embeddings)."""

    name: str
    total: int
    counts: dict[str, int]
    history: int
    estimates: dict[str, StopCheck]
    stop: bool
    stop_rule: str
    model: str = ""
    embedding_model: str | None = None
    embedding_sha256: str | None = None

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("name", "total", "counts", "history", "stop", "stop_rule", "model",
                                              "embedding_model", "embedding_sha256")}
        out["estimates"] = {k: {"stop": v.stop, "recall_estimate": v.recall_estimate} for k, v in self.estimates.items()}
        return out
