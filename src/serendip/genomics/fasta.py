"""FASTA and FASTQ reading with validation: Biopython's parsers, plus what they leave out.

Parsing is Biopython's (``Bio.SeqIO.parse(handle, "fasta")`` and
``Bio.SeqIO.QualityIO.FastqGeneralIterator``; Cock et al., Bioinformatics 25:1422, 2009; FASTQ as in
Cock et al., Nucleic Acids Res. 38:1767, 2010). Around them this module adds:

* plain or gzip input, chosen by the gzip magic bytes ``1f 8b`` (not by the file name);
* text decoded as UTF-8 (a byte-order mark is dropped) with universal newlines, so CR LF and lone CR
  line ends never leave a ``"\\r"`` in an id, a description or a sequence (pyfaidx#141, vsearch#370);
* the 1-based line number of every record's header, counted by a line-tracking handle that Biopython
  reads through (Biopython reports no line numbers);
* blank lines or stray text before the first record (Biopython's ``fasta`` parser refuses the file):
  blank lines are ignored, other text is reported as one issue and skipped;
* an alphabet check on every sequence line: ``"iupac"`` (default; the IUPAC-IUB nucleotide codes
  A C G T U R Y S W K M B D H V N, Cornish-Bowden, Nucleic Acids Res. 13:3021, 1985),
  ``"ACGTN"`` (strict) or ``"protein"`` (the 20 amino acids, B Z J X U O and the stop ``*``), all
  case-insensitive. A record with a character outside the alphabet is skipped and reported with the
  file, the record id, the line and column of the first bad character and the character itself.
  Internal spaces or tabs in a sequence line count as bad characters (Biopython would silently drop
  them); whitespace at the end of a line is ignored;
* soft-masking (lower case, as RepeatMasker/UCSC write it) kept by default (``softmask="keep"``) or
  folded to upper case (``softmask="fold"``); the lower-case fraction of the sequence as read is
  reported on every record either way;
* FASTQ: wrapped records, zero-length reads and quality lines starting with ``@`` or holding ``+``
  are Biopython's; quality characters outside ``!``..``~`` (PHRED+33 printable range) are reported
  like bad sequence characters. A structural FASTQ error (sequence and quality of different lengths,
  a missing ``+`` line) cannot be resynchronised: it is reported with the line where it was found and
  reading stops there; the records before it are kept.

Typical use::

    records, issues = read_sequences("reads.fa.gz")
    for issue in issues:
        print(issue)          # "reads.fa.gz, line 10, record seq4: invalid character '#' ..."
"""
from __future__ import annotations

import re
import string
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from serendip.errors import ConfigError
from serendip.genomics._fasta_lines import _open_text, _TrackedLines, sniff_format
from serendip.issues import Issue as BaseIssue

__all__ = [
    "ALPHABETS",
    "Issue",
    "Sequence",
    "iter_sequences",
    "read_sequences",
    "sniff_format",
    "softmasked_fraction",
]

#: Alphabet name -> allowed upper-case characters (lower case is always allowed too).
#: ``iupac``: IUPAC-IUB nucleotide codes (Cornish-Bowden 1985, Table 1) plus U;
#: ``acgtn``: unambiguous bases and N; ``protein``: IUPAC amino-acid codes with the stop ``*``.
ALPHABETS: dict[str, str] = {
    "iupac": "ACGTURYSWKMBDHVN",
    "acgtn": "ACGTN",
    "protein": "ACDEFGHIKLMNPQRSTVWYBZJXUO*",
}

_LOWER = string.ascii_lowercase.encode()

Alphabet = Literal["iupac", "ACGTN", "acgtn", "protein"]
Softmask = Literal["keep", "fold"]


# ------------------------------------------------------------------------------------------ results


@dataclass(slots=True)
class Issue(BaseIssue):
    """A record (or part of a file) that was skipped, with where and why.

    Attributes
    ----------
    file : str
        The file, as given.
    reason : str
        What is wrong, in one sentence.
    line : int or None
        1-based line of the problem (the bad character's line for an alphabet error).
    record : str or None
        The record id, where one was read.
    char : str or None
        The offending character, for alphabet and quality errors.
    column : int or None
        1-based column of ``char`` in ``line``.
    """

    char: str | None = None
    column: int | None = None


