"""Index folders: swapped in whole (a crash leaves the old index or none), and every damaged part named."""
from __future__ import annotations

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
        assert all(files[name] == (folder / name).stat().st_size for name in files)


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
        else:  # same size, bytes overwritten: only the parser can tell
            target.write_bytes(b"\x00" * target.stat().st_size)
        if damage == "garbage" and name == "no_text.json":
            continue  # the workbench reads this one (tests/integration); the loader does not
        with pytest.raises(IndexDamaged) as exc:
            _load(kind, bad)
        if damage != "garbage" or name.endswith(".json"):
            _assert_names(exc, target)
        else:
            assert "serendip index --rebuild" in str(exc.value) and str(bad) in str(exc.value)


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
