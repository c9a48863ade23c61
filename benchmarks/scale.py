"""Serendip at 10k, 100k and 1M records: ingest, index build, index size, cold and warm search.

Corpus: the MEDLINE sample (604 PubMed records, ``SERENDIP_DATA_MIRROR/medline/pubmed_sample.xml.gz``)
replicated with new PMIDs and DOIs exactly as ``benchmarks/ingest.py`` does (``ceil(n / 604)`` copies:
10,268, 100,264 and 1,000,224 records), written by :func:`replicate` (byte-identical to
``ingest.replicate``, each article serialised once, not once per copy).

Per size, each step runs in its own fresh process (fresh SQLite workspace under ``--workdir``); peak RSS
is the child's own ``VmHWM`` and its largest ``RssAnon`` (anonymous memory: what a memory-mapped index
does not count), both from ``/proc/self/status`` (RssAnon sampled at 20 Hz):

1. ingest: ``Workspace.init`` + ``ingest`` of the replicated file (records/s).
2. BM25: ``Workspace.index(dense=False)`` (reads every record, builds and saves the BM25 index; the
   workspace's ``bm25_backend = "auto"`` picks bm25s up to 20,000 records and Tantivy above: the row
   settings say which).
3. dense: ``Workspace.index()`` (BM25 built again, then the dense index: vectors, the IVF-PQ structure
   above 50,000 vectors, save). The dense part is timed inside that run, from the moment the BM25 index
   is saved (the child wraps ``build_bm25``'s result to note the time; timing only) to the end, with its
   own largest VmRSS; the ANN build is timed alone (its progress step).
4. cold search: ``python -m serendip.cli.app search QUERY --mode MODE -k 10 --json -w WS`` per mode,
   wall from process start to exit; one unmeasured run per mode first (page cache and .pyc files
   warm), then ``--repeats`` rounds over the modes; the median is reported.
5. warm search: one process opens the workspace, runs 5 warm-up queries per mode, then ``--queries``
   queries per mode (``Workspace.search``, k=10) one at a time: p50 and p95 latency.

Dense vectors. Embedding every record with the workspace's encoder (torch all-MiniLM-L6-v2) on 2 shared
cores runs at a few documents per second, so hours at 100k and days at 1M. So the 604 distinct records
(ids 1-604, the first copy) are embedded for real, once per run, with the workspace's encoder
(``get_encoder``; docs/s and the full embedding time extrapolated from it, ``n / docs_s``, are rows), and
every other record gets a vector grown from those 604 as ``benchmarks/dense_backends.py`` grows SciFact
vectors (``normalise(v[a] + lam * v[b] + 0.02 * g)``, fixed seed), so the index has MiniLM's geometry
without 1,656 exact copies of each vector. The vectors reach the index through the workspace's own,
supported path for precomputed vectors: the checkpoint of an interrupted ``serendip index``
(:mod:`serendip.retrieval.dense_checkpoint`: shards of ids, text hashes and float32 rows in
``indexes/dense.partial``, under the workspace's model, encoder and text rule), which step 3 reads back
instead of embedding (it asserts that every vector was resumed and none embedded). Searches then embed
queries with the real encoder. The dense step therefore holds no model, and its memory is that of a real
build less the encoder's (the embedding step's peak RSS is a row).

Usage: ``python benchmarks/scale.py [--sizes 10000,100000,1000000] [--workdir /tmp/scale] [--keep]
[--steps ingest,bm25,dense,search] [--contended] [--embedded DIR/embedded.json]``. ``--keep`` leaves the
workspaces (for ``benchmarks/cold_start.py``, or a later run of some ``--steps`` only); ``--embedded``
reuses the embedding sample of an earlier run (the same 604 records: ids 1-604 are the first copy at
every size).

Usage adds ``--encoder NAME`` (the workspaces' ``retrieval.encoder``, default torch; it embeds the sample
and every query). Every row records the 1-minute load average at the start of its step.

Run of 2026-12-05 (``--encoder onnx``; rows in ``results/scale.json``; the torch rows of 2026-12-04, all
contended at load 6-11, are in ``results/archive/scale-superseded-2026-12-05.json.gz``). Ingest, BM25 and
dense steps ran beside other jobs (load 1-9: contended); the search step ran with them paused (SIGSTOP).
10k / 100k / 1M: ingest 5,334 / 3,794 / 1,794 records/s (load 0.4 / 1.2 / 3-10); BM25 build 1.9 / 16 /
219 s, peak RSS 216 / 164 / 263 MB, 8 / 14 / 144 MB on disk; dense part of the index 1.0 / 24 / 203 s
(IVF-PQ 13 / 65 s), whole index run's peak RSS 220 / 517 / 815 MB (anon 142 / 420 / 784), dense index on
disk 15 / 155 / 1,534 MB. Cold CLI search (median of 3): bm25 0.36 / 0.45 / 0.61 s, dense 0.57 / 0.69 /
1.08 s, hybrid 0.60 / 0.74 / 1.20 s (peak RSS 252 / 281 / 485 MB); warm p50 bm25 0.8 / 1.3 / 3.1 ms,
dense 8.9 / 13.8 / 7.5 ms, hybrid 13.9 / 15.8 / 21.2 ms (p95 20.7 / 21.7 / 28.3). Embedding the sample
with ONNX fp32: 43.5 documents/s, so 1M records would take 6.4 h on these 2 cores.

Two changes between the runs of that day, each measured at 1M: IVF-PQ re-scoring read candidate rows
by indexing the memory-mapped ``embeddings.npy``, which mapped whole page-cache folios (cold hybrid peak
RSS 1,636 MB); now ``vector_search.read_rows`` reads them with pread (485 MB). The dense build held the
new vectors in memory and mapped the resumed shards (peak RSS 4,147 MB, anon 2,646); now they go to a
file as they come (``retrieval/dense_spill.py``) and resumed rows are read when used (815 MB, anon 784).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
from _scale_children import BM25, DENSE, EMBED, INGEST, PREP, WARM  # noqa: E402

MODES = ("bm25", "dense", "hybrid")
STEPS = ("ingest", "bm25", "dense", "search")
SAMPLE_RECORDS = 604
COLD_QUERY = "aspirin lowers the risk of colorectal cancer"
SRC = Path(__file__).resolve().parents[1] / "src"

def replicate(sample: Path, out: Path, replicas: int) -> int:
    """``benchmarks/ingest.py``'s ``replicate`` (same bytes; ``tests/unit/benchmarks/test_bench_scale.py``
    checks it): ``replicas`` copies of every PubmedArticle of ``sample``, copy ``r`` of article ``i``
    with PMID ``50,000,000 + r * 10,000 + i`` and ``.r{r}`` appended to its DOIs. Each article is
    serialised once with markers in those places and copied with the markers filled in. Returns the
    number of articles written."""
    from lxml import etree

    tree = etree.parse(gzip.open(sample, "rb"), etree.XMLParser(resolve_entities=False, no_network=True))
    templates = []
    for art in tree.getroot().findall("PubmedArticle"):
        a = etree.fromstring(etree.tostring(art))
        a.find("MedlineCitation/PMID").text = "@@SERENDIP_PMID@@"
        for aid in a.findall("PubmedData/ArticleIdList/ArticleId"):
            if aid.get("IdType") == "pubmed":
                aid.text = "@@SERENDIP_PMID@@"
            elif aid.get("IdType") == "doi" and aid.text:
                aid.text = f"{aid.text}@@SERENDIP_R@@"
        for el in a.findall("MedlineCitation/Article/ELocationID"):
            if el.get("EIdType") == "doi" and el.text:
                el.text = f"{el.text}@@SERENDIP_R@@"
        templates.append(etree.tostring(a))
    if len(templates) > 10_000:
        raise ValueError(f"{sample}: {len(templates)} articles; PMIDs leave room for 10,000 per copy")
    with gzip.open(out, "wb", compresslevel=1) as fh:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n')
        for r in range(replicas):
            suffix = f".r{r}".encode()
            for i, tpl in enumerate(templates):
                pmid = str(50_000_000 + r * 10_000 + i).encode()
                fh.write(tpl.replace(b"@@SERENDIP_PMID@@", pmid).replace(b"@@SERENDIP_R@@", suffix))
                fh.write(b"\n")
        fh.write(b"</PubmedArticleSet>\n")
    return replicas * len(templates)


def vectors_for(ids: list[int], real, real_ids: list[int], seed: int = 1):
    """float32 (len(ids), dim) rows for record ``ids``: the real embedding for an id in ``real_ids``
    (row of ``real``), else a vector grown from ``real`` by ``dense_backends.grow``, seeded by
    (``seed``, the first id of ``ids``): the same ids give the same rows."""
    import numpy as np
    from dense_backends import grow

    pos = {int(i): j for j, i in enumerate(real_ids)}
    out = grow(real, len(ids), seed=(seed, int(ids[0]))) if ids else np.empty((0, real.shape[1]), np.float32)
    for j, rid in enumerate(ids):
        if rid in pos:
            out[j] = real[pos[rid]]
    return out


def child_env() -> dict:
    """The children's environment: ``PYTHONPATH=src``, and ``.pyc`` files written (no
    ``PYTHONDONTWRITEBYTECODE``), as an installed package has them."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(SRC)}


