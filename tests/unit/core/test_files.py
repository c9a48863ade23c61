"""The text opener (serendip.core.files): encoding detection, gzip by magic bytes, bad bytes kept
as lone surrogates, and a clear error when the encoding cannot be told."""
from __future__ import annotations

import codecs
import gzip

import pytest

from serendip.core.files import (
    SAMPLE_BYTES,
    TextEncoding,
    bad_bytes,
    bad_text_reason,
    check_encoding,
    detect_encoding,
    open_text,
    read_sample,
    read_text_lenient,
    refuse_binary,
    text_lines,
)
from serendip.errors import ConfigError, ParseError

TEXT = "TI  - Café workers’ sleep – “night shifts” in Zürich\nAU  - Müller, Jürgen\n"


@pytest.mark.parametrize(("data", "name"), [
    (codecs.BOM_UTF8 + TEXT.encode(), "utf-8-sig"),
    (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32"),
    (codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), "utf-32"),
])
def test_byte_order_marks(tmp_path, data, name):
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    assert detect_encoding(path) == TextEncoding(name, "byte-order mark")
    assert read_text_lenient(path) == TEXT
    # a byte-order mark wins over --encoding
    assert detect_encoding(path, "cp1252").name == name


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_by_nul_pattern(tmp_path, codec):
    path = tmp_path / "f.txt"
    path.write_bytes(TEXT.encode(codec))
    assert detect_encoding(path) == TextEncoding(codec, "NUL pattern")
    assert "".join(text_lines(path)) == TEXT


def test_utf8_and_legacy_detection(tmp_path):
    utf8 = tmp_path / "u.txt"
    utf8.write_bytes(TEXT.encode())
    assert detect_encoding(utf8) == TextEncoding("utf-8", "UTF-8 check")
    legacy = tmp_path / "w.txt"
    legacy.write_bytes((TEXT * 3).encode("cp1252"))
    assert detect_encoding(legacy) == TextEncoding("cp1252", "detected by charset-normalizer")
    assert read_text_lenient(legacy) == TEXT * 3
    latin1 = tmp_path / "l.txt"
    latin1.write_bytes(("Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber\n" * 3).encode("latin-1"))
    assert read_text_lenient(latin1) == "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber\n" * 3


def test_mostly_utf8_with_a_stray_byte_stays_utf8(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(TEXT.encode() + b"TI  - caf\xe9\n")
    enc = detect_encoding(path)
    assert enc.name == "utf-8"
    text = read_text_lenient(path, enc)
    assert text.startswith(TEXT) and bad_bytes(text) == "byte 0xE9"
    reason = bad_text_reason(text, enc)
    assert "not utf-8 text (byte 0xE9)" in reason and "--encoding" in reason
    assert "\ufffd" not in text  # never a silent replacement character


def test_given_encoding_and_unknown_names(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(TEXT.encode("cp1252"))
    assert detect_encoding(path, "Windows-1252") == TextEncoding("cp1252", "--encoding")
    assert detect_encoding(path, "latin-1").name == "iso8859-1"
    assert check_encoding("UTF8") == "utf-8"
    for wrong in ("klingon", "base64"):
        with pytest.raises(ConfigError, match="unknown text encoding.*--encoding cp1252"):
            detect_encoding(path, wrong)


def test_gzip_by_magic_bytes_not_name(tmp_path):
    path = tmp_path / "export.txt"  # no .gz suffix
    path.write_bytes(gzip.compress(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")))
    assert detect_encoding(path).name == "utf-16"
    with open_text(path) as fh:
        assert fh.read() == TEXT


def test_damaged_gzip_names_the_file_and_line(tmp_path):
    data = gzip.compress(("TI  - line\n" * 20000).encode())
    path = tmp_path / "cut.ris.gz"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ParseError, match=r"cut\.ris\.gz.*damaged gzip stream"):
        list(text_lines(path))


def test_undeterminable_encoding_says_so(tmp_path):
    path = tmp_path / "odd.ris"
    path.write_bytes(b"TY  - JOUR\nTI  - " + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 1, 2, 3, 4]) * 30 + b"\nER  - \n")
    with pytest.raises(ParseError) as err:
        detect_encoding(path)
    assert "odd.ris" in str(err.value) and "cannot tell the text encoding" in str(err.value)
    assert "--encoding cp1252" in str(err.value)


def test_detection_reads_a_sample_only(tmp_path):
    # legacy bytes after the first 64 KiB do not change the choice (and are not read to choose)
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * (SAMPLE_BYTES + 10) + "é".encode("cp1252"))
    assert len(read_sample(path)) == SAMPLE_BYTES
    enc = detect_encoding(path)
    assert enc.name == "utf-8"
    assert bad_bytes(read_text_lenient(path, enc)) == "byte 0xE9"


