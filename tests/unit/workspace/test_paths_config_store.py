"""The one default-workspace policy, the config check of retrieval.default_mode, the storage layer."""
from __future__ import annotations

from pathlib import Path

import pytest

from serendip.errors import ConfigError, WorkspaceError
from serendip.workspace.config import WorkspaceConfig
from serendip.workspace.paths import (
    CONFIG_NAME,
    DEFAULT_DIR,
    default_workspace_path,
    eval_workspace_path,
    is_workspace,
    resolve_workspace_path,
)
from serendip.workspace.store import WorkspaceStore


def test_default_path_policy(monkeypatch, tmp_path):
    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert str(default_workspace_path()) == DEFAULT_DIR
    assert resolve_workspace_path(tmp_path / "x") == tmp_path / "x"  # explicit path wins
    assert resolve_workspace_path() == default_workspace_path()  # required: the default, existing or not
    assert resolve_workspace_path(required=False) is None  # optional: only an existing workspace
    monkeypatch.setenv("SERENDIP_WORKSPACE", str(tmp_path / "env-ws"))
    assert resolve_workspace_path() == tmp_path / "env-ws"
    WorkspaceStore.create(tmp_path / "env-ws").close()
    assert is_workspace(tmp_path / "env-ws")
    assert resolve_workspace_path(required=False) == tmp_path / "env-ws"


def test_the_workspace_holding_the_current_directory_comes_after_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    WorkspaceStore.create(tmp_path / "ws").close()
    deep = tmp_path / "ws" / "notes" / "deep"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    found = (tmp_path / "ws").absolute()
    assert default_workspace_path() == found and resolve_workspace_path(required=False) == found
    assert resolve_workspace_path(discover=False) == Path(DEFAULT_DIR)  # creating: no look-up
    monkeypatch.setenv("SERENDIP_WORKSPACE", str(tmp_path / "env-ws"))
    assert resolve_workspace_path() == tmp_path / "env-ws"


def test_eval_workspace_path(monkeypatch, tmp_path):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path))
    assert eval_workspace_path("cqadupstack/android") == tmp_path / "eval-cqadupstack_android"


def test_default_mode_checked_against_the_given_choices(tmp_path):
    cfg = tmp_path / CONFIG_NAME
    cfg.write_text('[retrieval]\ndefault_mode = "fuzzy"\n')
    assert WorkspaceConfig.load(cfg).retrieval.default_mode == "fuzzy"  # storage alone knows no modes
    with pytest.raises(ConfigError, match=r"retrieval\.default_mode: unknown retrieval mode 'fuzzy'; "
                                          r"expected one of: bm25, dense, hybrid"):
        WorkspaceConfig.load(cfg, mode_choices=["hybrid", "bm25", "dense"])
    cfg.write_text('[retrieval]\ndefault_mode = "bm25"\ncolour = 1\n')
    with pytest.raises(ConfigError, match="unknown key 'retrieval.colour'"):
        WorkspaceConfig.load(cfg, mode_choices=["bm25"])


def test_store_create_open_and_errors(tmp_path):
    store = WorkspaceStore.create(tmp_path / "ws")
    assert store.count() == 0 and store.ingest_reports() == []
    assert all((tmp_path / "ws" / sub).is_dir() for sub in ("indexes", "models", "runs", "reports"))
    store.close()
    again = WorkspaceStore.open(tmp_path / "ws")
    assert again.config == store.config
    again.close()
    with pytest.raises(WorkspaceError, match="not a Serendip workspace"):
        WorkspaceStore.open(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="already uses database"):
        WorkspaceStore.create(tmp_path / "ws", database="sqlite:///elsewhere.db")
