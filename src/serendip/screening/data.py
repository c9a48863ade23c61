"""Labelled screening data: records (title, abstract) joined to one review's include/exclude labels.

Records come from JSON-lines files (gzip when named ``.gz``), one object per line with ``pmid`` (or
``id``), ``title`` and ``abstract`` (the mirror's ``cohen/records.jsonl.gz``; other keys ignored). A
line that is not a JSON object with an id is skipped and reported as an :class:`~serendip.issues.Issue`
(file, line, why); an id given twice keeps its first record and reports the second. A title or
abstract that is exactly one of ``na_values`` (default ``"NA"``: R's missing-value marker, written as
text for 1,165 abstracts of the mirror's Cohen records) counts as missing, as pandas' ``read_csv`` and
so ASReview read it; how many were is kept in :attr:`ScreeningSet.n_marked_missing`, not hidden.

Labels come from a TSV with a header naming ``review``, ``pmid`` and the label column
(``label_abstract_screening`` by default, or ``label_included``; values ``0`` / ``1``), one row per
(review, PMID), as ``cohen/labels.tsv``. The records of a review are taken in the labels file's order
(the order ASReview reads them in when the same rows are written to its CSV, so priors drawn by row
index are the same records). Every label problem is an error naming the file and line: an unknown
PMID, a label that is not 0 or 1, a PMID labelled twice in the review, a review with no include or no
exclude (a simulation needs both classes).
"""
from __future__ import annotations

import csv
import errno
import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from serendip.errors import DataError, ParseError
from serendip.issues import Issue

__all__ = ["LABEL_COLUMNS", "MIN_INCLUDES", "RecordText", "ScreeningSet", "load_screening_set", "read_labels", "read_records"]

#: label columns a labels file may name (abstract-level screening, final inclusion)
LABEL_COLUMNS = ("label_abstract_screening", "label_included")
#: includes a simulated review needs: the priors take one include (and one exclude), and at least one
#: include must remain to be found (the screening metrics need one); checked by
#: :func:`serendip.screening.simulate.check_simulable`
MIN_INCLUDES = 2
SIMULATION_NEEDS = (f"a screening simulation needs at least {MIN_INCLUDES} includes and 1 exclude: the priors take "
                    "one include and one exclude, and at least one include must remain to be found")


@dataclass
class ScreeningSet:
    """The records of one review with their labels, in screening-file order.

    Attributes
    ----------
    name : str
        The review (e.g. ``"Antihistamines"``).
    ids : list of str
        Record ids (PMIDs), length n.
    titles, abstracts : list of str
        Title and abstract per record ("" when missing), length n.
    labels : ndarray of shape (n,), dtype int8
        1 = include, 0 = exclude.
    mesh : list of list of str, optional
        MeSH descriptor names per record (empty when the record has none; default: none for every record),
        read by the ``*-mesh`` models.
    source : str
        Where the labels came from (for messages).
    issues : list of Issue
        Record lines skipped while reading (reported, never silently dropped).
    n_marked_missing : int
        Titles and abstracts of these records read as missing because they were an ``na_values`` marker.
    """

    name: str
    ids: list[str]
    titles: list[str]
    abstracts: list[str]
    labels: np.ndarray
    mesh: list[list[str]] = field(default_factory=list)
    source: str = "<memory>"
    issues: list[Issue] = field(default_factory=list)
    n_marked_missing: int = 0

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int8)
        n = len(self.ids)
        if not self.mesh:
            self.mesh = [[] for _ in range(n)]
        if len(self.mesh) != n:
            raise DataError(f"{self.source}: {n} records but MeSH headings for {len(self.mesh)}")
        if not (len(self.titles) == len(self.abstracts) == len(self.labels) == n):
            raise DataError(f"{self.source}: ids, titles, abstracts and labels differ in length "
                            f"({n}, {len(self.titles)}, {len(self.abstracts)}, {len(self.labels)})")
        if n and not np.isin(self.labels, (0, 1)).all():
            raise DataError(f"{self.source}: labels must be 0 or 1")
        n_inc = int(self.labels.sum())
        if n_inc == 0 or n_inc == n:
            which = "no include" if n_inc == 0 else "no exclude"
            raise DataError(f"{self.source}: review {self.name!r} has {which} among its {n} labelled records; "
                            f"{SIMULATION_NEEDS}")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_includes(self) -> int:
        return int(self.labels.sum())

    def texts(self) -> list[str]:
        """``title + " " + abstract`` per record (ASReview's TextMerger rule: missing parts as ""), the
        text every TF-IDF model reads."""
        return [f"{t} {a}" for t, a in zip(self.titles, self.abstracts)]


