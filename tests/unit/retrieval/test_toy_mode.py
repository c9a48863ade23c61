"""A retrieval mode defined here is one registration: it shows in `serendip search --help` and
`serendip eval retrieval --help`, and `Workspace.search(..., mode="toy")` uses it."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.retrieval.modes import (
    RETRIEVAL_MODES,
    RetrievalMode,
    mode_names,
    register_mode,
)
from serendip.workbench import Workspace


def _title_words_search(searcher, query: str, k: int, **_options):
    """BM25 on the query's first word only (a toy)."""
    return searcher.bm25.search(query.split()[0], k)


TOY = RetrievalMode("toy", frozenset({"bm25"}), _title_words_search,
                    description="BM25 on the first query word (a test toy)")


def _help(*command: str) -> str:
    """``--help`` of a command as one line (Rich wraps and boxes it)."""
    out = CliRunner().invoke(app, [*command, "--help"])
    assert out.exit_code == 0, out.output
    return re.sub(r"[\s│]+", " ", out.output)


@pytest.fixture
def toy_mode(monkeypatch):
    monkeypatch.setattr(RETRIEVAL_MODES, "_items", dict(RETRIEVAL_MODES._items))  # undone after the test
    register_mode(TOY)  # the one registration
    yield TOY


def test_toy_mode_appears_in_help_and_searches(toy_mode, tmp_path):
    runner = CliRunner()
    assert "toy: BM25 on the first query word (a test toy)" in _help("search")
    assert "toy: BM25 on the first query word" in _help("eval", "retrieval")
    assert "toy" in mode_names()

    docs = tmp_path / "d.jsonl"
    docs.write_text("\n".join(json.dumps(d) for d in [
        {"id": "1", "title": "Aspirin and colorectal cancer"},
        {"id": "2", "title": "Statins and muscle pain"}]) + "\n")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([docs])
        ws.index(dense=False)
        hits = ws.search("statins aspirin", mode="toy", k=2)
        assert [h.title for h in hits] == ["Statins and muscle pain"]
    r = runner.invoke(app, ["search", "statins aspirin", "-m", "toy", "--json", "-w", str(tmp_path / "ws")])
    assert r.exit_code == 0, r.output
    assert [h["title"] for h in json.loads(r.stdout)] == ["Statins and muscle pain"]
    cfg = tmp_path / "ws" / "serendip.toml"  # the config accepts a registered mode as default
    cfg.write_text(cfg.read_text().replace('default_mode = "hybrid"', 'default_mode = "toy"'))
    r = runner.invoke(app, ["search", "statins aspirin", "--json", "-w", str(tmp_path / "ws")])
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 1


def test_help_without_the_toy(tmp_path):
    text = _help("search")
    assert "hybrid: BM25 and dense runs fused" in text and "toy" not in text
