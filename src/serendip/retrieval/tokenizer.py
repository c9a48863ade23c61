"""Lexical tokenizer for BM25: Unicode-aware, keeps Greek letters, digits and hyphen compounds, bigrams CJK.

Rules, in order (see case C19 in ``shared/cases``):

1. Unicode NFKC normalisation, then ``str.casefold`` ("TNF-α" -> "tnf-α", "µ" -> "μ", "ß" -> "ss").
2. Word runs of Unicode letters and digits (underscore excluded; accented Latin, Greek, Cyrillic... all
   count). A hyphen (U+002D, U+2010, U+2011) between two word runs joins them into a compound, which is
   kept whole **and** split into its parts: "tnf-α" -> "tnf-α", "tnf", "α"; "il-6" -> "il-6", "il", "6".
   A possessive "'s" after a word is dropped (as Lucene's ``EnglishPossessiveFilter``).
3. Single-character tokens are kept ("α", "6"); the scikit-learn / bm25s pattern ``\\b\\w\\w+\\b`` drops them.
4. Runs of CJK characters (Han, Hiragana, Katakana, Hangul) have no spaces, so they become overlapping
   character bigrams ("白细胞" -> "白细", "细胞"); a lone CJK character is a unigram.
5. English stopwords are removed: Lucene's ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`` (33 words, the
   list Anserini/Pyserini BM25 baselines use and bm25s' ``stopwords="en"``). Greek letters and digits are
   never stopwords; a hyphen compound is never removed as a whole.
6. Tokens written only in Latin script (ASCII or Latin-1/Extended letters, digits, hyphens) are stemmed
   with the Snowball English stemmer (Porter2; PyStemmer). Greek, CJK and other scripts are left as is.

Every raw word run is cached with its output tokens, so a repeated word costs one dict lookup.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

__all__ = ["ENGLISH_STOPWORDS", "Tokenizer", "tokenize", "get_tokenizer"]

#: Lucene ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`` (identical to bm25s ``STOPWORDS_EN``).
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)

# CJK ranges: Hangul Jamo, CJK punctuation-free blocks (Hiragana, Katakana, Katakana ext., Hangul compat.
# Jamo, CJK Ext. A, CJK Unified, Hangul syllables, CJK compatibility ideographs, CJK Ext. B-F (SIP)).
_CJK = (
    "\u1100-\u11ff\u3040-\u309f\u30a0-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff"
)
_WORD = rf"[^\W_{_CJK}]+"
_HYPHENS = "-\u2010\u2011"
# group 1: a CJK run; group 2: a word or hyphen compound (a trailing possessive 's is consumed, not kept).
_TOKEN_RE = re.compile(
    rf"([{_CJK}]+)|({_WORD}(?:[{_HYPHENS}]{_WORD})*)(?:['\u2019]s\b)?"
)
_HYPHEN_SPLIT_RE = re.compile(rf"[{_HYPHENS}]")
_MAX_CACHE = 2_000_000


def _is_latin(token: str) -> bool:
    """True if every letter of ``token`` is Latin script (ASCII, Latin-1 Supplement, Latin Extended)."""
    if token.isascii():
        return True
    for ch in token:
        o = ord(ch)
        if o < 0x250 or 0x1E00 <= o <= 0x1EFF:
            continue
        if ch.isdigit():
            continue
        return False
    return True


class Tokenizer:
    """A reusable tokenizer (see the module docstring for the rules).

    Parameters
    ----------
    stem : bool
        Apply the Snowball English stemmer (PyStemmer, ``Stemmer.Stemmer("english")``) to Latin-script
        tokens.
    stopwords : Iterable[str] or None
        Words removed after case folding (default :data:`ENGLISH_STOPWORDS`); ``None`` or empty keeps all.

    Notes
    -----
    Instances are not thread-safe for writes to the cache, but a race only costs a recomputation.
    """

    def __init__(self, stem: bool = True, stopwords: Iterable[str] | None = ENGLISH_STOPWORDS):
        self.stem = bool(stem)
        self.stopwords = frozenset(stopwords or ())
        self._stemmer = None
        if self.stem:
            import Stemmer  # PyStemmer; small C extension, cheap to import

            self._stemmer = Stemmer.Stemmer("english")
        self._cache: dict[str, tuple[str, ...]] = {}

    # -- configuration, saved next to an index so a loaded index tokenizes queries the same way ----------
    def config(self) -> dict:
        """JSON-serialisable settings: ``{"stem": bool, "stopwords": sorted list}``."""
        return {"stem": self.stem, "stopwords": sorted(self.stopwords)}

    @classmethod
    def from_config(cls, cfg: dict) -> "Tokenizer":
        """Inverse of :meth:`config`."""
        return cls(stem=bool(cfg.get("stem", True)), stopwords=cfg.get("stopwords", ENGLISH_STOPWORDS))

    # -- tokenization -----------------------------------------------------------------------------------
    def _stem(self, token: str) -> str:
        if self._stemmer is not None and _is_latin(token):
            return self._stemmer.stemWord(token)
        return token

    def _word(self, word: str) -> tuple[str, ...]:
        """Tokens of one word run or hyphen compound (already NFKC + casefolded)."""
        if "-" in word or "\u2010" in word or "\u2011" in word:
            parts = [p for p in _HYPHEN_SPLIT_RE.split(word) if p]
            whole = "-".join(parts)
            out = [self._stem(whole)]
            out.extend(self._stem(p) for p in parts if p not in self.stopwords)
            return tuple(out)
        if word in self.stopwords:
            return ()
        return (self._stem(word),)

    @staticmethod
    def _cjk(run: str) -> tuple[str, ...]:
        if len(run) == 1:
            return (run,)
        return tuple(run[i:i + 2] for i in range(len(run) - 1))

    def __call__(self, text: str | None) -> list[str]:
        """Tokenize one text.

        Parameters
        ----------
        text : str or None
            Any Unicode text; ``None`` or "" gives ``[]``.

        Returns
        -------
        list of str
            Tokens in text order (a compound's whole form precedes its parts).
        """
        if not text:
            return []
        text = unicodedata.normalize("NFKC", text).casefold()
        cache = self._cache
        out: list[str] = []
        for cjk, word in _TOKEN_RE.findall(text):
            key = cjk or word
            toks = cache.get(key)
            if toks is None:
                toks = self._cjk(cjk) if cjk else self._word(word)
                if len(cache) >= _MAX_CACHE:
                    cache.clear()
                cache[key] = toks
            out.extend(toks)
        return out

    tokenize = __call__

    def tokenize_many(self, texts: Sequence[str | None]) -> list[list[str]]:
        """Tokenize each text; returns one token list per input text, in order."""
        return [self(t) for t in texts]


_DEFAULTS: dict[bool, Tokenizer] = {}


def get_tokenizer(stem: bool = True) -> Tokenizer:
    """The process-wide default :class:`Tokenizer` (Lucene English stopwords), one per ``stem`` value."""
    tok = _DEFAULTS.get(stem)
    if tok is None:
        tok = _DEFAULTS[stem] = Tokenizer(stem=stem)
    return tok


def tokenize(text: str | None, stem: bool = True) -> list[str]:
    """Tokenize ``text`` with the default rules (module docstring); see :class:`Tokenizer`.

    Examples
    --------
    >>> tokenize("TNF-α and IL-6")
    ['tnf-α', 'tnf', 'α', 'il-6', 'il', '6']
    """
    return get_tokenizer(stem)(text)
