"""DenseIndex: offline model resolution, incremental add, title-only text, persistence, FAISS vs exact."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from serendip.errors import ConfigError, DataError, IndexNotBuilt, SerendipError
from serendip.retrieval import dense, embedding_model
from serendip.retrieval.dense import DenseIndex, doc_text, load_model, resolve_model


def _hash_vec(text: str, dim: int = 32) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


class FakeEncoder:
    """Deterministic pseudo-embeddings; records every call."""

    def __init__(self, dim: int = 32):
        self.dim = dim
        self.calls: list[list[str]] = []

    def __call__(self, texts, batch_size):
        self.calls.append(list(texts))
        return np.stack([_hash_vec(t, self.dim) for t in texts])


# -- model resolution ---------------------------------------------------------------------------------
def test_resolve_default_model_offline():
    path = resolve_model()
    assert (Path(path) / "model.safetensors").is_file()
    assert resolve_model("all-MiniLM-L6-v2") == path


def test_resolve_local_folder_as_is(tmp_path):
    assert resolve_model(str(tmp_path)) == str(tmp_path.resolve())


def test_unknown_model_refused_without_download():
    with pytest.raises(ConfigError, match="downloads are off"):
        resolve_model("BAAI/bge-small-en-v1.5")


def test_sha_mismatch_raises(monkeypatch):
    monkeypatch.setattr(embedding_model, "MINILM_SHA256", "0" * 64)
    monkeypatch.setattr(embedding_model, "_verified", {})
    with pytest.raises(SerendipError, match="sha256"):
        resolve_model()


def test_weights_check_is_remembered_on_disk(tmp_path, monkeypatch):
    """The weights' sha256 is read from the disk memo while the file is unchanged, hashed again once it
    changes; a memo never stands in for the comparison (test_sha_mismatch_raises)."""
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    hashed = []
    monkeypatch.setattr(embedding_model, "sha256_file", lambda p: hashed.append(p) or f"sha-{p.stat().st_size}")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"1234")
    assert embedding_model._weights_digest(weights) == "sha-4" and len(hashed) == 1
    assert embedding_model._weights_digest(weights) == "sha-4" and len(hashed) == 1  # from the memo
    memo = json.loads((tmp_path / "cache" / "model-checks.json").read_text())
    assert memo[str(weights)]["sha256"] == "sha-4"
    weights.write_bytes(b"123456")
    assert embedding_model._weights_digest(weights) == "sha-6" and len(hashed) == 2


# -- text rule ----------------------------------------------------------------------------------------
def test_doc_text_rule():
    assert doc_text("A title", "An abstract.") == "A title An abstract."
    assert doc_text("A title", "") == "A title"
    assert doc_text("A title", None) == "A title"
    assert doc_text("A title", "  \n ") == "A title"
    assert doc_text(" ", "Only abstract") == "Only abstract"
    assert doc_text("", "") is None and doc_text(None, None) is None


# -- add / incremental --------------------------------------------------------------------------------
def test_add_is_incremental_and_reports_no_text():
    enc = FakeEncoder()
    idx = DenseIndex(encoder=enc)
    rep = idx.add(["r1", "r2", "r5"], ["T one", "T two", ""], ["abs one", "   ", None])
    assert rep.added == ["r1", "r2"] and rep.no_text == ["r5"] and len(rep.warnings) == 1
    assert enc.calls == [["T one abs one", "T two"]]
    before = idx.embeddings.copy()
    rep2 = idx.add(["r1", "r2", "r3", "r3"], ["T one", "T two", "T three", "T three"], ["abs one", "", "x", "x"])
    assert rep2.added == ["r3"] and rep2.already_present == 2
    assert enc.calls[1] == ["T three x"]            # only the new record was embedded
    assert np.array_equal(idx.embeddings[:2], before)  # old vectors untouched
    assert idx.ids == ["r1", "r2", "r3"] and idx.embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(idx.embeddings, axis=1), 1.0, atol=1e-6)
    # nothing new: encoder not called at all
    idx.add(["r1"], ["T one"], ["abs one"])
    assert len(enc.calls) == 2


def test_add_length_mismatch():
    with pytest.raises(DataError):
        DenseIndex(encoder=FakeEncoder()).add(["a"], ["t"], [])


def test_remove_then_readd():
    enc = FakeEncoder()
    idx = DenseIndex(encoder=enc)
    idx.add(["a", "b"], ["ta", "tb"], ["", ""])
    assert idx.remove(["a", "zz"]) == 1 and idx.ids == ["b"]
    idx.add(["a"], ["ta edited"], [""])
    assert idx.ids == ["b", "a"] and enc.calls[-1] == ["ta edited"]


def test_zero_vector_from_encoder_is_refused():
    idx = DenseIndex(encoder=lambda texts, bs: np.zeros((len(texts), 4), dtype=np.float32))
    with pytest.raises(SerendipError):
        idx.add(["a"], ["t"], [""])


# -- search / persistence -----------------------------------------------------------------------------
def test_empty_index_search():
    assert DenseIndex(encoder=FakeEncoder()).search("anything", 5) == []


def test_save_load_roundtrip(tmp_path):
    enc = FakeEncoder()
    idx = DenseIndex(encoder=enc)
    idx.add([f"d{i}" for i in range(20)], [f"title {i}" for i in range(20)], [""] * 20)
    idx.save(tmp_path / "dense")
    meta = json.loads((tmp_path / "dense" / "meta.json").read_text())
    assert meta["dim"] == 32 and meta["n"] == 20 and meta["model"] == dense.DEFAULT_MODEL
    loaded = DenseIndex.load(tmp_path / "dense", encoder=enc)
    assert loaded.ids == idx.ids and np.array_equal(loaded.embeddings, idx.embeddings)
    assert loaded.search("title 7", 3) == idx.search("title 7", 3)
    assert loaded.search("title 7", 3)[0][0] == "d7"
    with pytest.raises(IndexNotBuilt):
        DenseIndex.load(tmp_path / "missing")


def test_faiss_hnsw_agrees_with_exact(tmp_path):
    enc = FakeEncoder(dim=48)
    n = 3000
    ids = [f"d{i}" for i in range(n)]
    titles = [f"document number {i}" for i in range(n)]
    exact = DenseIndex(encoder=enc, exact_threshold=10**9)
    exact.add(ids, titles, [""] * n)
    approx = DenseIndex(encoder=enc, exact_threshold=100, ivfpq_threshold=10**9)  # the FAISS HNSW path
    approx.add(ids, titles, [""] * n)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((50, 48)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    r_exact = exact.search_vectors(q, 10)
    r_approx = approx.search_vectors(q, 10)
    assert approx._ann is not None and exact._ann is None
    top1 = np.mean([a[0][0] == b[0][0] for a, b in zip(r_exact, r_approx)])
    overlap = np.mean([len({d for d, _ in a} & {d for d, _ in b}) / 10 for a, b in zip(r_exact, r_approx)])
    assert top1 >= 0.95 and overlap >= 0.9
    # the cosine values reported by both paths agree for shared documents
    for a, b in zip(r_exact, r_approx):
        da = dict(a)
        for d, s in b:
            if d in da:
                assert s == pytest.approx(da[d], abs=1e-4)
    # the built HNSW graph is saved and reloaded, not rebuilt
    approx.save(tmp_path / "h")
    assert (tmp_path / "h" / "hnsw.faiss").is_file()
    again = DenseIndex.load(tmp_path / "h", encoder=enc, exact_threshold=100, ivfpq_threshold=10**9)
    assert again._ann is not None and again.search_vectors(q[:5], 10) == r_approx[:5]


# -- the real bundled model ---------------------------------------------------------------------------
def test_real_model_incremental_and_semantic_match():
    model = load_model()
    calls = []

    def counting(texts, batch_size):
        calls.append(len(texts))
        return model.encode(texts, batch_size=batch_size, normalize_embeddings=True)

    idx = DenseIndex(encoder=counting)
    idx.add(["m", "s"], ["Metformin and colorectal cancer in diabetes", "Sleep loss impairs memory in mice"],
            ["A cohort study of diabetic adults.", ""])
    idx.add(["m", "s", "v"], ["x", "y", "Vitamin D and fractures in older adults"], ["", "", None])
    assert calls == [2, 1]
    assert idx.embeddings.shape == (3, 384)
    assert idx.search("does lack of sleep hurt memory?", 3)[0][0] == "s"
    assert idx.search("bone fractures in the elderly", 3)[0][0] == "v"
    # the default (model-backed) path gives the same vectors as the counting encoder
    plain = DenseIndex()
    plain.add(["v"], ["Vitamin D and fractures in older adults"], [""])
    assert float(plain.embeddings[0] @ idx.embeddings[2]) > 0.9999
