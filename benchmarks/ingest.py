"""Ingest throughput and memory: the MEDLINE sample (604 records) and a ~100k-record PubMed XML file
made by replicating the sample with new PMIDs and DOIs.

Each ingest runs in a fresh subprocess (fresh SQLite workspace) so that its peak RSS is its own; a
10k-record file is ingested the same way to show memory is flat in file size. Peak memory counts the
parsing processes: the storing process's peak RSS plus, per child, the largest child's (a bound). The baseline, in the same
run, is a bare lxml ``iterparse`` pass over the same file (parsing only, no fields, no database).

Two routes, each ingest in a fresh subprocess, ``--runs`` runs each, alternating: today's, where the
file is cut into blocks parsed by several worker processes (:mod:`serendip.literature.parallel_read`,
records made ready to store there), and the route before it, one parsing child
(:mod:`serendip.literature.prefetch`); the speed-up is a row.

Usage: ``python benchmarks/ingest.py [--replicas 166] [--runs 2]`` (SERENDIP_DATA_MIRROR must be set).

With ``--database URL`` (a PostgreSQL server) it compares instead, side by side, the two ways new
records are inserted there: ``COPY`` (serendip.workspace.postgres) and executemany ``INSERT``, each
ingest into a fresh database: ``python benchmarks/ingest.py --database
postgresql+psycopg://postgres@127.0.0.1:54329/postgres --pg-replicas 16 166 [--partitions 8]``.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

from serendip.literature.parallel_read import worker_count  # noqa: E402

CHILD = r"""
import json, os, resource, sys, time
import serendip.literature.batch_store as bs
import serendip.literature.ingest as ingest_mod
if os.environ.get("SERENDIP_BENCH_SINGLE_CHILD") == "1":  # the route before parallel parsing
    ingest_mod.supports_parallel = lambda reader: False
from serendip.workbench import Workspace
from serendip.workspace import postgres
# optional: database URL, insert method (copy | executemany), partitions of records
database, method, partitions = (sys.argv[3:] + ["", "", ""])[:3]
postgres.COPY_ENABLED = method != "executemany"
inserting = [0.0]
def timed(conn, rows, insert=bs.insert_records):
    t = time.perf_counter()
    insert(conn, rows)
    inserting[0] += time.perf_counter() - t
