"""serendip.entry: a Ctrl-C while the command line is being imported ends with one line and exit 130,
not a traceback; otherwise the command runs as before (``python -m serendip`` too)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import serendip.entry as entry

SRC = Path(__file__).resolve().parents[3] / "src"


class _InterruptImport:
    """A meta-path finder that raises KeyboardInterrupt when ``serendip.cli.app`` is imported, as a
    Ctrl-C arriving during that import does."""

    def find_spec(self, name, path=None, target=None):
        if name == "serendip.cli.app":
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_loading_gives_one_line_and_130(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "serendip.cli.app", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_InterruptImport(), *sys.meta_path])
    assert entry.main() == 130
    err = capsys.readouterr().err
    assert err.strip() == entry.STOPPED_WHILE_LOADING
    assert "Traceback" not in err


def test_python_dash_m_serendip_runs_the_command_line():
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run([sys.executable, "-m", "serendip", "--help"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Usage: " in out.stdout and "ingest" in out.stdout
