"""``serendip screen next`` / ``label`` at 10^4 and 10^5 records: wall time and peak RSS of each CLI
process, with the session's feature cache cold (first ``next``: TF-IDF fitted over every record of the
session, then written to ``indexes/screening/``) and warm (later ``next`` calls read it back).

Corpus: the MEDLINE sample replicated as ``benchmarks/scale.py`` does (its :func:`scale.replicate`:
``ceil(n / 604)`` copies with new PMIDs and DOIs, so 10,268 and 100,264 records; 604 distinct texts,
so the TF-IDF vocabulary is that of the sample while the matrix has a row per record), ingested into a
fresh SQLite workspace in a child process (``_scale_children.INGEST``).

Per size: a session over every record (``serendip screen start``, model ``tfidf-svm``, strategy
``max``) from 2 prior includes and 2 prior excludes: records of the first copy whose title or abstract
does / does not mention :data:`TOPIC`, which also labels each record shown (the oracle). Then
``--cycles`` rounds of ``serendip screen next --json`` and ``serendip screen label ID LABEL``, each a
fresh process under ``/usr/bin/time`` (peak RSS and user + system CPU seconds of that process alone:
on a shared machine CPU time is the figure that contention does not inflate). The first ``next`` runs
with no cache file (cold); the others read it (warm). One more warm ``next`` runs under cProfile timed
by CPU time, and the cumulative CPU seconds of its phases are rows: reading the session's records from
the database (``ScreeningSession._features``: while the workspace's changes counter stands, only which
records are gone), the cache key (``feature_key``: not computed when the cache's stamp proves the
matrix), reading the matrix (``feature_cache._read``), the model fit (``Learner.fit``) and scoring
(``Learner.score``).

Usage: ``python benchmarks/screen_session_scale.py [--sizes 10000,100000] [--cycles 3]
[--workdir /tmp/serendip-screen-scale] [--keep] [--reuse] [--no-write]``. Wall times are contended when the
machine is shared (each row records the 1-minute load average at the start of its size).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
from _scale_children import INGEST  # noqa: E402
from scale import SAMPLE_RECORDS, child, child_env, replicate  # noqa: E402

TOPIC = "cancer"
SESSION = "bench"
PHASES = {"read records": "_features", "cache key": "feature_key", "read matrix": "_read",
          "model fit": "fit", "model score": "score"}

PRIORS = r"""
import json, sys
from serendip.workbench import Workspace
ws = Workspace.open(sys.argv[1]); topic = sys.argv[2]; inc, exc = [], []
for rid, rec in ws.records(range(1, 605)):
    hit = topic in f"{rec.title} {rec.abstract}".lower()
    (inc if hit else exc).append(rid)
print(json.dumps({"inc": inc[:2], "exc": exc[:2]}))
"""

ORACLE = r"""
import json, sys
from serendip.workbench import Workspace
ws = Workspace.open(sys.argv[1]); topic = sys.argv[2]
((rid, rec),) = list(ws.records([int(sys.argv[3])]))
print(json.dumps({"label": "include" if topic in f"{rec.title} {rec.abstract}".lower() else "exclude"}))
"""


PROFILED = r"""
import cProfile, sys, time
from serendip.cli.app import main
prof = cProfile.Profile(time.process_time)
sys.argv = ["serendip", *sys.argv[2:]]
try:
    prof.runcall(main)
except SystemExit as exc:
    if exc.code:
        raise
finally:
    prof.dump_stats(PROFILE_OUT)
