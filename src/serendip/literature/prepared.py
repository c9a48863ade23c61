"""Records made ready to store in the parsing processes, so the storing process does little per record.

On a big PubMed file the storing process was the second bottleneck once parsing ran on every core
(:mod:`serendip.literature.parallel_read`): per record it decoded the JSON form, computed the
duplicate keys and the ``records`` columns, then serialised the same JSON again for the ``data``
column, and freed the decoded tree. A parsing worker now does that work once (:func:`prepare`): it
sends the record's stored JSON text (its ``sources`` entry already in it, as
:func:`serendip.literature.batch_store.store_batch` would add it), its :class:`~serendip.literature.dedupe.Keys`
and its column values. The storing process wraps them in a :class:`PreparedRecord`, matches on the
keys, and inserts the JSON text as it came (:class:`~serendip.workspace.database.RawJSON`). The JSON
form is decoded only when it is needed: a copy to merge, a record named in an error.

What is stored is the same byte for byte: the JSON text is ``orjson.dumps`` of the same dict, as the
workspace's JSON serialiser writes it, and the columns come from the same functions
(:func:`~serendip.literature.dedupe.keys_of_dict`, :func:`~serendip.literature.batch_store.row_of`).
"""
from __future__ import annotations

from typing import Any

import orjson

from serendip.literature.dedupe import Keys, keys_of_dict
from serendip.literature.merge import source_entry
from serendip.workspace.database import RawJSON

__all__ = ["HEAD_FIELDS", "PreparedRecord", "RawJSON", "Wire", "as_dict", "prepare"]

#: scalar fields kept beside the JSON text (what labels, source entries and tombstone checks read)
HEAD_FIELDS = ("pmid", "doi", "source_key", "source_index", "source_file", "source_format", "source_line")


def _n_chars(d: dict) -> int:
    """Characters of title, vernacular title and abstract (what ingest's record size limit counts)."""
    return len(d.get("title") or "") + len(d.get("vernacular_title") or "") + sum(
        len(sec.get("text") or "") for sec in d.get("abstract_sections") or ())


def prepare(d: dict, id_keyed: frozenset[str]) -> Wire | None:
    """The wire form of a record in its JSON form ``d`` (:meth:`Record.to_dict`): a :class:`Wire`
    holding one JSON line of the keys, columns, size and head fields, a newline, then the stored JSON
    text (orjson escapes newlines inside strings, so the first newline ends the line). One bytes object
    pickles and unpickles at memory speed; the line decodes in a few microseconds. None when orjson
    cannot encode the record (the caller then sends the record itself). ``d`` gets its ``sources`` entry."""
    from serendip.literature.batch_store import ROW_COLUMNS, row_of

    d["sources"] = [source_entry(d)]
    keys = keys_of_dict(d, id_keyed)
    row = row_of(d, keys)
    try:
        text = orjson.dumps(d)
        meta = orjson.dumps([[keys.pmid, keys.doi, keys.source_id, keys.title_year, keys.title,
                              keys.first_author, keys.first_page], [row[c] for c in ROW_COLUMNS], _n_chars(d),
                             [d.get(f) for f in HEAD_FIELDS]])
    except TypeError:
        return None
    return Wire(meta + b"\n" + text)


class Wire(bytes):
    """A prepared record on its way from a parsing worker (see :func:`prepare`)."""

    __slots__ = ()

    def __reduce__(self):
        return Wire, (bytes(self),)


class PreparedRecord:
    """A record as a parsing worker prepared it (see the module docstring).

    Attributes
    ----------
    keys : its duplicate-detection keys.
    n_chars : characters of title, vernacular title and abstract.
    data : its JSON form (a dict), decoded from the text on first use.
    """

    __slots__ = ("_text", "_data", "keys", "_columns", "n_chars", "_head")

    def __init__(self, wire: bytes) -> None:
        meta, text = wire.split(b"\n", 1)
        keys, columns, n_chars, head = orjson.loads(meta)
        self._text, self._data = text, None
        self.keys = Keys(*keys)
        self._columns, self.n_chars = columns, n_chars
        self._head = dict(zip(HEAD_FIELDS, head))

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = orjson.loads(self._text)
        return self._data

    def get(self, name: str, default: Any = None) -> Any:
        """A field of the JSON form, like ``dict.get`` (the scalar head fields without decoding)."""
        if name in self._head:
            return self._head[name]
        return self.data.get(name, default)

    def row(self) -> dict[str, Any]:
        """Its ``records`` row as :func:`~serendip.literature.batch_store.row_of` gives it, ``data`` as
        :class:`~serendip.workspace.database.RawJSON`: the text that was sent."""
        from serendip.literature.batch_store import ROW_COLUMNS

        out = dict(zip(ROW_COLUMNS, self._columns))
        out["data"] = RawJSON(self._text.decode())
        return out


def as_dict(item: dict | PreparedRecord) -> dict:
    """The JSON form of ``item``."""
    return item.data if isinstance(item, PreparedRecord) else item
