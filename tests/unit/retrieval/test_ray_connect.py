"""``--ray ADDRESS`` fails fast and quietly: an address where nothing listens is one line of ours within
seconds (a TCP probe before ``ray.init``), and what Ray writes to stderr while connecting goes to a file
named in the error, never to the terminal. No Ray cluster is started here."""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serendip.errors import ConfigError

ray = pytest.importorskip("ray", reason="the Ray path needs serendip[ray] (installed by `make install`)")
from serendip.retrieval import ray_embed  # noqa: E402

SRC = Path(__file__).resolve().parents[3] / "src"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_cluster_is_one_line_within_seconds(tmp_path):
    from serendip.workbench import Workspace

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "r1", "title": "Zinc and colds"}) + "\n", encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([corpus])
    port = _closed_port()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "serendip.cli.app", "index", "-w", str(tmp_path / "ws"),
                          "--ray", f"127.0.0.1:{port}"], capture_output=True, text=True, env=env, timeout=120)
    wall = time.perf_counter() - t
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1, out.stderr  # ours only: none of Ray's retry log
    assert lines[0].startswith("error: cannot reach a Ray cluster at ") and f":{port}" in lines[0]
    assert "connection refused" in lines[0]
    assert wall < 10, f"took {wall:.1f} s"  # Ray alone retries for 20 s to minutes
    assert not (tmp_path / "ws" / "indexes" / "dense").exists()


@pytest.mark.parametrize("address, expected", [
    ("10.0.0.5:6379", ("10.0.0.5", 6379)), ("ray://head.example:10001", ("head.example", 10001)),
    ("[::1]:6379", ("::1", 6379)), ("local", None), ("auto", None), ("head.example", None)])
def test_host_port_of_an_address(address, expected):
    assert ray_embed._host_port(address) == expected


def test_a_port_out_of_range_is_refused_before_any_connect():
    with pytest.raises(ConfigError, match="a port is 1..65535"):
        ray_embed.connect("127.0.0.1:70000")


def test_probe_names_the_address_and_why():
    port = _closed_port()
    with pytest.raises(ConfigError, match=rf"cannot reach a Ray cluster at 127\.0\.0\.1:{port} \(connection refused"):
        ray_embed.probe_address("127.0.0.1", port)
    with pytest.raises(ConfigError, match=r"\(dialled for localhost:1\)"):
        ray_embed.probe_address("127.0.0.1", _closed_port(), given="localhost:1")
    with socket.socket() as srv:  # something listening: the probe passes and sends nothing
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        ray_embed.probe_address("127.0.0.1", srv.getsockname()[1], timeout=2)


def test_a_failed_ray_init_is_one_line_and_its_noise_goes_to_a_file(monkeypatch, capfd):
    """After the probe passes, ``ray.init`` failing (here a stand-in that writes to fd 2, as Ray's C++
    core does, logs a warning and raises a two-line error) leaves the terminal clean, the error in one
    line naming the file that holds what Ray wrote, and the environment and logger as they were."""
    seen = {}

    def fake_init(**kwargs):
        seen["wait"] = os.environ.get("RAY_gcs_server_port_wait_time_s")
        os.write(2, b"[W gcs_client.cc:210] Failed to get cluster ID from GCS server\n")
        logging.getLogger("ray._private.worker").warning("Connecting to existing Ray cluster")
        raise ConnectionError("Failed to connect to Ray cluster\nat 10.0.0.5:6379")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray_embed, "probe_address", lambda *a, **k: None)
    monkeypatch.delenv("RAY_gcs_server_port_wait_time_s", raising=False)
    level = logging.getLogger("ray").level
    with pytest.raises(ConfigError) as err:
        ray_embed.connect("10.0.0.5:6379")
    msg = str(err.value)
    assert "\n" not in msg and "Failed to connect to Ray cluster at 10.0.0.5:6379" in msg
    log = Path(msg.split("Ray's log of the attempt: ")[1].rstrip(")"))
    try:
        assert "Failed to get cluster ID" in log.read_text()
    finally:
        log.unlink()
    out = capfd.readouterr()
    assert out.err == "" and out.out == ""
    assert seen["wait"] == str(ray_embed.GCS_CONNECT_TRIES)
    assert "RAY_gcs_server_port_wait_time_s" not in os.environ
    assert logging.getLogger("ray").level == level


def test_a_successful_connect_deletes_its_log(monkeypatch, capfd, tmp_path):
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: os.write(2, b"connected\n"))
    monkeypatch.setattr(ray_embed, "probe_address", lambda *a, **k: None)
    monkeypatch.setattr(ray_embed.tempfile, "tempdir", str(tmp_path))
    assert ray_embed.connect("10.0.0.5:6379") is ray
    assert list(tmp_path.iterdir()) == [] and capfd.readouterr().err == ""
