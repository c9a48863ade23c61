"""``serendip index --ray``: the dense index embedded through Ray tasks on a real cluster (a head and
one worker node started on loopback by the test, ``ray.cluster_utils.Cluster``) holds the same vectors,
bit for bit, as the local path with the real MiniLM encoder; chunks are spread over both nodes."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from serendip.errors import ConfigError
from serendip.workbench import Workspace

# The cluster listens on loopback only: keep Ray from replacing 127.0.0.1 in addresses by this machine's
# outward IP (``services.resolve_ip_for_localhost``), which nothing listens on. Set before Ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="the Ray path needs serendip[ray] (installed by `make install`)")

N = 1100  # three chunks of 512 texts: two full, one partial


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": 80 * 1024 * 1024, "include_dashboard": False,
        "node_ip_address": "127.0.0.1"})
    c.add_node(num_cpus=1, object_store_memory=80 * 1024 * 1024, node_ip_address="127.0.0.1")
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def _workspace(root, corpus):
    with Workspace.init(root) as ws:
        ws.ingest([corpus])
    return root


def _vectors(root):
    dense = root / "indexes" / "dense"
    return json.loads((dense / "ids.json").read_text()), np.load(dense / "embeddings.npy")


def test_ray_vectors_equal_the_local_ones(tmp_path, cluster):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({
        "id": f"r{i}", "title": f"Trial {i} of vitamin D{' and zinc' * (i % 7)} in adults",
        "abstract": "Serum levels rose. " * (1 + i % 23)}) + "\n" for i in range(N)), encoding="utf-8")
    local, remote = _workspace(tmp_path / "local", corpus), _workspace(tmp_path / "ray", corpus)
    with Workspace.open(local) as ws:
        rep_local = ws.index()
    with Workspace.open(remote) as ws:
        rep_ray = ws.index(ray=cluster.address)
        hits = ws.search("vitamin D and zinc trial", mode="dense", k=3)
    assert rep_local.dense_added == rep_ray.dense_added == N
    ids_local, vec_local = _vectors(local)
    ids_ray, vec_ray = _vectors(remote)
    assert ids_local == ids_ray
    assert vec_local.dtype == vec_ray.dtype == np.float32 and vec_ray.shape == (N, 384)
    assert np.array_equal(vec_local, vec_ray)  # bit for bit, not merely close
    assert len(hits) == 3
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2  # a head and a worker node: chunks had two places to run


def test_a_bad_address_is_one_clear_error(tmp_path):
    from serendip.retrieval.ray_embed import connect

    with pytest.raises(ConfigError, match="needs an address"):
        connect("  ")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "r1", "title": "Zinc and colds"}) + "\n", encoding="utf-8")
    with Workspace.open(_workspace(tmp_path / "ws", corpus)) as ws:
        with pytest.raises(ConfigError, match="needs an address"):  # never a silent local run
            ws.index(ray="")
        assert not (tmp_path / "ws" / "indexes" / "dense").exists()
