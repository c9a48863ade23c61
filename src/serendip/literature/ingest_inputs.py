"""The inputs of an ingest, checked before anything is written: the paths expanded into files, the
``--map`` and ``--encoding`` options parsed, and each file's reader chosen (format sniffed, text
encoding told), so that a usage error is raised before any record is stored.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from serendip.core.files import check_encoding, detect_encoding, refuse_binary
from serendip.errors import ConfigError, ParseError
from serendip.literature.ingest_report import IngestReport
from serendip.literature.readers import reader_spec, reader_specs, sniff_format


def column_mapping(items: Iterable[str]) -> dict[str, str]:
    """A CSV/TSV column mapping from ``FIELD=COLUMN`` strings (``serendip ingest --map``).

    Parameters
    ----------
    items : iterable of str
        E.g. ``["title=Headline", "abstract = Summary"]``; spaces around either side are dropped.

    Returns
    -------
    dict of str to str
        Record field -> column name (a later item for one field wins); empty for no items.

    Raises
    ------
    ConfigError
        An item without ``=`` or with an empty side.
    """
    mapping: dict[str, str] = {}
    for item in items:
        field_name, sep, column = item.partition("=")
        if not sep or not field_name.strip() or not column.strip():
            raise ConfigError(f"--map expects FIELD=COLUMN, got {item!r}")
        mapping[field_name.strip()] = column.strip()
    return mapping


def expand_paths(paths: Iterable[str | Path], empty: list[str] | None = None) -> list[Path]:
    """Files to ingest: each path as given; a folder that is not a BEIR corpus yields its files
    (hidden ones left out). A folder that yields none is named in ``empty`` when given.

    Raises
    ------
    ParseError
        If a path does not exist.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ParseError("no such file or folder", file=str(p))
        if p.is_dir() and not any((p / n).exists() for n in ("corpus.jsonl", "corpus.jsonl.gz")):
            found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not found and empty is not None:
                empty.append(str(p))
            out.extend(found)
        else:
            out.append(p)
    return out


def readers_for(files: list[Path], fmt: str, options: dict | None, encoding: str | None = None,
                encodings: dict[str, str] | None = None) -> list:
    """Pick every file's reader before anything is written, so bad options fail up front.

    Options (a CSV column mapping) go to the readers that take them; it is an error only if none does.
    ``encoding`` (``--encoding``) goes to every reader of a text format (one taking ``encoding``),
    and the encoding each such file is read with is put in ``encodings`` (file -> description).
    A file whose format or text encoding cannot be told, or a binary file (a PNG, a PDF, an .xlsx: see
    :func:`~serendip.core.files.refuse_binary`) whatever the format, gets its ParseError in place of a
    reader.
    """
    out = []
    any_took = False
    for path in files:
        try:
            spec = reader_spec(fmt) if fmt != "auto" else sniff_format(path, encoding)
            takes = bool(options) and all(k in spec.options for k in options)
            any_took |= takes
            reader_options = dict(options) if takes else {}
            if "encoding" not in spec.options and path.is_file():  # XML, JSON: no text opener to tell
                refuse_binary(path)
            elif "encoding" in spec.options and path.is_file():  # a binary file is refused here too
                used = detect_encoding(path, encoding)
                if encodings is not None:
                    encodings[str(path)] = used.describe()
                if encoding:
                    reader_options["encoding"] = encoding
        except ParseError as exc:
            out.append((exc, None))
            continue
        except (OSError, EOFError) as exc:  # cannot be opened or un-gzipped to sniff: fails whole
            out.append((ParseError(f"cannot be read ({exc})", file=str(path)), None))
            continue
        out.append((spec.make(reader_options or None), reader_options or None))
    if options and not any_took:
        names = sorted({r.name for r, _ in out if not isinstance(r, ParseError)})
        takers = [s.name for s in reader_specs() if all(k in s.options for k in options)]
        raise ConfigError(f"reader options {sorted(options)} apply to none of the inputs "
                          f"(formats: {', '.join(names) or 'none recognised'}); they are for "
                          f"{', '.join(takers) or 'no format'}")
    return out


def encoding_option(encoding: str | None) -> str | None:
    """The ``--encoding`` value as a Python codec name (``"Windows-1252"`` -> ``"cp1252"``); None
    when it is not given (each file's encoding is then detected).

    Raises
    ------
    ConfigError
        ``encoding`` is empty or blank, or not a text encoding Python knows.
    """
    if encoding is not None and not encoding.strip():
        raise ConfigError("--encoding is empty: give a text encoding such as cp1252 or latin-1, or leave "
                          "the option out to detect each file's encoding.")
    return check_encoding(encoding) if encoding else None


def prepare(paths: Iterable[str | Path], fmt: str, options: dict | None,
            encoding: str | None) -> tuple[list[Path], list, IngestReport]:
    """The files of ``paths`` (:func:`expand_paths`), the reader of each (:func:`readers_for`: a
    reader and its options, or the ParseError that makes the file fail whole) and the new ingest's
    report (input warnings and the encodings told filled in).

    Raises
    ------
    ParseError
        A path is missing.
    ConfigError
        An unknown format, a bad ``encoding`` (:func:`encoding_option`), or reader options no input
        takes.
    """
    empty_folders: list[str] = []
    files = expand_paths(paths, empty_folders)
    encoding = encoding_option(encoding)
    report = IngestReport(paths=[str(p) for p in files], format=fmt,
                          input_warnings=[f"no files in {d}: nothing to ingest" for d in empty_folders])
    readers = readers_for(files, fmt, options, encoding, report.encodings)
    return files, readers, report
