"""benchmarks/encoder_speed.py: the side-by-side timing (every encoder on every chunk, rows in input
order) and the fixed SciFact sample."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))
import encoder_speed  # noqa: E402


class _Recorder:
    def __init__(self, scale: float):
        self.scale = scale
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size):
        self.calls.append(list(texts))
        return np.array([[len(t) * self.scale, 1.0] for t in texts], dtype=np.float32)


def test_side_by_side_gives_every_encoder_every_chunk_in_order():
    encoders = {"torch": _Recorder(1.0), "fast": _Recorder(2.0)}
    texts = [f"doc {'x' * i}" for i in range(7)]
    seconds, vecs = encoder_speed.time_side_by_side(encoders, texts, chunk=3, batch_size=2)
    assert set(seconds) == {"torch", "fast"} and all(s > 0 for s in seconds.values())
    for name, rec in encoders.items():
        assert [t for call in rec.calls for t in call] == texts  # each chunk once, in order
        assert vecs[name].shape == (7, 2)
        assert np.allclose(vecs[name][:, 0], [len(t) * rec.scale for t in texts])


@pytest.mark.data
def test_sample_is_fixed_and_drawn_from_the_corpus(mirror):
    corpus, sample = encoder_speed.sample_texts(50)
    again = encoder_speed.sample_texts(50)[1]
    assert len(corpus) == 5183 and len(sample) == 50 and sample == again
    assert set(sample) <= set(corpus) and all(sample)
