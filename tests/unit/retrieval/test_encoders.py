"""Dense encoders: the registry (a meta-test case per entry, on the real bundled model), ONNX parity with
the PyTorch path, the export cache, length batching, and queries embedded without torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from serendip.errors import ConfigError
from serendip.retrieval import encoders as enc_mod
from serendip.retrieval.dense import DenseIndex, resolve_model
from serendip.retrieval.encoders import (
    ENCODERS,
    STConfig,
    encoder_names,
    get_encoder,
    length_batches,
)
from serendip.retrieval.onnx_export import (
    ExportError,
    exported_model,
    model_fingerprint,
)

LONG = " ".join(["Metformin lowers hepatic glucose output and may reduce the incidence of colorectal "
                 "cancer in patients with type 2 diabetes mellitus."] * 20)  # > 256 word pieces
TEXTS = ["metformin and cancer risk", "Sleep deprivation impairs memory consolidation in adolescents.",
         "CRISPR screens identify essential genes", LONG, "x"]
#: least cosine to the PyTorch vectors per encoder, on TEXTS (measured: onnx 1.00000 on all five; int8
#: 0.984 ("x") to 0.996; on 200 SciFact abstracts int8 >= 0.991; openvino-int8 0.920 on the one-letter
#: "x" (int8 activations on a 3-token input), 0.995-0.999 on the others, >= 0.991 on 200 abstracts)
MIN_COSINE = {"torch": 0.99999, "onnx": 0.9999, "onnx-int8": 0.98, "openvino-int8": 0.90}


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    """A private SERENDIP_CACHE for the module: the model is exported there once."""
    folder = tmp_path_factory.mktemp("serendip-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SERENDIP_CACHE", str(folder))
        enc_mod._loaded.clear()
        yield folder
        enc_mod._loaded.clear()


@pytest.fixture(scope="module")
def reference(onnx_cache) -> np.ndarray:
    return np.asarray(get_encoder("torch", "all-MiniLM-L6-v2").encode(TEXTS, 2), dtype=np.float32)


def test_model_config_is_read_as_sentence_transformers_does():
    cfg = STConfig.read(resolve_model())
    assert (cfg.max_seq_length, cfg.do_lower_case, cfg.pooling, cfg.normalize) == (256, False, "mean", True)


def test_unsupported_pooling_is_a_config_error(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_weightedmean_tokens": true}')
    with pytest.raises(ConfigError, match="supports one pooling mode of cls, mean, max"):
        STConfig.read(tmp_path)


def test_length_batches_cover_every_text_once_longest_first():
    lengths = [5, 300, 12, 12, 1, 80, 7]
    batches = length_batches(lengths, 3)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths))) and max(len(b) for b in batches) == 3
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)


def test_pooling_is_the_masked_mean():
    hidden = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    got = enc_mod._pool(hidden, mask, "mean")
    assert np.allclose(got, [[1.0, 2.0], [6.0, 7.0]])
    assert np.allclose(enc_mod._pool(hidden, mask, "max"), [[2.0, 3.0], [6.0, 7.0]])


# -- registry meta-test: one case per encoder --------------------------------------------------------
def _check_parity(name: str, reference: np.ndarray) -> None:
    vecs = get_encoder(name, "all-MiniLM-L6-v2").encode(TEXTS, 2)
    assert vecs.dtype == np.float32 and vecs.shape == reference.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cosines = (vecs * reference).sum(axis=1)
    assert cosines.min() >= MIN_COSINE[name], (name, cosines)


def _case_torch(reference):
    _check_parity("torch", reference)


def _case_onnx(reference):
    _check_parity("onnx", reference)
    encoder = get_encoder("onnx", "all-MiniLM-L6-v2")
    # truncation at max_seq_length (256) word pieces, [CLS] and [SEP] included, as sentence-transformers
    assert len(encoder.tokenizer.encode(LONG).ids) == 256
    # rows come back in input order whatever the batching
    one_by_one = np.vstack([encoder.encode([t], 1) for t in TEXTS])
    assert np.allclose(one_by_one, encoder.encode(TEXTS, 64), atol=1e-5)


def _case_onnx_int8(reference):
    _check_parity("onnx-int8", reference)
    path = get_encoder("onnx-int8", "all-MiniLM-L6-v2").path
    assert path.name == "model-int8.onnx" and path.stat().st_size < 30e6  # int8 weights: ~23 MB, not 90


def _case_openvino_int8(reference):
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    _check_parity("openvino-int8", reference)
    encoder = get_encoder("openvino-int8", "all-MiniLM-L6-v2")
    assert encoder.path.name.startswith("model-ov-int8-") and encoder.path.with_suffix(".bin").is_file()
    assert encoder.path.with_suffix(".bin").stat().st_size < 30e6  # int8 weights
    # batches capped at max_batch, rows in input order whatever the batching
    assert encoder.max_batch == 4 and [len(idx) for idx, _ in encoder.feeds(TEXTS * 2, 64)] == [4, 4, 2]
    one_by_one = np.vstack([encoder.encode([t], 1) for t in TEXTS])
    assert np.allclose(one_by_one, encoder.encode(TEXTS, 64), atol=1e-5)


ENCODER_CASES = {"torch": _case_torch, "onnx": _case_onnx, "onnx-int8": _case_onnx_int8,
                 "openvino-int8": _case_openvino_int8}


@pytest.mark.slow
@pytest.mark.parametrize("name", encoder_names())
def test_encoder(name, reference):
    if name not in ENCODER_CASES:
        pytest.fail(f"no test case for encoder {name}")
    assert ENCODERS.get(name).name == name and ENCODERS.get(name).description
    ENCODER_CASES[name](reference)


def test_unknown_encoder_lists_the_registered_ones():
    with pytest.raises(ConfigError, match="unknown encoder 'openvino'; expected one of: onnx, onnx-int8, openvino-int8, torch"):
        DenseIndex(encoder_name="openvino")


# -- the export cache ------------------------------------------------------------------------------
@pytest.mark.slow
def test_export_is_cached_and_recorded(onnx_cache, reference):
    first = exported_model(resolve_model(), "int8")
    stamp = first.stat().st_mtime_ns
    assert exported_model(resolve_model(), "int8") == first and first.stat().st_mtime_ns == stamp
    assert first.parent.parent == onnx_cache / "onnx"
    info = json.loads((first.parent / "export.json").read_text())
    assert info["fingerprint"] == model_fingerprint(resolve_model()) and info["opset"] == 17
    assert not list(first.parent.glob("*.tmp")) and not list(first.parent.glob(".*"))


def test_fingerprint_follows_the_folder_content(tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"a": 1}')
    before = model_fingerprint(folder)
    assert model_fingerprint(folder) == before
    (folder / "config.json").write_text('{"a": 22}')
    assert model_fingerprint(folder) != before


def test_failed_export_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ExportError, match=f"could not export the embedding model {folder} to ONNX"):
        exported_model(folder, "fp32")
    assert not list((tmp_path / "cache" / "onnx").rglob("*.onnx"))


# -- queries without torch ---------------------------------------------------------------------------
@pytest.mark.slow
def test_onnx_query_imports_no_torch_nor_transformers(onnx_cache, reference):
    exported_model(resolve_model(), "int8")  # exported by this module already; ensure it
    script = textwrap.dedent("""
        import sys
        from serendip.retrieval.dense import DenseIndex
        vec = DenseIndex(encoder_name="onnx-int8").encode_queries(["metformin and cancer risk"])
        assert vec.shape == (1, 384), vec.shape
        loaded = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
        print("LOADED", loaded)
    """)
    env = dict(os.environ, SERENDIP_CACHE=str(onnx_cache))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout


@pytest.mark.slow
def test_torch_queries_match_sentence_transformers_without_importing_it(onnx_cache, reference, tmp_path):
    """A search process embeds torch queries with transformers' AutoModel (TorchQueryEncoder): the
    sentence-transformers vectors (cosine >= 0.99999), without sentence-transformers."""
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from serendip.retrieval.dense import DenseIndex
        vecs = DenseIndex(encoder_name="torch").encode_queries({TEXTS!r})
        np.save({str(tmp_path / "q.npy")!r}, vecs)
        print("LOADED", sorted(m for m in ("sentence_transformers", "sklearn") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout
    got = np.load(tmp_path / "q.npy")
    assert got.shape == reference.shape
    assert float(np.min(np.sum(got * reference, axis=1))) >= MIN_COSINE["torch"]


def test_torch_queries_use_the_loaded_model_once_documents_were_embedded(monkeypatch):
    """After documents were embedded in this process, queries go through the same (loaded) model."""
    calls = []

    class FakeModel:
        def encode(self, texts, **_kw):
            calls.append(list(texts))
            return np.ones((len(texts), 4), dtype=np.float32)

    monkeypatch.setattr("serendip.retrieval.dense.load_model", lambda name: FakeModel())
    monkeypatch.setattr(enc_mod, "TorchQueryEncoder", lambda folder: pytest.fail("light path used"))
    encoder = enc_mod.TorchEncoder(resolve_model())
    encoder.encode(["a document"], 8)
    assert encoder.encode_queries(["a query"], 8).shape == (1, 4)
    assert calls == [["a document"], ["a query"]]


# -- the OpenVINO int8 encoder ---------------------------------------------------------------------
def test_openvino_calibration_is_the_shipped_passages():
    from serendip.retrieval.openvino_encoder import calibration_texts

    texts = calibration_texts()
    assert len(texts) >= 10 and not any(t.startswith("#") for t in texts)
    assert max(len(t.split()) for t in texts) > 150 and min(len(t.split()) for t in texts) < 10


def test_openvino_missing_is_one_config_error(monkeypatch):
    from serendip.retrieval import openvino_encoder

    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(ConfigError, match=r"'openvino-int8' needs the optional packages openvino and nncf "
                                          r"\(openvino missing\): pip install 'serendip\[openvino\]'"):
        openvino_encoder.OpenVinoEncoder(resolve_model())


@pytest.mark.slow
def test_openvino_query_imports_no_torch_nor_nncf(onnx_cache, reference):
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    get_encoder("openvino-int8", "all-MiniLM-L6-v2")  # quantised in this module's cache
    script = textwrap.dedent("""
        import sys
        from serendip.retrieval.dense import DenseIndex
        vec = DenseIndex(encoder_name="openvino-int8").encode_queries(["metformin and cancer risk"])
        assert vec.shape == (1, 384), vec.shape
        loaded = sorted(m for m in ("torch", "transformers", "sentence_transformers", "nncf") if m in sys.modules)
        print("LOADED", loaded)
    """)
    env = dict(os.environ, SERENDIP_CACHE=str(onnx_cache))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout
