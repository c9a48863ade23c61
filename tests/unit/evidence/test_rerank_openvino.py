"""The cross-encoder reranker's ``openvino-int8`` backend on the tiny run: the ranking of separated
candidates kept, scores in input order, calibration pairs tokenized as the reranker tokenizes, the
quantised model made once and read from the cache after, a damaged cached file as one line, and the
missing optional packages as one ConfigError. Skipped where openvino / nncf are not installed (the
missing-package test runs everywhere)."""
from __future__ import annotations

import numpy as np
import pytest
from evidence_helpers import QUERY, candidates, spearman

from serendip.errors import ConfigError
from serendip.evidence import rerank_openvino
from serendip.evidence.rerank import BACKENDS, CrossEncoderReranker
from serendip.retrieval import openvino_int8
from serendip.retrieval.onnx_export import ExportError, export_folder

pytestmark = pytest.mark.usefixtures("one_torch_thread", "onnx_cache")


@pytest.fixture
def openvino_installed():
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")


@pytest.fixture
def quantise_calls(monkeypatch) -> list:
    """Records each quantisation (the ``.xml`` it writes)."""
    calls, real = [], openvino_int8._quantise
    monkeypatch.setattr(openvino_int8, "_quantise", lambda plain, feeds, out: (calls.append(out), real(plain, feeds, out))[1])
    return calls


def test_scores_keep_the_ranking_in_input_order(tiny_runs, openvino_installed):
    docs, relevant = candidates()
    ref = CrossEncoderReranker.load(tiny_runs["good"], backend="torch").score(QUERY, docs)
    rr = CrossEncoderReranker.load(tiny_runs["good"], backend="openvino-int8", threads=1)
    assert rr.compiled is not None and rr.session is None and rr.bundle.model is None
    assert "(openvino-int8, max_length 32)" in rr.description
    got = rr.score(QUERY, docs)
    assert got.dtype == np.float64 and got.shape == (len(docs),)
    assert ref[relevant].min() > ref[~relevant].max()  # the fixture is separated in torch ...
    assert got[relevant].min() > got[~relevant].max()  # ... and so in int8
    assert spearman(got, ref) > 0.9
    # static int8: a pair's score does not depend on its batch, so the order of the input is kept
    alone = np.array([rr.score(QUERY, [d])[0] for d in docs])
    assert np.max(np.abs(alone - got)) < 1e-4
    assert np.max(np.abs(rr.score(QUERY, docs[::-1]) - got[::-1])) < 1e-4
    assert rr.score(QUERY, []).shape == (0,)


def test_calibration_pairs_are_tokenized_as_the_reranker_does(tiny_runs):
    texts = openvino_int8.calibration_texts()
    pairs = rerank_openvino.calibration_pairs()
    assert len(pairs) == 2 * len(texts) and pairs == rerank_openvino.calibration_pairs()  # deterministic
    assert pairs[0] == (texts[0].split(". ")[0] + ".", texts[0]) and pairs[1] == (pairs[0][0], texts[1])
    assert pairs[-1][1] == texts[0] and all(texts[i].startswith(pairs[2 * i][0]) for i in range(len(texts)))
    from serendip.models.predict import load_run_model

    bundle = load_run_model(tiny_runs["good"], weights=False)
    feeds = rerank_openvino.calibration_feeds(bundle.tokenizer, bundle.max_length)
    assert len(feeds) == len(pairs)
    assert all(f["input_ids"].dtype == np.int64 and f["input_ids"].shape[0] == 1 for f in feeds)
    assert max(f["input_ids"].shape[1] for f in feeds) == bundle.max_length == 32  # cut at the run's length
    one = bundle.tokenizer(*pairs[5], truncation=True, max_length=32)["input_ids"]
    assert any(f["input_ids"][0].tolist() == one for f in feeds)
    key = openvino_int8.calibration_key
    assert key(feeds) == key(rerank_openvino.calibration_feeds(bundle.tokenizer, 32))
    assert key(feeds) != key(rerank_openvino.calibration_feeds(bundle.tokenizer, 24))


def test_the_quantised_model_is_made_once_then_read_from_the_cache(tiny_runs, tmp_path, monkeypatch,
                                                                    openvino_installed, quantise_calls):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    first = CrossEncoderReranker.load(tiny_runs["good"], backend="openvino-int8")
    path = first.compiled.path
    assert quantise_calls == [path] and path.name.startswith("model-ov-int8-") and path.with_suffix(".bin").is_file()
    assert path.parent == export_folder(tiny_runs["good"] / "model", "sequence-classifier")
    stamps = path.stat().st_mtime_ns, path.with_suffix(".bin").stat().st_mtime_ns
    again = CrossEncoderReranker.load(tiny_runs["good"], backend="openvino-int8")
    assert quantise_calls == [path] and again.compiled.path == path
    assert (path.stat().st_mtime_ns, path.with_suffix(".bin").stat().st_mtime_ns) == stamps
    assert np.allclose(again.score(QUERY, [QUERY, ""]), first.score(QUERY, [QUERY, ""]))
    assert not list(path.parent.glob(".*"))  # no temporary file left


@pytest.mark.parametrize("damage", ["xml", "bin"])
def test_a_damaged_cached_model_is_one_line_error(tiny_runs, tmp_path, monkeypatch, openvino_installed, damage):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    path = CrossEncoderReranker.load(tiny_runs["good"], backend="openvino-int8").compiled.path
    if damage == "xml":
        path.write_text("<net><layers>not a model", encoding="utf-8")
    else:
        data = path.with_suffix(".bin").read_bytes()
        path.with_suffix(".bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ExportError) as err:
        CrossEncoderReranker.load(tiny_runs["good"], backend="openvino-int8")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: OpenVINO cannot load this cached int8 model")
    assert f"delete it and {path.stem}.bin beside it" in message


def test_missing_packages_are_one_config_error(tiny_runs, monkeypatch):
    assert BACKENDS["openvino-int8"] == "plain"
    monkeypatch.setattr(openvino_int8, "_installed", lambda name: name != "nncf")
    with pytest.raises(ConfigError) as err:
        CrossEncoderReranker.load(tiny_runs["good"], backend="openvino-int8")
    assert str(err.value) == ("the reranker backend 'openvino-int8' needs the optional packages openvino and nncf "
                              "(nncf missing): pip install 'serendip[openvino]', or choose another backend "
                              "(torch, onnx, onnx-int8)")
