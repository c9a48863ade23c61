"""benchmarks/kg_normalise.py: the threshold shortcut of its tuning equals a run at the threshold, the
dictionary tagger's mentions point into the text, and its rows carry the baseline and the anchors
(disease and chemical F1 on test only) and are valid for results/*.json."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows
import kg_normalise

from serendip.kg.ner_eval import concept_scores, gold_concepts, predicted_concepts
from serendip.kg.normalise import Normaliser
from serendip.kg.pubtator import Document, Mention


def _doc(pmid, text, marks):
    doc = Document(pmid, text, "")
    for surface, typ, mesh_id in marks:
        start = text.index(surface)
        doc.mentions.append(Mention(start, start + len(surface), surface, typ, (mesh_id,)))
    return doc


TRAIN = [_doc("1", "Hepatotoxicity after lidocaine and seizures.",
              [("Hepatotoxicity", "Disease", "D056486"), ("lidocaine", "Chemical", "D008012"),
               ("seizures", "Disease", "D012640")])]
DEV = [_doc("2", "Hepatotoxicty, lidocain and seizure with naloxone.",
            [("Hepatotoxicty", "Disease", "D056486"), ("lidocain", "Chemical", "D008012"),
             ("seizure", "Disease", "D012640"), ("naloxone", "Chemical", "D009270")])]


def test_thresholds_applied_after_a_threshold_0_run_equal_a_run_at_them():
    results = kg_normalise.normalise_all(Normaliser(0.0).fit(TRAIN), DEV)
    for chemical, disease in [(0.0, 0.0), (90.0, 95.0), (99.0, 50.0), (100.0, 100.0)]:
        at = {"Chemical": chemical, "Disease": disease}
        run = kg_normalise.normalise_all(Normaliser(at).fit(TRAIN), DEV)
        assert kg_normalise._at(results, at) == predicted_concepts(run)
    scorer, chosen, scores = kg_normalise.tune(TRAIN, DEV, [80.0, 90.0, 100.0])
    assert scorer == "ratio" and scores["micro"]["recall"] == 0.75  # naloxone is not in the lexicon
    assert scores == concept_scores(gold_concepts(DEV), predicted_concepts(
        kg_normalise.normalise_all(Normaliser(chosen, scorer).fit(TRAIN), DEV)))


def test_dictionary_mentions_point_into_the_text():
    found = kg_normalise.dictionary_mentions(TRAIN, DEV + TRAIN, case_kept_max=3)
    assert [m.text for m in found["1"]] == ["Hepatotoxicity", "lidocaine", "seizures"]
    assert all(d.text[m.start:m.end] == m.text for d in DEV + TRAIN for m in found[d.pmid])


def test_rows_carry_baseline_and_anchors():
    gold = gold_concepts(DEV)
    method = concept_scores(gold, {("2", "Disease", "D056486"), ("2", "Chemical", "D008012")})
    base = concept_scores(gold, {("2", "Chemical", "D008012")})
    rows = kg_normalise._rows_for("lexicon-abbrev-fuzzy", method, 1, {"mentions": "gold"}, base=base, wall=0.1)
    by = {r["metric"]: r for r in rows}
    assert set(by) == {f"{m}_{t}" for m in ("f1", "precision", "recall") for t in ("chemical", "disease", "micro")}
    assert by["f1_disease"]["anchor"]["value"] == 0.8646 and by["f1_chemical"]["anchor"]["value"] == 0.895
    assert by["f1_micro"]["anchor"] is None and by["recall_disease"]["anchor"] is None
    assert by["recall_disease"]["value"] == 0.5 and by["recall_disease"]["baseline"] == {
        "method": "exact-lexicon", "value": 0.0}
    assert all(_rows._row_problem(r) is None for r in rows)
    dev_rows = kg_normalise._rows_for("lexicon-abbrev-fuzzy", method, 1, {}, base=base, wall=0.1, split="dev")
    assert all(r["anchor"] is None for r in dev_rows)
