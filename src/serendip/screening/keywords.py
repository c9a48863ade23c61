"""A screening session's highlighting keywords in the workspace database (``screen_keywords``,
:mod:`serendip.screening.store`); how they match is :mod:`serendip.screening.highlight`.

Terms are compared case-insensitively (``Rat`` and ``rat`` are one keyword): adding a term the session
holds changes its kind and keeps its spelling; removing one the session does not hold is refused, and
nothing of that call is removed.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select, update

from serendip.errors import ConfigError, DataError
from serendip.screening.highlight import KEYWORD_KINDS, check_keyword
from serendip.screening.store import screen_keywords

__all__ = ["add_keywords", "read_keywords", "remove_keywords"]


def read_keywords(ws, session_id: int) -> dict[str, str]:
    """term -> kind (``include`` / ``exclude``) of the session, in the order the terms were first added."""
    with ws.engine.connect() as conn:
        rows = conn.execute(select(screen_keywords.c.term, screen_keywords.c.kind)
                            .where(screen_keywords.c.session_id == session_id).order_by(screen_keywords.c.id)).all()
    return {term: kind for term, kind in rows}


def _terms(terms: Iterable[str]) -> list[str]:
    out = [check_keyword(t) for t in terms]
    if not out:
        raise ConfigError("give at least one keyword")
    return list(dict.fromkeys(out))


def add_keywords(ws, session_id: int, terms: Iterable[str], kind: str = "include") -> dict[str, str]:
    """Add ``terms`` as ``kind`` keywords of the session (a term it holds, in any case, takes ``kind``);
    returns the session's keywords after.

    Raises
    ------
    ConfigError
        ``kind`` not in :data:`~serendip.screening.highlight.KEYWORD_KINDS`; no term; a bad term
        (:func:`~serendip.screening.highlight.check_keyword`); a read-only workspace. Nothing is stored then.
    """
    if kind not in KEYWORD_KINDS:
        raise ConfigError(f"keyword kind must be one of {', '.join(KEYWORD_KINDS)}, got {kind!r}")
    new = _terms(terms)
    ws.store.require_writable("screen keywords")
    held = {t.casefold(): t for t in read_keywords(ws, session_id)}
    now = datetime.now(timezone.utc)
    with ws.engine.begin() as conn:
        for term in new:
            if term.casefold() in held:
                conn.execute(update(screen_keywords).where(screen_keywords.c.session_id == session_id,
                                                           screen_keywords.c.term == held[term.casefold()])
                             .values(kind=kind))
            else:
                conn.execute(insert(screen_keywords).values(session_id=session_id, term=term, kind=kind,
                                                            created_at=now))
                held[term.casefold()] = term
    return read_keywords(ws, session_id)


def remove_keywords(ws, session_id: int, terms: Iterable[str]) -> dict[str, str]:
    """Remove ``terms`` (any case) from the session's keywords; returns its keywords after.

    Raises
    ------
    DataError
        A term the session does not hold (the message lists those it holds); nothing is removed then.
    ConfigError
        No term, a bad term, or a read-only workspace.
    """
    gone = _terms(terms)
    held = {t.casefold(): t for t in read_keywords(ws, session_id)}
    unknown = [t for t in gone if t.casefold() not in held]
    if unknown:
        have = ", ".join(repr(t) for t in held.values()) or "none"
        raise DataError(f"keyword(s) {', '.join(map(repr, unknown))} not in this session (its keywords: {have}); "
                        "nothing removed")
    ws.store.require_writable("screen keywords")
    with ws.engine.begin() as conn:
        conn.execute(delete(screen_keywords).where(screen_keywords.c.session_id == session_id,
                                                   screen_keywords.c.term.in_([held[t.casefold()] for t in gone])))
    return read_keywords(ws, session_id)
