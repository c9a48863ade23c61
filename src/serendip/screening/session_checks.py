"""The checks :func:`serendip.screening.session.start_session` makes of what it is given: the
search scope's options, the prior ids (which are records, at least one of each class), and the check
:func:`~serendip.screening.session.open_session` makes of a stored embedding model."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from serendip.errors import ConfigError, DataError
from serendip.screening.embedding_source import embedding_context, embedding_model_id
from serendip.screening.features import FeatureContext
from serendip.screening.models import SCREENING_MODELS
from serendip.workspace.schema import possible_record_ids, records

__all__ = ["CHUNK", "check_priors", "check_scope", "embedding_models", "existing_ids", "stored_embedding_context"]

#: ids per ``IN`` query (under SQLite's bound-parameter limit)
CHUNK = 900


def existing_ids(conn, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are records (an id outside the record id range is none: never bound)."""
    ids = possible_record_ids(ids)
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(conn.execute(select(records.c.id).where(records.c.id.in_(ids[start:start + CHUNK]))).scalars())
    return found


def check_priors(includes: list[int], excludes: list[int]) -> None:
    """Refuse no prior include, no prior exclude, or an id given as both (DataError)."""
    if not includes or not excludes:
        which = "include" if not includes else "exclude"
        raise DataError(f"a screening session needs at least one prior {which} (--include ID / --exclude ID): the "
                        f"model learns from both classes")
    both = sorted(set(includes) & set(excludes))
    if both:
        raise DataError(f"record(s) {', '.join(map(str, both))} given as both a prior include and a prior exclude")


def check_scope(query: str | None, top: int | None, mode: str | None) -> None:
    """Refuse ``top`` or ``mode`` without ``query``, and ``query`` without ``top`` >= 1 (ConfigError)."""
    if query is None:
        if top is not None or mode is not None:
            raise ConfigError("top and mode choose a search's records: give query (--query TEXT) too")
    elif top is None:
        raise ConfigError("a session over a search (--query) needs --top N: how many of its hits to screen")
    elif top < 1:
        raise ConfigError(f"a session over a search needs top >= 1 (--top N), got {top}")


def embedding_models() -> list[str]:
    """Names of the registered screening models that read sentence embeddings."""
    return [n for n in SCREENING_MODELS.keys() if SCREENING_MODELS.get(n).needs_embeddings]


def stored_embedding_context(row: dict) -> FeatureContext:
    """The :class:`FeatureContext` of the embedding model stored with the session ``row`` (a
    ``screen_sessions`` row as a dict; the bundled MiniLM when it names none), after checking that the
    model's digest (:func:`~serendip.screening.embedding_source.model_digest`) is the one stored at start.

    Raises
    ------
    ConfigError
        The folder cannot be read as an embedding model now (gone, emptied), or its digest changed: both
        digests are named.
    """
    folder = row.get("embedding_model")
    if folder is None:
        return FeatureContext()
    try:
        _, sha = embedding_model_id(folder)
    except ConfigError as exc:
        raise ConfigError(f"session {row['name']!r} was started with the embedding model {folder}, which cannot "
                          f"be read now: {exc}") from None
    if sha != row.get("embedding_sha256"):
        raise ConfigError(f"the embedding model of session {row['name']!r} ({folder}) has changed since the session "
                          f"started (weights sha256 {row.get('embedding_sha256')} then, {sha} now): its next records "
                          "would differ. Put the original weights back, or start a new session with this model")
    return embedding_context(folder)
