"""The NFKC view of a text with offsets into the original (serendip.core.fold), and the dictionary tagger
matching full-width forms, ligatures and squared units through it, its spans exact in the original."""
from __future__ import annotations

from serendip.core.fold import fold
from serendip.kg.ner_eval import DictionaryTagger
from serendip.kg.pubtator import Document, Mention


def test_fold_maps_every_folded_character_back_to_its_original_cluster():
    f = fold("ﬁ ㎎ ＰＤ e\u0301 x")  # ligature (1 -> 2), squared mg (1 -> 2), full-width (1 -> 1), e + accent (2 -> 1)
    assert f.text == "fi mg PD \u00e9 x" and not f.identity
    assert f.starts == (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 9, 10)
    assert f.ends == (1, 1, 2, 3, 3, 4, 5, 6, 7, 9, 10, 11)
    assert f.original(6, 8) == (4, 6)        # "PD" -> "ＰＤ"
    assert f.original(0, 2) == (0, 1)        # "fi" -> "ﬁ"
    assert f.original(9, 10) == (7, 9)       # "é" -> "e" + U+0301
    assert f.original(0, 1) is None and f.original(4, 5) is None  # half of "ﬁ", half of "㎎"
    assert fold("café").identity and fold("café").original(1, 4) == (1, 4)  # NFKC already: offsets as they are
    assert fold("plain ASCII") == type(f)("plain ASCII", (), (), identity=True)
    assert fold("").text == "" and fold("").original(0, 0) == (0, 0)


def _tagger():
    text = "PD after cisplatin; mg doses; fibrosis."
    marks = [("PD", "Disease"), ("cisplatin", "Chemical"), ("fibrosis", "Disease")]
    doc = Document("1", text, "")
    for surface, typ in marks:
        s = text.index(surface)
        doc.mentions.append(Mention(s, s + len(surface), surface, typ, ("D0",)))
    doc.mentions.append(Mention(0, 0, "ﬁbrosis", "Disease", ("D0",)))  # a lexicon form folded too: "fibrosis"
    return DictionaryTagger([doc])


def test_full_width_forms_are_tagged_with_offsets_into_the_original_text():
    tagger = _tagger()
    text = "ﬁ ㎎ ＰＤ ㎎ ｃｉｓｐｌａｔｉｎ ﬁ; Ｃｉｓｐｌａｔｉｎ, ﬁbrosis and PD."
    got = tagger.tag(text)
    assert got == [(4, 6, "Disease"), (9, 18, "Chemical"), (22, 31, "Chemical"), (33, 40, "Disease"),
                   (45, 47, "Disease")]
    assert [text[s:e] for s, e, _ in got] == ["ＰＤ", "ｃｉｓｐｌａｔｉｎ", "Ｃｉｓｐｌａｔｉｎ", "ﬁbrosis", "PD"]
    # an ideographic space and a full-width word after a decomposed accent keep exact offsets
    text = "e\u0301\u3000ＰＤ\u3000"
    assert tagger.tag(text) == [(3, 5, "Disease")] and text[3:5] == "ＰＤ"
    # a match only part of one original character is not taken ("PD" never inside a longer letter run)
    assert tagger.tag("ﬁPD ½PD") == [(5, 7, "Disease")]


def test_characters_nfkc_composes_are_one_cluster():
    """A decomposed Hangul syllable (three jamo of combining class 0) and a Bengali two-part vowel sign fold
    to their composed forms, each mapping back to all the characters it came from."""
    hangul = fold("\u1100\u1161\u11a8 x")
    assert hangul.text == "\uac01 x" and hangul.original(0, 1) == (0, 3) and hangul.original(2, 3) == (4, 5)
    bengali = fold("\u0995\u09c7\u09be")
    assert bengali.text == "\u0995\u09cb" and bengali.original(1, 2) == (1, 3)
