"""Training-data readers: CSV, TSV and JSON Lines tables into :class:`~serendip.models.example.Example`.

Readers are registered in :data:`~serendip.models.registries.DATA_READERS` and share one call form::

    read(path, *, text="text", label="label", text_pair=None, id=None, issues=None, **options)
        -> list[Example]

``text``, ``label``, ``text_pair`` and ``id`` name the columns (keys, for JSON Lines); ``label=None``
reads unlabelled data. A missing column raises :class:`~serendip.errors.DataError` naming the file
and the column; a row with an empty text or label is skipped and appended to ``issues`` (a list of
:class:`DataIssue` naming file and line) - reported, never silently dropped. A domain reader
(``fasta``, registered by :mod:`serendip.genomics`) may take other options; :func:`read_examples`
passes each reader only the options its signature accepts and ``issues`` when it takes it.
The delimiter and suffix rules are :mod:`serendip.core.formats`' (one rule for every table reader).
"""
from __future__ import annotations

import csv
import inspect
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from serendip.core.files import read_text
from serendip.core.formats import delimited_rows, format_for_path, suffix_map
from serendip.errors import ConfigError, DataError, ParseError
from serendip.issues import Issue
from serendip.models.example import Example
from serendip.models.registries import DATA_READERS

__all__ = ["DataIssue", "data_suffix_map", "format_of_path", "read_csv", "read_examples", "read_jsonl",
           "read_tsv"]



def with_suffixes(*suffixes: str) -> Callable[[Callable], Callable]:
    """Declare the file suffixes (with the dot, e.g. ``".csv"``, ``".fa.gz"``) a data reader takes
    when no format is given; :func:`data_suffix_map` collects them from :data:`DATA_READERS`, so a
    domain's reader brings its suffixes with its registration."""
    def deco(reader: Callable) -> Callable:
        reader.suffixes = tuple(suffixes)  # type: ignore[attr-defined]
        return reader

    return deco


def data_suffix_map() -> dict[str, str]:
    """Suffix -> data-reader name, from the suffixes each registered reader declares (see
    :func:`with_suffixes`; the name is the one the reader was registered with first).

    Raises
    ------
    ValueError
        Two readers declare one suffix (a registration error).
    """
    return suffix_map((name, getattr(reader, "suffixes", ()))
                      for name, reader in DATA_READERS.canonical_items())


class DataIssue(Issue):
    """A row that was skipped: the file, its 1-based line, the record id where known, and why."""


