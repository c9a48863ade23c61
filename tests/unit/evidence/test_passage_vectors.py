"""Stored passage vectors (``serendip index --passage-vectors``): ``ask`` reads them instead of embedding
and gets the same passages, relevance and answer; a record edited since is embedded on the fly (never a
stale vector); an update keeps the vectors of unchanged records and embeds only the changed ones."""
from __future__ import annotations

import numpy as np
import pytest
from evidence_helpers import indexed_workspace
from sqlalchemy import select, update

from serendip.evidence import answer
from serendip.evidence.answer import ask, gather_passages
from serendip.evidence.passage_vectors import FOLDER, PassageVectors
from serendip.workspace.schema import records

RECORDS = [
    {"id": "z1", "pmid": "111", "title": "Zinc lozenges and the common cold",
     "abstract": "Zinc lozenges were tested in 100 adults. Zinc lozenges shortened colds by 2 days."},
    {"id": "z2", "pmid": "222", "title": "Zinc does not shorten colds in children",
     "abstract": "In 200 children zinc syrup had no effect on the duration of the common cold."},
    {"id": "c1", "title": "Coffee and liver fibrosis", "abstract": "Coffee drinkers had less liver fibrosis."},
]
QUESTION = "Does zinc shorten the common cold?"


def test_ask_reads_stored_vectors_and_answers_alike(tmp_path, monkeypatch):
    with indexed_workspace(tmp_path, RECORDS) as ws:
        want_found, want_rel, want_vecs = gather_passages(ws, QUESTION, k=3)
        want = ask(ws, QUESTION, k=3, verifier=None).to_dict()
        rep = ws.index(passage_vectors=True).passage_vectors
        assert (rep.records, rep.embedded_records, rep.kept_records) == (3, 3, 0)
        assert rep.passages == rep.embedded_passages == len(want_found)
        stored = PassageVectors.load(ws.index_dir / FOLDER)
        assert stored.vectors.shape == (len(want_found), 384) and stored.vectors.dtype == np.float32
        dense = ws.searcher().dense
        embedded = []
        real = dense.encode_documents
        monkeypatch.setattr(type(dense), "encode_documents",
                            lambda self, texts, **kw: embedded.extend(texts) or real(texts, **kw))
        found, rel, vecs = gather_passages(ws, QUESTION, k=3)
        assert embedded == []  # nothing embedded: every record's vectors were stored
        assert found == want_found
        assert np.allclose(vecs, want_vecs, atol=1e-5) and np.allclose(rel, want_rel, atol=1e-5)
        assert ask(ws, QUESTION, k=3, verifier=None).to_dict() == want

        with ws.engine.begin() as conn:  # z2 edited in place after the vectors were stored
            data = dict(conn.execute(select(records.c.data).where(records.c.id == 2)).scalar_one())
            data["abstract_sections"] = [{**data["abstract_sections"][0], "text": data["abstract_sections"][0]["text"]
                                          + " Zinc was well tolerated."}]
            abstract = data["abstract_sections"][0]["text"]
            conn.execute(update(records).where(records.c.id == 2).values(abstract=abstract, data=data))
        found, _, _ = gather_passages(ws, QUESTION, k=3)
        assert "Zinc was well tolerated." in embedded and any(f["text"] == "Zinc was well tolerated." for f in found)
        again = ws.index(passage_vectors=True).passage_vectors
        assert (again.embedded_records, again.kept_records) == (1, 2)


def test_vectors_of_another_encoder_are_not_used(tmp_path, monkeypatch):
    with indexed_workspace(tmp_path, RECORDS) as ws:
        ws.index(passage_vectors=True)
        monkeypatch.setattr(PassageVectors, "matches", lambda self, model, encoder: False)
        assert answer._passage_vectors(ws, ws.searcher().dense) is None
        found, _, _ = gather_passages(ws, QUESTION, k=3)
        assert found


def test_passage_vectors_need_a_dense_index(tmp_path):
    from evidence_helpers import write_jsonl

    from serendip.errors import IndexNotBuilt
    from serendip.workbench import Workspace

    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([write_jsonl(tmp_path / "r.jsonl", RECORDS)])
        with pytest.raises(IndexNotBuilt, match="dense index"):
            ws.index(dense=False, passage_vectors=True)
