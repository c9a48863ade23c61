"""Molecule files in: SMILES text/CSV and SDF, each record located by file and 1-based line.

Readers live in :data:`MOLECULE_READERS` (``smiles`` for ``.smi``/``.csv``/``.tsv``/``.txt``,
``sdf`` for ``.sdf``/``.sd``/``.mol``); each yields :class:`RawRecord` s (name, SMILES or an RDKit
molecule, values as text, file, line). :func:`serendip.chem.molecules.read_molecules` parses,
standardises and merges them. Lines are counted here, not by RDKit: ``SmilesMolSupplier`` reports
line numbers one off (case C17 in ``../shared/cases``). A gzip-compressed file (``esol.csv.gz``) is read
whole and decompressed; its format is that of the suffix before ``.gz``, and a truncated or damaged
gzip stream is an error naming the file, never a partial read.
"""
from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rdkit import Chem, rdBase

from serendip.errors import DataError, ParseError
from serendip.registry import Registry

__all__ = ["MOLECULE_READERS", "RawRecord", "reader_for", "read_sdf", "read_smiles_file"]

#: Column names taken for the SMILES column (any case).
SMILES_NAMES = ("smiles", "smi", "canonical_smiles", "isomeric_smiles", "molecule", "mol")
#: Column names taken for the name column (any case), in order of preference.
NAME_NAMES = ("name", "id", "compound id", "compound_id", "title", "mol_id", "molecule_chembl_id",
              "cmpd_chemblid", "num")


@dataclass
class RawRecord:
    """One record as read, before parsing.

    Attributes
    ----------
    file : str
        The file's path as given.
    line : int
        1-based line of the record in the file (SDF: the line its molblock starts on).
    name : str
        The record's name ("" when the file has none; the reader then uses ``"line <n>"``).
    smiles : str
        The SMILES text (SDF records: "" with ``mol`` set).
    values : dict of str to str
        The requested value columns, as text.
    mol : rdkit.Chem.Mol or None
        Unsanitised molecule (SDF), else None.
    error : str or None
        Why the record could not even be read (a wrong field count), else None.
    """

    file: str
    line: int
    name: str
    smiles: str
    values: dict[str, str] = field(default_factory=dict)
    mol: Chem.Mol | None = None
    error: str | None = None


Reader = Callable[..., Iterator[RawRecord]]
MOLECULE_READERS: Registry[Reader] = Registry("molecule format")
_SUFFIXES = {".smi": "smiles", ".smiles": "smiles", ".csv": "smiles", ".tsv": "smiles", ".txt": "smiles",
             ".tab": "smiles", ".sdf": "sdf", ".sd": "sdf", ".mol": "sdf"}


