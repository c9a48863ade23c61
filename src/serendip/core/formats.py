"""File-format rules written once for every layer: a path's format from its suffixes, and the
delimiter of a CSV/TSV table.

* :func:`format_for_path` - the format a file name declares, looked up in a map of declared suffixes
  (``{".csv": "csv", ".jsonl.gz": "jsonl"}``); the longest declared suffix wins, so a compressed form
  (``.xml.gz``) is one more declared suffix, never a guess.
* :func:`suffix_map` - that map, built from ``(format, suffixes)`` declarations (a registry's entries),
  refusing a suffix claimed by two formats.
* :func:`sniff_delimiter` - the delimiter of a delimited table among ``,`` ``;`` and tab:
  :class:`csv.Sniffer` over a sample, accepted only when the header line holds it, else the
  candidate the header holds most often, else ``,`` (European Excel writes ``;``: asreview#302).
* :func:`delimited_rows` - :func:`csv.reader` with the one dialect every table reader uses: RFC 4180
  quoting (``""`` inside quotes is one quote; a quoted field may hold the delimiter and line breaks).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import PurePath

__all__ = ["DELIMITERS", "delimited_rows", "format_for_path", "sniff_delimiter", "suffix_map"]

#: the delimiters a table may use, in the order ties are broken
DELIMITERS = ",;\t"


def suffix_map(declarations: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Suffix -> format from ``(format name, its suffixes)`` pairs.

    Parameters
    ----------
    declarations : iterable of (str, iterable of str)
        Each format's declared suffixes, with the leading dot (``".csv"``, ``".xml.gz"``); compared
        in lower case.

    Returns
    -------
    dict of str to str
        Lower-case suffix -> format name.

    Raises
    ------
    ValueError
        A suffix is declared by two formats, or lacks its leading dot (a programming error in a
        registration, not a user error).
    """
    out: dict[str, str] = {}
    for name, suffixes in declarations:
        for suffix in suffixes:
            key = suffix.lower()
            if not key.startswith(".") or len(key) < 2:
                raise ValueError(f"format {name!r}: suffix {suffix!r} must start with a dot")
            if out.get(key, name) != name:
                raise ValueError(f"suffix {key!r} is declared by both {out[key]!r} and {name!r}")
            out[key] = name
    return out


def format_for_path(path: str | PurePath, suffixes: Mapping[str, str]) -> str | None:
    """The format whose declared suffix ends the file name, or None.

    Parameters
    ----------
    path : str or PurePath
        A file path; only its name is looked at, in lower case.
    suffixes : mapping of str to str
        Suffix (with the dot, lower case) -> format name, e.g. from :func:`suffix_map`.

    Returns
    -------
    str or None
        The format of the longest declared suffix ending the name (``"a.xml.gz"`` matches
        ``".xml.gz"`` before ``".gz"``); None when none does. A name that *is* a suffix
        (``".csv"``, a hidden file) has no suffix.

    Examples
    --------
    >>> format_for_path("refs/Export.CSV", {".csv": "csv"})
    'csv'
    >>> format_for_path("pubmed.xml.gz", {".xml": "pubmed", ".xml.gz": "pubmed"})
    'pubmed'
    >>> format_for_path("x.csv.gz", {".csv": "csv"}) is None
    True
    """
    name = PurePath(path).name.lower()
    parts = PurePath(name).suffixes
    for i in range(len(parts)):
        candidate = "".join(parts[i:])
        if candidate in suffixes and len(candidate) < len(name):
            return suffixes[candidate]
    return None


def sniff_delimiter(sample: str, header: str, candidates: str = DELIMITERS) -> str:
    """The delimiter of a delimited table.

    Parameters
    ----------
    sample : str
        The start of the file's text (some 64 KiB: enough rows for :class:`csv.Sniffer`).
    header : str
        The header line.
    candidates : str, default ``",;\\t"``
        The delimiters to choose among; ties go to the earlier one.

    Returns
    -------
    str
        What :class:`csv.Sniffer` finds in ``sample`` when the header holds it; else the candidate
        the header holds most often; else ``","`` (a one-column table).
    """
    try:
        found = csv.Sniffer().sniff(sample, delimiters=candidates).delimiter
        if found in header:
            return found
    except csv.Error:
        pass
    counts = {d: header.count(d) for d in candidates}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def delimited_rows(text: str | Iterable[str], delimiter: str, *, strict: bool = False) -> Iterator[list[str]]:
    """A :func:`csv.reader` over ``text`` with the RFC 4180 dialect every table reader shares.

    Parameters
    ----------
    text : str or iterable of str
        The whole text (BOM already removed), or its physical lines with their line ends.
    delimiter : str
        One character, e.g. from :func:`sniff_delimiter`, or fixed by the format (``\\t`` for TSV).
    strict : bool, default False
        Raise :class:`csv.Error` on a stray quote instead of reading on (see the literature CSV
        reader, which reports the row and resumes).

    Returns
    -------
    csv reader
        Yields each row as a list of str; ``line_num`` counts physical lines read.
    """
    lines = io.StringIO(text, newline="") if isinstance(text, str) else iter(text)
    return csv.reader(lines, delimiter=delimiter, strict=strict)
