"""BM25Index: scoring order, unknown tokens, k, persistence, bad input."""
from __future__ import annotations

import json
import math

import pytest

from serendip.errors import DataError, IndexNotBuilt
from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.tokenizer import Tokenizer

IDS = ["a", "b", "c", "d"]
TEXTS = [
    "metformin lowers colorectal cancer risk",
    "sleep deprivation impairs memory",
    "metformin and metformin again for diabetes",
    "",
]


@pytest.fixture(scope="module")
def index():
    return BM25Index.build(IDS, TEXTS)


def test_scores_match_lucene_bm25_formula(index):
    # one query term, "sleep": only doc b contains it (tf=1). Lucene BM25 (k1=1.2, b=0.75):
    # idf = ln(1 + (N - df + 0.5) / (df + 0.5)); tf part = tf / (tf + k1 * (1 - b + b * dl / avgdl))
    tok = Tokenizer()
    lens = [len(tok(t)) for t in TEXTS]
    avgdl = sum(lens) / len(lens)
    idf = math.log(1 + (4 - 1 + 0.5) / (1 + 0.5))
    tf_part = 1 / (1 + 1.2 * (1 - 0.75 + 0.75 * lens[1] / avgdl))
    (doc, score), = index.search("sleep", 10)
    assert doc == "b"
    assert score == pytest.approx(idf * tf_part, rel=1e-5)


def test_ranking_and_only_positive_scores(index):
    res = index.search("metformin", 10)
    assert [d for d, _ in res] == ["c", "a"]  # tf 2 beats tf 1
    assert all(s > 0 for _, s in res)
    assert res[0][1] > res[1][1]


def test_unknown_and_empty_queries(index):
    assert index.search("zzzqqq unknownword", 5) == []
    assert index.search("", 5) == []
    # an unknown word next to a known one is ignored, not an error
    assert [d for d, _ in index.search("memory zzzqqq", 5)] == ["b"]


def test_k_limits_results(index):
    assert len(index.search("metformin memory", 1)) == 1
    assert index.search("metformin", 0) == []
    many = index.search_many(["metformin", "memory"], 10)
    assert [r[0][0] for r in many] == ["c", "b"]


def test_save_load_roundtrip(index, tmp_path):
    index.save(tmp_path / "bm25")
    files = {p.name for p in (tmp_path / "bm25").iterdir()}
    assert {"ids.json", "vocab.index.json", "params.index.json", "serendip_bm25.json"} <= files
    assert not any(name.endswith((".pkl", ".pickle")) for name in files)
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.ids == IDS
    assert loaded.search("metformin cancer", 10) == index.search("metformin cancer", 10)
    assert json.loads((tmp_path / "bm25" / "serendip_bm25.json").read_text())["k1"] == 1.2


def test_load_missing_raises(tmp_path):
    with pytest.raises(IndexNotBuilt):
        BM25Index.load(tmp_path / "nothing")


def test_bad_input():
    with pytest.raises(DataError):
        BM25Index.build(["a", "a"], ["x", "y"])
    with pytest.raises(DataError):
        BM25Index.build(["a"], ["x", "y"])


def test_empty_index(tmp_path):
    empty = BM25Index.build([], [])
    assert len(empty) == 0 and empty.search("anything", 5) == []
    empty.save(tmp_path / "e")
    assert BM25Index.load(tmp_path / "e").search("anything", 5) == []


@pytest.mark.data
def test_parity_with_bare_bm25s_on_scifact(mirror):
    """Our wrapper (own vocabulary, token ids) scores exactly like bm25s fed the same token lists."""
    import gzip

    import bm25s
    import numpy as np

    with gzip.open(mirror / "scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        docs = [json.loads(line) for _, line in zip(range(1500), fh)]
    ids = [d["_id"] for d in docs]
    texts = [d["title"] + " " + d["text"] for d in docs]
    ours = BM25Index.build(ids, texts)
    tok = Tokenizer()
    ref = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    ref.index([tok(t) for t in texts], show_progress=False)
    for query in ("TNF-α signalling in macrophages", "vitamin D deficiency and fracture risk",
                  "β-catenin Wnt colon cancer", "IL-6 sepsis mortality"):
        q = [t for t in tok(query) if t in ref.vocab_dict]
        assert np.allclose(ours.scores(query), ref.get_scores(q), atol=1e-6), query


def test_documents_without_tokens(tmp_path):
    only_stopwords = BM25Index.build(["a", "b"], ["", "the of"])
    assert only_stopwords.search("the", 3) == [] and only_stopwords.scores("x").shape == (2,)
    only_stopwords.save(tmp_path / "s")
    assert BM25Index.load(tmp_path / "s").ids == ["a", "b"]
    mixed = BM25Index.build(["a", "b"], ["alpha", None])
    assert [d for d, _ in mixed.search("alpha", 3)] == ["a"]


@pytest.mark.parametrize("method", ["lucene", "robertson", "bm25+"])
def test_loaded_index_scores_exactly_like_bm25s(tmp_path, method):
    """The memory-mapped scorer gives bm25s' own float32 scores, bit for bit (repeated terms too)."""
    import bm25s
    import numpy as np

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(words, rng.integers(1, 40))) for _ in range(500)]
    built = BM25Index.build([str(i) for i in range(500)], texts, method=method)
    built.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    reference = bm25s.BM25.load(str(tmp_path / "bm25"), show_progress=False, verbosity=0)
    for query in ("w1 w2 w3", "w7 w7 w250 w99", "w0", " ".join(words[:60]), "nothing here"):
        tids = loaded.query_token_ids(query)
        expected = reference.get_scores_from_ids(tids) if tids else np.zeros(500, dtype=np.float32)
        got = loaded.scores(query)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), query
        assert loaded.search(query, 10) == built.search(query, 10)


def test_loading_for_search_maps_the_matrix_and_imports_no_bm25s(index, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    index.save(tmp_path / "bm25")
    code = ("import json, sys\nimport numpy as np\nfrom serendip.retrieval.bm25 import BM25Index\n"
            "idx = BM25Index.load(sys.argv[1])\n"
            "print(json.dumps({'hits': idx.search('metformin cancer', 2), 'bm25s': 'bm25s' in sys.modules,\n"
            "                  'mapped': isinstance(idx._retriever.data, np.memmap)}))\n")
    src = Path(__file__).resolve().parents[3] / "src"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "bm25")], capture_output=True, text=True,
                         timeout=120, env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["bm25s"] is False and got["mapped"] is True
    assert [tuple(h) for h in got["hits"]] == [(d, pytest.approx(s)) for d, s in index.search("metformin cancer", 2)]
