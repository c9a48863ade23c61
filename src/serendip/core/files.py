"""File helpers written once for every layer: the sha256 of a file and the text opener.

* :func:`sha256_file` - hex sha256 of a file's bytes, hashed at most once per process while the file
  is unchanged (keyed by resolved path, size, mtime and inode).
* :func:`read_text` - a whole text file, UTF-8 with an optional byte-order mark; anything else is a
  :class:`~serendip.errors.ParseError` naming the file and the byte offset.
* :func:`read_text_lenient` / :func:`bad_bytes` - a whole text file in its encoding (see below),
  keeping undecodable bytes as lone surrogates so a reader can report the lines that hold them and
  keep the rest; :func:`bad_text_reason` says so in one sentence for a record.
* :func:`open_binary` / :func:`read_sample` - a file's bytes, un-gzipped when it starts with the gzip
  magic bytes (whatever its name).
* :func:`detect_encoding` / :func:`open_text` / :func:`text_lines` - the text opener of every literature
  reader: the encoding from a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); else a binary file
  (a known signature, or a NUL byte outside a UTF-16 pattern: :mod:`serendip.core.binary`) is a
  ParseError saying ``not a text file``, never advice to try ``--encoding``; else UTF-8 when
  the file is valid UTF-8 holding non-ASCII text (a ``--encoding`` meant for the legacy files of an
  ingest does not garble its UTF-8 ones), else the user's ``--encoding``, else UTF-16 without a mark
  when the NUL bytes show it, else UTF-8 when the first 64 KiB
  (:data:`SAMPLE_BYTES`) are UTF-8 (or mostly: a few bad bytes among valid multi-byte characters),
  else a legacy encoding chosen by charset-normalizer on that sample. Decoding never stores a
  replacement character: a byte the encoding cannot decode becomes a lone surrogate (U+DC00 + byte)
  that :func:`bad_bytes` finds.
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from serendip.core.binary import GZIP_MAGIC, binary_reason, is_gzipped, utf16_by_nuls
from serendip.errors import ConfigError, ParseError

__all__ = ["SAMPLE_BYTES", "TextEncoding", "bad_bytes", "bad_text_reason", "bom_encoding", "check_encoding",
           "detect_encoding", "open_binary", "open_text", "read_sample", "read_text",
           "read_text_lenient", "refuse_binary", "sha256_file", "text_lines"]

_HASHES: dict[tuple[str, int, int, int], str] = {}
_DETECTED: dict[tuple, "TextEncoding"] = {}
_HASH_LOCK = threading.Lock()
_CHUNK = 1 << 20  # 1 MiB


def sha256_file(path: str | Path) -> str:
    """Hex sha256 (64 lower-case characters) of a file's bytes, read in 1 MiB chunks.

    The digest is kept per (resolved path, size, modification time in ns, inode), so a file hashed
    twice in one process is read once, and an edited or replaced file is hashed again.

    Raises
    ------
    OSError
        The file cannot be read (missing, a folder, no permission).
    """
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, st.st_ino)
    with _HASH_LOCK:
        hit = _HASHES.get(key)
    if hit is not None:
        return hit
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASHES[key] = value
    return value


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None


def read_text(path: str | Path) -> str:
    """The whole file as text: UTF-8, with an optional byte-order mark (removed).

    Raises
    ------
    ParseError
        The file cannot be read, or is not UTF-8 (the message gives the byte offset).
    """
    try:
        return _read_bytes(Path(path)).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None


#: how many leading (un-gzipped) bytes :func:`detect_encoding` looks at
SAMPLE_BYTES = 64 * 1024
#: the decoding error handler: each undecodable byte b becomes the lone surrogate U+DC00 + b (as
#: ``surrogateescape`` does for b >= 0x80, but also for the bytes of a broken UTF-16 unit)
BAD_BYTES_HANDLER = "serendip-bad-bytes"
_BAD_BYTE = re.compile("[\udc00-\udcff]")
#: byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: the legacy encoding preferred when charset-normalizer finds it as plausible as its first choice
#: (Western Excel, EndNote and Reference Manager exports; it decodes Latin-1 text the same way)
PREFERRED_LEGACY = "cp1252"
_ENCODING_HINT = "e.g. --encoding cp1252, --encoding latin-1 or --encoding utf-16"


def _escape_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    return "".join(chr(0xDC00 + b) for b in bad), exc.end


codecs.register_error(BAD_BYTES_HANDLER, _escape_bad_bytes)

try:  # ISA-L's gzip decoder is about 3x faster than zlib's
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - isal is a dependency; plain gzip still works
    _gzip = gzip


@dataclass(frozen=True)
class TextEncoding:
    """The encoding a text file is read with, and how it was chosen.

    Attributes
    ----------
    name : str
        A Python codec name (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"utf-16-le"``, ``"cp1252"``).
    how : str
        ``"byte-order mark"``, ``"NUL pattern"``, ``"--encoding"``, ``"UTF-8 check"`` or
        ``"detected by charset-normalizer"``.
    """

    name: str
    how: str

    @property
    def label(self) -> str:
        """The encoding's name for people: ``"utf-8"`` also for ``"utf-8-sig"``."""
        return self.name.removesuffix("-sig")

    def describe(self) -> str:
        """E.g. ``"cp1252 (detected by charset-normalizer)"``, for the ingest report."""
        return f"{self.label} ({self.how})"