@dataclass(slots=True)
class Sequence:
    """One validated FASTA/FASTQ record.

    Attributes
    ----------
    id : str
        The first word of the header (after ``>`` or ``@``).
    description : str
        The rest of the header after the id and its separating whitespace ("" when none).
    seq : str
        The sequence, line breaks removed; case as in the file with ``softmask="keep"``, upper case
        with ``softmask="fold"``. May be empty (a zero-length read).
    line : int
        1-based line of the record's header in the file.
    softmasked_fraction : float
        Lower-case characters / length of the sequence as read (before any folding), in [0, 1];
        0.0 for an empty sequence.
    quality : str or None
        FASTQ quality string (PHRED+33 characters, same length as ``seq``); None for FASTA.
    """

    id: str
    description: str
    seq: str
    line: int
    softmasked_fraction: float
    quality: str | None = None

    def __len__(self) -> int:
        return len(self.seq)


def softmasked_fraction(seq: str) -> float:
    """Fraction of lower-case (soft-masked) characters in ``seq``; 0.0 for an empty sequence.

    Parameters
    ----------
    seq : str
        ASCII sequence, any case.

    Returns
    -------
    float
        ``n_lower / len(seq)`` in [0, 1].
    """
    if not seq:
        return 0.0
    raw = seq.encode("ascii", "replace")
    return (len(raw) - len(raw.translate(None, _LOWER))) / len(raw)


# -------------------------------------------------------------------------------------- file access


def _alphabet(name: str) -> tuple[str, re.Pattern[str]]:
    key = str(name).lower()
    if key not in ALPHABETS:
        raise ConfigError(f"alphabet {name!r} is not known; expected one of: iupac, ACGTN, protein")
    allowed = ALPHABETS[key]
    bad = re.compile("[^" + re.escape(allowed + allowed.lower()) + "]")
    return key, bad


def _check_lines(lines: list[tuple[int, str]], bad: re.Pattern[str]) -> tuple[int, int, str] | None:
    """(line, 1-based column, char) of the first character matching ``bad``; trailing space ignored."""
    for no, text in lines:
        m = bad.search(text.rstrip())
        if m:
            return no, m.start() + 1, m.group()
    return None


_BAD_QUAL = re.compile(r"[^!-~]")


def _split_title(title: str) -> tuple[str, str]:
    parts = title.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


# ------------------------------------------------------------------------------------------ reading


