"""The ``fasta`` data reader: FASTA/FASTQ records as labelled examples for fine-tuning.

:func:`read_fasta_examples` (registered in :data:`~serendip.models.registries.DATA_READERS` as
``fasta``, ``fastq``, ``fa``, ``fna`` and ``fq``) reads records with :func:`serendip.genomics.fasta.iter_sequences`
and takes each label from the header (a ``KEY=VALUE`` word or a regular expression) or from a side
table of ids and labels (CSV, TSV or ``;``-separated).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from serendip.core.files import read_text
from serendip.core.formats import delimited_rows, sniff_delimiter
from serendip.errors import ConfigError, DataError, ParseError
from serendip.genomics.fasta import Alphabet, Issue, Sequence, Softmask, iter_sequences
from serendip.models.example import Example
from serendip.models.example_readers import with_suffixes
from serendip.models.registries import DATA_READERS

__all__ = ["FASTA_SUFFIXES", "read_fasta_examples"]


def _read_label_table(path: Path, id_column: str, label_column: str) -> dict[str, str]:
    """id -> label from a CSV/TSV side table (delimiter by the shared rule,
    :func:`serendip.core.formats.sniff_delimiter`)."""
    file = str(path)
    text = read_text(path)
    first = text.split("\n", 1)[0]
    reader = delimited_rows(text, sniff_delimiter(text[:65536], first))
    header = next(reader, None)
    if header is None:
        raise DataError(f"label table {file} is empty")
    names = [h.strip() for h in header]
    missing = [c for c in (id_column, label_column) if c not in names]
    if missing:
        raise DataError(f"label table {file} has no column {missing[0]!r}; columns: {', '.join(names)}")
    i_id, i_lab = names.index(id_column), names.index(label_column)
    out: dict[str, str] = {}
    for row in reader:
        no = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) <= max(i_id, i_lab):
            raise ParseError(f"row has {len(row)} fields, expected {len(names)}", file=file, line=no)
        rid, lab = row[i_id].strip(), row[i_lab].strip()
        if rid in out and out[rid] != lab:
            raise ParseError(f"id {rid!r} has two labels ({out[rid]!r} and {lab!r})", file=file, line=no)
        out[rid] = lab
    return out


#: Suffixes read as FASTA/FASTQ, plain or compressed (``.gz``, ``.bgz``).
FASTA_SUFFIXES = tuple(s + z for s in (".fa", ".fasta", ".fna", ".ffn", ".frn", ".faa", ".fas", ".fq",
                                       ".fastq", ".seq") for z in ("", ".gz", ".bgz"))


@DATA_READERS.register("fasta", "fastq", "fa", "fna", "fq")
@with_suffixes(*FASTA_SUFFIXES)
def read_fasta_examples(path: str | Path, *, label: str | None = "label",
                        label_from_header: str | None = None, labels: str | Path | None = None,
                        id_column: str = "id", label_column: str = "label",
                        alphabet: Alphabet | str = "iupac", softmask: Softmask = "keep",
                        issues: list[Issue] | None = None) -> list[Example]:
    """Read a FASTA/FASTQ file into :class:`~serendip.models.example.Example` objects (the ``fasta``
    data reader; also registered as ``fastq``, ``fa``, ``fna`` and ``fq`` so file suffixes resolve).

    Each valid record gives one example: ``text`` = sequence, ``id`` = record id,
    ``source`` = ``"<file> line <header line>"``, ``meta`` = ``{"description", "softmasked_fraction"}``.

    Parameters
    ----------
    path : str or Path
        FASTA or FASTQ, plain or gzip.
    label : str or None, default="label"
        Without ``label_from_header`` or ``labels``: the header key holding the label, as a
        ``KEY=VALUE`` word after the id (``>seq7 label=promoter``). None reads unlabelled examples
        (``label=None``; e.g. sequences to predict on), as ``label=None`` does for the table readers.
    label_from_header : str, optional
        Regular expression searched in the header line (without ``>``); the label is its group
        ``label`` if named, else group 1, else the whole match.
    labels : str or Path, optional
        Side table (CSV, TSV or ``;``-separated, with a header) mapping ``id_column`` to
        ``label_column``. Cannot be combined with ``label_from_header``.
    id_column, label_column : str, default="id", "label"
        Column names in ``labels``.
    alphabet, softmask
        As in :func:`iter_sequences`.
    issues : list, optional
        Skipped records are appended here as :class:`Issue` objects; without a list each one is
        emitted as a :class:`UserWarning` (never dropped silently). A record without a label
        (no match, no ``KEY=``, id missing from the table) and an empty sequence are issues too.

    Returns
    -------
    list of Example
        In file order; labels are strings (class names).

    Raises
    ------
    ConfigError
        ``labels`` and ``label_from_header`` both given, or an invalid regular expression.
    DataError
        No example could be read, or the label table lacks a column.
    ParseError
        The file or the label table cannot be read, or the table gives one id two labels.
    """
    path = Path(path)
    if labels is not None and label_from_header is not None:
        raise ConfigError("give either labels (a side table) or label_from_header (a regex), not both")
    pattern = None
    if label_from_header is not None:
        try:
            pattern = re.compile(label_from_header)
        except re.error as exc:
            raise ConfigError(f"label_from_header is not a valid regular expression: {exc}") from None
    table = _read_label_table(Path(labels), id_column, label_column) if labels is not None else None
    labelled = label is not None or pattern is not None or table is not None
    key = re.compile(r"(?:^|\s)" + re.escape(label) + r"=(\S+)") if label else None

    found: list[Issue] = []
    out: list[Example] = []
    for item in iter_sequences(path, alphabet=alphabet, softmask=softmask):
        if isinstance(item, Issue):
            found.append(item)
            continue
        if not item.seq:
            found.append(Issue(str(path), "empty sequence; record skipped", line=item.line, record=item.id))
            continue
        value = None
        if labelled:
            value = _label_of(item, pattern, table, key)
            if value is None:
                how = (f"id not in label table {labels}" if table is not None else
                       f"header does not match {label_from_header!r}" if pattern is not None else
                       f"no {label}=VALUE in the header")
                found.append(Issue(str(path), f"no label ({how}); record skipped", line=item.line,
                                   record=item.id))
                continue
        out.append(Example(text=item.seq, label=value, id=item.id, source=f"{path} line {item.line}",
                           meta={"description": item.description,
                                 "softmasked_fraction": item.softmasked_fraction}))
    if issues is not None:
        issues.extend(found)
    else:
        for issue in found:
            warnings.warn(str(issue), UserWarning, stacklevel=2)
    if not out:
        raise DataError(f"{path}: no usable records ({len(found)} skipped"
                        + (f"; first: {found[0]}" if found else "") + ")")
    return out


def _label_of(rec: Sequence, pattern: re.Pattern[str] | None, table: dict[str, str] | None,
              key: re.Pattern[str] | None) -> str | None:
    if table is not None:
        return table.get(rec.id) or None
    title = f"{rec.id} {rec.description}".rstrip()
    if pattern is None:
        m = key.search(rec.description) if key is not None else None
        return m.group(1) if m else None
    m = pattern.search(title)
    if not m:
        return None
    if "label" in m.re.groupindex:
        value = m.group("label")
    elif m.re.groups:
        value = m.group(1)
    else:
        value = m.group(0)
    return value or None