def check_encoding(name: str) -> str:
    """The Python codec name of the text encoding ``name`` (``"Windows-1252"`` -> ``"cp1252"``).

    Raises
    ------
    ConfigError
        ``name`` is not a text encoding Python knows.
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ConfigError(f"unknown text encoding {name!r} (--encoding); {_ENCODING_HINT}")
    return info.name


def open_binary(path: str | Path) -> IO[bytes]:
    """``path`` opened for reading bytes, un-gzipped when it starts with the gzip magic bytes.

    Raises
    ------
    ParseError
        The file cannot be opened.
    """
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        return _gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None


def read_sample(path: str | Path, n: int = SAMPLE_BYTES) -> bytes:
    """The first ``n`` bytes of ``path``, un-gzipped.

    Raises
    ------
    ParseError
        The file cannot be read, or its gzip stream is damaged before ``n`` bytes.
    """
    with open_binary(path) as fh:
        try:
            return fh.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"damaged gzip stream: {exc}", file=str(path)) from None


def bom_encoding(head: bytes) -> str | None:
    """The codec named by the byte-order mark ``head`` starts with (``"utf-8-sig"``, ``"utf-16"``,
    ``"utf-32"``), or None."""
    return next((name for bom, name in _BOMS if head.startswith(bom)), None)


def _strict_utf8_non_ascii(sample: bytes) -> bool:
    """Whether ``sample`` decodes as UTF-8 with no error (a sequence cut at its end allowed) and
    holds at least one non-ASCII character."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return not text.isascii()


