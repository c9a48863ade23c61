"""TantivyBM25Index: BM25 formula, interface parity with BM25Index, persistence, damage, updates."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from serendip.errors import DataError, IndexDamaged, IndexNotBuilt
from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.bm25_tantivy import TantivyBM25Index
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
    return TantivyBM25Index.build(IDS, TEXTS)


def _lucene_bm25(tfs: list[int], lens: list[int], df: int, n: int) -> list[float]:
    """Lucene BM25 (k1=1.2, b=0.75) of one term per document, bm25s' 'lucene' scale."""
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    avgdl = sum(lens) / n
    return [idf * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl)) if tf else 0.0 for tf, dl in zip(tfs, lens)]


def test_scores_equal_the_bm25_formula_on_short_documents(index):
    # documents up to 40 tokens: Tantivy stores their length exactly, so the scores are the formula's
    lens = [len(Tokenizer()(t)) for t in TEXTS]
    expected = _lucene_bm25([1, 0, 2, 0], lens, df=2, n=4)
    assert index.scores("metformin") == pytest.approx(np.asarray(expected, dtype=np.float32), rel=1e-5)
    (doc, score), = index.search("sleep", 10)
    assert doc == "b" and score == pytest.approx(_lucene_bm25([0, 1, 0, 0], lens, 1, 4)[1], rel=1e-5)
    # the same numbers as the bm25s backend
    ref = BM25Index.build(IDS, TEXTS)
    for query in ("metformin cancer", "metformin metformin memory", "sleep risk"):
        got, want = index.search(query, 10), ref.search(query, 10)
        assert [d for d, _ in got] == [d for d, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-5)


def test_long_documents_within_the_length_quantisation():
    # past 40 tokens Tantivy (like Lucene) keeps a one-byte length code: scores differ from the exact
    # formula by the quantisation only (a few per cent), and the order of clearly different docs holds
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(["target"] * tf + words[:dl]) for tf, dl in [(1, 50), (2, 120), (1, 260), (3, 90)]]
    ids = ["p", "q", "r", "s"]
    tantivy_scores = TantivyBM25Index.build(ids, texts).scores("target")
    exact = BM25Index.build(ids, texts).scores("target")
    assert tantivy_scores == pytest.approx(exact, rel=0.05)
    assert list(np.argsort(-tantivy_scores)) == list(np.argsort(-exact))


def test_unknown_empty_k_and_batches(index):
    assert index.search("zzzqqq unknownword", 5) == []
    assert index.search("", 5) == [] and index.search("the of", 5) == []
    assert [d for d, _ in index.search("memory zzzqqq", 5)] == ["b"]
    assert len(index.search("metformin memory", 1)) == 1
    assert index.search("metformin", 0) == []
    assert [r[0][0] for r in index.search_many(["metformin", "memory"], 10)] == ["c", "b"]
    assert index.scores("zzz").shape == (4,) and not index.scores("zzz").any()
    assert len(index) == 4 and index.ids == IDS


def test_tokens_are_indexed_as_our_tokenizer_makes_them():
    # Tantivy does not split, lower-case or drop tokens: the hyphen compound is a term of its own, and a
    # 50-letter word (Tantivy's default analyzer drops tokens over 40 bytes) is found
    long_word = "a" * 25 + "b" * 25
    ix = TantivyBM25Index.build(["x", "y"], ["TNF-α signalling", f"tnf receptor {long_word}"])
    assert ix._searcher.doc_freq("text", "tnf-α") == 1 and ix._searcher.doc_freq("text", "tnf") == 2
    assert [d for d, _ in ix.search("α", 5)] == ["x"]
    assert [d for d, _ in ix.search(long_word.upper(), 5)] == ["y"]


def test_save_load_roundtrip_and_backend_dispatch(index, tmp_path):
    from serendip.retrieval.bm25_backends import load_bm25

    index.save(tmp_path / "bm25")
    files = {p.name for p in (tmp_path / "bm25").iterdir()}
    assert {"ids.json", "serendip_bm25.json", "manifest.json", "meta.json"} <= files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    meta = json.loads((tmp_path / "bm25" / "serendip_bm25.json").read_text())
    assert meta["backend"] == "tantivy" and (meta["k1"], meta["b"]) == (1.2, 0.75)
    loaded = load_bm25(tmp_path / "bm25")
    assert isinstance(loaded, TantivyBM25Index) and loaded.ids == IDS
    assert loaded.search("metformin cancer", 10) == index.search("metformin cancer", 10)
    with pytest.raises(DataError, match="load_bm25"):
        BM25Index.load(tmp_path / "bm25")
    BM25Index.build(IDS, TEXTS).save(tmp_path / "s")
    assert isinstance(load_bm25(tmp_path / "s"), BM25Index)
    with pytest.raises(DataError, match="load_bm25"):
        TantivyBM25Index.load(tmp_path / "s")
    with pytest.raises(IndexNotBuilt):
        load_bm25(tmp_path / "nothing")
    # saving over an index replaces it whole
    TantivyBM25Index.build(["z"], ["zebra"]).save(tmp_path / "bm25")
    assert load_bm25(tmp_path / "bm25").ids == ["z"]