def _find_column(header: Sequence[str], wanted: str, path: Path, role: str) -> int:
    """Index of column ``wanted`` in ``header``: exact match, else a unique case-insensitive one."""
    if wanted in header:
        return list(header).index(wanted)
    folded = [i for i, h in enumerate(header) if h.strip().casefold() == wanted.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(f"{path}: no column {wanted!r} (the {role} column); the columns are: "
                    f"{', '.join(map(repr, header))}. Set the column mapping (data.columns.{role}).")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _make_example(path: Path, line: int, text: Any, label: Any, pair: Any, rid: Any,
                  *, label_col: str | None, text_col: str, issues: list[DataIssue] | None
                  ) -> Example | None:
    """An Example, or None after recording an issue (empty text, empty label, text not a string)."""
    def issue(reason: str) -> None:
        if issues is not None:
            issues.append(DataIssue(str(path), reason, line=line,
                                    record=None if _blank(rid) else str(rid)))

    if _blank(text):
        issue(f"empty text (column {text_col!r}); row skipped")
        return None
    if not isinstance(text, str):
        issue(f"text (column {text_col!r}) is {type(text).__name__}, not a string; row skipped")
        return None
    if label_col is not None and _blank(label):
        issue(f"empty label (column {label_col!r}); row skipped")
        return None
    if pair is not None and not isinstance(pair, str):
        issue(f"text_pair is {type(pair).__name__}, not a string; row skipped")
        return None
    return Example(text=text, label=label, text_pair=None if _blank(pair) else pair,
                   id=f"{path.name}:{line}" if _blank(rid) else str(rid),
                   source=f"{path}, line {line}", meta={"file": str(path), "line": line})


def _read_delimited(path: str | Path, delimiter: str, *, text: str = "text",
                    label: str | None = "label", text_pair: str | None = None, id: str | None = None,
                    issues: list[DataIssue] | None = None) -> list[Example]:
    path = Path(path)
    content = read_text(path)
    reader = delimited_rows(content, delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty (no header row)") from None
    except csv.Error as exc:
        raise ParseError(str(exc), file=str(path), line=1) from None
    cols = {"text": _find_column(header, text, path, "text")}
    for role, name in (("label", label), ("text_pair", text_pair), ("id", id)):
        if name is not None:
            cols[role] = _find_column(header, name, path, role)
    examples: list[Example] = []
    last = reader.line_num
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ParseError(str(exc), file=str(path), line=reader.line_num) from None
        last = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue  # blank line: not a record
        if len(row) != len(header):
            if issues is not None:
                issues.append(DataIssue(str(path), f"{len(row)} fields where the header has "
                                        f"{len(header)} (an unquoted {delimiter!r}?); row skipped",
                                        line=start))
            continue
        values = {role: row[i] for role, i in cols.items()}
        ex = _make_example(path, start, values["text"], values.get("label"), values.get("text_pair"),
                           values.get("id"), label_col=label, text_col=text, issues=issues)
        if ex is not None:
            examples.append(ex)
    return examples


@DATA_READERS.register("csv")
@with_suffixes(".csv")
def read_csv(path: str | Path, *, text: str = "text", label: str | None = "label",
             text_pair: str | None = None, id: str | None = None,
             issues: list[DataIssue] | None = None, delimiter: str = ",") -> list[Example]:
    """Examples from a CSV file with a header row (RFC 4180 quoting, UTF-8 with optional BOM).

    Parameters
    ----------
    path : str or Path
    text, label, text_pair, id : str or None
        Column names (an exact match, else a unique case-insensitive one). ``label=None``: no labels.
        Without an ``id`` column an example's id is ``"<file name>:<line>"``.
    issues : list, optional
        Receives a :class:`DataIssue` per skipped row (empty text or label, wrong field count).
    delimiter : str, default ","

    Returns
    -------
    list of Example
        Labels as the file's strings (the task parses them); ``source`` ``"<path>, line <n>"``;
        ``meta`` ``{"file", "line"}``.

    Raises
    ------
    DataError
        The file is unreadable or empty, or a named column is missing (names file and column).
    ParseError
        Not UTF-8, or a CSV syntax error (names file and line).
    """
    return _read_delimited(path, delimiter, text=text, label=label, text_pair=text_pair, id=id,
                           issues=issues)


@DATA_READERS.register("tsv")
@with_suffixes(".tsv", ".tab")
def read_tsv(path: str | Path, *, text: str = "text", label: str | None = "label",
             text_pair: str | None = None, id: str | None = None,
             issues: list[DataIssue] | None = None) -> list[Example]:
    """Examples from a tab-separated file with a header row; as :func:`read_csv`."""
    return _read_delimited(path, "\t", text=text, label=label, text_pair=text_pair, id=id,
                           issues=issues)


@DATA_READERS.register("jsonl", "ndjson")
@with_suffixes(".jsonl", ".ndjson")
def read_jsonl(path: str | Path, *, text: str = "text", label: str | None = "label",
               text_pair: str | None = None, id: str | None = None,
               issues: list[DataIssue] | None = None) -> list[Example]:
    """Examples from JSON Lines: one JSON object per line (blank lines ignored).

    Labels keep their JSON type (a string, a number, a list of classes or tags). A line that is not
    valid JSON or not an object, or lacks a key, is skipped and reported in ``issues``; a key absent
    from *every* record raises :class:`DataError` naming the file and the key.

    Raises
    ------
    DataError
        Unreadable file, no records, or a named key in no record.
    ParseError
        Not UTF-8.
    """
    path = Path(path)
    content = read_text(path)
    wanted = {"text": text, "label": label, "text_pair": text_pair, "id": id}
    required = [role for role in ("text", "label") if wanted[role] is not None]
    seen_keys: dict[str, int] = defaultdict(int)
    pending: list[DataIssue] = []
    examples: list[Example] = []
    n_records = 0
    first_keys: list[str] = []
    for lineno, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            pending.append(DataIssue(str(path), f"invalid JSON ({exc.msg} at column {exc.colno}); "
                                     f"line skipped", line=lineno))
            continue
        if not isinstance(obj, dict):
            pending.append(DataIssue(str(path), f"a JSON {type(obj).__name__}, not an object; "
                                     f"line skipped", line=lineno))
            continue
        n_records += 1
        if not first_keys:
            first_keys = list(obj)
        for role, key in wanted.items():
            if key is not None and key in obj:
                seen_keys[role] += 1
        missing = [wanted[r] for r in required if wanted[r] not in obj]
        if missing:
            pending.append(DataIssue(str(path), f"no key {missing[0]!r}; record skipped", line=lineno,
                                     record=None if _blank(obj.get(id)) else str(obj.get(id))))
            continue
        ex = _make_example(path, lineno, obj.get(text), obj.get(label) if label else None,
                           obj.get(text_pair) if text_pair else None, obj.get(id) if id else None,
                           label_col=label, text_col=text, issues=pending)
        if ex is not None:
            examples.append(ex)
    if n_records:
        for role, key in wanted.items():
            if key is not None and seen_keys[role] == 0:
                raise DataError(f"{path}: no record has the key {key!r} (the {role} column); the "
                                f"first record's keys are: {', '.join(map(repr, first_keys))}. "
                                f"Set the column mapping (data.columns.{role}).")
    if issues is not None:
        issues.extend(pending)
    return examples


@DATA_READERS.register("txt", "text")
@with_suffixes(".txt", ".text")
def read_lines(path: str | Path, *, issues: list[DataIssue] | None = None) -> list[Example]:
    """One unlabelled example per non-blank line of a plain-text file (a pre-training corpus).

    Each example's ``id`` is its 1-based line number and ``text`` the line stripped of surrounding
    white space. ``issues`` is accepted for the common call form; no line is ever skipped but the
    blank ones, which are not records.

    Raises
    ------
    ParseError
        The file cannot be read or is not UTF-8 text.
    """
    del issues  # blank lines are not records; nothing to report
    path = Path(path)
    return [Example(text=line.strip(), id=str(i), source=f"{path} line {i}", meta={"file": str(path), "line": i})
            for i, line in enumerate(read_text(path).splitlines(), 1) if line.strip()]


def _accepted(func: Callable, options: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``options`` that ``func`` accepts (all of them if it takes ``**kwargs``)."""
    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in params}


def format_of_path(path: str | Path) -> str:
    """The data-reader name a file's suffix gives: the reader that declares it (:func:`data_suffix_map`:
    ``.csv``, ``.tsv``/``.tab``, ``.jsonl``/``.ndjson``, ``.txt``, a domain's, e.g. ``.fa.gz``; by
    :func:`serendip.core.formats.format_for_path`), else the last suffix itself without its dot
    (a reader registered under that name), else ``""``.

    The name is not checked against :data:`DATA_READERS` (see :func:`read_examples`).
    """
    path = Path(path)
    return format_for_path(path, data_suffix_map()) or path.suffix.lower().lstrip(".")


def read_examples(path: str | Path, format: str | None = None, *,
                  columns: Mapping[str, str | None] | None = None,
                  issues: list[DataIssue] | None = None, **options: Any) -> list[Example]:
    """Read one data file with the reader registered for ``format``.

    Parameters
    ----------
    path : str or Path
    format : str, optional
        A :data:`DATA_READERS` name; default from the suffix (``.csv``, ``.tsv``/``.tab``,
        ``.jsonl``/``.ndjson``, else the suffix itself, e.g. ``fasta`` when a domain registered it).
    columns : mapping, optional
        ``{"text": ..., "label": ..., "text_pair": ..., "id": ...}`` column names.
    issues : list, optional
        Receives the skipped rows (passed on when the reader accepts ``issues``).
    **options
        Reader options (e.g. ``delimiter``).

    Raises
    ------
    ConfigError
        Unknown format, or a column or option the reader does not take.
    DataError, ParseError
        From the reader.
    """
    path = Path(path)
    if format is None:
        format = format_of_path(path)
        if not format or format not in DATA_READERS:
            raise ConfigError(f"{path}: cannot tell the data format from the suffix {path.suffix!r}; "
                              f"set data.format to one of: {', '.join(DATA_READERS.keys())}")
    reader = DATA_READERS.get(format)
    given = {k: v for k, v in (columns or {}).items()}
    kwargs = {**given, **options}
    accepted = _accepted(reader, kwargs)
    refused = sorted(set(kwargs) - set(accepted))
    if refused:
        raise ConfigError(f"the {format!r} reader takes no option {refused[0]!r}")
    if issues is not None and "issues" in _accepted(reader, {"issues": None}):
        accepted["issues"] = issues
    return reader(path, **accepted)
