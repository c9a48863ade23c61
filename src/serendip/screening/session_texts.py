"""The records of a screening session as its model reads them, read from the workspace only when needed.

:class:`SessionTexts` is what :class:`~serendip.screening.features.FeatureStore` needs of a set: ids,
titles, abstracts and MeSH headings in session order. The ids and ``gone`` (records deleted from the
workspace since the session started) are read when it is made, by one narrow query per chunk of ids;
the texts, which mean decoding every record's JSON (most of a ``screen next`` at 10^5 records), are read
on first use only. A ``next`` whose features come from the session's feature cache
(:mod:`serendip.screening.feature_cache`) never needs them: it reads the one record it shows
(:meth:`SessionTexts.text_at`).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select

from serendip.workspace.schema import records

__all__ = ["SessionTexts"]

_CHUNK = 900  # ids per IN (...) query, under SQLite's bound-parameter limit


def _record_texts(data: dict) -> tuple[str, str, list[str]]:
    """(title, abstract, MeSH headings) of a stored record's JSON ("" / [] when missing)."""
    from serendip.literature.record import Record

    rec = Record.from_dict(data)
    return rec.title or "", rec.abstract or "", list(rec.mesh_terms)


class SessionTexts:
    """A session's records in session order, texts read from ``engine`` on first use.

    Parameters
    ----------
    name : str
        The session's name.
    ids : sequence of int
        Workspace record ids in session order (length n).
    engine : sqlalchemy.Engine
        The workspace database the texts are read from.

    Attributes
    ----------
    gone : set of int
        Ids of ``ids`` no longer in the workspace (read at construction).
    titles, abstracts : list of str
        Per record, "" when missing or gone (read on first access).
    mesh : list of list of str
        MeSH headings per record (read on first access).
    """

    def __init__(self, name: str, ids: Sequence[int], engine: Engine):
        self.name = name
        self.ids = [int(i) for i in ids]
        self._engine = engine
        self._texts: list[tuple[str, str, list[str]]] | None = None
        self.gone: set[int] = set()
        with engine.connect() as conn:  # counted in the database; ids fetched only where some are missing
            for start in range(0, len(self.ids), _CHUNK):
                chunk = list(dict.fromkeys(self.ids[start:start + _CHUNK]))
                found = conn.execute(select(func.count()).select_from(records)
                                     .where(records.c.id.in_(chunk))).scalar_one()
                if found < len(chunk):
                    present = set(conn.execute(select(records.c.id).where(records.c.id.in_(chunk))).scalars())
                    self.gone.update(set(chunk) - present)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def loaded(self) -> bool:
        """Whether the texts of every record have been read."""
        return self._texts is not None

    def _all(self) -> list[tuple[str, str, list[str]]]:
        if self._texts is None:
            found: dict[int, tuple[str, str, list[str]]] = {}
            with self._engine.connect() as conn:
                for start in range(0, len(self.ids), _CHUNK):
                    chunk = self.ids[start:start + _CHUNK]
                    for rid, data in conn.execute(select(records.c.id, records.c.data)
                                                  .where(records.c.id.in_(chunk))):
                        found[rid] = _record_texts(data)
            self._texts = [found.get(r, ("", "", [])) for r in self.ids]
        return self._texts

    @property
    def titles(self) -> list[str]:
        return [t[0] for t in self._all()]

    @property
    def abstracts(self) -> list[str]:
        return [t[1] for t in self._all()]

    @property
    def mesh(self) -> list[list[str]]:
        return [t[2] for t in self._all()]

    def texts(self) -> list[str]:
        """``title + " " + abstract`` per record (the text every TF-IDF model reads)."""
        return [f"{t} {a}" for t, a, _ in self._all()]

    def text_at(self, pos: int) -> tuple[str, str]:
        """(title, abstract) of the record at session position ``pos`` ("" when missing or gone), read
        alone when the texts have not been read."""
        if self._texts is not None:
            return self._texts[pos][:2]
        with self._engine.connect() as conn:
            data = conn.execute(select(records.c.data).where(records.c.id == self.ids[pos])).scalar_one_or_none()
        return _record_texts(data)[:2] if data is not None else ("", "")