def test_bad_input():
    with pytest.raises(DataError, match="duplicate"):
        TantivyBM25Index.build(["a", "a"], ["x", "y"])
    with pytest.raises(DataError):
        TantivyBM25Index.build(["a"], ["x", "y"])
    with pytest.raises(DataError, match="fixed k1"):
        TantivyBM25Index.build(["a"], ["x"], k1=0.9)


def test_empty_and_tokenless_indexes(tmp_path):
    empty = TantivyBM25Index.build([], [])
    assert len(empty) == 0 and empty.search("anything", 5) == []
    empty.save(tmp_path / "e")
    assert TantivyBM25Index.load(tmp_path / "e").search("anything", 5) == []
    stop = TantivyBM25Index.build(["a", "b"], ["", "the of"])
    assert stop.search("the", 3) == [] and stop.scores("x").shape == (2,)


def test_update_adds_and_removes_without_rebuilding(tmp_path):
    folder = tmp_path / "bm25"
    TantivyBM25Index.build(IDS, TEXTS).save(folder)
    before = {p.name for p in folder.glob("*.idx")}
    ix = TantivyBM25Index.update(folder, ["e"], ["metformin cancer"], remove_ids=["c"])
    assert ix.ids == ["a", "b", "d", "e"]
    assert [d for d, _ in ix.search("metformin", 10)] == ["e", "a"]
    assert before <= {p.name for p in folder.glob("*.idx")}  # the old segment is kept, not rewritten
    again = TantivyBM25Index.load(folder)
    assert again.ids == ix.ids and again.search("metformin", 10) == ix.search("metformin", 10)
    assert again.scores("metformin").shape == (4,)
    with pytest.raises(DataError, match="duplicate"):
        TantivyBM25Index.update(folder, ["a"], ["again"])
    # an id removed and added again in one update is replaced
    ix = TantivyBM25Index.update(folder, ["a"], ["zebra"], remove_ids=["a"])
    assert [d for d, _ in ix.search("zebra", 5)] == ["a"] and ix.search("colorectal", 5) == []


def _one_line_damaged(folder, name_part: str) -> None:
    from serendip.retrieval.bm25_backends import load_bm25

    with pytest.raises(IndexDamaged) as err:
        load_bm25(folder)
    msg = str(err.value)
    assert "\n" not in msg and name_part in msg and "serendip index --rebuild" in msg


