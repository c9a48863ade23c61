"""Mentions to MeSH ids (serendip.kg.normalise): normal forms, the counted lexicon, the four paths
(abbreviation, exact, fuzzy, unresolved), save/load, bad offsets, document-level concept scores, and a
BC5CDR slice."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from serendip.errors import DataError, ParseError
from serendip.kg.ner_eval import concept_scores, gold_concepts, predicted_concepts
from serendip.kg.normalise import (
    METHODS,
    TUNED_SCORER,
    TUNED_THRESHOLDS,
    Normaliser,
    normal_form,
)
from serendip.kg.pubtator import Document, Mention, read_pubtator


def _doc(pmid: str, text: str, marks: list[tuple[str, str, tuple]]) -> Document:
    """A document whose mentions are (surface, type, ids) at the surface's first occurrence."""
    doc = Document(pmid, text, "")
    for surface, typ, ids in marks:
        start = doc.text.index(surface)
        doc.mentions.append(Mention(start, start + len(surface), surface, typ, ids))
    return doc


def _mention(text: str, surface: str, typ: str, occurrence: int = 0) -> Mention:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    return Mention(start, start + len(surface), surface, typ)


TRAIN = [
    _doc("1", "Lidocaine-induced cardiac asystole in Parkinson's disease.",
         [("Lidocaine", "Chemical", ("D008012",)), ("cardiac asystole", "Disease", ("D006323",)),
          ("Parkinson's disease", "Disease", ("D010300",))]),
    _doc("2", "Hepatotoxicity and seizures after alpha-methyldopa; PD in two.",
         [("Hepatotoxicity", "Disease", ("D056486",)), ("seizures", "Disease", ("D012640",)),
          ("alpha-methyldopa", "Chemical", ("D008750",)), ("PD", "Disease", ("D010300",))]),
    _doc("3", "Psychosis, psychosis and psychosis with Mg and [3H]-naloxone.",
         [("Psychosis", "Disease", ("D011605",)), ("Mg", "Chemical", ("D008274",)),
          ("[3H]-naloxone", "Chemical", (None,))]),
    _doc("4", "Renal and hepatic failure after PD.",
         [("Renal and hepatic failure", "Disease", ("D051437", "D017093")),
          ("PD", "Disease", ("D010538",))]),
]
TRAIN[2].mentions += [Mention(11, 20, "psychosis", "Disease", ("D011618",)),
                      Mention(25, 34, "psychosis", "Disease", ("D011605",))]
TRAIN[3].mentions[0] = Mention(0, 25, "Renal and hepatic failure", "Disease", ("D051437", "D017093"),
                               ("Renal failure", "hepatic failure"))
TRAIN[3].mentions.append(Mention(32, 34, "PD", "Disease", ("D010538",)))  # PD: 2 x D010538, 1 x D010300
for _d in TRAIN:  # the fixture's offsets are right
    assert all(_d.text[m.start:m.end] == m.text for m in _d.mentions)


def test_normal_form_rules():
    # NFKC, case folding, Unicode hyphens, hyphen = space, white space
    assert normal_form("ＡＬＰＨＡ\u2010Methyldopa") == normal_form("alpha-methyldopa") == "alpha methyldopa"
    assert normal_form("  alpha \t methyldopa ") == normal_form("Alpha\u2212methyldopa") == "alpha methyldopa"
    # possessive, plural of the last word only
    assert normal_form("Parkinson's disease") == normal_form("Parkinson\u2019s diseases") == "parkinson disease"
    assert normal_form("Seizures") == "seizure" and normal_form("neuropathies") == "neuropathy"
    assert normal_form("seizures disorder") == "seizures disorder"
    assert [normal_form(w) for w in ("illness", "status", "nephritis")] == ["illness", "status", "nephritis"]
    # short forms keep their case (Mg magnesium is not mg milligram); the limit is a setting
    assert (normal_form("Mg"), normal_form("mg"), normal_form("NO")) == ("Mg", "mg", "NO")
    assert normal_form("Mg", case_kept_max=0) == "mg" and normal_form("   ") == ""