def _mostly_utf8(sample: bytes) -> bool:
    """Whether ``sample`` is UTF-8, allowing a few bad bytes among more valid multi-byte characters
    (a damaged UTF-8 file, not a legacy one). A sequence cut at the end of the sample is fine."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        pass
    text = sample.decode("utf-8", errors=BAD_BYTES_HANDLER)
    bad = len(_BAD_BYTE.findall(text))
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return good > 0 and good >= bad


def _legacy_encoding(sample: bytes) -> str | None:
    """charset-normalizer's choice for ``sample``, :data:`PREFERRED_LEGACY` when it is about as
    plausible (its mess ratio within 0.02 of the best); None when nothing fits."""
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.chaos <= best.chaos + 0.02 and PREFERRED_LEGACY in match.could_be_from_charset:
            return PREFERRED_LEGACY
    return check_encoding(best.encoding)


def detect_encoding(path: str | Path, encoding: str | TextEncoding | None = None,
                    sample: bytes | None = None) -> TextEncoding:
    """The encoding to read the text file ``path`` with (see the module docstring for the order).

    The answer is kept per file version (resolved path, size, mtime, inode) and ``encoding`` in this
    process, so the sniffer, ingest's report and the reader read the sample and decide once.

    Parameters
    ----------
    path : str or Path
        The file (plain or gzip-compressed).
    encoding : str, TextEncoding or None
        The user's ``--encoding`` (used unless a byte-order mark says otherwise or the file is valid
        UTF-8 holding non-ASCII text), or an encoding
        already detected (returned as is), or None to detect.
    sample : bytes, optional
        The first :data:`SAMPLE_BYTES` un-gzipped bytes, when already read.

    Raises
    ------
    ConfigError
        ``encoding`` is not a text encoding.
    ParseError
        The file cannot be read, or no encoding fits it (the message suggests ``--encoding``).
    """
    if isinstance(encoding, TextEncoding):
        return encoding
    given = check_encoding(encoding) if encoding else None
    key = None
    if sample is None:  # the sniffer, ingest and the reader ask in turn: detect once per file version
        try:
            st = Path(path).stat()
            key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino, given)
        except OSError:
            pass
        with _HASH_LOCK:
            hit = _DETECTED.get(key) if key else None
        if hit is not None:
            return hit
        sample = read_sample(path)
    found = _detect(path, given, sample)
    if key is not None:
        with _HASH_LOCK:
            if len(_DETECTED) >= 4096:
                _DETECTED.clear()
            _DETECTED[key] = found
    return found


def refuse_binary(path: str | Path, sample: bytes | None = None, given: str | None = None) -> None:
    """Raise when ``path`` is a binary file (:func:`serendip.core.binary.binary_reason` on its first
    :data:`SAMPLE_BYTES`, un-gzipped; ``sample`` when already read); a file with a byte-order mark, or
    read with a UTF-16/32 ``given`` encoding, is text.

    Raises
    ------
    ParseError
        ``"<path>: not a text file: a PNG image; ..."`` or ``"... (binary content: a NUL byte at byte
        N)"`` (``once un-gzipped`` for a gzip file: N counts the un-gzipped bytes); also when the file
        cannot be read.
    """
    sample = read_sample(path) if sample is None else sample
    if bom_encoding(sample) or (given or "").startswith(("utf-16", "utf-32")):
        return
    if (why := binary_reason(sample)) is not None:
        if is_gzipped(path):
            why = why.replace("not a text file", "not a text file once un-gzipped", 1)
        raise ParseError(f"{why}; ingest reads text exports (RIS, BibTeX, CSV, MEDLINE, PubMed XML ...)",
                         file=str(path))


def _detect(path: str | Path, given: str | None, sample: bytes) -> TextEncoding:
    if (name := bom_encoding(sample)) is not None:
        return TextEncoding(name, "byte-order mark")
    refuse_binary(path, sample, given)
    if given is not None and given not in ("utf-8", "utf-8-sig") and _strict_utf8_non_ascii(sample):
        # valid UTF-8 holding non-ASCII text is UTF-8 (legacy text almost never decodes so): a
        # --encoding meant for the legacy files of an ingest must not garble its UTF-8 ones
        return TextEncoding("utf-8", "valid UTF-8, --encoding not applied")
    if given is not None:
        return TextEncoding("utf-8-sig" if given == "utf-8" else given, "--encoding")
    if (utf16 := utf16_by_nuls(sample)) is not None:
        return TextEncoding(utf16, "NUL pattern")
    if _mostly_utf8(sample):
        return TextEncoding("utf-8", "UTF-8 check")
    if (legacy := _legacy_encoding(sample)) is not None:
        return TextEncoding(legacy, "detected by charset-normalizer")
    raise ParseError("cannot tell the text encoding (not UTF-8 or UTF-16, and no single-byte encoding "
                     f"fits its first {SAMPLE_BYTES // 1024} KiB); pass the encoding, {_ENCODING_HINT}",
                     file=str(path))


def open_text(path: str | Path, encoding: str | TextEncoding | None = None,
              newline: str | None = None) -> io.TextIOWrapper:
    """``path`` (plain or gzip) as a text stream in its encoding (:func:`detect_encoding`), a
    byte-order mark removed, undecodable bytes kept as lone surrogates (:func:`bad_bytes`).

    ``newline`` is :func:`open`'s (None: universal newlines; ``""`` for the :mod:`csv` module).

    Raises
    ------
    ConfigError, ParseError
        As :func:`detect_encoding`.
    """
    enc = detect_encoding(path, encoding)
    return io.TextIOWrapper(open_binary(path), encoding=enc.name, errors=BAD_BYTES_HANDLER,
                            newline=newline)


def text_lines(path: str | Path, encoding: str | TextEncoding | None = None) -> Iterator[str]:
    """Each line of ``path`` (:func:`open_text`, universal newlines, ends kept), streamed.

    Raises
    ------
    ConfigError, ParseError
        As :func:`detect_encoding`; also a gzip stream damaged further on.
    """
    with open_text(path, encoding) as fh:
        try:
            yield from fh
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"damaged gzip stream ({exc}); the records before it were read",
                             file=str(path)) from None


def read_text_lenient(path: str | Path, encoding: str | TextEncoding | None = None) -> str:
    """The whole file (plain or gzip) as text in its encoding (:func:`detect_encoding`; UTF-8 with
    an optional byte-order mark for most files); bytes the encoding cannot decode become lone
    surrogates so that a reader can report the lines holding them (:func:`bad_bytes`) and keep the
    rest.

    Raises
    ------
    ConfigError, ParseError
        As :func:`detect_encoding`, or a damaged gzip stream.
    """
    enc = detect_encoding(path, encoding)
    with open_binary(path) as fh:
        try:
            data = fh.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"damaged gzip stream: {exc}", file=str(path)) from None
    return data.decode(enc.name, errors=BAD_BYTES_HANDLER)


def bad_bytes(text: str) -> str | None:
    """A description of the first undecodable byte in ``text`` decoded by :func:`read_text_lenient`
    or :func:`open_text`, e.g. ``"byte 0xE9"``, or None when the text is clean."""
    m = _BAD_BYTE.search(text)
    return None if m is None else f"byte 0x{ord(m.group()) - 0xDC00:02X}"


def bad_text_reason(text: str, encoding: str | TextEncoding) -> str | None:
    """Why a record holding ``text`` cannot be kept, or None when the text is clean: e.g. ``"not
    utf-8 text (byte 0xE9); if the file is in another encoding, pass it: e.g. --encoding cp1252 ..."``."""
    bad = bad_bytes(text)
    if bad is None:
        return None
    name = encoding.label if isinstance(encoding, TextEncoding) else encoding
    return f"not {name} text ({bad}); if the file is in another encoding, pass it: {_ENCODING_HINT}"
