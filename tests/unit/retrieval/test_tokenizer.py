"""Tokenizer rules (module docstring of serendip.retrieval.tokenizer; case C19)."""
from __future__ import annotations

import time

from serendip.retrieval.tokenizer import ENGLISH_STOPWORDS, Tokenizer, tokenize


def test_hyphen_compounds_kept_whole_and_split():
    assert tokenize("TNF-α") == ["tnf-α", "tnf", "α"]
    assert tokenize("IL-6") == ["il-6", "il", "6"]
    assert tokenize("β-catenin", stem=False) == ["β-catenin", "β", "catenin"]


def test_single_characters_greek_and_digits_kept():
    toks = tokenize("α β 6 x")
    assert toks == ["α", "β", "6", "x"]
    # the digit and Greek letter survive even though 'a'/'s'-style single letters may be stopwords
    assert "6" in tokenize("IL 6") and "γ" in tokenize("interferon γ")


def test_nfkc_and_casefold():
    # U+00B5 MICRO SIGN -> U+03BC GREEK SMALL LETTER MU; fullwidth letters -> ASCII; ß -> ss
    assert tokenize("5 µg", stem=False) == ["5", "μg"]
    assert tokenize("ＴＮＦ", stem=False) == ["tnf"]
    assert tokenize("Straße", stem=False) == ["strasse"]
    assert tokenize("Müller") == ["müller"]


def test_unicode_hyphen_variants_join_compounds():
    assert tokenize("IL\u20106", stem=False) == ["il-6", "il", "6"]
    assert tokenize("IL\u20116", stem=False) == ["il-6", "il", "6"]


def test_cjk_bigrams_and_unigram():
    assert tokenize("白细胞介素") == ["白细", "细胞", "胞介", "介素"]
    assert tokenize("日") == ["日"]
    # digits break a CJK run; Latin next to CJK is its own token
    assert tokenize("介素6在") == ["介素", "6", "在"]
    assert tokenize("テスト") == ["テス", "スト"]
    assert tokenize("한국어") == ["한국", "국어"]


def test_stopwords_removed_but_not_inside_compounds():
    toks = tokenize("the effect of a drug on state-of-the-art care", stem=False)
    assert "the" not in toks and "of" not in toks and "a" not in toks and "on" not in toks
    assert "state-of-the-art" in toks and "state" in toks and "art" in toks
    assert "the" in ENGLISH_STOPWORDS and len(ENGLISH_STOPWORDS) == 33


def test_stemming_latin_only():
    assert tokenize("running studies") == ["run", "studi"]
    assert tokenize("running studies", stem=False) == ["running", "studies"]
    # Greek and CJK are never stemmed
    assert tokenize("αβγες") == ["αβγεσ"]  # casefold turns final sigma into σ, no stemming


def test_possessive_dropped_and_underscore_splits():
    assert tokenize("Alzheimer's disease", stem=False) == ["alzheimer", "disease"]
    assert tokenize("snake_case", stem=False) == ["snake", "case"]


def test_empty_and_none():
    assert tokenize("") == [] and tokenize(None) == [] and tokenize("   ...  ") == []


def test_vernacular_word_indexed():
    assert tokenize("eine Pilotstudie") == ["ein", "pilotstudi"]


def test_config_roundtrip_and_custom_stopwords():
    tok = Tokenizer(stem=False, stopwords=["drug"])
    assert tok("the drug") == ["the"]
    tok2 = Tokenizer.from_config(tok.config())
    assert tok2("the drug") == ["the"] and tok2.stem is False


def test_fast_enough():
    # repeated words hit the cache: 20k short texts tokenize well under a few seconds even on a slow CPU
    texts = [f"TNF-α and IL-{i % 50} levels rose in patients with sepsis {i % 7}" for i in range(20000)]
    t0 = time.perf_counter()
    out = Tokenizer().tokenize_many(texts)
    assert len(out) == 20000 and out[0][:3] == ["tnf-α", "tnf", "α"]
    assert time.perf_counter() - t0 < 5.0