def reader_for(path: str | Path, fmt: str | None = None) -> Reader:
    """The reader for ``fmt`` (a :data:`MOLECULE_READERS` name) or, when None, for the file's suffix.

    Raises
    ------
    ConfigError
        Unknown format, or a suffix with no reader (the message lists the formats).
    """
    if fmt is None:
        suffixes = [x.lower() for x in Path(str(path)).suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes.pop()
        fmt = _SUFFIXES.get(suffixes[-1] if suffixes else "", "smiles")
    return MOLECULE_READERS.get(fmt)


def _read_text(path: Path) -> str:
    """The file's text: UTF-8 (a BOM allowed), gzip-compressed or not (told by its magic bytes).

    Raises
    ------
    DataError
        Unreadable path (missing, a folder, no permission) or a truncated / damaged gzip stream.
    ParseError
        Not UTF-8 (names the line).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        what = "it is a folder" if path.is_dir() else (exc.strerror or str(exc)).lower()
        raise DataError(f"{path}: cannot read ({what})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(f"{path}: the gzip file is truncated or damaged ({exc}); nothing was read from "
                            f"it") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ParseError("not UTF-8 text", file=str(path), line=line) from exc


def _split(line: str, delimiter: str) -> list[str]:
    """The fields of one line; csv's 128 kB field limit lifted to the line's own length (a megabyte-long
    SMILES is refused by :func:`~serendip.chem.standardize.parse_smiles` with its reason, not here)."""
    if len(line) > csv.field_size_limit():
        csv.field_size_limit(len(line) + 1)
    if delimiter == " ":
        return line.split(None, 1)
    return next(csv.reader([line], delimiter=delimiter))


def _sniff_delimiter(line: str) -> str:
    if "\t" in line:
        return "\t"
    if "," in line:
        return ","
    return " "


def _parses(text: str) -> bool:
    with rdBase.BlockLogs():
        return bool(text) and Chem.MolFromSmiles(text, sanitize=False) is not None


def _looks_like_header(first: list[str], second: list[str] | None) -> bool:
    """Whether the first line's ``first`` fields are a header: one is a SMILES column name (any case),
    unless another of them parses as SMILES and the next line (``second``, None for a one-line file)
    has no SMILES in that named column, so ``CCO smiles`` followed by ``c1ccccc1 benzene`` is a molecule
    named "smiles" while ``SMILES BBBP`` followed by ``CCO 1`` stays a header."""
    named = [i for i, f in enumerate(first) if f.lower() in SMILES_NAMES]
    if not named:
        return False
    if not any(_parses(f) for i, f in enumerate(first) if i not in named):
        return True
    return second is not None and any(i < len(second) and _parses(second[i]) for i in named)


def _pick(header: list[str], wanted: str | None, known: tuple[str, ...], what: str, path: Path) -> int | None:
    lower = [h.strip().lower() for h in header]
    if wanted is not None:
        if wanted in header:
            return header.index(wanted)
        if wanted.lower() in lower:
            return lower.index(wanted.lower())
        raise DataError(f"{path}: no {what} column '{wanted}'; the header has: {', '.join(header)}")
    return next((lower.index(k) for k in known if k in lower), None)


@MOLECULE_READERS.register("smiles", "smi", "csv", "tsv")
def read_smiles_file(path: str | Path, *, delimiter: str | None = None, header: bool | None = None,
                     smiles_column: str | None = None, name_column: str | None = None,
                     value_columns: tuple[str, ...] | list[str] = (),
                     name_first: bool | None = None) -> Iterator[RawRecord]:
    """Records of a SMILES file: ``.smi`` (SMILES then name, or name then SMILES), CSV or TSV.

    Parameters
    ----------
    path : str or Path
        UTF-8 text (a BOM allowed), LF or CRLF line ends. Blank lines are skipped, not records.
    delimiter : str, optional
        ``"\\t"``, ``","`` or ``" "`` (whitespace; the name is the rest of the line). Default:
        tab if the first non-blank line holds one, else comma if it holds one, else whitespace.
    header : bool, optional
        Whether the first non-blank line is a header. Default: it is when one of its fields is a
        SMILES column name (:data:`SMILES_NAMES`, any case), unless another field of it parses as
        SMILES and the next line holds none in the named column (``CCO smiles`` then ``c1ccccc1
        benzene``: a molecule named "smiles").
    smiles_column, name_column : str, optional
        Header names (exact, else case-insensitive). Default: the first of :data:`SMILES_NAMES` /
        :data:`NAME_NAMES` present; without a header the SMILES is field 1 or 2 (``name_first``).
    value_columns : sequence of str
        Header names of the numeric values to carry (targets); needs a header.
    name_first : bool, optional
        Header-less files only: the name comes before the SMILES. Default: decided on the first data
        line where exactly one of the first two fields parses as SMILES; else SMILES first.

    Yields
    ------
    RawRecord
        One per non-blank data line; a line with too few fields carries ``error``.

    Raises
    ------
    DataError
        Unreadable file; a named column missing; ``value_columns`` without a header.
    ParseError
        Not UTF-8 (names file and line).
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not numbered:
        return
    delim = delimiter or _sniff_delimiter(numbered[0][1])
    first = [f.strip() for f in _split(numbered[0][1], delim)]
    second = [f.strip() for f in _split(numbered[1][1], delim)] if len(numbered) > 1 else None
    has_header = header if header is not None else _looks_like_header(first, second)
    name_idx: int | None
    if has_header:
        smi_idx = _pick(first, smiles_column, SMILES_NAMES, "SMILES", path)
        if smi_idx is None:
            raise DataError(f"{path}: no SMILES column in the header ({', '.join(first)}); "
                            f"name it with smiles_column")
        name_idx = _pick(first, name_column, NAME_NAMES, "name", path)
        val_idx = {c: _pick(first, c, (), "value", path) for c in value_columns}
        numbered = numbered[1:]
    else:
        if value_columns:
            raise DataError(f"{path}: value columns ({', '.join(value_columns)}) need a header line naming "
                            f"them; the first line is {numbered[0][1].strip()[:60]}")
        if name_first is None:
            name_first = False
            for _, ln in numbered[:50]:
                fields = [f.strip() for f in _split(ln, delim)]
                if len(fields) >= 2 and _parses(fields[0]) != _parses(fields[1]):
                    name_first = _parses(fields[1])
                    break
        smi_idx, name_idx, val_idx = (1, 0, {}) if name_first else (0, 1, {})
    need = max([smi_idx] + [i for i in val_idx.values() if i is not None])
    for lineno, ln in numbered:
        fields = [f.strip() for f in _split(ln, delim)]
        name = fields[name_idx] if name_idx is not None and name_idx < len(fields) else ""
        if len(fields) <= need:
            yield RawRecord(str(path), lineno, name, "", error=f"{len(fields)} fields, expected at least {need + 1}")
            continue
        values = {c: fields[i] for c, i in val_idx.items() if i is not None}
        yield RawRecord(str(path), lineno, name, fields[smi_idx], values)


@MOLECULE_READERS.register("sdf", "sd", "mol")
def read_sdf(path: str | Path, *, value_columns: tuple[str, ...] | list[str] = (),
             name_column: str | None = None, **_: object) -> Iterator[RawRecord]:
    """Records of an SDF file (V2000/V3000 molblocks separated by ``$$$$``) through RDKit.

    Parameters
    ----------
    path : str or Path
    value_columns : sequence of str
        SD data fields (``> <logS>``) to carry as values.
    name_column : str, optional
        An SD data field to use as the name instead of the molblock's title line.

    Yields
    ------
    RawRecord
        ``mol`` unsanitised (sanitising is :func:`~serendip.chem.molecules.read_molecules`'s job);
        ``line`` is the 1-based line the molblock starts on; a block RDKit cannot read carries
        ``error`` with RDKit's reason.
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    start = 0
    for i, ln in enumerate(lines + ["$$$$"]):
        if ln.strip() != "$$$$":
            continue
        block = lines[start:i]
        lineno, start = start + 1, i + 1
        if not any(b.strip() for b in block):
            continue
        text = "\n".join(block) + "\n$$$$\n"
        with rdBase.BlockLogs():
            supplier = Chem.ForwardSDMolSupplier(io.BytesIO(text.encode()), sanitize=False, removeHs=False)
            mol = next(iter(supplier), None)
        title = block[0].strip()
        if mol is None:
            yield RawRecord(str(path), lineno, title, "", error="RDKit cannot read this molblock")
            continue
        props = mol.GetPropsAsDict(includePrivate=False, includeComputed=False)
        name = str(props.get(name_column, title)) if name_column else title
        values = {c: str(props[c]) for c in value_columns if c in props}
        missing = [c for c in value_columns if c not in props]
        yield RawRecord(str(path), lineno, name, "", values, mol=mol,
                        error=f"no SD field {', '.join(missing)}" if missing else None)
