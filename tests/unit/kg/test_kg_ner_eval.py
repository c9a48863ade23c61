"""Strict entity-level scores over character spans, the dictionary baseline, and the BC5CDR training
file end to end (offsets checked, every boundary on a word boundary, gold -> windows -> spans exact)."""
from __future__ import annotations

import pytest

from serendip.kg.ner_data import (
    boundaries_inside_words,
    document_examples,
    merge_window_tags,
)
from serendip.kg.ner_eval import (
    DictionaryTagger,
    gold_spans,
    spans_from_mapping,
    strict_scores,
)
from serendip.kg.pubtator import Document, Mention, read_pubtator


def test_strict_scores_count_a_partial_overlap_as_wrong():
    gold = {("1", 0, 9, "Chemical"), ("1", 18, 34, "Disease"), ("2", 5, 12, "Disease")}
    pred = {("1", 0, 9, "Chemical"),      # exact: TP
            ("1", 26, 34, "Disease"),     # "asystole" inside gold "cardiac asystole": FP + FN
            ("2", 5, 12, "Chemical"),     # right span, wrong type: FP (Chemical) + FN (Disease)
            ("3", 0, 4, "Chemical")}      # nothing there: FP
    s = strict_scores(gold, pred)
    assert s["Chemical"] == {"precision": 1 / 3, "recall": 1.0, "f1": 0.5, "tp": 1, "n_pred": 3, "n_gold": 1}
    assert s["Disease"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 1, "n_gold": 2}
    assert s["micro"]["precision"] == 0.25 and s["micro"]["recall"] == pytest.approx(1 / 3)
    assert s["micro"]["f1"] == pytest.approx(2 * 0.25 * (1 / 3) / (0.25 + 1 / 3))
    assert strict_scores(gold, set())["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0,
                                                   "n_pred": 0, "n_gold": 3}


def _doc(pmid, text, marks):
    doc = Document(pmid, text, "")
    for surface, typ in marks:
        start = text.index(surface)
        doc.mentions.append(Mention(start, start + len(surface), surface, typ, ("D0",)))
    return doc


def test_dictionary_baseline_longest_match_on_word_boundaries():
    train = [_doc("1", "Renal failure after cisplatin.", [("Renal failure", "Disease"), ("cisplatin", "Chemical")]),
             _doc("2", "Acute renal failure and renal damage.", [("Acute renal failure", "Disease")]),
             _doc("3", "Lithium, lithium and Lithium carbonate.", [("Lithium", "Chemical")]),
             _doc("4", "lithium toxicity", [("lithium", "Disease")])]  # 2 x Chemical beats 1 x Disease
    tagger = DictionaryTagger(train)
    assert tagger.n_entries == 4
    text = "ACUTE RENAL FAILURE with lithium-induced cisplatin; renal failure and cisplatinum."
    test = _doc("9", text, [("ACUTE RENAL FAILURE", "Disease"), ("lithium", "Chemical"),
                            ("cisplatin", "Chemical"), ("renal failure", "Disease")])
    got = tagger.tag(text)
    # longest match first ("acute renal failure", not "renal failure"); "cisplatinum" is not "cisplatin"
    assert [(text[s:e], t) for s, e, t in got] == [("ACUTE RENAL FAILURE", "Disease"), ("lithium", "Chemical"),
                                                   ("cisplatin", "Chemical"), ("renal failure", "Disease")]
    assert strict_scores(gold_spans([test]), tagger.predict([test]))["micro"]["f1"] == 1.0


def test_dictionary_short_forms_keep_their_case_and_stop_words_stay_out():
    # the short forms (normal form of at most CASE_KEPT_MAX characters) match only as annotated, like the
    # normaliser's lexicon keys; lower-case stop-words are never entries; single letters are left out
    train = [_doc("1", "NO and ALL and Mg and CAN.", [("NO", "Chemical"), ("ALL", "Disease"), ("Mg", "Chemical"),
                                                      ("CAN", "Disease")]),
             _doc("2", "be no can all", [("be", "Chemical"), ("no", "Chemical"), ("can", "Disease"),
                                         ("all", "Disease")]),
             _doc("3", "T and P and Nitric oxide.", [("T", "Chemical"), ("P", "Chemical"),
                                                     ("Nitric oxide", "Chemical")])]
    tagger = DictionaryTagger(train)
    assert tagger.n_entries == 5 and tagger.n_dropped == 6  # NO ALL Mg CAN nitric-oxide; be no can all T P
    text = ("No patient could be treated: all can take no more mg; T cell counts fell (P < 0.05). "
            "NO, ALL, CAN, Mg and NITRIC OXIDE were not.")
    got = [(text[s:e], t) for s, e, t in tagger.tag(text)]
    assert got == [("NO", "Chemical"), ("ALL", "Disease"), ("CAN", "Disease"), ("Mg", "Chemical"),
                   ("NITRIC OXIDE", "Chemical")]
    # the old case-insensitive lexicon: every option off
    plain = DictionaryTagger(train, case_kept_max=0, min_chars=1, stopwords=())
    assert {text[s:e] for s, e, _ in plain.tag(text)} >= {"No", "be", "all", "can", "no", "mg", "T", "P"}


@pytest.mark.data
def test_bc5cdr_training_set_offsets_boundaries_and_round_trip(mirror):
    path = mirror / "bc5cdr" / "CDR_TrainingSet.PubTator.txt.gz"
    if not path.exists():
        pytest.skip(f"{path} is not in the mirror")
    docs = read_pubtator(path)  # every mention's offsets checked against title + " " + abstract
    assert len(docs) == 500
    types = [m.type for d in docs for m in d.mentions]
    assert (types.count("Chemical"), types.count("Disease")) == (5203, 4182)
    assert sum(None in m.ids for d in docs for m in d.mentions) == 76  # "-1" kept, unresolved
    assert sum(len(d.relations) for d in docs) == 1038
    assert boundaries_inside_words(docs) == 0
    examples, problems = [], []
    for doc in docs:
        ex, pr = document_examples(doc)
        examples += ex
        problems += pr
    assert problems == [] and len({ex.id for ex in examples}) == len(examples)
    assert sum(ex.meta["n_windows"] > 1 for ex in examples if ex.meta["window"] == 0) > 300
    merged = merge_window_tags(examples, [ex.label for ex in examples])
    scores = strict_scores(gold_spans(docs), spans_from_mapping(merged))
    assert scores["micro"]["f1"] == 1.0 and scores["micro"]["n_gold"] == 9385
