"""Possible duplicates in a screening session (:mod:`serendip.screening.duplicates`): the same title,
a dropped subtitle or a typo against a labelled record is flagged with the reason and that record's
label; short generic titles and different works are not; ``screen next`` shows the flag."""
from __future__ import annotations

import json

from screening_helpers import make_workspace
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.literature.normalize import title_key
from serendip.screening.duplicates import PossibleDuplicate, possible_duplicates
from serendip.screening.session import start_session

TITLE = "Low-dose aspirin after myocardial infarction: a randomised trial."


def test_same_title_prefix_and_typo_are_flagged_with_the_reason():
    titles = {1: ("LOW-DOSE ASPIRIN AFTER MYOCARDIAL INFARCTION - A RANDOMISED TRIAL", "include"),
              2: ("Low-dose aspirin after myocardial infarction", "exclude"),
              3: ("Low-dose aspirin after myocardial infraction: a randomised trial", "maybe"),
              4: ("High-dose clopidogrel in zebrafish embryos: a randomised trial", "exclude"),
              5: (None, "exclude"), 6: (TITLE, "include")}
    labelled = {rid: (title_key(t), label) for rid, (t, label) in titles.items()}
    got = possible_duplicates(title_key(TITLE), labelled, exclude=6)
    assert [(d.record_id, d.label) for d in got] == [(1, "include"), (2, "exclude"), (3, "maybe")]
    assert got[0].reason == "same title" and "subtitle dropped" in got[1].reason
    assert got[2].reason.startswith("near-identical title (similarity 0.9")
    assert got[0].to_dict() == {"record_id": 1, "label": "include", "reason": "same title"}


def test_short_or_missing_titles_are_never_compared():
    assert possible_duplicates(title_key("Reply."), {1: ("reply", "exclude")}) == []
    assert possible_duplicates(None, {1: (title_key(TITLE), "include")}) == []
    key = "abstract:" + "0" * 40  # a record without a title is keyed by its abstract: not a title
    assert possible_duplicates(key, {1: (key, "include")}) == []


def test_a_session_shows_a_second_copy_of_a_labelled_record_as_a_possible_duplicate(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    extra = tmp_path / "copies.jsonl"  # two PMIDs: ingest keeps them as two records
    extra.write_text("".join(json.dumps({"pmid": pmid, "title": title, "abstract": abstract, "mesh_terms": ["Aspirin"]})
                             + "\n" for pmid, title, abstract in (
                                 ("99998", TITLE, "Aspirin trial in heart infarction."),
                                 ("99999", TITLE.upper(), "Conference abstract of the aspirin trial."))),
                     encoding="utf-8")
    ws.ingest([extra], fmt="jsonl")
    by_pmid = {rec.pmid: rid for rid, rec in ws.records()}
    original, copy = by_pmid["99998"], by_pmid["99999"]
    s = start_session(ws, "review", [original], [exc[0]])
    while (rec := s.next()) is not None and rec.record_id != copy:
        assert rec.duplicates == []
        s.label(rec.record_id, "include" if rec.record_id in inc else "exclude")
    assert rec is not None and rec.duplicates == [PossibleDuplicate(original, "include", "same title")]
    ws.close()
    r = CliRunner().invoke(app, ["screen", "next", "-w", str(tmp_path / "ws")], env={"COLUMNS": "200"})
    assert f"possible duplicate of record {original} (labelled include): same title" in r.output
    out = json.loads(CliRunner().invoke(app, ["screen", "next", "--json", "-w", str(tmp_path / "ws")]).stdout)
    assert out["duplicates"] == [{"record_id": original, "label": "include", "reason": "same title"}]


def test_titles_whose_numbers_differ_are_different_works():
    base = "Aspirin after myocardial infarction in the elderly, part "
    labelled = {1: (title_key(base + "1"), "include"), 2: (title_key(base + "11"), "exclude"),
                3: (title_key("Twelve-week aspirin after myocardial infarction: 12 weeks"), "include")}
    assert possible_duplicates(title_key(base + "2"), labelled) == []
    assert possible_duplicates(title_key(base + "1"), labelled, exclude=1) == []  # "1" is no start of "11"
    assert possible_duplicates(title_key("Twelve-week aspirin after myocardial infarction: 24 weeks"), labelled) == []
