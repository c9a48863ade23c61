"""A long command stopped by ``kill`` (SIGTERM) ends as it does on Ctrl-C: ``serendip finetune`` leaves
its run marked failed, with the error ``interrupted (SIGTERM)`` (not ``running`` for ever), exit status
143. The run's own record (run.json) and the workspace's runs table both say so."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from models_helpers import dna, make_backbone, write_rows

from serendip.models.runs import failure_text

pytest.importorskip("torch")
pytest.importorskip("transformers")

START_TIMEOUT_S = 120


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "OMP_NUM_THREADS": "1"}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "serendip.cli.app", *args]


def test_failure_text_names_the_interruption():
    assert failure_text(KeyboardInterrupt()) == "interrupted (Ctrl-C)"
    assert failure_text(SystemExit(128 + signal.SIGTERM)) == "interrupted (SIGTERM)"
    assert failure_text(SystemExit(2)) == "stopped (exit status 2)"
    assert failure_text(ValueError("bad")) == "ValueError: bad" and failure_text("as given") == "as given"


def test_a_terminated_finetune_is_marked_failed_not_running(tmp_path):
    make_backbone(tmp_path / "backbone")
    rng = random.Random(0)
    write_rows(tmp_path / "train.csv", [[f"s{i}", dna(rng, bool(i % 2)), str(i % 2)] for i in range(400)])
    (tmp_path / "ft.toml").write_text(
        'task = "binary"\nbackbone = "backbone"\n[data]\ntrain = "train.csv"\n'
        'split = {dev = 0.2, test = 0.1}\n[training]\nepochs = 500\nbatch_size = 4\n'
        '[output]\nplots = false\n', encoding="utf-8")
    ws = tmp_path / "ws"
    subprocess.run(_cli("init", str(ws)), env=_env(), check=True, capture_output=True)
    proc = subprocess.Popen(_cli("finetune", str(tmp_path / "ft.toml"), "-w", str(ws)), env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        infos = []
        while not infos or not (Path(infos[0]).parent / "history.json").exists():
            # history.json is written after the first epoch: the run is well into training by then
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never finished an epoch"
            time.sleep(0.2)
            infos = sorted((ws / "runs").glob("*/run.json"))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, (out, err)
    assert "Traceback" not in err
    assert "stopped: interrupted (SIGTERM); the run is kept, marked failed" in " ".join(err.split())
    assert "steps done" not in err  # the progress line says it stopped, not that it finished
    info = json.loads(infos[0].read_text())
    assert (info["status"], info["error"]) == ("failed", "interrupted (SIGTERM)")
    listed = subprocess.run(_cli("runs", "list", "-w", str(ws), "--json"), env=_env(), check=True,
                            capture_output=True, text=True)
    assert [r["status"] for r in json.loads(listed.stdout)] == ["failed"]