def test_lexicon_counts_ambiguous_forms_and_keeps_the_most_frequent():
    norm = Normaliser().fit(TRAIN)
    lex = norm.lexicon
    assert lex.counts["Disease"]["psychosis"] == Counter({"D011605": 2, "D011618": 1})
    assert lex.lookup("PSYCHOSIS", "Disease") == ("D011605", "psychosis")
    assert lex.counts["Disease"]["PD"] == Counter({"D010538": 2, "D010300": 1})
    assert set(lex.ambiguous()) == {("Disease", "psychosis"), ("Disease", "PD")}
    # a composite is one entry of both ids; its concept texts are entries of their own ids
    assert lex.lookup("renal and hepatic failure", "Disease")[0] == "D051437|D017093"
    assert lex.lookup("renal failure", "Disease")[0] == "D051437"
    # a -1 mention adds nothing; types are apart
    assert lex.lookup("[3H]-naloxone", "Chemical") is None and lex.lookup("Lidocaine", "Disease") is None
    tie = Normaliser().fit([_doc("9", "x form y", [("form", "Disease", ("D2",))]),
                            _doc("8", "x form y", [("form", "Disease", ("D1",))])])
    assert tie.lexicon.lookup("form", "Disease")[0] == "D2"  # a tie: the first seen


def test_the_four_paths():
    norm = Normaliser(threshold=85.0).fit(TRAIN)
    text = ("Peritoneal dialysis in Parkinson's disease (PD) patients: PD, hepatotoxicty, lidocaine, "
            "anti-hypertensive alphamethyldopa and Zorbulax syndrome.")
    mentions = [_mention(text, "PD", "Disease", 1), _mention(text, "hepatotoxicty", "Disease"),
                _mention(text, "lidocaine", "Chemical"), _mention(text, "alphamethyldopa", "Chemical"),
                _mention(text, "Zorbulax syndrome", "Disease"), _mention(text, "PD", "Disease", 0)]
    out = norm.normalise(text, mentions, doc_id="PMID 42")
    assert [r.mention for r in out] == mentions  # one result per mention, in order, none dropped
    by = [(r.mesh_id, r.method) for r in out]
    # "PD" is defined here as Parkinson's disease: the definition beats the lexicon's majority D010538
    assert by[0] == ("D010300", "abbreviation") and out[0].matched == "parkinson disease"
    assert by[1] == ("D056486", "fuzzy") and 85.0 <= out[1].score < 100.0
    assert by[2] == ("D008012", "exact") and out[2].score == 100.0
    assert by[3] == ("D008750", "exact")  # the form without spaces: alpha-methyldopa
    assert by[4] == (None, "unresolved") and out[4].score < 85.0 and out[4].ids == ()
    assert by[5] == ("D010300", "abbreviation")
    # without the definition, PD takes the lexicon's most frequent id
    assert norm.normalise("PD again", [Mention(0, 2, "PD", "Disease")])[0].mesh_id == "D010538"
    # the exact-lexicon baseline: neither abbreviations nor fuzzy matches
    base = Normaliser(abbreviations=False, fuzzy=False).fit(TRAIN).normalise(text, mentions)
    assert [(r.mesh_id, r.method) for r in base][:2] == [("D010538", "exact"), (None, "unresolved")]
    # a per-type threshold: a type without one is not fuzzy-matched
    per_type = Normaliser(threshold={"Chemical": 80.0}).fit(TRAIN).normalise(text, mentions[1:2])
    assert per_type[0].method == "unresolved"
    # the defaults: the scorer and per-type thresholds the benchmark chose on BC5CDR dev
    default = Normaliser()
    assert (default.scorer, default.threshold) == (TUNED_SCORER, TUNED_THRESHOLDS)
    assert default.threshold is not TUNED_THRESHOLDS


