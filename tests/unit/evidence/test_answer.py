"""Cited answers: the reply parser, the citation checks, and ``ask`` over a real workspace (dense index by
the offline MiniLM) with the extractive backend and with scripted generative backends that cite a
passage they were not given, cite nothing, or write an unsupported sentence."""
from __future__ import annotations

import json

import numpy as np
import pytest
from evidence_helpers import fixed_verifier, indexed_workspace

from serendip.errors import ConfigError, DataError
from serendip.evidence.answer import (
    MAX_QUESTION_CHARS,
    NO_EVIDENCE_FOUND,
    NO_GROUNDED_ANSWER,
    ask,
    gather_passages,
    mmr,
    select_passages,
)
from serendip.evidence.citations import check_sentences, parse_reply
from serendip.evidence.generators import (
    GENERATORS,
    Draft,
    GeneratorSpec,
    SuppliedPassage,
)
from serendip.workbench import Workspace

RECORDS = [
    {"id": "z1", "pmid": "111", "title": "Zinc lozenges and the common cold",
     "abstract": "Zinc lozenges were tested in 100 adults (e.g. zinc acetate). Zinc lozenges shortened colds "
                 "by 2 days. Funding: none."},
    {"id": "z2", "pmid": "222", "title": "Zinc does not shorten colds in children",
     "abstract": "In 200 children zinc syrup had no effect on the duration of the common cold."},
    {"id": "c1", "title": "Coffee and liver fibrosis", "abstract": "Coffee drinkers had less liver fibrosis."},
]


def _p(n, text, rid=1):
    return SuppliedPassage(n, rid, None, "abstract", 0, len(text), text, 0.9)


@pytest.mark.parametrize("reply,expected", [
    ("Zinc helps [1]. Coffee too [2, 3].", [("Zinc helps.", [1]), ("Coffee too.", [2, 3])]),
    ("Zinc helps.[1][2] It is safe [P3].", [("Zinc helps.", [1, 2]), ("It is safe.", [3])]),
    ("Colds end sooner [passage 2-4].", [("Colds end sooner.", [2, 3, 4])]),
    ("Zinc helps. [1]", [("Zinc helps.", [1])]),
    ("No citation here.", [("No citation here.", [])]),
    ("NO EVIDENCE.", []), ("   ", []),
])
def test_parse_reply_reads_markers(reply, expected):
    assert [(d.text, d.cites) for d in parse_reply(reply)] == expected


def test_a_huge_range_is_not_expanded():
    (d,) = parse_reply("Odd [1-100000].")
    assert d.cites == [1, 100000]


def test_checks_catch_unsupplied_and_missing_citations_and_unsupported_sentences():
    passages = [_p(1, "Zinc lozenges shortened colds by 2 days."), _p(2, "Coffee drinkers had less fibrosis.")]
    drafts = [Draft("Zinc lozenges shortened colds by 2 days", [1]), Draft("Zinc cures colds.", [1, 7]),
              Draft("Zinc is popular.", []), Draft("Zinc shortens colds.", [1]), Draft("Coffee cures all.", [2])]
    support = {"Zinc shortens colds.": 0.8, "Coffee cures all.": 0.2}
    out = check_sentences(drafts, passages, lambda s, ev: support[s])
    assert [s.grounded for s in out] == [True, False, False, True, False]
    assert out[0].method == "quote" and out[0].support == 1.0
    assert out[1].problem == "cites [7], which was not supplied" and out[1].support is None
    assert out[2].problem == "cites nothing"
    assert out[3].method == "model" and out[3].support == 0.8
    assert "not supported" in out[4].problem
    # without a verification model only verbatim quotes pass
    plain = check_sentences(drafts, passages, None)
    assert [s.grounded for s in plain] == [True, False, False, False, False]
    assert "serendip verify --train" in plain[3].problem


def test_mmr_prefers_a_new_passage_to_a_near_copy():
    import numpy as np

    vecs = np.array([[1, 0], [1, 0], [0.6, 0.8]], dtype=np.float32)
    assert mmr(np.array([0.9, 0.89, 0.7]), vecs, 2, lam=0.5) == [0, 2]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    with indexed_workspace(tmp_path_factory.mktemp("ask"), RECORDS) as w:
        yield w


