"""A screening session started with ``--embedding-model`` (a ``serendip pretrain`` checkpoint): the folder
and its weights' sha256 are stored (Alembic 0012), the session reads that model's embeddings after a
reopen, a changed or missing model is refused by name, and a model without embeddings refuses the option
with nothing stored."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from alembic_helpers import alembic_to
from screening_helpers import make_workspace, tiny_checkpoint
from sqlalchemy import create_engine, inspect

from serendip.errors import ConfigError
from serendip.screening.embedding_source import (
    embedding_context,
    embedding_model_id,
    model_digest,
)
from serendip.screening.session import list_sessions, open_session, start_session
from serendip.screening.session_checks import stored_embedding_context
from serendip.screening.store import screen_sessions
from serendip.workbench import Workspace
from serendip.workspace.database import upgrade


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_session_keeps_its_checkpoint_across_a_reopen(sws, tmp_path, cache):
    ws, inc, exc = sws
    run = tiny_checkpoint(tmp_path / "run")
    s = start_session(ws, "adapted", [inc[0]], [exc[0]], model="minilm-logreg", embedding_model=run)
    folder, sha = embedding_model_id(run)
    assert (folder, sha) == (str(run.resolve()), model_digest(run / "model")) and len(sha) == 64
    st = s.status()
    assert (st.model, st.embedding_model) == ("minilm-logreg", folder)
    assert st.to_dict()["embedding_model"] == folder and st.to_dict()["embedding_sha256"] == sha
    before = s.next()
    emb = s._features().embeddings()
    assert emb.shape == (24, 16) and emb.dtype == np.float32  # the checkpoint's 16-d vectors, not MiniLM's 384
    path = ws.path
    ws.close()
    with Workspace.open(path) as again:                    # nothing kept in memory: read from the database
        reopened = open_session(again, "adapted")
        after = reopened.next()
        assert reopened._features().embeddings() == pytest.approx(emb, abs=1e-6)
    assert (after.record_id, after.score) == (before.record_id, pytest.approx(before.score))


def test_a_changed_or_missing_checkpoint_is_refused_by_next_only(tmp_path, cache):
    """``next`` needs the model and refuses; counts, labels, keywords and the export do not need it."""
    from serendip.screening.export import export_labels

    ws, inc, exc = make_workspace(tmp_path / "ws")
    run = tiny_checkpoint(tmp_path / "run")
    start_session(ws, "adapted", [inc[0]], [exc[0]], model="fused-mesh-wmean", embedding_model=run)
    tiny_checkpoint(run, seed=1)                            # retrained in place: other weights
    with pytest.raises(ConfigError, match="'adapted'.*has changed since the session started"):
        open_session(ws, "adapted").next()
    shutil.rmtree(run)
    s = open_session(ws, "adapted")
    with pytest.raises(ConfigError, match=f"started with the embedding model {run}.*cannot be read now"):
        s.next()
    s.label(inc[1], "include")
    s.add_keywords(["aspirin"])
    assert s.status().counts["include"] == 2
    assert export_labels(s, tmp_path / "labels.csv") == 3
    ws.close()


def test_a_model_without_embeddings_refuses_the_option(tmp_path, cache):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    run = tiny_checkpoint(tmp_path / "run")
    with pytest.raises(ConfigError, match="'tfidf-mesh-svm' reads no sentence embeddings.*minilm-logreg"):
        start_session(ws, "tfidf", [inc[0]], [exc[0]], embedding_model=run)
    with pytest.raises(ConfigError, match="is not a folder"):
        start_session(ws, "bad", [inc[0]], [exc[0]], model="minilm-logreg", embedding_model=tmp_path / "none")
    assert list_sessions(ws) == []
    ws.close()


def test_migration_0012_keeps_older_sessions_on_minilm(tmp_path):
    """A session stored before 0012 (no embedding columns) reads NULL after the upgrade: the bundled MiniLM;
    a downgrade to 0011 drops the two columns again."""
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    alembic_to(engine, "0011")
    old_columns = {c["name"] for c in inspect(engine).get_columns("screen_sessions")}
    assert "embedding_model" not in old_columns
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO screen_sessions (name, created_at, model, strategy, seed, stop_rules, scope, record_ids) "
            "VALUES ('old', '2026-12-01 00:00:00', 'minilm-logreg', 'max', 0, '[\"hypergeometric\"]', "
            "'{\"kind\": \"all\"}', '[1, 2, 3]')")
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(screen_sessions.select()).mappings().one()
    assert (row["name"], row["embedding_model"], row["embedding_sha256"]) == ("old", None, None)
    assert stored_embedding_context(dict(row)) == embedding_context(None)
    alembic_to(engine, "0011", down=True)
    assert {c["name"] for c in inspect(engine).get_columns("screen_sessions")} == old_columns
    engine.dispose()


def test_screen_start_with_an_embedding_model_on_the_command_line(tmp_path, cache):
    from typer.testing import CliRunner

    from serendip.cli.app import app

    ws, inc, exc = make_workspace(tmp_path / "ws")
    ws.close()
    run = tiny_checkpoint(tmp_path / "run")

    def cli(*args):
        return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})

    r = cli("screen", "start", "rev", "--include", inc[0], "--exclude", exc[0], "--model", "minilm-logreg",
            "--embedding-model", run, "-w", tmp_path / "ws")
    assert r.exit_code == 0, r.output
    assert f"model minilm-logreg on {run.resolve()}" in r.output
    r = cli("screen", "status", "-w", tmp_path / "ws")
    assert f"model minilm-logreg on the embeddings of {run.resolve()} (sha256 " in r.output
    r = cli("screen", "start", "svm", "--include", inc[0], "--exclude", exc[0], "--embedding-model", run,
            "-w", tmp_path / "ws")
    assert r.exit_code == 2 and "reads no sentence embeddings" in r.output


def test_the_first_next_shows_the_embedding_progress_on_stderr_only(tmp_path, cache):
    from typer.testing import CliRunner

    from serendip.cli.app import app

    ws, inc, exc = make_workspace(tmp_path / "ws")
    ws.close()
    run = tiny_checkpoint(tmp_path / "run")
    runner = CliRunner()
    args = ["-w", str(tmp_path / "ws")]
    assert runner.invoke(app, ["screen", "start", "rev", "--include", str(inc[0]), "--exclude", str(exc[0]),
                               "--model", "minilm-logreg", "--embedding-model", str(run), *args]).exit_code == 0
    r = runner.invoke(app, ["screen", "next", "--json", *args])
    assert r.exit_code == 0, r.output
    assert '"done": false' in r.stdout and "embed" not in r.stdout
    assert "embed" in r.stderr and "24 records" in r.stderr       # the first call embeds all 24 records
    again = runner.invoke(app, ["screen", "next", "--json", *args])
    assert again.exit_code == 0 and again.stderr == ""            # cached: no bar at all
