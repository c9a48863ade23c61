"""User text printed for display only: controls, bidi formatting characters, line separators and lone
surrogates shown as visible escapes (serendip.cli.display), in plain lines, labelled messages, table
cells and JSON lines (the JSON value read back unchanged)."""
from __future__ import annotations

import json

from serendip.cli.common import cells, labelled
from serendip.cli.display import json_line, needs_escape, visible

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
    assert [c.plain for c in cells("t\u202eitle\x07", 2, "a.ris\nb.ris")] == ["t\\u202eitle\\x07", "2",
                                                                           "a.ris\nb.ris"]