bs.insert_records = timed
ws = Workspace.init(sys.argv[1], database=database or None, partitions=int(partitions) if partitions else None)
t = time.perf_counter()
rep = ws.ingest([sys.argv[2]])
wall = time.perf_counter() - t
print(json.dumps({"ingested": rep.ingested, "duplicates": rep.duplicates, "failed": rep.failed,
                  "wall_s": wall, "insert_s": inserting[0],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "child_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

BARE = r"""
import gzip, json, resource, sys, time
from lxml import etree
t = time.perf_counter(); n = 0
with gzip.open(sys.argv[1], "rb") as fh:
    for _, el in etree.iterparse(fh, tag="PubmedArticle", resolve_entities=False, no_network=True):
        n += 1
        el.clear()
        while el.getprevious() is not None:
            del el.getparent()[0]
print(json.dumps({"n": n, "wall_s": time.perf_counter() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def replicate(sample: Path, out: Path, replicas: int) -> int:
    """Write ``replicas`` copies of every PubmedArticle of ``sample`` with new PMIDs and DOIs."""
    from lxml import etree

    tree = etree.parse(gzip.open(sample, "rb"), etree.XMLParser(resolve_entities=False, no_network=True))
    arts = tree.getroot().findall("PubmedArticle")
    n = 0
    with gzip.open(out, "wb", compresslevel=1) as fh:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n')
        for r in range(replicas):
            for i, art in enumerate(arts):
                pmid = str(50_000_000 + r * 10_000 + i)
                a = etree.fromstring(etree.tostring(art))
                a.find("MedlineCitation/PMID").text = pmid
                for aid in a.findall("PubmedData/ArticleIdList/ArticleId"):
                    if aid.get("IdType") == "pubmed":
                        aid.text = pmid
                    elif aid.get("IdType") == "doi" and aid.text:
                        aid.text = f"{aid.text}.r{r}"
                for el in a.findall("MedlineCitation/Article/ELocationID"):
                    if el.get("EIdType") == "doi" and el.text:
                        el.text = f"{el.text}.r{r}"
                fh.write(etree.tostring(a))
                fh.write(b"\n")
                n += 1
        fh.write(b"</PubmedArticleSet>\n")
    return n


def run_child(code: str, *args: str, single_child: bool = False) -> dict:
    env = {**os.environ, "SERENDIP_BENCH_SINGLE_CHILD": "1" if single_child else "0"}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory_bound(r: dict) -> float:
    """Peak memory of an ingest, parsing processes included: the storing process's peak RSS plus the
    largest child's peak RSS once per child (splitter and workers; an upper bound, they need not peak
    together)."""
    return r["peak_rss_mb"] + (worker_count() + 1) * r.get("child_peak_rss_mb", 0.0)


def parallel_vs_single(f: Path, n: int, tmp: Path, runs: int) -> tuple[list[dict], list[dict]]:
    """``runs`` ingests of ``f`` each way, alternating (single parsing child first), fresh workspaces."""
    par, single = [], []
    for i in range(runs):
        for out, one in ((single, True), (par, False)):
            r = run_child(CHILD, str(tmp / f"ws-{n}-{'single' if one else 'parallel'}-{i}"), str(f), single_child=one)
            assert r["ingested"] == n and r["failed"] == 0, r
            out.append(r)
            print(f"{n:,} records, {'single child' if one else 'parallel'}, run {i + 1}: "
                  f"{n / r['wall_s']:,.0f} records/s, peak RSS {r['peak_rss_mb']:.0f} MB (largest child "
                  f"{r['child_peak_rss_mb']:.0f} MB)", flush=True)
    return par, single


@contextlib.contextmanager
def fresh_database(server: str):
    """The URL of a new empty database on the PostgreSQL server ``server`` (a SQLAlchemy URL of any
    database there), dropped on exit."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"serendip_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_rows(server: str, sample: Path, tmp: Path, replicas: list[int], partitions: int | None,
                  runs: int = 2, contended: bool = False) -> list[dict]:
    """Ingest of each replicated file into a fresh PostgreSQL database, new records inserted with
    ``COPY`` vs executemany ``INSERT``: ``runs`` runs of each, alternating (executemany first), in
    fresh subprocesses; rows: mean records/s of COPY with executemany as baseline, the same for the
    time inside the insert alone, and the ingest speed-up of COPY (ratio of the means)."""
    out = []
    settings = {"database": "postgresql", "partitions": partitions or 0, "runs": runs, "contended": contended}
    for reps in replicas:
        f = tmp / f"replicated-{reps}.xml.gz"
        n = replicate(sample, f, reps)
        res: dict[str, list[dict]] = {"executemany": [], "copy": []}
        for i in range(runs):
            for method in res:
                with fresh_database(server) as url:
                    r = run_child(CHILD, str(tmp / f"ws-pg-{reps}-{method}-{i}"), str(f), url, method,
                                  str(partitions or ""))
                assert r["ingested"] == n and r["failed"] == 0, r
                res[method].append(r)
                print(f"{n:,} records, {method}, run {i + 1}: {n / r['wall_s']:,.0f} records/s ingest, "
                      f"{n / r['insert_s']:,.0f} records/s inside the insert")
        mean = {m: sum(n / r["wall_s"] for r in rs) / runs for m, rs in res.items()}
        mean_insert = {m: sum(n / r["insert_s"] for r in rs) / runs for m, rs in res.items()}
        wall = sum(r["wall_s"] for r in res["copy"]) / runs
        rss = max(r["peak_rss_mb"] for r in res["copy"])
        copy = {**settings, "insert": "copy"}
        out += [_rows.row("ingest", "medline-sample-replicated", "all", n, "serendip-ingest", "records_per_s",
                          mean["copy"], settings=copy, baseline=("executemany INSERT", mean["executemany"]),
                          wall_s=wall, peak_rss_mb=rss),
                _rows.row("ingest", "medline-sample-replicated", "all", n, "serendip-ingest",
                          "insert_records_per_s", mean_insert["copy"], settings=copy,
                          baseline=("executemany INSERT", mean_insert["executemany"]), wall_s=wall, peak_rss_mb=rss),
                _rows.row("ingest", "medline-sample-replicated", "all", n, "serendip-ingest",
                          "speedup_copy_vs_executemany", mean["copy"] / mean["executemany"], settings=settings,
                          baseline=("executemany INSERT", 1.0), wall_s=wall, peak_rss_mb=rss)]
        print(f"{n:,} records: COPY {mean['copy']:,.0f} vs executemany {mean['executemany']:,.0f} records/s "
              f"(x{mean['copy'] / mean['executemany']:.2f}); inside the insert "
              f"x{mean_insert['copy'] / mean_insert['executemany']:.2f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicas", type=int, default=166, help="copies of the 604-record sample (166 -> 100,264)")
    ap.add_argument("--database", help="a PostgreSQL server's SQLAlchemy URL: compare COPY with executemany "
                    "INSERT there (fresh databases, dropped after) instead of the SQLite runs")
    ap.add_argument("--partitions", type=int, help="with --database: records in this many hash partitions")
    ap.add_argument("--pg-replicas", type=int, nargs="+", default=[16],
                    help="with --database: file sizes in copies of the sample (16 -> 9,664; 166 -> 100,264)")
    ap.add_argument("--contended", action="store_true", help="note that wall times were taken on a shared machine")
    ap.add_argument("--runs", type=int, default=2, help="SQLite ingests of each replicated file per route")
    args = ap.parse_args()
    mirror = Path(os.environ["SERENDIP_DATA_MIRROR"])
    sample = mirror / "medline" / "pubmed_sample.xml.gz"
    t_all = time.perf_counter()
    if args.database:
        with tempfile.TemporaryDirectory() as tmp:
            rows = postgres_rows(args.database, sample, Path(tmp), args.pg_replicas, args.partitions,
                                 contended=args.contended)
        _rows.write("ingest", rows, wall_s=time.perf_counter() - t_all)
        for r in rows:
            print(json.dumps(r))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small = run_child(CHILD, str(tmp / "ws-sample"), str(sample))
        bare_small = run_child(BARE, str(sample))
        assert small["ingested"] == 604, small
        rows.append(_rows.row("ingest", "medline-sample", "all", 604, "serendip-ingest", "records_per_s",
                              604 / small["wall_s"], baseline=("lxml-iterparse-only", bare_small["n"] / bare_small["wall_s"]),
                              wall_s=small["wall_s"], peak_rss_mb=small["peak_rss_mb"]))
        sizes = {}
        settings = {"workers": worker_count(), "runs": args.runs, "contended": args.contended}
        for reps in (max(1, args.replicas // 10), args.replicas):
            f = tmp / f"replicated-{reps}.xml.gz"
            n = replicate(sample, f, reps)
            par, single = parallel_vs_single(f, n, tmp, args.runs)
            bare = run_child(BARE, str(f))
            rate = sum(n / r["wall_s"] for r in par) / len(par)
            rate_single = sum(n / r["wall_s"] for r in single) / len(single)
            wall = sum(r["wall_s"] for r in par) / len(par)
            rss = max(_memory_bound(r) for r in par)
            sizes[n] = {"wall_s": wall, "peak_rss_mb": rss}
            print(f"{n:,} records: {rate:,.0f} records/s (single parsing child {rate_single:,.0f}), peak RSS "
                  f"{rss:.0f} MB (bare lxml parse {bare['n'] / bare['wall_s']:,.0f} records/s)")
            rows.append(_rows.row("ingest", "medline-sample-replicated", "all", n, "serendip-ingest",
                                  "records_per_s", rate, settings=settings,
                                  baseline=("lxml-iterparse-only", bare["n"] / bare["wall_s"]),
                                  wall_s=wall, peak_rss_mb=rss))
            rows.append(_rows.row("ingest", "medline-sample-replicated", "all", n, "serendip-ingest",
                                  "speedup_parallel_vs_single_child", rate / rate_single, settings=settings,
                                  baseline=("single parsing child (records/s)", rate_single),
                                  wall_s=wall, peak_rss_mb=rss))
        (n_small, r_small), (n_big, r_big) = sorted(sizes.items())
        rows.append(_rows.row("ingest", "medline-sample-replicated", "all", n_big, "serendip-ingest",
                              "peak_rss_ratio_big_vs_small", r_big["peak_rss_mb"] / r_small["peak_rss_mb"],
                              baseline=(f"peak RSS at {n_small:,} records (MB)", r_small["peak_rss_mb"]),
                              wall_s=r_big["wall_s"], peak_rss_mb=r_big["peak_rss_mb"]))
    _rows.write("ingest", rows, wall_s=time.perf_counter() - t_all)
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    _rows.run_main(main)
