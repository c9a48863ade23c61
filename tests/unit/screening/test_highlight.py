"""Keyword highlighting (:mod:`serendip.screening.highlight`): whole-word, case-insensitive matches, a
trailing * as a word prefix, phrases across spaces and hyphens, overlaps resolved, bad keywords refused."""
from __future__ import annotations

import unicodedata

import pytest

from serendip.errors import ConfigError
from serendip.screening.highlight import Highlight, check_keyword, find_highlights


def _spans(text, keywords):
    return [(text[h.start:h.end], h.term, h.kind) for h in find_highlights(text, keywords, "abstract")]


def test_whole_words_case_insensitive():
    text = "Rats, a rat and the rate of pirate rat-bites."
    assert _spans(text, {"rat": "exclude"}) == [("rat", "rat", "exclude"), ("rat", "rat", "exclude")]
    assert _spans(text, {"RATS": "exclude"}) == [("Rats", "RATS", "exclude")]


def test_a_trailing_star_matches_word_endings():
    text = "Randomised, randomized and random allocation; not arandom."
    assert [s for s, _, _ in _spans(text, {"random*": "include"})] == ["Randomised", "randomized", "random"]


def test_a_phrase_matches_across_spaces_and_hyphens_and_wins_over_a_shorter_overlap():
    text = "A double-blind, double  blind trial; blinded? blind."
    got = _spans(text, {"blind": "include", "double blind": "include"})
    assert got == [("double-blind", "double blind", "include"), ("double  blind", "double blind", "include"),
                   ("blind", "blind", "include")]


def test_offsets_and_kinds():
    text = "Aspirin in mice"
    got = find_highlights(text, {"aspirin": "include", "mice": "exclude"}, "title")
    assert got == [Highlight("title", 0, 7, "aspirin", "include"), Highlight("title", 11, 15, "mice", "exclude")]
    assert got[0].to_dict() == {"field": "title", "start": 0, "end": 7, "term": "aspirin", "kind": "include"}
    assert find_highlights(None, {"x": "include"}, "title") == [] and find_highlights("", {}, "title") == []


def test_regex_characters_are_literal():
    assert _spans("IL-6 (interleukin), IL 6 and C++ a.b", {"il-6": "include", "c++": "include"}) == [
        ("IL-6", "il-6", "include"), ("IL 6", "il-6", "include"), ("C++", "c++", "include")]
    assert _spans("a.b axb", {"a.b": "include"}) == [("a.b", "a.b", "include")]


@pytest.mark.parametrize("term, why", [("", "empty"), ("   ", "empty"), ("*", "no letter or digit"),
                                       ("ran*dom", "only end a word"), ("a\nb", "line break"),
                                       ("---", "no letter or digit"), ("x" * 201, "over 200")])
def test_bad_keywords_are_refused(term, why):
    with pytest.raises(ConfigError, match=why):
        check_keyword(term)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ConfigError, match="kind must be one of include, exclude"):
        find_highlights("text", {"text": "maybe"}, "title")


def test_on_the_same_span_an_exact_term_then_an_exclude_keyword_wins():
    assert _spans("Rats were dosed.", {"rat*": "include", "rats": "exclude"}) == [("Rats", "rats", "exclude")]
    assert _spans("Rats were dosed.", {"rats": "include", "rat*": "exclude"}) == [("Rats", "rats", "include")]
    assert _spans("Mice.", {"mice": "include", "MICE": "exclude"}) == [("Mice", "MICE", "exclude")]


def test_runs_of_spaces_in_a_keyword_count_as_one():
    assert check_keyword("  double \t  blind ") == "double blind"


def test_ligatures_full_width_letters_and_combining_accents_match_with_offsets_into_the_stored_text():
    """NFKC comparison: "\ufb01sh" (a PDF's fi ligature) is "fish", a full-width "\uff21" is "A", "cafe" +
    U+0301 is "café"; each highlight spans the original characters."""
    text = "The \ufb01sh oil trial: cafe\u0301 drinkers, \uff21SPIRIN dose; fish"
    got = find_highlights(text, {"fish": "include", "café": "include", "aspirin": "exclude"}, "title")
    assert [(text[h.start:h.end], h.term, h.kind) for h in got] == [
        ("\ufb01sh", "fish", "include"), ("cafe\u0301", "café", "include"), ("\uff21SPIRIN", "aspirin", "exclude"),
        ("fish", "fish", "include")]
    assert (got[0].start, got[0].end) == (4, 7)          # 3 stored characters, 4 compared
    hit = find_highlights("o\ufb03ce", {"office": "include"}, "t")[0]   # a ligature of three letters
    assert (hit.start, hit.end) == (0, 4)
    assert find_highlights("de\ufb01ne", {"fine": "include"}, "t") == []      # still whole words only


def test_unicode_hyphens_dashes_and_invisible_characters_in_the_text():
    """PubMed and PDF text: U+2010 / U+2011 hyphens, an en dash, a minus sign, a soft hyphen, a zero-width
    space; each highlight still slices the stored text."""
    text = "A double\u2010blind, COVID\u201119 trial (5\u221210 mg); ran\u00addomised \u200bplacebo\u2013controlled."
    keywords = {"double blind": "include", "covid-19": "include", "randomised": "include",
                "placebo controlled": "include", "5-10": "exclude"}
    got = find_highlights(text, keywords, "abstract")
    assert [text[h.start:h.end] for h in got] == ["double\u2010blind", "COVID\u201119", "5\u221210",
                                                   "ran\u00addomised", "placebo\u2013controlled"]


def test_decomposed_hangul_and_two_part_indic_vowels_match_their_composed_keywords():
    for text, term in (("\u1100\u1161\u11a8 \uc5f0\uad6c", "\uac01"), ("\u0995\u09c7\u09be", "\u0995\u09cb")):
        got = find_highlights(text, {term: "include"}, "title")
        assert len(got) == 1 and unicodedata.normalize("NFC", text[got[0].start:got[0].end]) == term
