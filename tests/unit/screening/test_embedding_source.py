"""``--embedding-model``: a transformers checkpoint (as ``serendip pretrain`` writes) embedded by mean
pooling, a sentence-transformers folder passed to the encoder, anything else refused with the path named;
``screen simulate`` runs a model on a checkpoint's embeddings."""
from __future__ import annotations

import json

import numpy as np
import pytest
from screening_helpers import tiny_checkpoint, tiny_set, write_files
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.errors import ConfigError
from serendip.screening.embedding_source import checkpoint_folder, embedding_context


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("run"))


def test_a_checkpoint_is_mean_pooled_over_its_tokens(checkpoint):
    import torch
    from transformers import AutoModel, AutoTokenizer

    assert checkpoint_folder(checkpoint) == checkpoint / "model"
    ctx = embedding_context(checkpoint)
    assert ctx.cache_key.startswith(f"mean-pool:{(checkpoint / 'model').resolve()}:") and len(ctx.cache_key) > 64
    vecs = ctx.embed(["aspirin trial heart", "gene", ""])
    assert vecs.shape == (3, 16) and vecs.dtype == np.float32
    tok, model = AutoTokenizer.from_pretrained(checkpoint / "model"), AutoModel.from_pretrained(checkpoint / "model")
    with torch.no_grad():
        hidden = model(**tok(["gene"], return_tensors="pt")).last_hidden_state[0]
    assert vecs[1] == pytest.approx(hidden.mean(0).numpy(), abs=1e-5)  # [CLS] gene [SEP], no padding
    assert ctx.embed(["gene"])[0] == pytest.approx(vecs[1], abs=1e-5)  # padding in a batch changes nothing


def test_the_default_a_sentence_transformers_folder_and_bad_paths(tmp_path):
    assert embedding_context(None).model == "sentence-transformers/all-MiniLM-L6-v2"
    st = tmp_path / "st"
    st.mkdir()
    (st / "modules.json").write_text("[]")
    assert embedding_context(st).model == str(st.resolve()) and embedding_context(st).embed is None
    with pytest.raises(ConfigError, match="is not a folder"):
        embedding_context(tmp_path / "missing")
    with pytest.raises(ConfigError, match="neither a sentence-transformers model"):
        embedding_context(tmp_path)


def test_screen_simulate_with_a_checkpoint(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    records, labels = write_files(tiny_set(), tmp_path)
    args = ["screen", "simulate", "--data", str(records), "--labels", str(labels), "--review", "Toy",
            "--model", "minilm-logreg", "--json", "--embedding-model", str(checkpoint)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["model"] == "minilm-logreg"
    assert len(list((tmp_path / "cache" / "screening-embeddings").glob("*.npy"))) == 1  # cached for the next run
    r = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "nowhere")], env={"COLUMNS": "300"})
    assert r.exit_code == 2 and "is not a folder" in r.output


def test_a_sentence_transformers_folder_is_cached_by_its_weights(tmp_path):
    """Retrained in place (other weights), the same folder gets another cache key: no stale vectors."""
    st = tmp_path / "st"
    st.mkdir()
    (st / "modules.json").write_text("[]")
    (st / "model.safetensors").write_bytes(b"weights one")
    first = embedding_context(st).cache_key
    assert first.startswith("sha256:") and len(first) == 7 + 64
    (st / "model.safetensors").write_bytes(b"weights two")
    assert embedding_context(st).cache_key != first
    (st / "config.json").write_text('{"hidden_act": "relu"}')    # edited in place: other vectors too
    assert embedding_context(st).cache_key not in (first, None)
    assert embedding_context(None).cache_key is None  # the bundled MiniLM: the key it always had


def test_weights_in_module_subfolders_are_all_in_the_digest(tmp_path):
    """An older sentence-transformers layout keeps its weights in module folders: each one counts, and so
    does a configuration file."""
    from serendip.screening.embedding_source import embedding_model_id, model_digest

    st = tmp_path / "st"
    for sub, data in (("0_Transformer", b"encoder"), ("2_Dense", b"dense")):
        (st / sub).mkdir(parents=True)
        (st / sub / "pytorch_model.bin").write_bytes(data)
    (st / "modules.json").write_text("[]")
    first = model_digest(st)
    assert embedding_model_id(st) == (str(st.resolve()), first) and len(first) == 64
    (st / "2_Dense" / "pytorch_model.bin").write_bytes(b"dense, retrained")
    second = model_digest(st)
    assert second != first
    (st / "0_Transformer" / "config.json").write_text("{}")
    assert model_digest(st) not in (first, second)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "modules.json").write_text("[]")
    with pytest.raises(ConfigError, match="has no weights file"):
        embedding_model_id(empty)


def test_a_damaged_checkpoint_is_one_clear_error(tmp_path):
    run = tiny_checkpoint(tmp_path / "run")
    (run / "model" / "model.safetensors").write_bytes(b"garbage\n")
    with pytest.raises(ConfigError, match=f"could not load the checkpoint {run / 'model'}: SafetensorError"):
        embedding_context(run).embed(["aspirin"])
