"""benchmarks/scale.py: the replicated corpus is ingest.py's byte for byte, and the dense vectors are
the embedded ones for the sample ids and fixed grown ones for the rest."""
from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))
import ingest  # noqa: E402
import scale  # noqa: E402


@pytest.mark.data
def test_replicate_writes_ingest_py_bytes(mirror, tmp_path):
    sample = Path(mirror) / "medline" / "pubmed_sample.xml.gz"
    assert scale.replicate(sample, tmp_path / "fast.xml.gz", 2) == 2 * 604
    assert ingest.replicate(sample, tmp_path / "ref.xml.gz", 2) == 2 * 604
    fast = gzip.decompress((tmp_path / "fast.xml.gz").read_bytes())
    assert fast == gzip.decompress((tmp_path / "ref.xml.gz").read_bytes())
    assert fast.count(b"<PMID") >= 2 * 604 and b"@@SERENDIP" not in fast


def test_vectors_are_the_embedded_rows_then_fixed_grown_ones():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((5, 8)).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    ids = list(range(1, 21))
    vecs = scale.vectors_for(ids, real, [1, 2, 3, 4, 5])
    assert vecs.shape == (20, 8) and vecs.dtype == np.float32
    assert np.array_equal(vecs[:5], real)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vecs, scale.vectors_for(ids, real, [1, 2, 3, 4, 5]))  # fixed
    assert not np.allclose(vecs[5:], vecs[5])  # grown rows differ from one another
    assert scale.vectors_for([], real, [1]).shape == (0, 8)
