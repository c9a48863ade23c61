"""Possible duplicates among a screening session's records: the record shown next against the records
already labelled, so a reviewer sees "this looks like record 57, which you included" before deciding.

Ingest already merges records that are one work by identifier or by title and year
(:mod:`serendip.literature.dedupe`); what reaches a session as two records has two different PMIDs or
DOIs, or another year, or a slightly different title: a conference abstract and its journal article, a
duplicate publication, a reprint. Those are flagged, never merged (merging is the reviewer's decision):

* ``same title``: the titles' keys are equal (:func:`serendip.literature.normalize.title_key`: NFKC,
  case-folded, letters and digits only; the key ingest stored in ``records.title_key``, so no record's
  text is read);
* ``one title is the other's start``: one key a prefix of the other (a dropped subtitle), and
  ``near-identical title (similarity 0.93)``: difflib similarity of the keys at least
  :data:`~serendip.literature.dedupe.TITLE_SIMILARITY` (a typo, a transliteration): the titles do not
  clearly differ, as :func:`serendip.literature.dedupe.titles_clearly_differ` decides for ingest. Numbers
  tell works apart here: titles whose numbers differ ("Part 1" / "Part 2", "12-week" / "24-week") are not
  near-identical, and a prefix that ends inside a number ("number 1" of "number 11") is no start.

Titles whose key is shorter than :data:`MIN_KEY_CHARS` ("Reply", "Editorial", "Erratum") are never
compared: such titles say nothing about the work.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import select

from serendip.literature.dedupe import PREFIX_MIN_CHARS, TITLE_SIMILARITY
from serendip.screening.session_checks import CHUNK
from serendip.workspace.schema import possible_record_ids, records

__all__ = ["MIN_KEY_CHARS", "PossibleDuplicate", "labelled_title_keys", "possible_duplicates"]

#: Shortest title key (letters and digits) compared
MIN_KEY_CHARS = 20
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class PossibleDuplicate:
    """A labelled record (``record_id``, its current ``label``) the shown record may duplicate, and why."""

    record_id: int
    label: str
    reason: str

    def to_dict(self) -> dict:
        return {"record_id": self.record_id, "label": self.label, "reason": self.reason}


def labelled_title_keys(engine, ids: Sequence[int]) -> dict[int, str]:
    """record id -> stored title key (``records.title_key``, written by ingest with
    :func:`~serendip.literature.normalize.title_key`, at most 200 characters) of the workspace records
    ``ids`` that have a title (a record keyed by its abstract, or deleted, is left out); one ``IN`` query per
    :data:`~serendip.screening.session_checks.CHUNK` ids, reading no record's text."""
    ids = possible_record_ids(ids)
    out: dict[int, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            rows = conn.execute(select(records.c.id, records.c.title_key)
                                .where(records.c.id.in_(ids[start:start + CHUNK])))
            out.update((int(rid), key) for rid, key in rows if key and not key.startswith("abstract:"))
    return out


def _similarity(a: str, b: str) -> float:
    """difflib ratio of two keys, with its cheap upper bounds tried first (0.0 when they rule it out)."""
    m = SequenceMatcher(None, a, b, autojunk=False)
    if m.real_quick_ratio() < TITLE_SIMILARITY or m.quick_ratio() < TITLE_SIMILARITY:
        return 0.0
    return m.ratio()


def possible_duplicates(key: str | None, labelled: dict[int, tuple[str, str]], *,
                        exclude: int | None = None) -> list[PossibleDuplicate]:
    """The records of ``labelled`` (record id -> (title key, label)) whose title key is the same as, or
    near-identical to, ``key`` (title keys: :func:`~serendip.literature.normalize.title_key`; see the module
    docstring), ``exclude`` (the shown record's own id) left out; same titles first, then by record id.
    [] when ``key`` is missing or shorter than :data:`MIN_KEY_CHARS`."""
    if not key or len(key) < MIN_KEY_CHARS or key.startswith("abstract:"):
        return []
    same, near = [], []
    for rid, (other_key, label) in labelled.items():
        if rid == exclude or not other_key or len(other_key) < MIN_KEY_CHARS:
            continue
        if other_key == key:
            same.append(PossibleDuplicate(rid, label, "same title"))
            continue
        short, long_ = sorted((key, other_key), key=len)
        if len(short) >= PREFIX_MIN_CHARS and long_.startswith(short):
            if not (short[-1].isdigit() and long_[len(short)].isdigit()):  # "number 1" is no start of "number 11"
                near.append(PossibleDuplicate(rid, label, "one title is the other's start (a subtitle dropped?)"))
            continue
        if _DIGITS.findall(key) != _DIGITS.findall(other_key):  # Part 1 / Part 2, 12-week / 24-week
            continue
        similarity = _similarity(key, other_key)
        if similarity >= TITLE_SIMILARITY:
            near.append(PossibleDuplicate(rid, label, f"near-identical title (similarity {similarity:.2f})"))
    return sorted(same, key=lambda d: d.record_id) + sorted(near, key=lambda d: d.record_id)