def child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python (:func:`child_env`); its last stdout line, parsed as JSON."""
    env = child_env()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_search(ws: Path, mode: str) -> tuple[float, float]:
    """(wall s, peak RSS MiB) of one ``serendip search`` process; checks that it printed 10 hits. Run
    under ``/usr/bin/time -f %M``, whose fork gives the peak of the search process alone (``ru_maxrss``
    of a child spawned from here would keep this parent's peak across the exec)."""
    import tempfile

    cmd = [sys.executable, "-m", "serendip.cli.app", "search", COLD_QUERY, "--mode", mode, "-k", "10", "--json",
           "-w", str(ws)]
    with tempfile.NamedTemporaryFile("r") as rss:
        t = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], capture_output=True,
                             env=child_env())
        wall = time.perf_counter() - t
        if out.returncode or len(json.loads(out.stdout)) != 10:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.decode()[-2000:]}")
        return wall, int(rss.read().split()[-1]) / 1024


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def queries_from(sample: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` queries: the first 6 words of titles of the sample, drawn without replacement (fixed seed)."""
    import random

    from lxml import etree

    titles = ["".join(t.itertext()) for t in etree.parse(gzip.open(sample, "rb")).iter("ArticleTitle")]
    titles = [" ".join(t.split()[:6]) for t in titles if len(t.split()) >= 3]
    return random.Random(seed).sample(titles, min(n, len(titles)))


def _row(n: int, method: str, metric: str, value: float, settings: dict, **kw) -> dict:
    return _rows.row("scale", "medline-sample-replicated", "all", n, method, metric, value, settings=settings, **kw)


def run_size(n_target: int, args, sample: Path, queries: Path, embedded: dict | None) -> tuple[list[dict], dict]:
    """The steps ``args.steps`` for one size (see the module docstring); the rows, and the embedding
    sample's figures (measured here when ``embedded`` is None and the dense step runs). Without the
    ingest step, the workspace of an earlier ``--keep`` run in ``--workdir`` is used."""
    base = {"wall_times": "contended (shared 2-core machine)"} if args.contended else {}
    base = {**base, "encoder": args.encoder, "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}
    tmp = args.workdir / f"n{n_target}"
    ws, rows = tmp / "ws", []
    if "ingest" in args.steps:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        xml = tmp / "replicated.xml.gz"
        n = replicate(sample, xml, math.ceil(n_target / SAMPLE_RECORDS))
        ing = child(INGEST, str(ws), str(xml), args.encoder)
        assert ing["ingested"] == n and ing["failed"] == 0, ing
        xml.unlink()
        print(f"[{n:,}] ingest {n / ing['wall_s']:,.0f} records/s, peak RSS {ing['peak_rss_mb']:.0f} MB", flush=True)
        rows += [_row(n, "serendip-ingest", "records_per_s", n / ing["wall_s"], base, wall_s=ing["wall_s"],
                      peak_rss_mb=ing["peak_rss_mb"]),
                 _row(n, "serendip-workspace", "database_mb", (ws / "serendip.db").stat().st_size / 2**20, base,
                      peak_rss_mb=ing["peak_rss_mb"])]
    n = len(json.loads((ws / "indexes" / "bm25" / "ids.json").read_text())) if "ingest" not in args.steps else n
    if "bm25" in args.steps:
        rows += bm25_rows(n, ws, base)
    if "dense" in args.steps:
        got, embedded = dense_rows(n, ws, args, base, embedded)
        rows += got
    if "search" in args.steps:
        bm25_backend = json.loads((ws / "indexes" / "bm25" / "serendip_bm25.json").read_text()).get("backend", "bm25s")
        dense_backend = json.loads((ws / "indexes" / "dense" / "meta.json").read_text())["backend"]
        rows += search_rows(n, ws, queries, args, base, bm25_backend, dense_backend)
    if not args.keep:
        shutil.rmtree(tmp)
    return rows, embedded


def bm25_rows(n: int, ws: Path, base: dict) -> list[dict]:
    """Step 2: ``Workspace.index(dense=False)`` in a fresh process."""
    bm = child(BM25, str(ws))
    bdisk = folder_mb(ws / "indexes" / "bm25")
    print(f"[{n:,}] BM25 ({bm['backend']}) {bm['wall_s']:.1f} s, peak RSS {bm['peak_rss_mb']:.0f} MB "
          f"(anon {bm['peak_anon_mb']:.0f}), {bdisk:.0f} MB on disk", flush=True)
    s_bm = {**base, "bm25_backend": bm["backend"]}
    pk = {"peak_rss_mb": bm["peak_rss_mb"]}
    return [_row(n, "serendip-index-bm25", "build_s", bm["wall_s"], s_bm, wall_s=bm["wall_s"], **pk),
            _row(n, "serendip-index-bm25", "peak_rss_mb", bm["peak_rss_mb"], s_bm, **pk),
            _row(n, "serendip-index-bm25", "peak_rss_anon_mb", bm["peak_anon_mb"], s_bm, **pk),
            _row(n, "serendip-index-bm25", "disk_mb", bdisk, s_bm, **pk)]


def dense_rows(n: int, ws: Path, args, base: dict, embedded: dict | None) -> tuple[list[dict], dict]:
    """Step 3 (and the embedding sample, once per run): vectors into ``dense.partial``, then
    ``Workspace.index()`` in a fresh process; any dense index there before is removed first."""
    if embedded is None and args.embedded is not None:  # read now: the run that writes it may be under way
        embedded = json.loads(args.embedded.read_text(encoding="utf-8"))
    if embedded is None:
        real = args.workdir / "real_vectors.npy"
        embedded = child(EMBED, str(ws), str(real), str(SAMPLE_RECORDS))
        embedded["file"] = str(real)
        (args.workdir / "embedded.json").write_text(json.dumps(embedded), encoding="utf-8")
        print(f"embedding sample: {embedded['docs']} docs at {embedded['docs'] / embedded['wall_s']:.1f} docs/s "
              f"({embedded['encoder']}), model load + first 8 texts {embedded['load_s']:.1f} s, peak RSS "
              f"{embedded['peak_rss_mb']:.0f} MB", flush=True)
    for name in ("dense", "dense.partial"):
        shutil.rmtree(ws / "indexes" / name, ignore_errors=True)
    prep = child(PREP, str(ws), embedded["file"], json.dumps(embedded["ids"]), str(Path(__file__).parent))
    de = child(DENSE, str(ws))
    assert de["vectors"] == prep["vectors"], (de, prep)
    files = {p.name: p.stat().st_size / 2**20 for p in (ws / "indexes" / "dense").iterdir() if p.is_file()}
    docs_s = embedded["docs"] / embedded["wall_s"]
    s_de = {**base, "dense_backend": de["backend"], "encoder": embedded["encoder"],
            "vectors": f"{embedded['docs']} embedded + grown"}  # via dense.partial: see the docstring
    print(f"[{n:,}] index with dense ({de['backend']}) {de['wall_s']:.1f} s: BM25 again {de['bm25_s']:.1f} s, "
          f"dense part {de['dense_s']:.1f} s (ANN {de['ann_build_s']:.1f} s), peak RSS {de['peak_rss_mb']:.0f} MB "
          f"(anon {de['peak_anon_mb']:.0f}; dense part {de['dense_phase_rss_mb']:.0f}), phases "
          f"{json.dumps({k: round(v) for k, v in de['phase_rss_mb'].items()})}, files MB "
          f"{json.dumps({k: round(v, 1) for k, v in files.items()})}", flush=True)
    pk = {"peak_rss_mb": de["peak_rss_mb"]}
    s_emb = {**base, "encoder": embedded["encoder"], "docs": embedded["docs"], "batch_size": 64}
    rows = [_row(n, "serendip-index-dense", "index_with_dense_s", de["wall_s"], s_de, wall_s=de["wall_s"], **pk),
            _row(n, "serendip-index-dense", "dense_build_s", de["dense_s"], s_de,
                 baseline=("BM25 part of the same run (s)", de["bm25_s"]), **pk),
            _row(n, "serendip-index-dense", "ann_build_s", de["ann_build_s"], s_de, **pk),
            _row(n, "serendip-index-dense", "peak_rss_mb", de["peak_rss_mb"], s_de, **pk),
            _row(n, "serendip-index-dense", "dense_part_rss_mb", de["dense_phase_rss_mb"], s_de, **pk),
            _row(n, "serendip-index-dense", "peak_rss_anon_mb", de["peak_anon_mb"], s_de, **pk),
            _row(n, "serendip-index-dense", "disk_mb", sum(files.values()), s_de, **pk),
            _row(n, "serendip-index-dense", "embeddings_npy_mb", files.get("embeddings.npy", 0.0), s_de, **pk),
            _row(n, "serendip-index-dense", "ann_file_mb",
                 sum(v for k, v in files.items() if k.endswith(".faiss")), s_de, **pk),
            _row(n, "embed-sample", "docs_per_s", docs_s, s_emb, wall_s=embedded["wall_s"],
                 peak_rss_mb=embedded["peak_rss_mb"]),
            _row(n, "embed-sample", "extrapolated_full_embed_s", de["vectors"] / docs_s, s_emb,
                 peak_rss_mb=embedded["peak_rss_mb"])]
    return rows, embedded


def search_rows(n: int, ws: Path, queries: Path, args, base: dict, bm25_backend: str, dense_backend: str
                ) -> list[dict]:
    """Cold CLI search per mode (median of ``args.repeats`` after one unmeasured run) and warm p50/p95."""
    base = {**base, "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}  # of this step
    for mode in MODES:
        cli_search(ws, mode)  # page cache and .pyc files warm, not measured
    cold: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
    for _ in range(args.repeats):
        for mode in MODES:
            cold[mode].append(cli_search(ws, mode))
    warm = child(WARM, str(ws), str(queries), ",".join(MODES))
    rows = []
    for mode in MODES:
        walls = [w for w, _ in cold[mode]]
        rss = max(r for _, r in cold[mode])
        s = {**base, "bm25_backend": bm25_backend, "dense_backend": dense_backend, "k": 10}
        med = statistics.median(walls)
        wm = warm["modes"][mode]
        print(f"[{n:,}] {mode}: cold CLI median {med:.2f} s {[round(w, 2) for w in walls]} (peak RSS {rss:.0f} MB); "
              f"warm p50 {wm['p50_ms']:.1f} ms, p95 {wm['p95_ms']:.1f} ms", flush=True)
        rows.append(_row(n, f"serendip-search-{mode}-cold", "wall_s_median", med,
                         {**s, "repeats": args.repeats, "query": COLD_QUERY, "page_cache": "warm"},
                         wall_s=med, peak_rss_mb=rss))
        sw = {**s, "queries": args.queries, "warmup": 5, "queries_from": "sample titles, first 6 words"}
        for metric in ("p50_ms", "p95_ms"):
            rows.append(_row(n, f"serendip-search-{mode}-warm", f"query_{metric}", wm[metric], sw,
                             peak_rss_mb=warm["peak_rss_mb"]))
    rows.append(_row(n, "serendip-search-warm-process", "rss_anon_end_mb", warm["rss_anon_end_mb"],
                     {**base, "modes": ",".join(MODES)}, peak_rss_mb=warm["peak_rss_mb"]))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="target record counts, ascending")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/serendip-scale"))
    ap.add_argument("--queries", type=_rows.positive_int, default=100, help="warm queries per mode")
    ap.add_argument("--repeats", type=_rows.positive_int, default=3, help="cold CLI runs per mode")
    ap.add_argument("--keep", action="store_true", help="keep the workspaces in --workdir")
    ap.add_argument("--encoder", default="torch", help="the workspaces' retrieval.encoder (a name of "
                    "serendip.retrieval.encoders.ENCODERS); it embeds the sample and every query")
    ap.add_argument("--contended", action="store_true", help="note in each row that wall times are contended")
    ap.add_argument("--steps", default=",".join(STEPS), help="some of: " + ", ".join(STEPS) + " (without "
                    "ingest: the workspaces an earlier --keep run left in --workdir)")
    ap.add_argument("--embedded", type=Path, default=None,
                    help="embedded.json of an earlier run's --workdir: reuse its embedding sample (vectors "
                         "and figures) instead of embedding again")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    args.steps = args.steps.split(",")
    if set(args.steps) - set(STEPS):
        raise _rows.UsageError(f"unknown step(s) {sorted(set(args.steps) - set(STEPS))}; expected some of: "
                               f"{', '.join(STEPS)}")
    sample = Path(os.environ["SERENDIP_DATA_MIRROR"]) / "medline" / "pubmed_sample.xml.gz"
    args.workdir.mkdir(parents=True, exist_ok=True)
    qfile = args.workdir / "queries.json"
    qfile.write_text(json.dumps(queries_from(sample, args.queries)), encoding="utf-8")
    t_all = time.perf_counter()
    rows, embedded = [], None
    for n in (int(s) for s in args.sizes.split(",")):
        got, embedded = run_size(n, args, sample, qfile, embedded)
        rows += got
        if not args.no_write:  # rows of the finished sizes are kept if a later size fails
            _rows.write("scale", got)
    print(f"total {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    _rows.run_main(main)