def iter_sequences(path: str | Path, *, alphabet: Alphabet | str = "iupac", softmask: Softmask = "keep",
                   fmt: Literal["auto", "fasta", "fastq"] = "auto") -> Iterator[Sequence | Issue]:
    """Yield every valid record of a FASTA or FASTQ file as a :class:`Sequence`, and an :class:`Issue`
    for each record skipped, in file order.

    Parameters
    ----------
    path : str or Path
        FASTA or FASTQ file, plain or gzip-compressed (detected by magic bytes).
    alphabet : {"iupac", "ACGTN", "protein"}, default="iupac"
        Allowed sequence characters, case-insensitive (see :data:`ALPHABETS`).
    softmask : {"keep", "fold"}, default="keep"
        Keep lower-case (soft-masked) bases, or fold them to upper case. The reported
        ``softmasked_fraction`` is that of the sequence as read either way.
    fmt : {"auto", "fasta", "fastq"}, default="auto"
        ``auto`` picks from the first line starting with ``>`` (FASTA) or ``@`` (FASTQ); see
        :func:`sniff_format`.

    Yields
    ------
    Sequence or Issue
        An issue names the file, the record id, the 1-based line (of the bad character for an
        alphabet error) and the reason; the rest of the file is still read, except after a
        structural FASTQ error or an undecodable/corrupt stream (reported, then reading stops).

    Raises
    ------
    ConfigError
        Unknown ``alphabet``, ``softmask`` or ``fmt``.
    ParseError
        The file cannot be opened, or ``auto`` finds no line starting with ``>`` or ``@``.
    """
    path = Path(path)
    alpha_name, bad = _alphabet(alphabet)
    if softmask not in ("keep", "fold"):
        raise ConfigError(f"softmask must be 'keep' or 'fold', got {softmask!r}")
    if fmt == "auto":
        found = sniff_format(path)
        if found is None:
            return
        fmt = found
    if fmt not in ("fasta", "fastq"):
        raise ConfigError(f"fmt must be 'auto', 'fasta' or 'fastq', got {fmt!r}")
    fold = softmask == "fold"
    file = str(path)
    with _open_text(path) as stream:
        handle = _TrackedLines(stream)
        try:
            first, last, count = handle.skip_to(">" if fmt == "fasta" else "@")
            if count:
                span = f"lines {first}-{last}" if last > first else f"line {first}"
                yield Issue(file, f"{count} line(s) of text before the first record skipped ({span})",
                            line=first)
            if handle._pending is None:
                return
            if fmt == "fasta":
                yield from _fasta(handle, file, bad, alpha_name, fold)
            else:
                yield from _fastq(handle, file, bad, alpha_name, fold)
        except (UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
            yield Issue(file, f"cannot read past this point ({type(exc).__name__}: {exc}); "
                              f"reading stopped", line=handle.lineno + 1)


def _fasta(handle: _TrackedLines, file: str, bad: re.Pattern[str], alpha_name: str,
           fold: bool) -> Iterator[Sequence | Issue]:
    from Bio import SeqIO

    for rec in SeqIO.parse(handle, "fasta"):
        lines = handle.take()
        head_no, head = lines[0]
        rid, description = _split_title(head[1:])
        if not rid:
            yield Issue(file, "header has no record id", line=head_no)
            continue
        hit = _check_lines(lines[1:], bad)
        if hit:
            yield _bad_char(file, rid, hit, alpha_name)
            continue
        seq = str(rec.seq)
        frac = softmasked_fraction(seq)
        yield Sequence(rid, description, seq.upper() if fold else seq, head_no, frac)


def _bad_char(file: str, rid: str, hit: tuple[int, int, str], alpha_name: str) -> Issue:
    no, col, ch = hit
    what = {"iupac": "an IUPAC nucleotide code", "acgtn": "one of A C G T N",
            "protein": "an IUPAC amino-acid code"}[alpha_name]
    return Issue(file, f"invalid character {ch!r} at column {col} (not {what}); record skipped",
                 line=no, record=rid, char=ch, column=col)


def _fastq(handle: _TrackedLines, file: str, bad: re.Pattern[str], alpha_name: str,
           fold: bool) -> Iterator[Sequence | Issue]:
    from Bio.SeqIO.QualityIO import FastqGeneralIterator

    it = FastqGeneralIterator(handle)
    while True:
        try:
            title, seq, qual = next(it)
        except StopIteration:
            return
        except ValueError as exc:
            lines = handle.buffer
            rid = _split_title(lines[0][1][1:])[0] if lines and lines[0][1][:1] == "@" else None
            yield Issue(file, f"malformed FASTQ ({exc}); reading stopped", line=handle.lineno,
                        record=rid or None)
            return
        lines = handle.take()
        head_no = lines[0][0]
        rid, description = _split_title(title)
        if not rid:
            yield Issue(file, "header has no record id", line=head_no)
            continue
        plus = next((i for i in range(1, len(lines)) if lines[i][1][:1] == "+"), len(lines))
        hit = _check_lines(lines[1:plus], bad)
        if hit:
            yield _bad_char(file, rid, hit, alpha_name)
            continue
        qhit = _check_lines(lines[plus + 1:], _BAD_QUAL)
        if qhit:
            no, col, ch = qhit
            yield Issue(file, f"invalid quality character {ch!r} at column {col} (PHRED+33 uses "
                              f"'!'..'~'); record skipped", line=no, record=rid, char=ch, column=col)
            continue
        frac = softmasked_fraction(seq)
        yield Sequence(rid, description, seq.upper() if fold else seq, head_no, frac, quality=qual)


def read_sequences(path: str | Path, *, alphabet: Alphabet | str = "iupac", softmask: Softmask = "keep",
                   fmt: Literal["auto", "fasta", "fastq"] = "auto") -> tuple[list[Sequence], list[Issue]]:
    """Read a whole FASTA/FASTQ file: ``(valid records, issues)``.

    Same parameters, checks and errors as :func:`iter_sequences` (which streams); this collects.

    Returns
    -------
    records : list of Sequence
        Valid records in file order.
    issues : list of Issue
        One per skipped record (or skipped text), in file order.
    """
    records: list[Sequence] = []
    issues: list[Issue] = []
    for item in iter_sequences(path, alphabet=alphabet, softmask=softmask, fmt=fmt):
        (records if isinstance(item, Sequence) else issues).append(item)
    return records, issues