def test_composite_ids_and_document_concepts():
    norm = Normaliser().fit(TRAIN)
    doc = _doc("7", "Renal and hepatic failure, psychosis and an unknown thing.",
               [("Renal and hepatic failure", "Disease", ("D051437", "D017093")),
                ("psychosis", "Disease", ("D011605",)), ("unknown thing", "Disease", (None,))])
    out = norm.normalise_document(doc)
    assert out[0].ids == ("D051437", "D017093") and out[2].mesh_id is None
    gold = gold_concepts([doc])
    assert gold == {("7", "Disease", "D051437"), ("7", "Disease", "D017093"), ("7", "Disease", "D011605")}
    assert predicted_concepts({"7": out}) == gold
    pred = {("7", "Disease", "D051437"), ("7", "Disease", "D999999"), ("7", "Chemical", "D008012")}
    s = concept_scores(gold, pred)
    assert s["Disease"] == {"precision": 0.5, "recall": 1 / 3, "f1": 0.4, "tp": 1, "n_pred": 2, "n_gold": 3}
    assert s["Chemical"]["precision"] == 0.0 and s["micro"]["tp"] == 1 and s["micro"]["n_pred"] == 3


def test_save_load_round_trip_is_plain_json(tmp_path):
    norm = Normaliser(threshold={"Chemical": 92.0, "Disease": 88.0}, scorer="token_sort_ratio",
                      case_kept_max=2).fit(TRAIN)
    path = norm.save(tmp_path / "normaliser.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["lexicon"]["Disease"]["psychosis"] == {"D011605": 2, "D011618": 1}
    back = Normaliser.load(path)
    assert back.to_dict() == norm.to_dict()
    text = "PD in Parkinson's disease (PD), hepatotoxicty."
    mentions = [Mention(0, 2, "PD", "Disease"), _mention(text, "hepatotoxicty", "Disease")]
    assert back.normalise(text, mentions) == norm.normalise(text, mentions)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a saved normaliser"),
    ('{"format": "other", "version": 1}', "expected format"),
    ('{"format": "serendip-mesh-normaliser", "version": 1, "settings": {"scorer": "nope"}, "lexicon": {}}',
     "bad settings"),
    ('{"format": "serendip-mesh-normaliser", "version": 1, "settings": {}, "lexicon": {"Disease": []}}',
     "lexicon is not"),
    ('{"format": "serendip-mesh-normaliser", "version": 1, "settings": {}, '
     '"lexicon": {"Disease": {"psychosis": {"D011605": 0}}}}', "count 0 of Disease 'psychosis'"),
])
def test_load_names_the_file_of_a_bad_save(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ParseError, match=message) as err:
        Normaliser.load(path)
    assert str(path) in str(err.value)


def test_a_mention_outside_the_text_is_an_error_naming_the_document():
    norm = Normaliser().fit(TRAIN)
    with pytest.raises(DataError, match=r"PMID 77: mention 'seizure' at 30-37 is outside the text \(length 11\)"):
        norm.normalise("Short text.", [Mention(30, 37, "seizure", "Disease")], doc_id="PMID 77")
    with pytest.raises(DataError, match=r"PMID 78: mention 'seizure' at 0-7 but the text there is 'Short t'"):
        norm.normalise_document(Document("78", "Short text."), [Mention(0, 7, "seizure", "Disease")])
    assert norm.normalise("No mentions.", []) == []
    with pytest.raises(ValueError, match="scorer 'levenshtein'"):
        Normaliser(scorer="levenshtein")
    with pytest.raises(ValueError, match="within 0-100"):
        Normaliser(threshold={"Disease": 120.0})


def test_odd_unicode_and_other_languages_go_through():
    norm = Normaliser().fit(TRAIN)
    text = "Hépatotoxicité 肝毒性 \u200bseizures\u0301 (Ｍｇ) ﬁbrosis 🙂 Lidocaine\u00a0"
    mentions = [_mention(text, w, "Disease") for w in ("Hépatotoxicité", "肝毒性", "\u200bseizures\u0301", "🙂")]
    mentions.append(_mention(text, "Ｍｇ", "Chemical"))  # full-width Mg: NFKC gives Mg
    out = norm.normalise(text, mentions)
    assert [r.mention for r in out] == mentions and all(r.method in METHODS for r in out)
    assert out[-1].mesh_id == "D008274" and out[1].method == "unresolved"