def test_given_encoding_does_not_garble_a_valid_utf8_file(tmp_path):
    """``--encoding cp1252`` for a multi-file ingest: a UTF-8 file among them stays UTF-8 (its
    non-ASCII text would otherwise become mojibake, 'CafÃ©'); an ASCII or CP1252 file takes it."""
    from serendip.core.files import detect_encoding, read_text_lenient

    utf8 = tmp_path / "u.ris"
    utf8.write_bytes("TI  - Café study of Müller “quoted”\n".encode())
    legacy = tmp_path / "l.ris"
    legacy.write_bytes("TI  - Café study of Müller\n".encode("cp1252"))
    ascii_ = tmp_path / "a.ris"
    ascii_.write_bytes(b"TI  - Plain\n")
    assert detect_encoding(utf8, "cp1252").name == "utf-8"
    assert read_text_lenient(utf8, "cp1252") == "TI  - Café study of Müller “quoted”\n"
    assert detect_encoding(legacy, "cp1252").name == "cp1252"
    assert read_text_lenient(legacy, "cp1252") == "TI  - Café study of Müller\n"
    assert detect_encoding(ascii_, "cp1252").name == "cp1252"


@pytest.mark.parametrize("data,why", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "a PNG image"),
    (b"PK\x03\x04" + b"\x14\x00" * 50, "a ZIP archive"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"\x00\x01" * 40, "a PDF document"),
    (b"TY  - JOUR\nTI  - x\x00\x17\x9a\x00\x00\x01random" * 20, "a NUL byte at byte 18"),
])
@pytest.mark.parametrize("given", [None, "cp1252"])
def test_binary_files_are_not_text_whatever_the_encoding(tmp_path, data, why, given):
    """A binary file is named as such, never sent to --encoding (a tester's PNG was told to try
    --encoding cp1252); gzip'ed too."""
    for name, payload in (("f.bin", data), ("f.bin.gz", gzip.compress(data))):
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(ParseError, match="not a text file") as err:
            detect_encoding(path, given)
        assert why in str(err.value) and "--encoding" not in str(err.value) and str(path) in str(err.value)
        # the byte offset of a gzip file counts its un-gzipped bytes, and the message says so
        assert ("once un-gzipped" in str(err.value)) == name.endswith(".gz")
        with pytest.raises(ParseError, match="not a text file"):
            refuse_binary(path)  # the same check, for the readers that use no text opener (XML, JSON)


def test_text_files_are_not_refused_as_binary(tmp_path):
    for name, data in (("u.ris", TEXT.encode()), ("w.ris", TEXT.encode("cp1252")),
                       ("b.ris", codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le")),
                       ("n.ris.gz", gzip.compress(TEXT.encode("utf-16-le")))):
        path = tmp_path / name
        path.write_bytes(data)
        assert refuse_binary(path) is None


def test_utf16_text_is_not_binary(tmp_path):
    path = tmp_path / "wos.txt"
    path.write_bytes("FN Clarivate\nPT J\nTI Zinc\nER\n".encode("utf-16-le"))
    assert detect_encoding(path).name == "utf-16-le"
    assert detect_encoding(path, "utf-16-le").name == "utf-16-le"
