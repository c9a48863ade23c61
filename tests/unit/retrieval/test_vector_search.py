"""The dense index's ANN structures: built once at save, memory-mapped at load, never rebuilt by a
search in a fresh process (asserted by making every FAISS build/train/add call raise there), extended
(not rebuilt) by an incremental add, and a damaged file named in one line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from serendip.errors import IndexDamaged
from serendip.retrieval import vector_search as ann
from serendip.retrieval.dense import DenseIndex

SRC = Path(__file__).resolve().parents[3] / "src"
DIM = 16

#: run in a fresh process: every FAISS call that builds, trains or adds raises, then load and search
CHILD = r"""
import json, sys
import numpy as np
import faiss

def refuse(*args, **kwargs):
    raise AssertionError("a FAISS structure was built, trained or added to while loading or searching")

for name in dir(faiss):
    cls = getattr(faiss, name)
    if isinstance(cls, type) and issubclass(cls, faiss.Index):
        for method in ("add", "add_c", "add_with_ids", "train", "train_c"):
            if hasattr(cls, method):
                setattr(cls, method, refuse)
for name in ("IndexHNSWFlat", "IndexIVFPQ", "IndexFlatIP", "IndexFlat"):
    getattr(faiss, name).__init__ = refuse
faiss.index_factory = refuse
from serendip.retrieval import vector_search as ann
ann.build = refuse
ann.add = refuse
from serendip.retrieval.dense import DenseIndex

folder, exact_threshold, ivfpq_threshold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
idx = DenseIndex.load(folder, exact_threshold=exact_threshold, ivfpq_threshold=ivfpq_threshold)
q = np.load(folder + "/../queries.npy")
hits = idx.search_vectors(q, 10)
print(json.dumps({"backend": idx.backend, "mapped": idx._ann_file is not None,
                  "emb_mapped": isinstance(idx.embeddings, np.memmap), "hits": hits}))
