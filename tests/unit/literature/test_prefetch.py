"""The parsing child of a big-file ingest dies with its parent, however the parent ends: the kernel's
parent-death signal on Linux, and the pipe-EOF watch alone where that is not available."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from serendip.literature.prefetch import read_in_child

PARENT = """
    import multiprocessing as mp, sys, time
    from pathlib import Path
    import serendip.literature.prefetch as prefetch
    prefetch.USE_PDEATHSIG = sys.argv[2] == "1"
    records = prefetch.read_in_child("jsonl", Path(sys.argv[1]))
    next(records)  # then stop reading: the child fills the queue and its pipe, and blocks
    print(mp.active_children()[0].pid, flush=True)
    time.sleep(120)
"""


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie no parent reaps counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _records(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"r{i}", "title": f"Record {i}", "abstract": "text " * 40}) + "\n")
    return path


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to watch processes")
@pytest.mark.parametrize("pdeathsig", [True, False], ids=["pdeathsig", "pipe-watch-only"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_child_dies_with_its_parent(tmp_path, pdeathsig, sig):
    data = _records(tmp_path / "d.jsonl", 3000)  # all parsed and queued: the child blocks in its exit
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(PARENT), str(data), "1" if pdeathsig else "0"],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    child = int(parent.stdout.readline())
    try:
        time.sleep(0.5)
        assert alive(child)
        parent.send_signal(sig)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the parsing child outlived its parent"
    finally:
        parent.kill()
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_stopping_early_ends_the_child(tmp_path):
    import multiprocessing as mp

    data = _records(tmp_path / "d.jsonl", 3000)
    records = read_in_child("jsonl", data)
    first = next(records)
    (proc,) = mp.active_children()
    records.close()  # the consumer gives up: the child must not linger
    assert first.title == "Record 0" and not proc.is_alive()


def test_same_records_in_the_same_order(tmp_path):
    from serendip.literature.readers import get_reader

    data = _records(tmp_path / "d.jsonl", 1200)
    assert [r.source_key for r in read_in_child("jsonl", data)] == [
        r.source_key for r in get_reader("jsonl").read(data)]
