"""A command run without ``-w`` and without ``$SERENDIP_WORKSPACE`` uses the workspace the current
directory is in (that folder or a parent holding a ``serendip.toml``, as git finds a repository);
precedence: ``-w``, then ``$SERENDIP_WORKSPACE``, then the folder found, then ./serendip-workspace."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.workspace.paths import find_workspace

runner = CliRunner()


@pytest.fixture()
def two_workspaces(tmp_path, monkeypatch):
    """``proj`` (one ingest of ``proj.jsonl``) and ``other`` (one of ``other.jsonl``); no
    $SERENDIP_WORKSPACE."""
    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    made = {}
    for name in ("proj", "other"):
        ws = tmp_path / name
        assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
        docs = tmp_path / f"{name}.jsonl"
        docs.write_text(json.dumps({"id": "1", "title": f"A paper of {name}"}) + "\n")
        assert runner.invoke(app, ["ingest", str(docs), "-w", str(ws)]).exit_code == 0
        made[name] = ws
    return made


def _reports(*args: str) -> str:
    r = runner.invoke(app, ["reports", *args], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    return r.stdout


def test_reports_inside_a_workspace_and_its_subfolder_open_it(two_workspaces, monkeypatch):
    ws = two_workspaces["proj"]
    sub = ws / "notes" / "2026"
    sub.mkdir(parents=True)
    for where in (ws, sub):
        monkeypatch.chdir(where)
        out = _reports()
        assert "proj.jsonl" in out and "other.jsonl" not in out, (where, out)
    assert find_workspace(sub) == ws.absolute()


def test_w_then_the_environment_then_the_folder_found(two_workspaces, monkeypatch):
    monkeypatch.chdir(two_workspaces["proj"])
    assert "other.jsonl" in _reports("-w", str(two_workspaces["other"]))
    monkeypatch.setenv("SERENDIP_WORKSPACE", str(two_workspaces["other"]))
    out = _reports()
    assert "other.jsonl" in out and "proj.jsonl" not in out
    monkeypatch.setenv("SERENDIP_WORKSPACE", str(two_workspaces["proj"]))
    out = _reports("-w", str(two_workspaces["other"]))
    assert "other.jsonl" in out and "proj.jsonl" not in out


def test_outside_any_workspace_the_default_folder_then_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    home = tmp_path / "home"
    assert runner.invoke(app, ["init", str(home / "serendip-workspace")]).exit_code == 0
    monkeypatch.chdir(home)  # not a workspace itself: ./serendip-workspace, as before
    assert find_workspace() is None
    r = runner.invoke(app, ["reports"])
    assert r.exit_code == 0, r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    r = runner.invoke(app, ["search", "aspirin"], env={"COLUMNS": "300"})
    assert r.exit_code == 2 and "Traceback" not in r.output
    for words in ("no Serendip workspace found", "-w PATH or $SERENDIP_WORKSPACE", "inside a workspace folder",
                  "serendip init PATH"):
        assert words in r.output, r.output


def test_init_inside_a_workspace_is_refused_unless_nested(two_workspaces, monkeypatch):
    """Creating is not opening: a new workspace inside another (``serendip init`` run in its folder, or a
    path under it) is refused in one line naming the outer workspace; ``--nested`` makes it anyway.
    Re-opening the workspace itself (``serendip init PATH`` on it) still works."""
    proj = two_workspaces["proj"]
    monkeypatch.chdir(proj / "indexes")  # below the workspace folder
    for args, made in ((["init"], proj / "indexes" / "serendip-workspace"),
                       (["init", str(proj / "sub" / "ws")], proj / "sub" / "ws")):
        r = runner.invoke(app, args, env={"COLUMNS": "300"})
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1, r.output
        assert f"inside the workspace {proj.absolute()}" in r.output and "--nested" in r.output, r.output
        assert not made.exists()
        r = runner.invoke(app, [*args, "--nested"])
        assert r.exit_code == 0, r.output
        assert (made / "serendip.toml").is_file()
    r = runner.invoke(app, ["init", str(proj)], env={"COLUMNS": "300"})  # the workspace itself: re-opened, not nested
    assert r.exit_code == 0 and "), 1 record" in r.output and "1 records" not in r.output, r.output
    r = runner.invoke(app, ["init", str(proj / "sub" / "ws")])  # now a workspace: re-opened too
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(two_workspaces["other"].parent)  # outside both: made, as before
    assert runner.invoke(app, ["init", "third"]).exit_code == 0


def test_the_cli_shows_serendip_log_warnings_as_one_warning_line(capsys):
    import logging

    from serendip.cli import app as cli_app

    log = logging.getLogger("serendip")
    saved = list(log.handlers)
    try:
        log.handlers.clear()
        cli_app._log_to_stderr()
        cli_app._log_to_stderr()  # idempotent: one handler
        assert len(log.handlers) == 1
        log.warning("index file(s) %s moved", "a.npy")
        assert capsys.readouterr().err == "warning: index file(s) a.npy moved\n"
    finally:
        log.handlers[:] = saved


def test_init_takes_the_folder_as_w_like_every_other_command(tmp_path, monkeypatch):
    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    for flag in ("-w", "--workspace"):
        folder = tmp_path / f"ws{flag}"
        r = runner.invoke(app, ["init", flag, str(folder)])
        assert r.exit_code == 0 and (folder / "serendip.toml").is_file(), r.output
        assert not (tmp_path / "serendip-workspace").exists()
        assert runner.invoke(app, ["reports", "-w", str(folder)]).exit_code == 0
    r = runner.invoke(app, ["init", str(tmp_path / "a"), "-w", str(tmp_path / "a")])  # the same folder twice: fine
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["init", str(tmp_path / "b"), "-w", str(tmp_path / "c")], env={"COLUMNS": "300"})
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "give one of the two" in r.output
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def _workspace_options(command, path=()):
    """The path (``"screen status"``) of every command with a ``--workspace`` option."""
    for name, sub in getattr(command, "commands", {}).items():
        yield from _workspace_options(sub, (*path, name))
    if any("--workspace" in getattr(param, "opts", ()) for param in command.params):
        yield " ".join(path)


def test_an_empty_workspace_path_is_a_usage_error_for_every_command(tmp_path, monkeypatch):
    import typer

    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    for args in (["init", "-w", ""], ["init", ""], ["init", "-w", "  "], ["reports", "-w", ""],
                 ["screen", "status", "-w", ""], ["eval", "retrieval", "-w", ""], ["demo", "-w", ""]):
        r = runner.invoke(app, args, env={"COLUMNS": "300"})
        assert r.exit_code == 2, (args, r.output)
        assert "the workspace folder is empty" in r.output and "Traceback" not in r.output, (args, r.output)
    assert list(tmp_path.iterdir()) == []  # no workspace made in the current directory
    found = list(_workspace_options(typer.main.get_command(app)))
    assert len(found) > 20
    for where in found:  # every -w shares the check (serendip.cli.common.workspace_option), before anything else
        r = runner.invoke(app, [*where.split(), "-w", ""], env={"COLUMNS": "300"})
        assert r.exit_code == 2 and "the workspace folder is empty" in r.output, (where, r.output)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_workspace_path_or_environment_is_refused_by_the_api(tmp_path, monkeypatch):
    from serendip.errors import ConfigError
    from serendip.workspace.paths import resolve_workspace_path
    from serendip.workspace.store import WorkspaceStore

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"the workspace folder is empty \(''\)"):
        WorkspaceStore.create("")
    monkeypatch.setenv("SERENDIP_WORKSPACE", "")
    with pytest.raises(ConfigError, match=r"\$SERENDIP_WORKSPACE is set but empty"):
        resolve_workspace_path()
    r = runner.invoke(app, ["reports"], env={"COLUMNS": "300", "SERENDIP_WORKSPACE": ""})
    assert r.exit_code == 2 and r.output.startswith("error: $SERENDIP_WORKSPACE is set but empty"), r.output
    assert list(tmp_path.iterdir()) == []
