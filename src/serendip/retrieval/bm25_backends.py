"""Which BM25 engine holds an index: bm25s in memory (:mod:`.bm25`) or Tantivy on disk (:mod:`.bm25_tantivy`).

The workspace setting ``retrieval.bm25_backend`` is ``"auto"`` (default), ``"bm25s"`` or ``"tantivy"``;
``auto`` picks bm25s up to :data:`TANTIVY_ABOVE` documents and Tantivy above (the figures behind the
threshold: ``benchmarks/bm25_backends.py``). The engine an index was built with is recorded in its
``serendip_bm25.json`` (``"backend"``; absent means bm25s, as written before this setting existed), and
:func:`load_bm25` opens whatever that says, so a search never depends on the current setting.
Both engines tokenize with :mod:`serendip.retrieval.tokenizer` and score Lucene BM25 with k1=1.2, b=0.75.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from serendip.errors import ConfigError
from serendip.retrieval.index_files import load_index_meta

__all__ = ["BM25_BACKENDS", "TANTIVY_ABOVE", "build_bm25", "choose_backend", "load_bm25"]

#: the values of ``retrieval.bm25_backend``
BM25_BACKENDS = ("auto", "bm25s", "tantivy")
#: ``auto`` builds with Tantivy above this many documents. Measured (benchmarks/bm25_backends.py, Cohen
#: records replicated, 2 shared cores): bm25s' in-memory build adds about 5.4 kB of peak memory per
#: record (+145 MB at 20k, +290 MB at 50k, +540 MB at 100k records; about 5 GB at 1M) and its index is
#: about 5x Tantivy's on disk, while Tantivy's build stays within about 50 MB of its writer heap and
#: opens in 0.05 s; Tantivy also builds and searches as fast or faster from 20k records on. Below the
#: threshold bm25s keeps today's exact scores (Tantivy's one-byte document lengths move SciFact's
#: nDCG@10 from 0.6814 to 0.6796).
TANTIVY_ABOVE = 20_000


def choose_backend(n_docs: int, setting: str = "auto") -> str:
    """The engine for an index of ``n_docs`` documents: ``setting`` unless it is "auto".

    Raises
    ------
    ConfigError
        An unknown setting (names the choices).
    """
    if setting not in BM25_BACKENDS:
        raise ConfigError(f"unknown BM25 backend {setting!r}; expected one of: {', '.join(BM25_BACKENDS)}")
    if setting != "auto":
        return setting
    return "tantivy" if n_docs > TANTIVY_ABOVE else "bm25s"


def build_bm25(ids: Sequence[str], texts: Sequence[str | None], backend: str = "auto", *,
               workdir: str | Path | None = None):
    """Build a BM25 index over ``texts`` with the engine :func:`choose_backend` picks.

    Parameters
    ----------
    ids, texts : sequences of equal length
        Document ids and texts, as :meth:`serendip.retrieval.bm25.BM25Index.build`.
    backend : str
        "auto", "bm25s" or "tantivy".
    workdir : path, optional
        Where Tantivy writes before :meth:`save` (put it beside the final folder).

    Returns
    -------
    BM25Index or TantivyBM25Index
        Both have ``ids``, ``search``, ``search_many``, ``scores``, ``save`` and ``load``.
    """
    if choose_backend(len(ids), backend) == "tantivy":
        from serendip.retrieval.bm25_tantivy import TantivyBM25Index

        return TantivyBM25Index.build(ids, texts, workdir=workdir)
    from serendip.retrieval.bm25 import BM25Index

    return BM25Index.build(ids, texts)


def load_bm25(folder: str | Path):
    """Open the BM25 index in ``folder`` with the engine its ``serendip_bm25.json`` names.

    Raises
    ------
    IndexNotBuilt, IndexDamaged, DataError
        As :meth:`serendip.retrieval.bm25.BM25Index.load`.
    """
    folder = Path(folder)
    meta = load_index_meta(folder, "serendip_bm25.json", kind="BM25", required_key="tokenizer", fmt=1,
                           not_built=f"no BM25 index in {folder} (run `serendip index`)")
    if meta.get("backend", "bm25s") == "tantivy":
        from serendip.retrieval.bm25_tantivy import TantivyBM25Index

        return TantivyBM25Index.load(folder)
    from serendip.retrieval.bm25 import BM25Index

    return BM25Index.load(folder)
