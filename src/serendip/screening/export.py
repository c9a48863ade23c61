"""Export a screening session's labels as CSV or RIS (the reviewer's decisions, for the next stage of a
systematic review or another tool).

* CSV (:func:`export_labels`, ``fmt="csv"``): one row per labelled record, in the order records were
  first labelled: ``record_id``, ``pmid``, ``doi``, ``title``, ``year``, ``label`` (the newest),
  ``note`` (the newest label's), ``prior`` (the newest label was a prior), ``labelled_at`` (ISO 8601,
  UTC) and ``n_labels`` (labels the record was given: > 1 when relabelled). With ``history=True``, one
  row per label given instead, oldest first (the same columns, each row its own label).
* RIS (``fmt="ris"``, written by rispy): one ``TY  - JOUR`` entry per labelled record with title,
  abstract, authors, journal, year, DOI and the PMID (``AN``); the label as a keyword
  ``screening:<label>`` (``KW``) and the note in ``N1``, which reference managers (Zotero, EndNote) and
  ASReview read.
"""
from __future__ import annotations

import csv
from datetime import timezone
from pathlib import Path

from sqlalchemy import select

from serendip.errors import ConfigError, DataError
from serendip.workspace.schema import records

__all__ = ["EXPORT_FORMATS", "export_labels"]

#: export format -> file suffix
EXPORT_FORMATS = {"csv": ".csv", "ris": ".ris"}
_COLUMNS = ("record_id", "pmid", "doi", "title", "year", "label", "note", "prior", "labelled_at", "n_labels")


def _records(ws, ids: list[int]) -> dict:
    from serendip.literature.record import Record

    out = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(ids), 900):
            stmt = select(records.c.id, records.c.data).where(records.c.id.in_(ids[start:start + 900]))
            out.update((rid, Record.from_dict(data)) for rid, data in conn.execute(stmt))
    return out


def _utc(when) -> str | None:
    """ISO 8601 in UTC (SQLite returns the stored UTC time without its zone)."""
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()


def _rows(session, history: bool) -> list[dict]:
    given = session.history()
    counts: dict[int, int] = {}
    for row in given:
        counts[row["record_id"]] = counts.get(row["record_id"], 0) + 1
    chosen = given if history else list(session.labels().values())
    recs = _records(session.ws, list(counts))
    out = []
    for row in chosen:
        rec = recs.get(row["record_id"])
        out.append({"record_id": row["record_id"], "pmid": rec.pmid if rec else None, "doi": rec.doi if rec else None,
                    "title": rec.title if rec else None, "year": rec.year if rec else None, "label": row["label"],
                    "note": row["note"], "prior": bool(row["prior"]),
                    "labelled_at": _utc(row["created_at"]),
                    "n_labels": counts[row["record_id"]], "_record": rec})
    return out


def _ris_writer():
    import rispy

    class PlainRis(rispy.RisWriter):
        """rispy's RIS writer without its ``1.`` line before each entry (not a RIS tag)."""

        def set_header(self, count: int) -> str:
            return ""

    return PlainRis


def _ris_entry(row: dict) -> dict:
    rec = row["_record"]
    entry = {"type_of_reference": "JOUR", "id": str(row["record_id"]), "keywords": [f"screening:{row['label']}"]}
    if rec is not None:
        for key, value in (("title", rec.title), ("abstract", rec.abstract), ("doi", rec.doi),
                           ("accession_number", rec.pmid), ("secondary_title", rec.journal),
                           ("year", str(rec.year) if rec.year else None)):
            if value:
                entry[key] = value
        authors = [a.display for a in rec.authors if a.display]
        if authors:
            entry["authors"] = authors
    if row["note"]:
        entry["notes"] = [row["note"]]
    return entry


def _format(path: Path, fmt: str | None) -> str:
    """``fmt``, else the format the suffix of ``path`` names; a ConfigError naming the file, the format or
    suffix given and the supported formats otherwise."""
    supported = ", ".join(f"{f} ({suffix})" for f, suffix in EXPORT_FORMATS.items())
    if fmt is not None:
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(f"cannot export to {path}: unknown export format {fmt!r}; supported formats: "
                              f"{supported}")
        return fmt
    found = next((f for f, suffix in EXPORT_FORMATS.items() if path.suffix.lower() == suffix), None)
    if found is None:
        said = f"suffix {path.suffix!r} is not an export format" if path.suffix else "no suffix to tell the format"
        raise ConfigError(f"cannot export to {path}: {said}; supported formats: "
                          f"{supported}; end the file name with one of those suffixes or name the format "
                          "(--format)")
    return found


def export_labels(session, path: str | Path, fmt: str | None = None, *, history: bool = False) -> int:
    """Write the labels of ``session`` (a :class:`~serendip.screening.session.ScreeningSession`) to ``path``.

    Parameters
    ----------
    session : ScreeningSession
    path : str or Path
        The file to write (replaced if it exists).
    fmt : {"csv", "ris"}, optional
        Default: from the suffix of ``path`` (``.csv``, ``.ris``).
    history : bool, default False
        CSV only: one row per label given (relabels included) instead of one per record.

    Returns
    -------
    int
        Rows (CSV) or entries (RIS) written.

    Raises
    ------
    ConfigError
        An unknown format, or none given and the suffix of ``path`` names none (the message names the
        file, the format or suffix and the supported formats); ``history`` with RIS.
    DataError
        ``path`` cannot be written (its folder is missing or not writable, or it is a folder): the
        message names it and the reason; nothing is written.
    """
    path = Path(path)
    fmt = _format(path, fmt)
    if history and fmt != "csv":
        raise ConfigError("history applies to the CSV export only")
    rows = _rows(session, history)
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            if fmt == "csv":
                writer = csv.DictWriter(fh, fieldnames=_COLUMNS, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
            else:
                import rispy

                rispy.dump([_ris_entry(r) for r in rows], fh, implementation=_ris_writer())
    except (IsADirectoryError, NotADirectoryError, FileNotFoundError, PermissionError, OSError) as exc:
        raise DataError(f"cannot write the export to {path}: {exc.strerror or exc}; choose a writable path") from None
    return len(rows)
