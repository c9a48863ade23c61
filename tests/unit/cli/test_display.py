"""User text printed for display only: controls, bidi formatting characters, line separators and lone
surrogates shown as visible escapes (serendip.cli.display), in plain lines, labelled messages, table
cells and JSON lines (the JSON value read back unchanged)."""
from __future__ import annotations

import json

from serendip.cli.common import cells, labelled, lines_cell
from serendip.cli.display import HARMLESS_FORMAT, json_line, needs_escape, visible

HOSTILE = "abc\u202efed \x1b[31mred\x07 \x7f\x9b\x85 \u2028\u2029 \u2066x\u2069 \u200e\u200f\u061c \udc80"


def test_controls_and_bidi_characters_are_shown_as_escapes():
    assert visible(HOSTILE) == ("abc\\u202efed \\x1b[31mred\\x07 \\x7f\\x9b\\x85 \\u2028\\u2029 \\u2066x\\u2069 "
                                "\\u200e\\u200f\\u061c \\udc80")
    assert visible("tab\there\nnext", keep="\n") == "tab\\x09here\nnext"
    # ordinary text of any script, emoji, accents, a backslash and a no-break space as they are
    plain = "Aspirin [b] 阿司匹林 é e\u0301 😀 Ｐｄ C:\\x a\u00a0b"
    assert visible(plain) == plain and visible(3) == "3"
    assert [c for c in map(chr, range(0x300)) if needs_escape(c)] == [
        *map(chr, range(0x20)), *map(chr, range(0x7f, 0xa0))]


def test_json_lines_escape_the_same_characters_and_read_back_unchanged():
    line = json_line({"name": HOSTILE, "n": 1})
    assert line == ('{"name": "abc\\u202efed \\u001b[31mred\\u0007 \\u007f\\u009b\\u0085 \\u2028\\u2029 '
                    '\\u2066x\\u2069 \\u200e\\u200f\\u061c \\udc80", "n": 1}')
    assert json.loads(line) == {"name": HOSTILE, "n": 1}
    assert json_line({"t": "阿司匹林 é"}) == '{"t": "阿司匹林 é"}'


def test_labelled_messages_and_table_cells_escape_them_too():
    assert labelled("[red]error:[/]", "no entity 'a\u202eb'\nsecond line\x1b") == \
        "[red]error:[/] no entity 'a\\u202eb'\nsecond line\\x1b"
    # a cell holds one value on one line: a newline or tab inside it is escaped too
    assert [c.plain for c in cells("t\u202eitle\x07", 2, "weird\nname.ris", "a\tb")] == [
        "t\\u202eitle\\x07", "2", "weird\\x0aname.ris", "a\\x09b"]
    # a cell listing several parts keeps the joining newlines, escapes newlines inside each part
    listed = lines_cell(["ctl.csv", "weird\nname.ris", "x\u200by.ris"])
    assert listed.plain == "ctl.csv\nweird\\x0aname.ris\nx\\u200by.ris" and listed.plain.count("\n") == 2
    assert cells(listed)[0] is listed  # a ready Text passes through cells() as it is


def test_format_characters_are_escaped_but_soft_hyphen_and_number_signs_stay():
    hidden = "pass\u200bword \u200c\u200d \u2060\u2061 \ufeffBOM \ufff9 \u180e"
    assert visible(hidden) == ("pass\\u200bword \\u200c\\u200d \\u2060\\u2061 \\ufeffBOM \\ufff9 "
                               "\\u180e")
    # tag characters (a hidden ASCII message), the unassigned ones of the block included
    assert visible("ok\U000e0001\U000e0068\U000e0069\U000e007f\U000e0000\U000e0002") == (
        "ok\\U000e0001\\U000e0068\\U000e0069\\U000e007f\\U000e0000\\U000e0002")
    kept = "co\u00adoperation \u0600\u0661\u0662 \u06dd \U000110bd"
    assert visible(kept) == kept
    assert HARMLESS_FORMAT == frozenset("\u00ad\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890"
                                        "\u0891\u08e2\U000110bd\U000110cd")
    # every other format character (Cf) is escaped, and the whole tag block; nothing else new
    import sys
    import unicodedata
    escaped = {c for c in map(chr, range(sys.maxunicode + 1)) if needs_escape(c)}
    expected = {c for c in map(chr, range(sys.maxunicode + 1))
                if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")} - HARMLESS_FORMAT
    assert escaped == expected | set(map(chr, range(0xE0000, 0xE0080)))
    # JSON: a character beyond U+FFFF as its surrogate pair, read back unchanged
    line = json_line({"t": "a\u200db\U000e0041"})
    assert line == '{"t": "a\\u200db\\udb40\\udc41"}' and json.loads(line) == {"t": "a\u200db\U000e0041"}