def _open_text(path: Path):
    """``path`` as UTF-8 text (``.gz``: gunzipped); a byte-order mark at its start (as Excel and Notepad
    write UTF-8) is an encoding marker, not data, and is dropped (``utf-8-sig``)."""
    return gzip.open(path, "rt", encoding="utf-8-sig") if path.suffix == ".gz" else path.open(encoding="utf-8-sig")


class RecordText(NamedTuple):
    """Title and abstract of a record ("" when absent or null), how many of the two were an
    ``na_values`` marker read as missing (0-2), and its MeSH descriptor names (empty: none given)."""

    title: str
    abstract: str
    marked: int
    mesh: tuple[str, ...] = ()


def _missing(path: Path, what: str) -> FileNotFoundError:
    """The error for an input ``path`` that is not a file: a FileNotFoundError carrying the path as its
    ``filename`` (so the CLI prints one line, "cannot open PATH: no such labels file")."""
    why = f"a folder, not a {what} file" if path.is_dir() else f"no such {what} file"
    return FileNotFoundError(errno.ENOENT, why, str(path))


def read_records(paths: Iterable[str | Path], na_values: Sequence[str] = ("NA",)
                 ) -> tuple[dict[str, RecordText], list[Issue]]:
    """Read JSON-lines record files into ``{id: (title, abstract)}``.

    Parameters
    ----------
    paths : iterable of str or Path
        JSON-lines files (``.gz``: gzip), one object per line with ``pmid`` or ``id`` and optional
        ``title`` / ``abstract`` (strings or null) and ``mesh`` (a list of MeSH descriptor names, or null).
    na_values : sequence of str, default ("NA",)
        A title or abstract equal to one of these (outer spaces ignored) is read as missing ("").

    Returns
    -------
    records : dict of str to RecordText
        Title, abstract and MeSH headings per id, first occurrence kept.
    issues : list of Issue
        Lines skipped (not JSON, not an object, no id, a title or abstract that is not a string, a
        ``mesh`` that is not a list of strings) and ids seen a second time, each with file and line.

    Raises
    ------
    FileNotFoundError
        A path is not a file (missing, or a folder); ``filename`` is the path.
    ParseError
        A gzip stream is broken or a file is not UTF-8 (the file is named).
    """
    records: dict[str, tuple[str, str]] = {}
    issues: list[Issue] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise _missing(path, "records")
        try:
            with _open_text(path) as fh:
                for lineno, line in enumerate(fh, 1):
                    if line.strip():
                        _read_record_line(line, path, lineno, records, issues, frozenset(na_values))
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ParseError(f"cannot read the records file ({exc})", file=str(path)) from None
    return records, issues


def _read_record_line(line: str, path: Path, lineno: int, records: dict, issues: list[Issue],
                      na_values: frozenset[str]) -> None:
    try:
        obj = json.loads(line.rstrip("\r\n"))  # a cut-off line: "Unterminated string", not the newline
    except ValueError as exc:
        issues.append(Issue(str(path), f"not JSON ({exc}); line skipped", line=lineno))
        return
    if not isinstance(obj, dict):
        issues.append(Issue(str(path), "not a JSON object; line skipped", line=lineno))
        return
    rid = obj.get("pmid", obj.get("id"))
    if rid is None or str(rid).strip() == "":
        issues.append(Issue(str(path), "no 'pmid' or 'id'; line skipped", line=lineno))
        return
    rid = str(rid).strip()
    title, abstract = obj.get("title"), obj.get("abstract")
    if not all(v is None or isinstance(v, str) for v in (title, abstract)):
        issues.append(Issue(str(path), "title or abstract is not a string; line skipped", line=lineno, record=rid))
        return
    mesh = obj.get("mesh")
    if not (mesh is None or (isinstance(mesh, list) and all(isinstance(m, str) for m in mesh))):
        issues.append(Issue(str(path), "mesh is not a list of strings; line skipped", line=lineno, record=rid))
        return
    if rid in records:
        issues.append(Issue(str(path), "id seen before; the first record is kept", line=lineno, record=rid))
        return
    marked = [v is not None and v.strip() in na_values for v in (title, abstract)]
    records[rid] = RecordText("" if marked[0] else title or "", "" if marked[1] else abstract or "", sum(marked),
                              tuple(m.strip() for m in mesh or () if m.strip()))


