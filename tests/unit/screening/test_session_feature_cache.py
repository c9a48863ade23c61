"""The on-disk feature cache of screening sessions: the same next records with and without it, read back
by a later process, rebuilt when a record of the session changes, trusted never when damaged."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from screening_helpers import make_workspace
from sqlalchemy import select, update

from serendip.screening.feature_cache import SessionFeatureCache, feature_key
from serendip.screening.session import open_session, start_session
from serendip.workbench import Workspace
from serendip.workspace.schema import records
from serendip.workspace.store import count_changes


def _steps(ws, name: str, inc: list[int], n: int, cache: bool) -> list[tuple[int, float]]:
    """``n`` next/label cycles, each in a freshly opened session (as each CLI call is)."""
    shown = []
    for _ in range(n):
        s = open_session(ws, name, feature_cache=cache)
        rec = s.next()
        shown.append((rec.record_id, rec.score))
        s.label(rec.record_id, "include" if rec.record_id in inc else "exclude")
    return shown


@pytest.mark.parametrize("model", ["tfidf-svm", "tfidf-mesh-svm"])
def test_the_same_next_records_with_and_without_the_cache(tmp_path, model):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    with ws:
        for name in ("cached", "plain"):
            start_session(ws, name, [inc[0]], [exc[0]], model=model, strategy="mixed", seed=5)
        cached, plain = _steps(ws, "cached", inc, 5, True), _steps(ws, "plain", inc, 5, False)
        assert cached == plain
        s = open_session(ws, "cached")
        s.next()
        assert s.feature_cache.hits and not s.feature_cache.builds and s.notes == []
        files = sorted(p.name for p in (ws.index_dir / "screening").iterdir())
        sid, kind = s.row["id"], s.feature_cache.hits[0]
        assert files == sorted([s.feature_cache.path(kind).name, s.feature_cache.stamp_path(kind).name])
        assert files[0].startswith(f"session-{sid}-{'tfidf-' if model == 'tfidf-svm' else 'text-mesh-0.5'}")
        assert not list((ws.index_dir / "screening").glob(".*tmp"))


def test_an_edited_record_rebuilds_and_an_added_one_does_not(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    path = ws.path
    with ws:
        for name in ("cached", "plain"):
            start_session(ws, name, [inc[0]], [exc[0]])
        open_session(ws, "cached").next()
        # an exclude rewritten with the includes' words, as Serendip changes a stored record (a merge:
        # the row's revision and the workspace's changes counter move): features and next record change
        with ws.engine.begin() as conn:
            data = conn.execute(select(records.c.data).where(records.c.id == exc[3])).scalar_one()
            data = {**data, "abstract_sections": [{"text": "aspirin trial heart infarction randomised aspirin trial",
                                                   "label": None, "category": None}]}
            conn.execute(update(records).where(records.c.id == exc[3])
                         .values(data=data, revision=count_changes(conn, 1)))
        s = open_session(ws, "cached")
        rec = s.next()
        assert s.feature_cache.builds and not s.feature_cache.hits
        assert rec.record_id == open_session(ws, "plain", feature_cache=False).next().record_id
    more = tmp_path / "more.jsonl"
    more.write_text('{"pmid": "9001", "title": "aspirin trial", "abstract": "heart infarction"}\n', encoding="utf-8")
    with Workspace.open(path) as again:
        again.ingest([more], fmt="jsonl")   # outside both sessions: the cache still holds
        s = open_session(again, "cached")
        assert s.next().record_id == open_session(again, "plain", feature_cache=False).next().record_id
        assert s.feature_cache.hits and not s.feature_cache.builds


def test_a_damaged_cache_file_is_rebuilt_with_a_note(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    with ws:
        start_session(ws, "r", [inc[0]], [exc[0]])
        want = open_session(ws, "r").next().record_id
        (f,) = (ws.index_dir / "screening").glob("*.npz")
        good = f.read_bytes()
        for bad in (b"not a zip", good[: len(good) // 2], good[:200] + bytes(64) + good[264:]):
            f.write_bytes(bad)
            s = open_session(ws, "r")
            assert s.next().record_id == want
            assert len(s.notes) == 1 and "is damaged" in s.notes[0] and "rebuilding" in s.notes[0]
            assert "allow_pickle" not in s.notes[0] and "unsafely" not in s.notes[0]
            assert s.feature_cache.builds and f.read_bytes() == good   # replaced by the rebuilt matrix


def test_session_feature_cache_checks_key_shape_and_arrays(tmp_path):
    X = sparse.random(6, 9, density=0.4, format="csr", random_state=0, dtype=np.float64)
    built = []

    def build(m=X):
        built.append(1)
        return m

    cache = SessionFeatureCache(tmp_path / "screening", 3)
    assert cache.fetch("tfidf-a", "k1", 6, build) is X and len(built) == 1
    back = cache.fetch("tfidf-a", "k1", 6, build)
    assert len(built) == 1 and (back != X).nnz == 0 and back.dtype == np.float64 and cache.hits == ["tfidf-a"]
    cache.fetch("tfidf-a", "k2", 6, build)                   # another key: rebuilt, no note
    assert len(built) == 2 and cache.notes == []
    cache.fetch("tfidf-a", "k2", 7, lambda: sparse.csr_matrix((7, 9)))   # 6 rows stored, 7 records now
    assert "damaged (shape [6, 9] for 7 records)" in cache.notes[-1]
    path = cache.path("tfidf-a")
    with open(path, "wb") as fh:                             # CSR arrays that disagree
        np.savez(fh, key=np.array("k3"), data=X.data, indices=X.indices + 100, indptr=X.indptr,
                 shape=np.array(X.shape))
    cache.fetch("tfidf-a", "k3", 6, build)
    assert "column indices out of range" in cache.notes[-1]
    ro = SessionFeatureCache(tmp_path / "ro", 1, writable=False)
    ro.fetch("tfidf-a", "k", 6, build)
    assert not (tmp_path / "ro").exists() and "read-only workspace" in ro.notes[0]
    with pytest.raises(ValueError, match="expected \\(5, d\\)"):
        cache.fetch("tfidf-b", "k", 5, build)


def test_feature_key_covers_ids_texts_mesh_and_params():
    base = ([1, 2], ["a", "b"], ["x", ""], [["M"], []])
    k = feature_key("tfidf", "p", *base)
    assert k == feature_key("tfidf", "p", *base)
    changed = [([1, 3], *base[1:]), (base[0], ["a", "c"], *base[2:]), (*base[:2], ["x", " "], base[3]),
               (*base[:3], [["M"], ["N"]]), (base[0], ["ax", "b"], ["", ""], base[3]),
               (base[0], ["a", "b"], ["x", ""], [["M\x1fN"], []])]
    keys = {feature_key("tfidf", "p", *c) for c in changed} | {feature_key("tfidf", "q", *base), k}
    assert len(keys) == len(changed) + 2


def test_the_stamp_spares_the_texts_until_the_workspace_changes(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    with ws:
        start_session(ws, "r", [inc[0]], [exc[0]], model="tfidf-svm")
        want = open_session(ws, "r").next().record_id             # cold: texts read, matrix and stamp written
        s = open_session(ws, "r")
        assert s.next().record_id == want
        assert s.feature_cache.hits and not s._features().data.loaded   # warm: no record's text read
        # a change elsewhere in the workspace moves the counter: the full key is checked (texts read),
        # the matrix still holds and the stamp is renewed
        with ws.engine.begin() as conn:
            count_changes(conn, 1)
        s = open_session(ws, "r")
        assert s.next().record_id == want and s.feature_cache.hits and s._features().data.loaded
        s = open_session(ws, "r")
        assert s.next().record_id == want and s.feature_cache.hits and not s._features().data.loaded
        # a stamp file that cannot be read is only a slower path: the full key decides
        for stamp in (ws.index_dir / "screening").glob("*.stamp.json"):
            stamp.write_text("{not json", encoding="utf-8")
        s = open_session(ws, "r")
        assert s.next().record_id == want and s.feature_cache.hits and s.notes == []


def test_fetch_with_a_stamp_computes_the_key_only_when_the_stamp_differs(tmp_path):
    X = sparse.random(4, 5, density=0.5, format="csr", random_state=1, dtype=np.float64)
    asked = []

    def key():
        asked.append(1)
        return "k1"

    cache = SessionFeatureCache(tmp_path / "screening", 2)
    cache.fetch("tfidf-a", key, 4, lambda: X, stamp="s1")
    assert len(asked) == 1 and cache.builds == ["tfidf-a"]
    cache.fetch("tfidf-a", key, 4, lambda: X, stamp="s1")
    assert len(asked) == 1 and cache.hits == ["tfidf-a"]           # the stamp proved it
    cache.fetch("tfidf-a", key, 4, lambda: X, stamp="s2")
    assert len(asked) == 2 and cache.hits == ["tfidf-a"] * 2       # the key proved it; stamp renewed
    cache.fetch("tfidf-a", lambda: "k2", 4, lambda: X, stamp="s3")  # another key: rebuilt
    assert cache.builds == ["tfidf-a", "tfidf-a"]
