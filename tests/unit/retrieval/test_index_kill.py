"""A process killed (SIGKILL) while saving an index leaves the old index or none, never a mix."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest

from serendip.errors import IndexNotBuilt
from serendip.retrieval.bm25 import BM25Index

# The child saves two different indexes (300 and 600 documents) in turn, as fast as it can.
CHILD = """
import sys
from serendip.retrieval.bm25 import BM25Index
folder = sys.argv[1]
texts = [f"document {i} about topic {i % 17} and subject {i % 29} word{i}" for i in range(600)]
small = BM25Index.build([str(i) for i in range(300)], texts[:300])
big = BM25Index.build([str(i) for i in range(600)], texts)
print("ready", flush=True)
while True:
    small.save(folder)
    big.save(folder)
"""


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_during_save_leaves_a_whole_index(tmp_path, seed):
    folder = tmp_path / "bm25"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(random.Random(seed).uniform(0.05, 0.6))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    try:
        index = BM25Index.load(folder)
    except IndexNotBuilt:  # killed between the two renames: no index, and the next save repairs it
        BM25Index.build(["1"], ["x"]).save(folder)
        index = BM25Index.load(folder)
        assert len(index) == 1
        return
    assert len(index) in (300, 600)
    assert index.search(f"word{len(index) - 1}", k=1)[0][0] == str(len(index) - 1)