def _found(ranks):
    return [{"record_id": 10 + r, "rank": r} for r in ranks]


def test_record_weight_lifts_passages_of_better_ranked_records():
    """Two passages of equal cosine, orthogonal embeddings: without the record prior MMR keeps index
    order; with it the passage of the record ranked first by the search comes first."""
    found = _found([3, 0])
    rel = np.array([0.6, 0.6])
    vec = np.eye(2, dtype=np.float32)
    assert select_passages(found, rel, vec, max_passages=2, min_relevance=0.5) == [0, 1]
    assert select_passages(found, rel, vec, max_passages=2, min_relevance=0.5, record_weight=0.2) == [1, 0]
    # the prior never lets a passage below the relevance floor in
    assert select_passages(found, np.array([0.6, 0.4]), vec, max_passages=2, min_relevance=0.5,
                           record_weight=5.0) == [0]


def test_max_records_caps_the_records_passages_come_from():
    found = _found([0, 1, 0, 2])  # passages 0 and 2 come from the same record (id 10)
    rel = np.array([0.9, 0.8, 0.7, 0.6])
    vec = np.eye(4, dtype=np.float32)
    assert select_passages(found, rel, vec, max_passages=4, min_relevance=0.0, mmr_lambda=1.0) == [0, 1, 2, 3]
    assert select_passages(found, rel, vec, max_passages=4, min_relevance=0.0, mmr_lambda=1.0,
                           max_records=1) == [0, 2]
    assert select_passages(found, rel, vec, max_passages=4, min_relevance=0.0, mmr_lambda=1.0,
                           max_records=2) == [0, 1, 2]


def test_passages_carry_their_records_search_rank(ws):
    found, rel, vec = gather_passages(ws, "Do zinc lozenges shorten the common cold?", k=3)
    hits = [h.record_id for h in ws.search("Do zinc lozenges shorten the common cold?", k=3)]
    assert {(f["record_id"], f["rank"]) for f in found} == {(rid, hits.index(rid)) for rid in {f["record_id"] for f in found}}
    assert rel.shape == (len(found),) and vec.shape[0] == len(found)
    with pytest.raises(DataError, match="max_records"):
        ask(ws, "Do zinc lozenges shorten colds?", max_records=0)


def test_every_extractive_sentence_cites_a_supplied_passage_with_offsets(ws):
    answer = ask(ws, "Does zinc shorten the common cold?", verifier=None)
    assert answer.status == "answered" and answer.sentences and not answer.rejected
    supplied = {p.number: p for p in answer.passages}
    stored = {rid: rec for rid, rec in ws.records()}
    for s in answer.sentences:
        assert s.cites and all(n in supplied for n in s.cites) and s.grounded
        p = supplied[s.cites[0]]
        text = stored[p.record_id].title if p.field == "title" else stored[p.record_id].abstract
        assert text[p.start:p.end] == p.text == s.text
    assert {p.pmid for p in answer.passages} >= {"111", "222"}
    assert all(p.relevance >= 0.45 for p in answer.passages)


@pytest.mark.parametrize("question", ["What is the capital of France?", "How do I bake sourdough bread?"])
def test_an_off_topic_question_finds_no_evidence(ws, question):
    answer = ask(ws, question, verifier=None)
    assert answer.status == NO_EVIDENCE_FOUND and answer.sentences == [] and answer.passages == []
    assert answer.best_relevance < 0.45


@pytest.fixture()
def scripted(monkeypatch):
    """Register backend "scripted" whose reply is the text set on the returned dict."""
    reply = {"text": ""}

    class Scripted:
        def generate(self, question, passages):
            text = reply["text"]
            return text(passages) if callable(text) else text

    monkeypatch.setitem(GENERATORS._items, "scripted", GeneratorSpec("scripted", lambda o: Scripted()))
    return reply


