"""Merging duplicate copies of one work into one stored record, independent of ingest order.

When an incoming record duplicates a stored one (:mod:`serendip.literature.dedupe`), the two are
merged field by field in their stored JSON form (:meth:`Record.to_dict`):

* **Scalar fields** (title, abstract, PMID, DOI, PMCID, journal, year, month, vernacular title,
  author list, MeSH headings with their major-topic flags): the values of both copies - primaries and kept alternatives - are grouped into
  classes of "the same value" (equal title keys, equal abstract text, equal author family names...);
  each class keeps its best member, the best class is the primary value and the others are kept in
  ``alternatives`` and reported. "Best" is a fixed order per field (:data:`_RANK`): the earliest year,
  the longer journal name (then the one in title case), the more structured abstract, the richer
  author list (and MeSH list: more qualifiers, then more descriptor UIs), then the value itself, so no
  tie depends on which copy came first.
* **Lists** (MeSH, keywords, publication types, languages): kept as they are when every copy has
  the same list, otherwise their union (case-insensitively), sorted.
* **Authors of one list** (same family names): per author, the longer given name, every
  affiliation (sorted union) and any ORCID.
* ``extra``: every key (sorted); where copies differ, the smallest value in JSON order.
* ``sources``: every contributing copy (file, format, key, line, index), sorted; the record's own
  ``source_*`` fields are those of the first.

Every rule is a maximum, a union or a sort, so merging is commutative and associative: the stored
record is the same whatever order the files come in. A copy whose source is already listed (the same
file ingested again) changes nothing.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from serendip.literature.normalize import title_key

SCALAR_FIELDS = ("title", "abstract_sections", "pmid", "doi", "pmcid", "journal", "year", "month",
                 "vernacular_title", "authors", "mesh_headings")
LIST_FIELDS = ("mesh_terms", "keywords", "publication_types", "language")
_SOURCE_FIELDS = (("file", "source_file"), ("format", "source_format"), ("key", "source_key"),
                  ("line", "source_line"), ("index", "source_index"))


def _dump(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False, default=str)


def _abstract_text(sections: list[dict]) -> str:
    return " ".join(s.get("text") or "" for s in sections)


def _family(a: dict) -> str:
    return title_key(a.get("family") or a.get("collective")) or ""


def _text_rank(v: str) -> tuple:
    return (any(c.islower() for c in v), not v.endswith("."), len(v), v)


#: field -> (class of "the same value", rank: the larger is preferred; total, ends in the value)
_CLASS: dict[str, Callable[[Any], Any]] = {
    "title": title_key, "vernacular_title": title_key, "journal": title_key,
    "abstract_sections": lambda v: title_key(_abstract_text(v)) or _dump(v),
    "authors": lambda v: tuple(_family(a) for a in v),
    "mesh_headings": lambda v: tuple(sorted(h.get("descriptor") or "" for h in v)),
}
_RANK: dict[str, Callable[[Any], Any]] = {
    "title": _text_rank, "vernacular_title": _text_rank, "journal": lambda v: (len(v), sum(c.isupper() for c in v), v),
    "abstract_sections": lambda v: (sum(1 for s in v if s.get("label")), len(_abstract_text(v)), _dump(v)),
    "authors": lambda v: (len(v), sum(len(a.get("given") or "") for a in v),
                          sum(len(a.get("affiliations") or ()) for a in v), _dump(v)),
    "mesh_headings": lambda v: (len(v), sum(len(h.get("qualifiers") or ()) for h in v),
                                sum(1 for h in v if h.get("ui")), _dump(v)),
    "year": lambda v: (-v,), "month": lambda v: (-v,),
}


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def _max_by(rank: Callable[[Any], Any], a: Any, b: Any) -> Any:
    return a if rank(a) >= rank(b) else b


#: the stored order of an author's keys (:meth:`serendip.literature.record.Record.to_dict`)
_AUTHOR_KEYS = ("family", "given", "collective", "affiliations", "orcid", "initials", "suffix")


def _merge_author(a: dict, b: dict) -> dict:
    """One author from two copies with the same family name: every key of either copy kept (family,
    given, initials, suffix, collective, orcid...); affiliations united; otherwise the longer value."""
    out = {}
    for k in [*(k for k in _AUTHOR_KEYS if k in a or k in b), *sorted((set(a) | set(b)) - set(_AUTHOR_KEYS))]:
        va, vb = a.get(k), b.get(k)
        if k == "affiliations":
            out[k] = _union_list(va or [], vb or [])
        else:
            out[k] = vb if not va else va if not vb else _max_by(lambda s: (len(s.encode()), s), va, vb)
    return out


def _same_class_merge(field: str, a: Any, b: Any) -> Any:
    if field == "authors":
        return [_merge_author(x, y) for x, y in zip(a, b)]
    return _max_by(_RANK.get(field, lambda v: (v,)), a, b)


def _union_list(a: list, b: list) -> list:
    """``a`` when the lists are equal (or ``b`` empty), else their case-insensitive union, sorted."""
    if a == b or not b:
        return list(a)
    if not a:
        return list(b)
    best: dict[str, Any] = {}
    for v in (*a, *b):
        k = v.casefold() if isinstance(v, str) else _dump(v)
        best[k] = v if k not in best else min(best[k], v, key=_dump)
    return [best[k] for k in sorted(best)]


def _merge_scalar(field: str, stored: dict, incoming: dict) -> tuple[Any, list, bool]:
    """(primary, alternatives, whether ``incoming`` brought a value no stored class had)."""
    cls = _CLASS.get(field, lambda v: v if not isinstance(v, (list, dict)) else _dump(v))
    rank = _RANK.get(field, lambda v: (v,))
    classes: dict[Any, Any] = {}
    stored_vals = [stored.get(field), *(stored.get("alternatives") or {}).get(field, [])]
    incoming_vals = [incoming.get(field), *(incoming.get("alternatives") or {}).get(field, [])]
    for v in stored_vals:
        if not _empty(v):
            c = cls(v)
            classes[c] = _same_class_merge(field, classes[c], v) if c in classes else v
    n_stored = len(classes)
    for v in incoming_vals:
        if not _empty(v):
            c = cls(v)
            classes[c] = _same_class_merge(field, classes[c], v) if c in classes else v
    if not classes:
        return stored.get(field), [], False
    reps = sorted(classes.values(), key=rank, reverse=True)
    return reps[0], reps[1:], n_stored > 0 and len(classes) > n_stored


def source_entry(d: dict) -> dict:
    """The ``sources`` entry of one copy as read (its file, format, key, line and index)."""
    return {k: d.get(f) for k, f in _SOURCE_FIELDS}


def _source_order(e: dict) -> tuple:
    return tuple("" if e.get(k) is None else str(e[k]).zfill(12) if k in ("line", "index") else str(e[k])
                 for k, _ in _SOURCE_FIELDS)


def sources_of(d: dict) -> list[dict]:
    """The copies a stored record holds (a record stored before merging existed: itself)."""
    return list(d.get("sources") or [source_entry(d)])


def merge_dicts(stored: dict, incoming: dict) -> tuple[dict, list[tuple[str, Any, list]]]:
    """Merge two copies of one work (JSON form, :meth:`Record.to_dict`).

    Returns
    -------
    merged : dict
        The merged copy, ``sources`` and ``alternatives`` filled (see the module docstring).
    conflicts : list of (field, primary, alternatives)
        The fields where ``incoming`` brought a value that conflicts with the stored ones.
    """
    merged = dict(stored)
    alternatives: dict[str, list] = {}
    conflicts = []
    for f in SCALAR_FIELDS:
        primary, alts, new_conflict = _merge_scalar(f, stored, incoming)
        merged[f] = primary
        if alts:
            alternatives[f] = alts
        if new_conflict:
            conflicts.append((f, primary, alts))
    for f in LIST_FIELDS:
        merged[f] = _union_list(stored.get(f) or [], incoming.get(f) or [])
    extra = dict(stored.get("extra") or {})
    for k, v in (incoming.get("extra") or {}).items():
        extra[k] = v if k not in extra else min(extra[k], v, key=_dump)
    merged["extra"] = {k: extra[k] for k in sorted(extra)}
    srcs = {_source_order(e): e for e in (*sources_of(stored), *sources_of(incoming))}
    merged["sources"] = [srcs[k] for k in sorted(srcs)]
    for k, f in _SOURCE_FIELDS:
        merged[f] = merged["sources"][0][k]
    merged["alternatives"] = alternatives
    return merged, conflicts


def already_merged(stored: dict, incoming: dict) -> bool:
    """True when ``incoming``'s source (file, format, key, line, index) is among ``stored``'s."""
    return source_entry(incoming) in sources_of(stored)