def _replace_bytes(path, data: bytes) -> None:
    """Put ``data`` at ``path`` as a new file: the old one may still be memory-mapped by an index object
    of this process, and cutting a mapped file short in place would crash it (SIGBUS)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def test_damaged_or_partial_folders_give_one_line(tmp_path):
    def fresh(name):
        folder = tmp_path / name
        TantivyBM25Index.build(IDS, TEXTS).save(folder)
        return folder

    folder = fresh("missing-segment")
    seg = next(folder.glob("*.term"))
    seg.unlink()
    _one_line_damaged(folder, seg.name)

    folder = fresh("truncated")
    seg = next(folder.glob("*.idx"))
    _replace_bytes(seg, seg.read_bytes()[:3])
    _one_line_damaged(folder, seg.name)

    folder = fresh("meta-garbage")  # same size: the manifest's edge check names it
    meta = folder / "meta.json"
    _replace_bytes(meta, b"x" * meta.stat().st_size)
    _one_line_damaged(folder, "meta.json")

    folder = fresh("no-description")
    (folder / "serendip_bm25.json").unlink()
    _one_line_damaged(folder, "serendip_bm25.json")

    folder = fresh("ids-disagree")  # a consistent-looking folder whose id list lost an entry
    (folder / "ids.json").write_text(json.dumps(IDS[:3]))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["ids.json"] = (folder / "ids.json").stat().st_size
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _one_line_damaged(folder, "ids.json")


def test_build_folders_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / ".bm25-tantivy-build-999999999-x"  # no such pid
    dead.mkdir()
    mine = tmp_path / f".bm25-tantivy-build-{os.getpid()}-y"
    mine.mkdir()
    TantivyBM25Index.build(["a"], ["alpha"], workdir=tmp_path).save(tmp_path / "bm25")
    assert not dead.exists() and mine.exists()
    assert [p.name for p in tmp_path.glob(".bm25-tantivy-build-*")] == [mine.name]


def test_choose_backend():
    from serendip.errors import ConfigError
    from serendip.retrieval.bm25_backends import (
        TANTIVY_ABOVE,
        build_bm25,
        choose_backend,
    )

    assert choose_backend(10) == "bm25s" and choose_backend(TANTIVY_ABOVE + 1) == "tantivy"
    assert choose_backend(10, "tantivy") == "tantivy" and choose_backend(10**7, "bm25s") == "bm25s"
    with pytest.raises(ConfigError, match="auto, bm25s, tantivy"):
        choose_backend(10, "lucene")
    assert isinstance(build_bm25(IDS, TEXTS, "tantivy"), TantivyBM25Index)
    assert isinstance(build_bm25(IDS, TEXTS), BM25Index)


def test_workspace_builds_and_searches_with_the_configured_backend(tmp_path):
    from serendip.workbench import Workspace

    docs = tmp_path / "d.jsonl"
    docs.write_text("\n".join(json.dumps(d) for d in [
        {"id": "1", "title": "Aspirin and colorectal cancer"},
        {"id": "2", "title": "Statins and muscle pain"}]) + "\n")
    with Workspace.init(tmp_path / "ws") as ws:
        cfg = tmp_path / "ws" / "serendip.toml"
        assert 'bm25_backend = "auto"' in cfg.read_text()
        cfg.write_text(cfg.read_text().replace('bm25_backend = "auto"', 'bm25_backend = "tantivy"'))
    with Workspace.open(tmp_path / "ws") as ws:
        ws.ingest([docs])
        ws.index(dense=False)
        meta = json.loads((ws.index_dir / "bm25" / "serendip_bm25.json").read_text())
        assert meta["backend"] == "tantivy"
        assert [h.title for h in ws.search("statins", mode="bm25", k=2)] == ["Statins and muscle pain"]
        assert not [p for p in ws.index_dir.iterdir() if p.name.startswith(".")]
    with Workspace.open(tmp_path / "ws") as ws:  # a fresh process reads the backend from the index
        assert ws.index_status().fresh
        assert [h.record_id for h in ws.search("aspirin", mode="bm25", k=2)] == [1]


@pytest.mark.data
def test_rankings_agree_with_bm25s_on_scifact(mirror):
    """The whole SciFact corpus (5,183 abstracts, about 2 s to build each): the same nDCG@10 on the 300
    test claims within 0.005, and mostly the same top 10 (Tantivy's length quantisation swaps near-ties)."""
    import gzip

    from serendip.retrieval.evaluate import (
        evaluate_run,
        load_beir_qrels,
        load_beir_queries,
        run_from_results,
    )

    folder = mirror / "scifact"
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh]
    ids = [d["_id"] for d in docs]
    texts = [f"{d['title']} {d['text']}".strip() for d in docs]
    queries = load_beir_queries(folder / "queries.jsonl")
    qrels = load_beir_qrels(folder / "qrels" / "test.tsv")
    qids = list(qrels)
    qtexts = [queries[q] for q in qids]
    runs = {}
    for cls in (BM25Index, TantivyBM25Index):
        runs[cls] = cls.build(ids, texts).search_many(qtexts, 10)
    ndcg = {cls: evaluate_run(qrels, run_from_results(qids, res), ("ndcg@10",))["ndcg@10"]
            for cls, res in runs.items()}
    assert abs(ndcg[BM25Index] - ndcg[TantivyBM25Index]) <= 0.005, ndcg
    overlap = [len({d for d, _ in a} & {d for d, _ in b}) / max(len(a), 1)
               for a, b in zip(runs[BM25Index], runs[TantivyBM25Index])]
    assert np.mean(overlap) >= 0.95, np.mean(overlap)


def test_saved_files_readable_as_the_folder_and_opened_from_a_read_only_folder(tmp_path, monkeypatch):
    import serendip.retrieval.bm25_tantivy as bt

    folder = tmp_path / "bm25"
    TantivyBM25Index.build(IDS, TEXTS).save(folder)
    umask = os.umask(0)
    os.umask(umask)
    # Tantivy writes meta.json owner-only; a shared workspace needs it as readable as the other parts
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in folder.iterdir() if p.is_file())
    # Tantivy takes a lock file to open an index: a folder we cannot write is read through a copy
    real_access = os.access
    monkeypatch.setattr(bt.os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    ix = TantivyBM25Index.load(folder)
    assert ix._folder != folder and ix.search("metformin", 10) == TantivyBM25Index.build(IDS, TEXTS).search(
        "metformin", 10)
    copy = ix._folder
    del ix
    import gc

    gc.collect()
    assert not copy.exists()


def test_an_unknown_backend_in_the_config_names_the_choices(tmp_path):
    from serendip.errors import ConfigError
    from serendip.workspace.config import WorkspaceConfig

    cfg = tmp_path / "serendip.toml"
    cfg.write_text('[retrieval]\nbm25_backend = "lucene"\n')
    with pytest.raises(ConfigError, match="bm25_backend.*'auto', 'bm25s' or 'tantivy'"):
        WorkspaceConfig.load(cfg)
