"""Normalisation of chemical and disease mentions to MeSH ids: a counted lexicon, abbreviations, fuzzy and
embedding match.

A :class:`Normaliser` is fitted on annotated PubTator documents (e.g. the BC5CDR training set, whose
mentions carry MeSH ids) and maps each mention ``(start, end, text, type)`` of a new document to a MeSH
id, in this order:

1. **abbreviation**: the mention is a short form defined in the same document, ``long form (SF)``
   (Schwartz & Hearst 2003, :mod:`serendip.kg.abbreviations`), and the long form is in the lexicon
   (exact normal form, below): ``PD`` resolves through ``Parkinson's disease``. Tried first because a
   definition in the document beats a training-set majority for an ambiguous short form.
2. **exact**: the mention's normal form (:func:`normal_form`) is in the lexicon for its type, or its
   normal form with the spaces removed is (``anti-hypertensive`` = ``antihypertensive``).
3. **fuzzy**: the lexicon form of the mention's type most similar to the mention's normal form (and, for a
   defined short form, to its long form's) by a rapidfuzz scorer (``ratio``: the normalised Indel
   similarity, ``token_sort_ratio``, ``token_set_ratio`` or ``WRatio``; 0-100), accepted at
   ``score >= threshold``; forms shorter than ``min_fuzzy_chars`` characters are not fuzzy-matched
   (a 2- or 3-letter form is within one edit of many others). The scorer and thresholds are chosen on
   development data by ``benchmarks/kg_normalise.py``; the defaults, :data:`TUNED_SCORER` and
   :data:`TUNED_THRESHOLDS`, are its choice on BC5CDR.
4. **embedding** (only when the normaliser is given embedding thresholds): the lexicon form of the
   mention's type nearest to the mention (its long form for a defined short form) by the cosine of
   sentence embeddings, accepted at or above the type's threshold (:mod:`serendip.kg.normalise_embed`);
5. **unresolved**: none of the above; the mention is returned with ``mesh_id=None``, never dropped.

Lexicon: per entity type, normal form -> MeSH id -> count of training mentions. A form seen with several
ids (ambiguous) keeps them all counted and resolves to the most frequent (ties: the first seen). A
composite mention ``D1|D2`` ("renal and hepatic failure") is one entry with the id ``"D1|D2"`` (as
PubTator writes it); its individual concept texts (PubTator's 7th column) are entries of their own ids.
Mentions annotated ``-1`` (no MeSH id) add nothing. Records of a workspace carry MeSH descriptor names,
and from PubMed XML their UIs too (:attr:`serendip.literature.record.MeshHeading.ui`); they are not added
here: a heading does not say whether its descriptor is a chemical or a disease (that is the MeSH tree
number, which no record and no mirror file holds), and nearly every form the default dictionary tagger
finds is in this lexicon already. :meth:`Lexicon.add` takes entries from any source that carries ids.

Normal form (:func:`normal_form`), each rule in order:

* Unicode NFKC (compatibility forms folded: full-width letters, ligatures, superscript digits);
* every Unicode hyphen or dash (U+2010-2015, U+2212 minus) -> ``-``;
* a possessive ``'s`` / ``’s`` at the end of a word removed (``Parkinson's disease`` = ``Parkinson
  disease``, MeSH's own spelling);
* ``-`` -> space (``alpha-methyldopa`` = ``alpha methyldopa``); white space runs -> one space, stripped;
* a form of at most :data:`CASE_KEPT_MAX` (3) characters stops here, its case kept: short forms are
  abbreviations and symbols whose case carries the meaning (``Mg`` magnesium, ``mg`` milligram; ``NO``
  nitric oxide, ``no``; ``ALL`` the leukaemia, ``all``; ``P`` phosphorus, ``p``). The default, 3, was
  chosen on the BC5CDR development set by ``benchmarks/kg_normalise.py`` (lexicon from train, mentions
  from the train dictionary tagger sharing the rule; micro concept F1 0.729 with no form kept, 0.752
  with 2, 0.753 with 3 or 4, 0.753 with 5: the smallest of the best); it matters little for gold
  mentions, which are entities already, but a tagger that matched case-insensitively would find
  ``mg``, ``p`` and ``be`` too (the dictionary tagger, :class:`serendip.kg.ner_eval.DictionaryTagger`,
  matches these short forms with their case);
* case folding (``str.casefold``);
* plural of the last word stripped (the head noun of an English noun phrase): ``-ies`` -> ``-y`` (word
  of 5+ characters), else a final ``s`` removed when the word has 4+ characters and does not end in
  ``ss``, ``us`` or ``is`` (``seizures`` -> ``seizure``, ``glucocorticoids`` -> ``glucocorticoid``;
  ``illness``, ``status``, ``nephritis`` kept). Applied alike to lexicon and query, so a wrong stripping
  merges forms only when both spellings occur.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from serendip.errors import DataError, ParseError
from serendip.kg.abbreviations import abbreviation_map
from serendip.kg.pubtator import Document, Mention

__all__ = ["CASE_KEPT_MAX", "METHODS", "SCORERS", "TUNED_SCORER", "TUNED_THRESHOLDS", "Lexicon", "NormalisedMention",
           "Normaliser", "normal_form"]

#: How a mention was resolved
METHODS = ("exact", "abbreviation", "fuzzy", "embedding", "unresolved")
#: rapidfuzz scorers by name (``rapidfuzz.fuzz.<name>``)
SCORERS = ("ratio", "token_sort_ratio", "token_set_ratio", "WRatio")
#: The scorer and per-type thresholds chosen on the BC5CDR development set (lexicon from the training
#: set, gold mentions; grid 50-100 by 2) by ``benchmarks/kg_normalise.py``: the defaults
TUNED_SCORER = "token_sort_ratio"
TUNED_THRESHOLDS = {"Chemical": 92.0, "Disease": 88.0}
_FORMAT = "serendip-mesh-normaliser"
_DASHES = re.compile("[\u2010-\u2015\u2212]")
_POSSESSIVE = re.compile(r"['\u2019]s\b", re.IGNORECASE)
#: Default longest form (characters) that keeps its case (see the module docstring)
CASE_KEPT_MAX = 3
_SPACES = re.compile(r"\s+")


def _singular(word: str) -> str:
    if len(word) >= 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normal_form(text: str, case_kept_max: int = CASE_KEPT_MAX) -> str:
    """The lexicon key of a surface form (rules in the module docstring; forms of at most
    ``case_kept_max`` characters keep their case); ``""`` for blank text."""
    t = _POSSESSIVE.sub("", _DASHES.sub("-", unicodedata.normalize("NFKC", text))).replace("-", " ")
    t = _SPACES.sub(" ", t).strip()
    if len(t) <= case_kept_max:
        return t
    head, _, last = t.casefold().rpartition(" ")
    return f"{head} {_singular(last)}" if head else _singular(last)


class Lexicon:
    """Counted ``(type, normal form) -> {MeSH id: count}`` entries (see the module docstring).

    Attributes
    ----------
    counts : dict
        ``{type: {normal form: Counter({mesh_id: count})}}``; ids as written (``"D1|D2"`` composite).
    """

    def __init__(self, case_kept_max: int = CASE_KEPT_MAX) -> None:
        self.case_kept_max = case_kept_max
        self.counts: dict[str, dict[str, Counter]] = {}
        self._compact: dict[str, dict[str, str]] = {}  # type -> form without spaces -> first form

    def add(self, surface: str, mesh_id: str, type: str, n: int = 1) -> None:
        """Count ``n`` mentions of ``surface`` (any spelling; normalised here) as ``mesh_id``, of ``type``.
        A blank surface adds nothing."""
        self.add_form(normal_form(surface, self.case_kept_max), mesh_id, type, n)

    def add_form(self, form: str, mesh_id: str, type: str, n: int = 1) -> None:
        """:meth:`add` for a form already in normal form (as :meth:`Normaliser.load` reads them)."""
        if form:
            self.counts.setdefault(type, {}).setdefault(form, Counter())[mesh_id] += n
            self._compact.setdefault(type, {}).setdefault(form.replace(" ", ""), form)

    def lookup(self, surface: str, type: str) -> tuple[str, str] | None:
        """``(mesh id, matched form)`` for ``surface`` (its normal form, then the form without spaces)
        in the entries of ``type``: the most frequent id of that form; None when absent."""
        key = normal_form(surface, self.case_kept_max)
        forms = self.counts.get(type, {})
        if key not in forms:
            key = self._compact.get(type, {}).get(key.replace(" ", ""), "")
        if key not in forms:
            return None
        return forms[key].most_common(1)[0][0], key  # Counter keeps first-seen order on ties

    def ambiguous(self) -> dict[tuple[str, str], Counter]:
        """``{(type, form): Counter of ids}`` for every form seen with more than one id."""
        return {(t, k): c for t, forms in self.counts.items() for k, c in forms.items() if len(c) > 1}

    def forms(self, type: str) -> list[str]:
        """The normal forms of ``type`` (insertion order)."""
        return list(self.counts.get(type, {}))

    def __len__(self) -> int:
        return sum(len(forms) for forms in self.counts.values())


@dataclass(frozen=True, slots=True)
class NormalisedMention:
    """A mention and the MeSH id it was resolved to.

    Attributes
    ----------
    mention : Mention
        The input mention (offsets, surface text and type as given).
    mesh_id : str or None
        A MeSH id (``"D008750"``), a composite ``"D1|D2"``, or None when unresolved.
    method : str
        One of :data:`METHODS`.
    score : float
        100.0 for an exact or abbreviation match; the rapidfuzz score (0-100) of a fuzzy match; 100 times
        the cosine similarity of an embedding match; for an unresolved mention the best fuzzy score seen
        below the threshold (0.0 when none was tried).
    matched : str or None
        The lexicon form matched (None when unresolved).
    """

    mention: Mention
    mesh_id: str | None
    method: str
    score: float
    matched: str | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """The concept ids (a composite split at ``|``; empty when unresolved)."""
        return tuple(self.mesh_id.split("|")) if self.mesh_id else ()


class Normaliser:
    """Mentions -> MeSH ids by abbreviation, exact lexicon form, fuzzy, then (optionally) embedding match
    (module docstring).

    Parameters
    ----------
    threshold : float or dict, default :data:`TUNED_THRESHOLDS`
        Lowest rapidfuzz score (0-100) a fuzzy match is accepted at; a dict ``{type: threshold}`` gives
        one per entity type (a type missing from it is not fuzzy-matched).
    scorer : str, default :data:`TUNED_SCORER`
        A name of :data:`SCORERS`.
    abbreviations, fuzzy : bool, default True
        Whether to use steps 1 and 3 (False for both: the exact-lexicon baseline).
    min_fuzzy_chars : int, default 4
        Normal forms shorter than this are not fuzzy-matched.
    case_kept_max : int, default :data:`CASE_KEPT_MAX`
        Forms of at most this many characters keep their case (:func:`normal_form`).
    embedding : dict, optional
        ``{type: lowest cosine similarity}`` for step 4 (None: no embedding match); a type missing from
        it is not matched. ``benchmarks/kg_normalise.py`` chooses them on development data.
    embedding_model : str, default "sentence-transformers/all-MiniLM-L6-v2"
        The sentence encoder of step 4 (a local folder or the bundled model).

    Raises
    ------
    ValueError
        An unknown scorer, a fuzzy threshold outside 0-100 or an embedding threshold outside [-1, 1].
    """

    def __init__(self, threshold: float | dict[str, float] | None = None, scorer: str = TUNED_SCORER, *,
                 abbreviations: bool = True, fuzzy: bool = True, min_fuzzy_chars: int = 4,
                 case_kept_max: int = CASE_KEPT_MAX, embedding: dict[str, float] | None = None,
                 embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"):
        from serendip.kg.normalise_embed import EmbeddingMatcher

        threshold = dict(TUNED_THRESHOLDS) if threshold is None else threshold
        if scorer not in SCORERS:
            raise ValueError(f"scorer {scorer!r} is not one of {', '.join(SCORERS)}")
        values = threshold.values() if isinstance(threshold, dict) else [threshold]
        if any(not 0 <= float(v) <= 100 for v in values):
            raise ValueError(f"a fuzzy threshold must be within 0-100, got {threshold!r}")
        self.threshold = dict(threshold) if isinstance(threshold, dict) else float(threshold)
        self.scorer, self.abbreviations, self.fuzzy = scorer, abbreviations, fuzzy
        self.min_fuzzy_chars = min_fuzzy_chars
        self.lexicon = Lexicon(case_kept_max)
        self.embedding, self.embedding_model = (dict(embedding) if embedding else None), embedding_model
        self.embedder = EmbeddingMatcher(self.embedding, embedding_model) if self.embedding else None
        self._fuzzy_cache: dict[tuple[str, str], tuple[str, float] | None] = {}

    def fit(self, documents: Iterable[Document]) -> "Normaliser":
        """Add every resolved mention of ``documents`` to the lexicon (module docstring); returns self."""
        for doc in documents:
            for m in doc.mentions:
                if not m.resolved:
                    continue
                if None not in m.ids:
                    self.lexicon.add(m.text, "|".join(m.ids), m.type)
                if m.texts and len(m.ids) > 1:
                    for text, mesh_id in zip(m.texts, m.ids):
                        if mesh_id is not None:
                            self.lexicon.add(text, mesh_id, m.type)
        self._fuzzy_cache.clear()
        return self

    def _threshold(self, type: str) -> float | None:
        if isinstance(self.threshold, dict):
            return self.threshold.get(type)
        return self.threshold

    def _best_fuzzy(self, key: str, type: str) -> tuple[str, float] | None:
        """The most similar lexicon form of ``type`` to the normal form ``key`` and its score."""
        if (key, type) not in self._fuzzy_cache:
            from rapidfuzz import fuzz, process

            forms = self.lexicon.forms(type)
            hit = process.extractOne(key, forms, scorer=getattr(fuzz, self.scorer)) if forms else None
            self._fuzzy_cache[(key, type)] = None if hit is None else (hit[0], float(hit[1]))
        return self._fuzzy_cache[(key, type)]

    def _fuzzy_step(self, m: Mention, long_form: str | None) -> NormalisedMention:
        best: tuple[str, float] | None = None
        for surface in filter(None, (m.text, long_form)):
            key = normal_form(surface, self.lexicon.case_kept_max)
            if len(key) < self.min_fuzzy_chars:
                continue
            hit = self._best_fuzzy(key, m.type)
            if hit is not None and (best is None or hit[1] > best[1]):
                best = hit
        threshold = self._threshold(m.type)
        if best is not None and threshold is not None and best[1] >= threshold:
            forms = self.lexicon.counts[m.type]
            return NormalisedMention(m, forms[best[0]].most_common(1)[0][0], "fuzzy", best[1], best[0])
        return NormalisedMention(m, None, "unresolved", best[1] if best else 0.0)

    def normalise_mention(self, m: Mention, abbreviations: dict[str, str] | None = None) -> NormalisedMention:
        """One mention, given its document's ``{short form: long form}`` (steps 1-4)."""
        long_form = (abbreviations or {}).get(m.text) if self.abbreviations else None
        if long_form is not None:
            hit = self.lexicon.lookup(long_form, m.type)
            if hit is not None:
                return NormalisedMention(m, hit[0], "abbreviation", 100.0, hit[1])
        hit = self.lexicon.lookup(m.text, m.type)
        if hit is not None:
            return NormalisedMention(m, hit[0], "exact", 100.0, hit[1])
        if self.fuzzy:
            return self._fuzzy_step(m, long_form)
        return NormalisedMention(m, None, "unresolved", 0.0)

    def normalise(self, text: str, mentions: Iterable[Mention], *, doc_id: str = "document"
                  ) -> list[NormalisedMention]:
        """Resolve the ``mentions`` of one document's ``text``.

        Parameters
        ----------
        text : str
            The document text the mentions' offsets index (PubTator: ``title + " " + abstract``); its
            abbreviation definitions are found here.
        mentions : iterable of Mention
            Gold or predicted mentions (``type`` selects the lexicon; ``ids`` are not read).
        doc_id : str
            The document's name in error messages (e.g. its PMID).

        Returns
        -------
        list of NormalisedMention
            One per mention, in input order; unresolved ones included.

        Raises
        ------
        DataError
            A mention whose offsets fall outside ``text`` or whose text differs from ``text[start:end]``
            (naming the document, the mention and its offsets).
        """
        mentions = list(mentions)
        for m in mentions:
            if not 0 <= m.start < m.end <= len(text):
                raise DataError(f"{doc_id}: mention {m.text!r} at {m.start}-{m.end} is outside the text "
                                f"(length {len(text)})")
            if text[m.start:m.end] != m.text:
                raise DataError(f"{doc_id}: mention {m.text!r} at {m.start}-{m.end} but the text there is "
                                f"{text[m.start:m.end]!r}")
        abbreviations = abbreviation_map(text) if self.abbreviations and mentions else {}
        out = [self.normalise_mention(m, abbreviations) for m in mentions]
        return self._embedding_step(out, abbreviations) if self.embedder is not None else out

    def _embedding_step(self, found: list[NormalisedMention], abbreviations: dict[str, str]) -> list[NormalisedMention]:
        """Step 4 for the unresolved mentions of one document, one encoder call per type."""
        out = list(found)
        for type in self.embedding or {}:
            todo = [(i, abbreviations.get(n.mention.text) if self.abbreviations else None)
                    for i, n in enumerate(out) if n.method == "unresolved" and n.mention.type == type]
            todo = [(i, long or out[i].mention.text) for i, long in todo
                    if len(normal_form(long or out[i].mention.text, self.lexicon.case_kept_max)) >= self.min_fuzzy_chars]
            hits = self.embedder.best([text for _, text in todo], self.lexicon.forms(type), type)
            for (i, _), hit in zip(todo, hits):
                if hit is not None and self.embedder.accepts(type, hit[1]):
                    mesh_id = self.lexicon.counts[type][hit[0]].most_common(1)[0][0]
                    out[i] = NormalisedMention(out[i].mention, mesh_id, "embedding", round(100.0 * hit[1], 4), hit[0])
        return out

    def normalise_document(self, doc: Document, mentions: Iterable[Mention] | None = None
                           ) -> list[NormalisedMention]:
        """:meth:`normalise` on a PubTator document's text and its own mentions (or ``mentions``)."""
        return self.normalise(doc.text, doc.mentions if mentions is None else mentions, doc_id=f"PMID {doc.pmid}")

    def to_dict(self) -> dict:
        """Plain data: settings and lexicon counts (JSON-ready)."""
        return {"format": _FORMAT, "version": 1,
                "settings": {"threshold": self.threshold, "scorer": self.scorer, "abbreviations": self.abbreviations,
                             "fuzzy": self.fuzzy, "min_fuzzy_chars": self.min_fuzzy_chars,
                             "case_kept_max": self.lexicon.case_kept_max, "embedding": self.embedding,
                             "embedding_model": self.embedding_model},
                "lexicon": {t: {k: dict(c) for k, c in forms.items()} for t, forms in self.lexicon.counts.items()}}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (UTF-8; no pickle); returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Normaliser":
        """A normaliser saved by :meth:`save`. Raises ParseError naming the file when it is not valid
        JSON of that format, or holds a count that is not a positive whole number."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParseError(f"not a saved normaliser ({exc})", file=str(path)) from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != 1:
            raise ParseError(f"not a saved normaliser (expected format {_FORMAT!r}, version 1)", file=str(path))
        try:
            norm = cls(**data["settings"])
        except (TypeError, ValueError) as exc:
            raise ParseError(f"bad settings: {exc}", file=str(path)) from None
        lexicon = data.get("lexicon")
        if not isinstance(lexicon, dict) or not all(
                isinstance(forms, dict) and all(isinstance(ids, dict) for ids in forms.values())
                for forms in lexicon.values()):
            raise ParseError("lexicon is not {type: {form: {mesh id: count}}}", file=str(path))
        for type, forms in lexicon.items():
            for form, ids in forms.items():
                for mesh_id, n in ids.items():
                    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                        raise ParseError(f"count {n!r} of {type} {form!r} -> {mesh_id} is not a positive whole "
                                         f"number", file=str(path))
                    norm.lexicon.add_form(form, mesh_id, type, n)
        return norm

