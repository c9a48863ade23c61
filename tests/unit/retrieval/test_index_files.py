"""Index folders: swapped in whole (a crash leaves the old index or none), and every damaged part named."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from serendip.errors import IndexDamaged, IndexNotBuilt
from serendip.retrieval import index_files
from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.dense import DenseIndex
from serendip.retrieval.index_files import (
    MANIFEST,
    atomic_write_text,
    check_manifest,
    replace_folder,
)


def first_word_encoder(texts, batch_size):
    """Pseudo-embeddings (n, 8), one fixed random vector per first word."""
    rows = [np.random.default_rng(sum(map(ord, t.split()[0]))).standard_normal(8) for t in texts]
    return np.asarray(rows, dtype=np.float32)

TITLES = ["aspirin and colorectal cancer", "statins and muscle pain", "vitamin d and fractures",
          "coffee and liver disease", "sleep and memory", "exercise and depression"]
IDS = [str(i) for i in range(1, len(TITLES) + 1)]


def _bm25(folder: Path, titles=TITLES) -> Path:
    BM25Index.build(IDS[:len(titles)], titles).save(folder)
    return folder


def _dense(folder: Path, hnsw: bool = False) -> Path:
    index = DenseIndex(encoder=first_word_encoder, exact_threshold=2 if hnsw else 50_000)
    index.add(IDS, TITLES, [""] * len(IDS))
    if hnsw:
        index.search_vectors(index.encode_queries(["aspirin"]), 3)  # builds the FAISS graph
    index.save(folder, extra_json={"no_text.json": []})
    return folder


def _load(kind: str, folder: Path):
    if kind == "bm25":
        return BM25Index.load(folder)
    return DenseIndex.load(folder, encoder=first_word_encoder, exact_threshold=2)


def _parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:max(1, len(data) // 2)])


def _assert_names(exc: pytest.ExceptionInfo, path: Path) -> None:
    message = str(exc.value)
    assert str(path) in message and "serendip index --rebuild" in message and "\n" not in message


def test_save_writes_a_manifest_and_leaves_no_temporary_folder(tmp_path):
    _bm25(tmp_path / "bm25")
    _dense(tmp_path / "dense")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bm25", "dense"]
    for folder in (tmp_path / "bm25", tmp_path / "dense"):
        files = json.loads((folder / MANIFEST).read_text())["files"]
        assert set(files) == set(_parts(folder)) - {MANIFEST}
        for name, entry in files.items():
            st = (folder / name).stat()
            assert (entry["size"], entry["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
            assert entry["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["bm25", "dense"])
@pytest.mark.parametrize("damage", ["truncate", "delete", "garbage"])
def test_each_damaged_part_is_named_with_the_rebuild_hint(tmp_path, kind, damage):
    folder = _bm25(tmp_path / kind) if kind == "bm25" else _dense(tmp_path / kind, hnsw=True)
    parts = [p for p in _parts(folder) if p != MANIFEST]
    assert len(parts) >= 4
    for name in parts:
        bad = tmp_path / f"{kind}-{name}"
        bad.mkdir()
        for p in folder.iterdir():
            (bad / p.name).write_bytes(p.read_bytes())
        target = bad / name
        if damage == "truncate":
            _truncate(target)
        elif damage == "delete":
            target.unlink()
        else:  # same size, bytes overwritten: the manifest's edge check names the part
            target.write_bytes(b"\x00" * target.stat().st_size)
        if damage == "garbage" and name == "no_text.json":
            continue  # the workbench reads this one (tests/integration); the loader does not
        with pytest.raises(IndexDamaged) as exc:
            _load(kind, bad)
        _assert_names(exc, target)


@pytest.mark.parametrize("kind", ["bm25", "dense"])
def test_damage_is_caught_without_a_manifest_too(tmp_path, kind):
    """Indexes written before manifests existed: the parsers' own errors become IndexDamaged."""
    folder = _bm25(tmp_path / kind) if kind == "bm25" else _dense(tmp_path / kind)
    (folder / MANIFEST).unlink()
    _load(kind, folder)  # loads unchecked
    for name in [p for p in _parts(folder) if p.endswith((".npy", ".json"))]:
        if name in ("no_text.json", "serendip_bm25.json", "meta.json"):
            continue
        original = (folder / name).read_bytes()
        _truncate(folder / name)
        with pytest.raises(IndexDamaged) as exc:
            _load(kind, folder)
        assert "serendip index --rebuild" in str(exc.value), name
        (folder / name).write_bytes(original)


def test_missing_index_is_still_not_built(tmp_path):
    with pytest.raises(IndexNotBuilt):
        BM25Index.load(tmp_path)
    with pytest.raises(IndexNotBuilt):
        DenseIndex.load(tmp_path)