@pytest.mark.data
def test_bc5cdr_slice_normalises_its_own_mentions(mirror):
    path = mirror / "bc5cdr" / "CDR_TrainingSet.PubTator.txt.gz"
    if not path.exists():
        pytest.skip(f"{path} is not in the mirror")
    docs = read_pubtator(path)[:20]
    resolved = [(d, m) for d in docs for m in d.mentions if m.resolved]
    gold_id = {id(m): "|".join(i for i in m.ids if i) for _, m in resolved}
    # the bound of a lexicon fit on these documents: per (type, normal form) the share of its mentions
    # that carry its most frequent id, counted here from the data
    forms: dict = {}
    for _, m in resolved:
        forms.setdefault((m.type, normal_form(m.text)), Counter())[gold_id[id(m)]] += 1
    bound = sum(c.most_common(1)[0][1] for c in forms.values()) / len(resolved)
    # chance: every mention of a type given that type's most frequent id
    by_type: dict = {}
    for _, m in resolved:
        by_type.setdefault(m.type, Counter())[gold_id[id(m)]] += 1
    chance = sum(c.most_common(1)[0][1] for c in by_type.values()) / len(resolved)

    def accuracy(norm):
        hits = 0
        for doc in docs:
            for r in norm.normalise_document(doc):
                hits += r.mention.resolved and r.mesh_id == gold_id[id(r.mention)]
        return hits / len(resolved)

    exact = accuracy(Normaliser(abbreviations=False, fuzzy=False).fit(docs))
    assert exact == pytest.approx(bound)  # the majority id of each form, no more, no less
    full = Normaliser().fit(docs)
    got = accuracy(full)
    assert got >= 0.9 and got > 3 * chance and got >= bound - 0.02
    scores = concept_scores(gold_concepts(docs), predicted_concepts(
        {d.pmid: full.normalise_document(d) for d in docs}))
    assert scores["micro"]["recall"] >= 0.9 and scores["micro"]["precision"] >= 0.9


def test_embedding_match_resolves_what_the_lexicon_and_fuzzy_match_miss(tmp_path):
    """Step 4: "heart arrest" is no lexicon form and no fuzzy match of one, but its nearest lexicon form by
    MiniLM cosine is "cardiac asystole"; taken at a low threshold, left unresolved at a high one or
    without the step; a short form is matched through its long form; saved and loaded with the
    normaliser; a threshold outside [-1, 1] is refused."""
    text = "Heart arrest in an elderly man given lidocaine. Heart arrest (HA) recurred; HA is rare."
    mentions = [_mention(text, "Heart arrest", "Disease"), _mention(text, "lidocaine", "Chemical"),
                _mention(text, "HA", "Disease", 1)]
    plain = Normaliser().fit(TRAIN).normalise(text, mentions)
    assert [n.method for n in plain] == ["unresolved", "exact", "unresolved"]
    low = Normaliser(embedding={"Disease": 0.3}).fit(TRAIN)
    got = low.normalise(text, mentions)
    assert [(n.method, n.mesh_id, n.matched) for n in got] == [
        ("embedding", "D006323", "cardiac asystole"), ("exact", "D008012", "lidocaine"),
        ("embedding", "D006323", "cardiac asystole")]  # HA through its long form, "Heart arrest"
    assert 30.0 <= got[0].score <= 100.0 and got[2].score == got[0].score
    high = Normaliser(embedding={"Disease": 0.99}).fit(TRAIN).normalise(text, mentions)
    assert [n.method for n in high] == ["unresolved", "exact", "unresolved"]
    back = Normaliser.load(low.save(tmp_path / "n.json"))
    assert back.embedding == {"Disease": 0.3} and [n.mesh_id for n in back.normalise(text, mentions)] == \
        [n.mesh_id for n in got]
    assert "embedding" in METHODS
    with pytest.raises(ValueError, match="embedding threshold must be within"):
        Normaliser(embedding={"Disease": 1.5})