"""


def cli(ws: Path, *args: str, profile: Path | None = None) -> tuple[float, float, float, str]:
    """(wall s, CPU s (user + system), peak RSS MiB, stdout) of one ``serendip`` CLI process (``-w ws``
    appended); ``profile``: run it under cProfile timed by CPU time (``time.process_time``), stats
    written there."""
    py = ([sys.executable, "-c", PROFILED.replace("PROFILE_OUT", repr(str(profile))), "-"] if profile
          else [sys.executable, "-m", "serendip.cli.app"])
    cmd = [*py, *args, "-w", str(ws)]
    with tempfile.NamedTemporaryFile("r") as res:
        t = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", res.name, *cmd], capture_output=True,
                             text=True, env=child_env())
        wall = time.perf_counter() - t
        if out.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-2000:]}")
        rss, user, system = res.read().split()[-3:]
        return wall, float(user) + float(system), int(rss) / 1024, out.stdout


def phases(profile: Path) -> dict[str, float]:
    """Cumulative CPU seconds per :data:`PHASES` entry in a cProfile file (functions of serendip only)."""
    stats = pstats.Stats(str(profile)).stats
    out = {}
    for phase, func in PHASES.items():
        out[phase] = sum(v[3] for (file, _line, name), v in stats.items()
                         if name == func and "serendip/screening" in file)
    return out


def _row(n: int, method: str, metric: str, value: float, settings: dict, **kw) -> dict:
    return _rows.row("screen_session_scale", "medline-sample-replicated", "all", n, method, metric, value,
                     settings=settings, **kw)


def workspace(n_target: int, args) -> tuple[Path, int, float | None]:
    """The replicated workspace of ``n_target`` records in ``args.workdir`` (ingested in a child, or an
    earlier ``--keep`` run's with ``--reuse``): (folder, records, ingest wall s or None when reused)."""
    tmp = args.workdir / f"n{n_target}"
    ws, xml = tmp / "ws", tmp / "replicated.xml.gz"
    if args.reuse and (ws / "serendip.toml").is_file():
        return ws, math.ceil(n_target / SAMPLE_RECORDS) * SAMPLE_RECORDS, None
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sample = Path(os.environ["SERENDIP_DATA_MIRROR"]) / "medline" / "pubmed_sample.xml.gz"
    n = replicate(sample, xml, math.ceil(n_target / SAMPLE_RECORDS))
    ing = child(INGEST, str(ws), str(xml))
    assert ing["ingested"] == n and ing["failed"] == 0, ing
    xml.unlink()
    return ws, n, ing["wall_s"]


def run_size(n_target: int, args) -> list[dict]:
    """Start a new session, ``args.cycles`` next/label rounds and one profiled ``next``: the rows."""
    ws, n, ingest_s = workspace(n_target, args)
    base = {"model": "tfidf-svm", "strategy": "max", "priors": "2 include + 2 exclude",
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}
    name = f"{SESSION}-{time.strftime('%Y%m%d%H%M%S')}"  # a new session: no cache file yet
    sess = ("--session", name)
    pri = child(PRIORS, str(ws), TOPIC)
    start = cli(ws, "screen", "start", name, "--include", ",".join(map(str, pri["inc"])),
                "--exclude", ",".join(map(str, pri["exc"])))
    print(f"[{n:,}] ingest {'reused' if ingest_s is None else f'{ingest_s:.0f} s'}; screen start {start[0]:.1f} s "
          f"(CPU {start[1]:.1f} s); load {base['load_avg_1m_at_start']}", flush=True)
    nexts, labels = [], []
    for cycle in range(args.cycles):
        wall, cpu, rss, out = cli(ws, "screen", "next", "--json", *sess)
        rec = json.loads(out)
        nexts.append((wall, cpu, rss))
        label = child(ORACLE, str(ws), TOPIC, str(rec["record_id"]))["label"]
        lw, lc, lr, _ = cli(ws, "screen", "label", str(rec["record_id"]), label, *sess)
        labels.append((lw, lc, lr))
        print(f"[{n:,}] next #{cycle + 1} ({'cold' if cycle == 0 else 'warm'}) {wall:.1f} s (CPU {cpu:.1f} s), "
              f"{rss:.0f} MB -> record {rec['record_id']} {label}; label {lw:.1f} s (CPU {lc:.1f} s)", flush=True)
    cache_mb = sum(p.stat().st_size for p in (ws / "indexes" / "screening").glob("*.npz")) / 2**20
    prof = ws.parent / "next.prof"
    pw, pc, pr, _ = cli(ws, "screen", "next", "--json", *sess, profile=prof)
    ph = phases(prof)
    print(f"[{n:,}] cache {cache_mb:.0f} MB on disk; profiled warm next {pw:.1f} s (CPU {pc:.1f} s): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in ph.items()), flush=True)
    rows = []
    for method, got in (("screen-next-cold-cache", nexts[:1]), ("screen-next-warm-cache", nexts[1:]),
                        ("screen-label", labels)):
        if not got:
            continue
        st = {**base, "calls": len(got)}
        wall, cpu, rss = (statistics.median(g[k] for g in got) for k in range(3))
        rows += [_row(n, method, "cpu_s_median", cpu, st, wall_s=wall, peak_rss_mb=max(g[2] for g in got),
                      baseline=("screen next, cold cache: CPU s", nexts[0][1]) if method.endswith("warm-cache")
                      else None),
                 _row(n, method, "wall_s_median", wall, st, wall_s=wall, peak_rss_mb=max(g[2] for g in got))]
    rows.append(_row(n, "screen-feature-cache", "disk_mb", cache_mb, base, peak_rss_mb=nexts[0][2]))
    rows += [_row(n, "screen-next-warm-profile", f"{k.replace(' ', '_')}_cpu_s", v,
                  {**base, "profiler": "cProfile, CPU time"}, wall_s=pw, peak_rss_mb=pr) for k, v in ph.items()]
    if not args.keep:
        shutil.rmtree(ws.parent)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="target record counts")
    ap.add_argument("--cycles", type=_rows.positive_int, default=3, help="next + label rounds per size")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/serendip-screen-scale"))
    ap.add_argument("--keep", action="store_true", help="keep the workspaces in --workdir")
    ap.add_argument("--reuse", action="store_true", help="use the workspaces an earlier --keep run left in "
                    "--workdir (a new session in each)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        got = run_size(n, args)
        rows += got
        if not args.no_write:  # rows of the finished sizes are kept if a later size fails
            _rows.write("screen_session_scale", got)
    print(f"total {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    _rows.run_main(main)