def test_a_generated_reply_is_checked_in_code(ws, scripted):
    def reply(passages):
        n = next(p.number for p in passages if p.text == "Zinc lozenges shortened colds by 2 days.")
        return (f"Zinc lozenges shortened colds by 2 days [{n}]. Zinc cures everything [42]. "
                f"Zinc is sold in shops. Zinc shortens colds in adults [{n}].")

    scripted["text"] = reply
    verifier = fixed_verifier({}, [[0.1, 0.1, 0.8], [0.05, 0.05, 0.9], [0.7, 0.2, 0.1]])
    answer = ask(ws, "Does zinc shorten the common cold?", backend="scripted", verifier=verifier)
    assert answer.status == "answered"
    assert [s.text for s in answer.sentences] == ["Zinc lozenges shortened colds by 2 days.",
                                                  "Zinc shortens colds in adults."]
    assert [s.problem for s in answer.rejected] == ["cites [42], which was not supplied", "cites nothing"]
    assert answer.sentences[1].method == "model" and answer.sentences[1].support == pytest.approx(0.8)
    assert [s.stance for s in answer.sentences] == ["supports", "contradicts"]


def test_a_reply_with_no_grounded_sentence_is_no_grounded_answer(ws, scripted):
    scripted["text"] = "Zinc cures everything [9]."
    answer = ask(ws, "Does zinc shorten the common cold?", backend="scripted", verifier=fixed_verifier({}, []))
    assert answer.status == NO_GROUNDED_ANSWER and answer.sentences == [] and len(answer.rejected) == 1
    scripted["text"] = "NO EVIDENCE"
    answer = ask(ws, "Does zinc shorten the common cold?", backend="scripted", verifier=fixed_verifier({}, []))
    assert answer.status == NO_EVIDENCE_FOUND and answer.rejected == []


@pytest.mark.parametrize("backend,options,match", [
    ("extractive", {"max_sentences": "abc"}, "must be a whole number"),
    ("extractive", {"max_sentences": "1.5"}, "must be a whole number"),
    ("openai", {"base_url": "http://[::1"}, "not a valid URL"),
    ("openai", {"base_url": "http://127.0.0.1:99999/v1"}, "not a valid URL"),
    ("openai", {"base_url": "ftp://x"}, "http:// or https://"),
])
def test_bad_backend_settings_are_reported_before_retrieval(tmp_path, backend, options, match):
    with Workspace.init(tmp_path / "no-index") as w, pytest.raises(ConfigError, match=match):
        ask(w, "What is the capital of France?", backend=backend, options=options)


def test_generative_backends_need_the_verifier(ws, scripted):
    with pytest.raises(DataError, match="serendip verify --train"):
        ask(ws, "Does zinc shorten the common cold?", backend="scripted")


@pytest.mark.parametrize("question,match", [("  ", "question is empty"), ("x" * (MAX_QUESTION_CHARS + 1), "over the")])
def test_bad_questions_are_one_clear_error(ws, question, match):
    with pytest.raises(DataError, match=match):
        ask(ws, question, verifier=None)


def test_unknown_backend_and_option_are_named(ws):
    with pytest.raises(ConfigError, match="extractive"):
        ask(ws, "zinc", backend="nope", verifier=None)
    with pytest.raises(ConfigError, match="takes no option temperature"):
        ask(ws, "zinc", options={"temperature": "0"}, verifier=None)


def test_no_index_yet_is_one_clear_error(tmp_path):
    from serendip.errors import IndexNotBuilt

    with Workspace.init(tmp_path / "empty") as w, pytest.raises(IndexNotBuilt):
        ask(w, "zinc", verifier=None)


def test_cli_ask_json_and_text(ws):
    from typer.testing import CliRunner

    from serendip.cli.app import app

    runner = CliRunner()
    out = runner.invoke(app, ["ask", "-w", str(ws.path), "Does zinc shorten the common cold?", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    numbers = {p["number"] for p in data["passages"]}
    assert data["status"] == "answered" and all(set(s["cites"]) <= numbers and s["cites"] for s in data["sentences"])
    text = runner.invoke(app, ["ask", "-w", str(ws.path), "What is the capital of France?"])
    assert text.exit_code == 0 and "no evidence found" in text.stdout
    bad = runner.invoke(app, ["ask", "-w", str(ws.path), "zinc", "-o", "max_sentences"])
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output