def read_labels(path: str | Path, review: str, label_column: str = "label_abstract_screening"
                ) -> list[tuple[str, int, int]]:
    """The (PMID, label, line) rows of ``review`` in a labels TSV, in file order.

    Parameters
    ----------
    path : str or Path
        TSV with a header naming ``review``, ``pmid`` and ``label_column``.
    review : str
        The review whose rows are read (exact name).
    label_column : str, default "label_abstract_screening"
        Column holding the labels (``0`` / ``1``).

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file (missing, or a folder); ``filename`` is the path.
    ParseError
        A missing column (line 1), a label other than 0 / 1, or a PMID labelled twice in the review (the
        line is named).
    DataError
        No row for ``review`` (the message lists the reviews in the file).
    """
    path = Path(path)
    if not path.is_file():
        raise _missing(path, "labels")
    rows: list[tuple[str, int, int]] = []
    first_line: dict[str, int] = {}
    reviews: set[str] = set()
    with path.open(encoding="utf-8-sig", newline="") as fh:  # a byte-order mark (Excel's UTF-8) dropped
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None) or []
        missing = [c for c in ("review", "pmid", label_column) if c not in header]
        if missing:
            raise ParseError(f"the header has no column {', '.join(map(repr, missing))} (found: "
                             f"{', '.join(header) or 'nothing'})", file=str(path), line=1)
        col = {name: header.index(name) for name in ("review", "pmid", label_column)}
        for lineno, fields in enumerate(reader, 2):
            if not fields or not any(f.strip() for f in fields):
                continue
            if len(fields) < len(header):
                raise ParseError(f"{len(fields)} fields, the header has {len(header)}", file=str(path), line=lineno)
            name = fields[col["review"]].strip()
            reviews.add(name)
            if name != review:
                continue
            pmid, raw = fields[col["pmid"]].strip(), fields[col[label_column]].strip()
            if raw not in ("0", "1"):
                raise ParseError(f"label {raw!r} in {label_column} is not 0 or 1", file=str(path), line=lineno,
                                 record=pmid)
            if pmid in first_line:
                raise ParseError(f"PMID {pmid} is labelled twice for review {review!r} (first at line "
                                 f"{first_line[pmid]})", file=str(path), line=lineno)
            first_line[pmid] = lineno
            rows.append((pmid, int(raw), lineno))
    if not rows:
        raise DataError(f"{path}: no labels for review {review!r}; reviews in the file: "
                        f"{', '.join(sorted(reviews)) or 'none'}")
    return rows


def _why_missing(pmid: str, skipped: dict, issues: list[Issue]) -> str:
    """The end of the "PMID ... is in no records file" error: the skipped line of that PMID, else the
    record lines whose PMID could not be read (the first 3), else nothing."""
    if pmid in skipped:
        return f"; its record line was skipped: {skipped[pmid]}"
    unread = [str(issue) for issue in issues if not issue.record]
    if not unread:
        return ""
    more = " ..." if len(unread) > 3 else ""
    return f"; {len(unread)} record line(s) could not be read, it may be one: {'; '.join(unread[:3])}{more}"


def load_screening_set(records: Sequence[str | Path] | str | Path, labels: str | Path, review: str,
                       label_column: str = "label_abstract_screening", na_values: Sequence[str] = ("NA",)
                       ) -> ScreeningSet:
    """The records of ``review`` joined to its labels (see the module docstring).

    Parameters
    ----------
    records : path or sequence of paths
        JSON-lines record files (:func:`read_records`).
    labels : str or Path
        Labels TSV (:func:`read_labels`).
    review : str
        Review name.
    label_column : {"label_abstract_screening", "label_included"}
        Which labels to simulate.
    na_values : sequence of str, default ("NA",)
        Title / abstract values read as missing (:func:`read_records`).

    Raises
    ------
    ParseError
        A labels row names a PMID found in no records file (file and line named), or any problem of
        :func:`read_labels`.
    DataError
        The review is not in the labels file, or has no include or no exclude.
    """
    paths = [records] if isinstance(records, (str, Path)) else list(records)
    recs, issues = read_records(paths, na_values)
    rows = read_labels(labels, review, label_column)
    skipped = {issue.record: issue for issue in issues if issue.record}
    for pmid, _label, lineno in rows:
        if pmid not in recs:
            where = ", ".join(map(str, paths))
            why = _why_missing(pmid, skipped, issues)
            raise ParseError(f"PMID {pmid} of review {review!r} is in no records file ({where}){why}",
                             file=str(labels), line=lineno)
    texts = [recs[p] for p, _, _ in rows]
    return ScreeningSet(name=review, ids=[p for p, _, _ in rows], titles=[r.title for r in texts],
                        abstracts=[r.abstract for r in texts],
                        labels=np.array([lab for _, lab, _ in rows], dtype=np.int8),
                        mesh=[list(r.mesh) for r in texts],
                        source=f"{labels} ({label_column})", issues=issues,
                        n_marked_missing=sum(r.marked for r in texts))