"""


def random_encoder(texts, batch_size):
    """Pseudo-embeddings of dimension :data:`DIM`, seeded by the number in each text ("doc 17")."""
    return np.stack([np.random.default_rng(int(t.split()[1])).standard_normal(DIM) for t in texts]).astype(np.float32)


def build_index(folder: Path, n: int, exact_threshold: int, ivfpq_threshold: int) -> DenseIndex:
    idx = DenseIndex(encoder=random_encoder, exact_threshold=exact_threshold, ivfpq_threshold=ivfpq_threshold)
    idx.add([str(i) for i in range(n)], [f"doc {i}" for i in range(n)], [None] * n, batch_size=1024)
    idx.save(folder / "dense")
    q = np.random.default_rng(7).standard_normal((20, DIM)).astype(np.float32)
    np.save(folder / "queries.npy", q / np.linalg.norm(q, axis=1, keepdims=True))
    return idx


def search_in_fresh_process(folder: Path, exact_threshold: int, ivfpq_threshold: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder / "dense"), str(exact_threshold),
                          str(ivfpq_threshold)], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def exact_top(idx: DenseIndex, q: np.ndarray, k: int) -> list[set[str]]:
    sims = q @ np.asarray(idx.embeddings).T
    return [{idx.ids[i] for i in np.argsort(-row)[:k]} for row in sims]


@pytest.mark.parametrize("kind,n,exact_threshold,ivfpq_threshold",
                         [("hnsw", 3000, 100, 10**9), ("ivfpq", 10_000, 100, 1000)])
def test_saved_structure_is_loaded_mapped_not_rebuilt(tmp_path, kind, n, exact_threshold, ivfpq_threshold):
    built = build_index(tmp_path, n, exact_threshold, ivfpq_threshold)
    assert built.backend == kind and (tmp_path / "dense" / ann.ANN_FILES[kind]).is_file()
    meta = json.loads((tmp_path / "dense" / "meta.json").read_text())
    assert meta["backend"] == kind and meta["ann_file"] == ann.ANN_FILES[kind] and kind in meta
    q = np.load(tmp_path / "queries.npy")
    got = search_in_fresh_process(tmp_path, exact_threshold, ivfpq_threshold)
    assert got["backend"] == kind and got["mapped"] and got["emb_mapped"]
    hits = [[(d, s) for d, s in row] for row in got["hits"]]
    assert hits == [[(d, pytest.approx(s, abs=1e-6)) for d, s in row] for row in built.search_vectors(q, 10)]
    truth = exact_top(built, q, 10)
    recall = np.mean([len({d for d, _ in row} & t) / 10 for row, t in zip(hits, truth)])
    # isotropic random vectors are PQ's worst case (16 dims in 2 bytes here); MiniLM's are far kinder
    assert recall >= (0.9 if kind == "hnsw" else 0.7)
    emb = np.asarray(built.embeddings)
    for qv, row in zip(q, hits):  # exact cosines, best first
        assert [s for _, s in row] == pytest.approx([float(emb[int(d)] @ qv) for d, _ in row], abs=1e-5)
        assert [s for _, s in row] == sorted((s for _, s in row), reverse=True)


@pytest.mark.slow
def test_a_100k_vector_index_in_a_fresh_process_builds_no_graph(tmp_path):
    n = 100_000
    built = build_index(tmp_path, n, 50_000, 10**9)
    assert built.backend == "hnsw"
    got = search_in_fresh_process(tmp_path, 50_000, 10**9)
    assert got["backend"] == "hnsw" and got["mapped"] and got["emb_mapped"]
    assert [row[0][0] for row in got["hits"]] == [row[0][0] for row in built.search_vectors(np.load(tmp_path / "queries.npy"), 10)]


@pytest.mark.parametrize("kind,exact_threshold,ivfpq_threshold", [("hnsw", 100, 10**9), ("ivfpq", 100, 1000)])
def test_incremental_add_after_load_extends_the_loaded_structure(tmp_path, kind, exact_threshold, ivfpq_threshold,
                                                                 monkeypatch):
    build_index(tmp_path, 10_000, exact_threshold, ivfpq_threshold)
    idx = DenseIndex.load(tmp_path / "dense", encoder=random_encoder, exact_threshold=exact_threshold,
                          ivfpq_threshold=ivfpq_threshold)
    loaded = idx._ann
    monkeypatch.setattr(ann, "build", lambda *a, **k: pytest.fail("rebuilt instead of extended"))
    idx.add([str(i) for i in range(10_000, 10_200)], [f"doc {i}" for i in range(10_000, 10_200)], [None] * 200)
    q = random_encoder(["doc 10100"], 1)
    q /= np.linalg.norm(q)
    assert idx.search_vectors(q, 1)[0][0][0] == "10100"  # a new vector is found
    assert idx._ann is not loaded and idx._ann.ntotal == 10_200 and idx._ann_file is None
    idx.save(tmp_path / "dense")
    again = DenseIndex.load(tmp_path / "dense", exact_threshold=exact_threshold, ivfpq_threshold=ivfpq_threshold)
    assert again._ann.ntotal == 10_200 and again.search_vectors(q, 1)[0][0][0] == "10100"


def test_remove_rebuilds_the_structure(tmp_path):
    build_index(tmp_path, 2000, 100, 10**9)
    idx = DenseIndex.load(tmp_path / "dense", encoder=random_encoder, exact_threshold=100, ivfpq_threshold=10**9)
    assert idx.remove(["5"]) == 1 and idx._ann is None
    q = random_encoder(["doc 6"], 1)
    assert idx.search_vectors(q / np.linalg.norm(q), 1)[0][0][0] == "6" and idx._ann.ntotal == 1999


@pytest.mark.parametrize("kind,exact_threshold,ivfpq_threshold", [("hnsw", 100, 10**9), ("ivfpq", 100, 1000)])
def test_a_damaged_ann_file_is_named_with_the_rebuild_hint(tmp_path, kind, exact_threshold, ivfpq_threshold):
    build_index(tmp_path, 10_000, exact_threshold, ivfpq_threshold)
    path = tmp_path / "dense" / ann.ANN_FILES[kind]
    size = path.stat().st_size
    path.write_bytes(b"\x07" * size)  # same size: the manifest's edge check names it
    with pytest.raises(IndexDamaged) as exc:
        DenseIndex.load(tmp_path / "dense", exact_threshold=exact_threshold, ivfpq_threshold=ivfpq_threshold)
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg and "serendip index --rebuild" in msg
    path.write_bytes(b"")  # cut short: the manifest names it
    with pytest.raises(IndexDamaged, match=f"{path.name}.*serendip index --rebuild"):
        DenseIndex.load(tmp_path / "dense", exact_threshold=exact_threshold, ivfpq_threshold=ivfpq_threshold)
    path.unlink()  # missing
    with pytest.raises(IndexDamaged, match=f"{path.name}.*missing.*serendip index --rebuild"):
        DenseIndex.load(tmp_path / "dense", exact_threshold=exact_threshold, ivfpq_threshold=ivfpq_threshold)


def test_exact_search_numpy_and_torch_agree():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    emb = rng.standard_normal((500, DIM)).astype(np.float32)
    q = rng.standard_normal((7, DIM)).astype(np.float32)
    for k in (1, 10, 500):
        s_np, i_np = ann.exact_search(emb, q, k)
        s_t, i_t = ann.exact_search(torch.from_numpy(emb), q, k)
        assert s_np.shape == (7, k) and (k > 10 or np.array_equal(i_np, i_t))  # near-ties may swap
        assert np.allclose(s_np, s_t, atol=1e-5) and np.all(np.diff(s_np, axis=1) <= 0)
    s0, i0 = ann.exact_search(emb, q[:0], 3)
    assert s0.shape == (0, 3) and i0.shape == (0, 3)


@pytest.mark.parametrize("kind,exact_threshold,ivfpq_threshold", [("hnsw", 100, 10**9), ("ivfpq", 100, 1000)])
def test_an_unchanged_loaded_index_saves_its_files_as_they_are(tmp_path, kind, exact_threshold, ivfpq_threshold):
    """`serendip index` with nothing new re-saves a loaded (mapped) index: its files are linked or copied,
    never re-written by FAISS from the mapping (an IVF-PQ written so points at the replaced file)."""
    build_index(tmp_path, 10_000, exact_threshold, ivfpq_threshold)
    folder = tmp_path / "dense"
    before = {name: (folder / name).read_bytes() for name in ("embeddings.npy", ann.ANN_FILES[kind])}
    q = np.load(tmp_path / "queries.npy")
    idx = DenseIndex.load(folder, exact_threshold=exact_threshold, ivfpq_threshold=ivfpq_threshold)
    expected = idx.search_vectors(q, 10)
    idx.save(folder)
    assert {name: (folder / name).read_bytes() for name in before} == before
    got = search_in_fresh_process(tmp_path, exact_threshold, ivfpq_threshold)
    assert [[d for d, _ in row] for row in got["hits"]] == [[d for d, _ in row] for row in expected]


def test_read_rows_of_a_mapped_npy_reads_only_those_rows(tmp_path):
    """IVF-PQ re-scoring reads candidate rows with pread: the same values as indexing the map, and a
    file cut short after it was opened is an IndexDamaged naming it, not a short array."""
    from serendip.retrieval.index_files import load_npy

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((500, 16)).astype(np.float32)
    path = tmp_path / "embeddings.npy"
    np.save(path, emb)
    mapped = load_npy(path)
    rows = np.array([0, 3, 4, 250, 499])
    got = ann.read_rows(mapped, rows)
    assert got.dtype == np.float32 and got.shape == (5, 16)
    assert np.array_equal(got, emb[rows])
    assert np.array_equal(ann.read_rows(emb, rows), emb[rows])  # an in-memory array: plain indexing
    with open(path, "r+b") as fh:  # cut after the map was made
        fh.truncate(path.stat().st_size - 16 * 4 * 10)
    with pytest.raises(IndexDamaged, match="embeddings.npy"):
        ann.read_rows(mapped, np.array([495]))
