"""Child process of ``test_index_resume.py``: ``serendip`` with a fake, fast encoder registered.

Usage: ``python resume_child.py CALLS_LOG BLOCK_AT serendip-args...``. The encoder "fake-count" gives each
text a fixed pseudo-random unit vector (seeded by the text's hash), appends the number of texts of
each call to CALLS_LOG, and blocks for good on call number BLOCK_AT (1-based; 0: never), so that the
test can kill the run with some shards written. Shards are written after every encoder chunk. It lives
in tests only: nothing in src knows about it.
"""
from __future__ import annotations

import hashlib
import sys
import time

import numpy as np

from serendip.retrieval import dense_checkpoint
from serendip.retrieval.encoders import ENCODERS, EncoderSpec

DIM = 16


class CountingEncoder:
    def __init__(self, log: str, block_at: int):
        self.log, self.block_at, self.calls = log, block_at, 0

    def encode(self, texts, batch_size=64):
        self.calls += 1
        if self.calls == self.block_at:
            with open(self.log + ".blocked", "w") as fh:
                fh.write("blocked\n")
            time.sleep(3600)
        rows = [np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little"))
                .standard_normal(DIM) for t in texts]
        with open(self.log, "a") as fh:
            fh.write(f"{len(texts)}\n")
        return np.asarray(rows, dtype=np.float32)


if __name__ == "__main__":
    log, block_at = sys.argv[1], int(sys.argv[2])
    ENCODERS.add("fake-count", EncoderSpec("fake-count", load=lambda _folder: CountingEncoder(log, block_at),
                                           description="test encoder"))
    dense_checkpoint.CHECKPOINT_S = 0.0  # a shard after every encoder chunk
    from serendip.cli.app import main

    sys.argv = ["serendip", *sys.argv[3:]]
    main()
