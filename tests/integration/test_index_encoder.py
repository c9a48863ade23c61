"""Choosing the dense encoder: ``retrieval.encoder`` / ``index --encoder``, recorded in the index, used
by search, never mixed with another encoder's vectors. Two toy encoders registered for the test stand in
for the real backends (those are covered in tests/unit/retrieval/test_encoders.py)."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.errors import ConfigError
from serendip.retrieval import encoders as enc_mod
from serendip.retrieval.encoders import ENCODERS, EncoderSpec
from serendip.workbench import Workspace

DOCS = [{"id": "a1", "title": "vitamin D and fractures", "abstract": "a trial in older adults"},
        {"id": "a2", "title": "crispr off-target edits", "abstract": "whole-genome sequencing"}]


class _Toy:
    """Vectors keyed by (salt, first word): two salts = two encoders whose vectors differ."""

    def __init__(self, salt: str):
        self.salt = salt
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size=64):
        self.calls.append(list(texts))
        out = []
        for t in texts:
            seed = hashlib.sha256(f"{self.salt}|{t.split()[0].lower()}".encode()).digest()[:8]
            out.append(np.random.default_rng(int.from_bytes(seed, "little")).standard_normal(8))
        return np.asarray(out, dtype=np.float32)


@pytest.fixture
def toy_encoders():
    made = {"toy-a": _Toy("a"), "toy-b": _Toy("b")}
    for name, toy in made.items():
        ENCODERS.add(name, EncoderSpec(name, lambda folder, toy=toy: toy, f"test encoder {name}"))
    enc_mod._loaded.clear()
    yield made
    for name in made:
        ENCODERS._items.pop(name)
    enc_mod._loaded.clear()


@pytest.fixture
def ws(tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d) for d in DOCS) + "\n", encoding="utf-8")
    workspace = Workspace.init(tmp_path / "ws")
    workspace.ingest([src])
    yield workspace
    workspace.close()


def test_encoder_is_recorded_and_used_by_search(ws, toy_encoders):
    rep = ws.index(encoder="toy-a")
    assert rep.dense_added == 2
    meta = json.loads((ws.path / "indexes" / "dense" / "meta.json").read_text())
    assert meta["encoder"] == "toy-a"
    hits = Workspace.open(ws.path).search("crispr screens", mode="dense", k=1)
    assert hits[0].title == "crispr off-target edits"
    assert toy_encoders["toy-a"].calls[-1] == ["crispr screens"] and not toy_encoders["toy-b"].calls


def test_encoders_are_never_mixed(ws, toy_encoders):
    ws.index(encoder="toy-a")
    with pytest.raises(ConfigError, match="built with the 'toy-a' encoder, not 'toy-b'.*--rebuild"):
        ws.index(encoder="toy-b")
    rep = ws.index(encoder="toy-b", rebuild=True)
    assert rep.dense_added == 2
    assert json.loads((ws.path / "indexes" / "dense" / "meta.json").read_text())["encoder"] == "toy-b"
    ws.search("vitamin", mode="dense", k=1)
    assert toy_encoders["toy-b"].calls[-1] == ["vitamin"]


def test_config_field_selects_the_encoder(ws, toy_encoders):
    cfg = ws.path / "serendip.toml"
    assert 'encoder = "torch"' in cfg.read_text()
    cfg.write_text(cfg.read_text().replace('encoder = "torch"', 'encoder = "toy-b"'))
    again = Workspace.open(ws.path)
    again.index()
    assert json.loads((ws.path / "indexes" / "dense" / "meta.json").read_text())["encoder"] == "toy-b"
    again.close()


def test_cli_index_encoder_choices_come_from_the_registry(ws, toy_encoders):
    runner = CliRunner()
    out = runner.invoke(app, ["index", "--help"], env={"COLUMNS": "200"})
    line = " ".join(out.output.replace("│", " ").split())
    assert "Registered: torch:" in line and "onnx-int8:" in line and "toy-b: test encoder toy-b" in line
    bad = runner.invoke(app, ["index", "-w", str(ws.path), "--encoder", "openvino"])
    assert bad.exit_code == 2
    assert "unknown encoder 'openvino'; expected one of: onnx, onnx-int8, openvino-int8, torch, toy-a, toy-b" in " ".join(bad.output.split())
    ok = runner.invoke(app, ["index", "-w", str(ws.path), "--encoder", "toy-a"])
    assert ok.exit_code == 0, ok.output


def test_a_plain_index_extends_with_the_encoder_the_index_was_built_with(ws, toy_encoders, tmp_path):
    """`serendip index --encoder X` once, then plain `serendip index` after more records: the new records
    are embedded with X (the index's encoder), not the config's, and nothing is refused."""
    ws.index(encoder="toy-a")
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"id": "m1", "title": "Magnesium and migraine", "abstract": "A trial."}) + "\n",
                    encoding="utf-8")
    ws.ingest([more])
    rep = ws.index()
    assert rep.dense_added == 1 and toy_encoders["toy-a"].calls[-1] == ["Magnesium and migraine A trial."]
    assert json.loads((ws.path / "indexes" / "dense" / "meta.json").read_text())["encoder"] == "toy-a"
    assert 'encoder = "torch"' in (ws.path / "serendip.toml").read_text()  # the config is not rewritten