def test_a_failed_write_keeps_the_old_index(tmp_path):
    folder = _bm25(tmp_path / "bm25", TITLES[:3])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(RuntimeError), replace_folder(folder) as tmp:
        (tmp / "ids.json").write_text("[]")
        raise RuntimeError("killed mid-write")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert _parts(tmp_path) == ["bm25"]


def test_a_crash_between_the_renames_leaves_the_old_index_or_none(tmp_path, monkeypatch):
    folder = _bm25(tmp_path / "bm25", TITLES[:3])
    real_rename = os.rename
    calls = []

    def crash_on_second(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("power cut")
        real_rename(src, dst)

    monkeypatch.setattr(index_files.os, "rename", crash_on_second)
    with pytest.raises(OSError):
        _bm25(folder)
    monkeypatch.setattr(index_files.os, "rename", real_rename)
    assert not folder.exists()  # none: never a mix of old and new parts
    with pytest.raises(IndexNotBuilt):
        BM25Index.load(folder)
    _bm25(folder)  # the next write clears the leftovers
    assert _parts(tmp_path) == ["bm25"] and len(BM25Index.load(folder)) == len(TITLES)


def test_check_manifest_names_a_bad_manifest(tmp_path):
    folder = _bm25(tmp_path / "bm25")
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(IndexDamaged) as exc:
        check_manifest(folder)
    _assert_names(exc, folder / MANIFEST)


def test_atomic_write_text_replaces_whole(tmp_path):
    path = tmp_path / "state.json"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and _parts(tmp_path) == ["state.json"]


def test_damaged_embeddings_shape_is_named(tmp_path):
    folder = _dense(tmp_path / "dense")
    np.save(folder / "embeddings.npy", np.zeros((2, 16), dtype=np.float32))
    (folder / MANIFEST).unlink()
    with pytest.raises(IndexDamaged) as exc:
        DenseIndex.load(folder)
    _assert_names(exc, folder / "embeddings.npy")


# -- damage that keeps the size (manifest format 2: size, mtime_ns, edges, sha256) ---------------------
def _big_dense(folder: Path, n: int = 1500) -> Path:
    """A dense index whose embeddings.npy (n x 64 float32, ~384 KB) is well over twice EDGE_BYTES, so
    its middle is outside the bytes the cheap check reads."""
    rng = np.random.default_rng(0)
    index = DenseIndex(encoder=lambda texts, bs: rng.standard_normal((len(texts), 64)).astype(np.float32))
    ids = [str(i) for i in range(n)]
    index.add(ids, [f"title {i}" for i in ids], [""] * n)
    index.save(folder)
    assert (folder / "embeddings.npy").stat().st_size > 4 * index_files.EDGE_BYTES
    return folder


def _flip_middle_byte(path: Path, keep_time: bool = False) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_time:  # as bit rot, or a copy that kept the old time, would leave it
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


def test_same_size_damage_in_the_middle_is_named_on_load(tmp_path):
    folder = _big_dense(tmp_path / "dense")
    emb = folder / "embeddings.npy"
    _flip_middle_byte(emb)
    with pytest.raises(IndexDamaged) as exc:
        DenseIndex.load(folder)
    _assert_names(exc, emb)
    assert "modified after the index wrote it" in str(exc.value)


def test_same_size_damage_to_a_header_is_caught_even_with_the_old_time(tmp_path):
    folder = _big_dense(tmp_path / "dense")
    emb = folder / "embeddings.npy"
    st = emb.stat()
    data = bytearray(emb.read_bytes())
    data[20:24] = b"XXXX"  # inside the .npy header
    emb.write_bytes(bytes(data))
    os.utime(emb, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(IndexDamaged) as exc:
        DenseIndex.load(folder)
    _assert_names(exc, emb)
    assert "first or last 64 KiB differ" in str(exc.value)


def test_loading_never_hashes_whole_files(tmp_path, monkeypatch):
    """Cheap on every search: a stat and two 64 KiB reads per part, never a whole-file SHA-256."""
    dense, bm25 = _big_dense(tmp_path / "dense"), _bm25(tmp_path / "bm25")

    def refuse(path):
        raise AssertionError(f"{path} was hashed whole on load")

    monkeypatch.setattr(index_files, "_sha256", refuse)
    read: list[int] = []
    real_edges = index_files._edges_sha256
    monkeypatch.setattr(index_files, "_edges_sha256", lambda path, size: read.append(size) or real_edges(path, size))
    assert len(DenseIndex.load(dense)) == 1500 and len(BM25Index.load(bm25)) == len(TITLES)
    assert len(read) == len(json.loads((dense / MANIFEST).read_text())["files"]) + len(
        json.loads((bm25 / MANIFEST).read_text())["files"])


def test_a_part_copied_without_its_time_loads_and_verify_records_the_new_time(tmp_path, monkeypatch, caplog):
    folder = _big_dense(tmp_path / "dense")
    for part in folder.iterdir():  # same bytes, new modification times (as `cp -r` without -p leaves them)
        part.write_bytes(part.read_bytes())
    with caplog.at_level("WARNING", logger="serendip"):
        assert len(DenseIndex.load(folder)) == 1500  # whole SHA-256 compared: the content is whole
    assert "embeddings.npy, ids.json, meta.json" in caplog.text and str(folder) in caplog.text
    assert "serendip index --verify" in caplog.text
    assert len(caplog.records) == 1  # one line for the folder, whatever the number of parts
    with caplog.at_level("WARNING", logger="serendip"):
        DenseIndex.load(folder)  # loaded again in the same process (a search checks a part twice)
    assert len(caplog.records) == 1  # said once
    checks = index_files.verify_folder(folder, record_times=True)
    assert {c.status for c in checks} == {"ok"} and {c.path.name for c in checks} == set(_parts(folder)) - {MANIFEST}
    monkeypatch.setattr(index_files, "_sha256", lambda path: pytest.fail(f"{path} hashed whole again"))
    caplog.clear()
    with caplog.at_level("WARNING", logger="serendip"):
        DenseIndex.load(folder)
    assert caplog.text == ""


def test_verify_reads_every_part_whole_and_names_the_damaged_one(tmp_path):
    folder = _big_dense(tmp_path / "dense")
    emb = folder / "embeddings.npy"
    _flip_middle_byte(emb, keep_time=True)  # beyond the cheap check: only a whole read sees it
    assert len(DenseIndex.load(folder)) == 1500
    before = (folder / MANIFEST).read_bytes()
    checks = {c.path.name: c for c in index_files.verify_folder(folder, record_times=True)}
    assert checks["embeddings.npy"].status == "damaged" and "SHA-256 differs" in checks["embeddings.npy"].detail
    assert {c.status for name, c in checks.items() if name != "embeddings.npy"} == {"ok"}
    assert (folder / MANIFEST).read_bytes() == before  # nothing recorded over a damaged folder
    (folder / "ids.json").unlink()
    checks = {c.path.name: c for c in index_files.verify_folder(folder)}
    assert checks["ids.json"].status == "damaged" and checks["ids.json"].detail == "missing"


def test_an_unchanged_part_linked_into_a_new_folder_keeps_its_recorded_sha256(tmp_path, monkeypatch):
    folder = _big_dense(tmp_path / "dense")
    entry = json.loads((folder / MANIFEST).read_text())["files"]["embeddings.npy"]
    index = DenseIndex.load(folder)
    hashed: list[str] = []
    real = index_files._sha256
    monkeypatch.setattr(index_files, "_sha256", lambda path: hashed.append(path.name) or real(path))
    index.save(folder)  # nothing changed: embeddings.npy is hard-linked over, not rewritten
    assert "embeddings.npy" not in hashed and "ids.json" in hashed
    assert json.loads((folder / MANIFEST).read_text())["files"]["embeddings.npy"] == entry


def test_a_format_1_manifest_still_checks_sizes(tmp_path):
    folder = _bm25(tmp_path / "bm25")
    files = json.loads((folder / MANIFEST).read_text())["files"]
    (folder / MANIFEST).write_text(json.dumps({"format": 1, "files": {n: e["size"] for n, e in files.items()}}))
    assert len(BM25Index.load(folder)) == len(TITLES)
    _truncate(folder / "ids.json")
    with pytest.raises(IndexDamaged) as exc:
        BM25Index.load(folder)
    _assert_names(exc, folder / "ids.json")


# -- numpy's own words never reach the user -----------------------------------------------------------
@pytest.mark.parametrize("where", ["magic", "header"])
@pytest.mark.parametrize("manifest", [True, False], ids=["manifest", "no-manifest"])
def test_a_corrupt_npy_header_is_our_one_line_error(tmp_path, where, manifest):
    """A header numpy cannot read gives the damaged-index line, never numpy's advice to load the
    file "unsafely with allow_pickle=True"."""
    folder = _dense(tmp_path / "dense")
    emb = folder / "embeddings.npy"
    data = bytearray(emb.read_bytes())
    if where == "magic":
        data[0:6] = b"\x00" * 6
    else:
        data[12:20] = b"{{{{{{{{"
    emb.write_bytes(bytes(data))
    if not manifest:
        (folder / MANIFEST).unlink()
    with pytest.raises(IndexDamaged) as exc:
        DenseIndex.load(folder)
    _assert_names(exc, emb)
    assert "pickle" not in str(exc.value).lower() and "unsafe" not in str(exc.value).lower()


def test_damaged_drops_a_parsers_advice_to_load_unsafely():
    msg = str(index_files.damaged("x.npy", "This file contains pickled (object) data. If you trust the file "
                                           "you can load it unsafely using the `allow_pickle=` keyword argument."))
    assert "pickle" not in msg and "x.npy" in msg and "serendip index --rebuild" in msg
