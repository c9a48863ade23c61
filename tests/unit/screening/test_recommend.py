"""``recommend``: records like the seeds from TF-IDF or the dense index, shared MeSH headings and shared
knowledge-graph entities, each with its reasons; the fused score as documented; bad input as errors."""
from __future__ import annotations

import numpy as np
import pytest
from screening_helpers import EXCLUDE_WORDS, INCLUDE_WORDS, make_workspace

from serendip.errors import ConfigError, DataError, IndexNotBuilt
from serendip.screening.recommend import WEIGHTS, recommend

VOCAB = INCLUDE_WORDS + EXCLUDE_WORDS


def bag_of_words(texts, batch_size):
    """A deterministic stand-in for MiniLM: word counts over the two vocabularies plus a constant."""
    rows = []
    for text in texts:
        words = text.lower().replace(".", " ").split()
        rows.append([words.count(w) for w in VOCAB] + [0.5])
    return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def rws(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    yield ws, inc, exc
    ws.close()


def test_tfidf_and_mesh_find_the_seeds_kind_with_reasons(rws):
    ws, inc, exc = rws
    res = recommend(ws, [inc[0]], k=5)
    assert res.signals == {"similarity": "tfidf", "mesh": "mesh"}
    assert any("kg build" in n for n in res.notes)
    assert [r.rank for r in res.items] == [1, 2, 3, 4, 5]
    assert {r.record_id for r in res.items} == set(inc[1:])
    assert inc[0] not in {r.record_id for r in res.items}
    top = res.items[0]
    assert top.reasons[0].startswith("TF-IDF cosine ") and top.reasons[0].endswith(f" to {inc[0]}")
    assert top.reasons[1] == "shares MeSH Aspirin, Humans, Myocardial Infarction"
    # fusion: weighted mean of the available signals (similarity 0.6, MeSH 0.2, KG unavailable)
    expect = (WEIGHTS["similarity"] * top.parts["similarity"] + WEIGHTS["mesh"] * top.parts["mesh"]) / 0.8
    assert top.score == pytest.approx(expect, abs=1e-5)
    assert top.parts["mesh"] == pytest.approx(1.0)
    assert [r.score for r in res.items] == sorted((r.score for r in res.items), reverse=True)


def test_mesh_weights_rare_headings_above_common_ones(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws", n_inc=3, n_exc=9)
    with ws:
        res = recommend(ws, [inc[0], exc[0]], k=11)
        assert res.seeds == [inc[0], exc[0]]
        by_id = {r.record_id: r for r in res.items}
        # an exclude shares 3 of the 6 seed headings, "Animals" with 9 of 12 records: less than half the idf
        assert 0 < by_id[exc[1]].parts["mesh"] < 0.5 + 1e-9
        assert all(r.record_id not in (inc[0], exc[0]) for r in res.items)


def test_dense_index_is_used_when_built(rws):
    from serendip.retrieval.dense import DenseIndex

    ws, inc, exc = rws
    ws.index(dense=False)
    index = DenseIndex(encoder=bag_of_words)
    recs = list(ws.records())
    index.add([str(rid) for rid, _ in recs], [r.title for _, r in recs], [r.abstract for _, r in recs])
    index.save(ws.index_dir / "dense")
    ws._searcher = None
    res = recommend(ws, [inc[0]], k=5)
    assert res.signals["similarity"] == "dense"
    top = res.items[0]
    vec = {rid: index.embeddings[i] for i, rid in enumerate(int(x) for x in index.ids)}
    cos = float(vec[top.record_id] @ vec[inc[0]])
    assert top.reasons[0] == f"cosine {cos:.2f} to {inc[0]}"
    assert top.parts["similarity"] == pytest.approx(cos, abs=1e-5)
    assert {r.record_id for r in res.items} == set(inc[1:])
    assert recommend(ws, [inc[0]], k=5, similarity="tfidf").signals["similarity"] == "tfidf"


def test_knowledge_graph_neighbours(rws, tmp_path):
    from kg_helpers import write_training

    from serendip.kg.build import build

    ws, inc, exc = rws
    build(ws, training=[write_training(tmp_path)])
    res = recommend(ws, [inc[0]], k=5)
    assert res.signals == {"similarity": "tfidf", "mesh": "mesh", "kg": "kg"}
    reasons = [why for r in res.items for why in r.reasons if "KG" in why]
    assert reasons and all(why.startswith("shares KG entit") for why in reasons)
    assert any("D001241" in why for why in reasons)            # aspirin, tagged by the dictionary
    top = res.items[0]
    parts = top.parts
    assert top.score == pytest.approx(sum(WEIGHTS[s] * parts.get(s, 0.0) for s in WEIGHTS), abs=1e-5)


def test_bad_input(rws):
    ws, inc, exc = rws
    with pytest.raises(DataError, match=r"record id\(s\) 777 are not records of workspace"):
        recommend(ws, [inc[0], 777])
    with pytest.raises(ConfigError, match="at least one record id"):
        recommend(ws, [])
    with pytest.raises(ConfigError, match="k must be >= 1"):
        recommend(ws, [inc[0]], k=0)
    with pytest.raises(ConfigError, match="weights take the signals"):
        recommend(ws, [inc[0]], weights={"cocitations": 1.0})
    with pytest.raises(IndexNotBuilt, match="serendip index"):
        recommend(ws, [inc[0]], similarity="dense")


def test_a_record_deleted_after_the_graph_was_built_is_left_out_with_a_note(rws, tmp_path):
    """A record deleted after `kg build` (a PubMed DeleteCitation): the graph still names it until the next build;
    recommend leaves it out and says why (it once crashed with a KeyError)."""
    from kg_helpers import write_training

    from serendip.kg.build import build

    ws, inc, exc = rws
    build(ws, training=[write_training(tmp_path)])
    first = recommend(ws, [inc[0]], k=5)
    victim = next(r for r in first.items if "kg" in r.parts)
    from serendip.workspace.schema import records

    with ws.engine.begin() as conn:  # deleted as a DeleteCitation of its PubMed source deletes it
        conn.execute(records.delete().where(records.c.id == victim.record_id))
    again = recommend(ws, [inc[0]], k=50)
    assert victim.record_id not in {r.record_id for r in again.items}
    assert any("no longer in the workspace" in note for note in again.notes)
