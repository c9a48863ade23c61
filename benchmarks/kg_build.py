"""``kg build`` over the SciFact corpus: documents per second, wall time, peak memory and graph size,
beside a bare loop of the same tagger over the same texts, same script.

Data: the ``scifact`` dataset of the mirror (BEIR layout: 5,183 abstracts, ``corpus.jsonl.gz``),
ingested into a fresh workspace (``Workspace.ingest(fmt="beir")``, not timed in the build figures).

Method ``kg-build``: :func:`serendip.kg.build.build` with the ``dictionary`` tagger (longest match on
the mentions of BC5CDR train + dev) and the MeSH normaliser fitted on the same files (fitted and cached
in the workspace by this first build, so its fitting is inside the wall time), over every record: NER
-> normalisation -> sentences (pySBD) -> co-occurrence edges with evidence, stored in the workspace's
SQLite database. ``wall_s`` is the whole ``build`` call (training files read, lexicon built, normaliser
fitted, every batch tagged and written, NPMI set); ``docs_per_s`` = records read / that wall time.
A second build is run after it and must read nothing (``rerun_records_read`` = 0, counts unchanged).
Then (unless ``--no-passages``) the passage index is built (``serendip index --passages``, its own
``wall_s`` row) and the graph rebuilt from scratch taking each record's sentences from it: a
``kg-build`` row with ``sentences=passage index`` beside the first build's docs/s; the graph must be
the same.

Baseline ``dictionary-tagger-loop``: the same tagger (built from the same files, not timed) over the
same texts (each record's title and abstract, read from the same database), no normalisation, no
sentences, no storage: the ratio ``slowdown_vs_tagger_loop`` (baseline docs/s over build docs/s) is what
everything but the tagging costs. A middle row, ``tag-normalise-split-no-storage``, runs the build's
reading of each record (:func:`serendip.kg.reading.read_record`) without writing anything, so the
storage share is its time beside the build's.

With ``--tagger model:NER_RUN`` (a ``token`` run of ``benchmarks/kg_bc5cdr.py``) the build, its rerun and
the baselines tag with that model instead (short forms given their long form's type, as ``kg build``
does); the baseline is then ``model-tagger-loop``, ``--batch`` records per call, and ``--tagger-name``
names it in the rows.

With ``--relations RUN_DIR`` (a CID classifier run of ``benchmarks/kg_cid.py``) every build also scores the
chemical-disease candidates of each record and stores ``cid`` edges (:mod:`serendip.kg.build_relations`):
the rows carry the run and its threshold in their settings, and a ``cid_edges`` row is added.

Settings in the rows: the tagger and the batch size; the lexicon (BC5CDR train + dev) and the database
(the workspace's SQLite file) are as described here. Peak RSS is the process's (ingest included; the parsing workers of the ingest are separate processes
and not counted). Goal (issue 16): the 5,183 abstracts in under 20 minutes on 2 CPU cores.

Run of 2026-12-05 (2 cores shared with other jobs, load about 9): bare tagger loop 3,896 docs/s; tag +
normalise + sentences without storage 173 docs/s (pySBD is most of it); ``kg build`` 5,183 records in
28.6 s, 181 docs/s (926 entities, 31,068 mentions, 12,172 edges); the passage index built in 24.7 s, then
the rebuild taking its sentences 4.2 s, 1,227 docs/s (6.8x), the same graph.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/kg_build.py [--batch 64] [--no-write]
    python benchmarks/kg_build.py --limit 200     # a check on the first 200 records; writes nothing
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "kg_build"
DATASET = "scifact"


def _texts(ws, limit: int | None) -> list[tuple]:
    """(id, pmid, title, abstract) of the records, in id order (the first ``limit``)."""
    from sqlalchemy import select

    from serendip.workspace.schema import records

    r = records.c
    stmt = select(r.id, r.pmid, r.title, r.abstract).order_by(r.id)
    with ws.engine.connect() as conn:
        return conn.execute(stmt.limit(limit) if limit else stmt).all()


def baselines(ws, limit: int | None, spec: str = "dictionary", batch: int = 64) -> dict[str, float]:
    """Seconds of the bare tagger loop and of tag + normalise + sentences without storage, with the
    tagger ``spec`` names (:func:`serendip.kg.taggers.make_tagger`; the dictionary one record at a time,
    a model ``batch`` records at a time, as the build batches them)."""
    from serendip.kg.normalise import Normaliser
    from serendip.kg.reading import read_record
    from serendip.kg.taggers import make_tagger, training_documents

    docs, _ = training_documents()
    tagger = make_tagger(spec, docs)
    step = 1 if spec == "dictionary" else batch
    normaliser = Normaliser().fit(docs)
    rows = _texts(ws, limit)
    for row in rows[:5]:  # imports and the sentence splitter's set-up, outside the timings
        spans = tagger.tag([row.title or "", row.abstract or ""])
        read_record(row.id, row.pmid, row.title, row.abstract, (spans[0], spans[1]), Normaliser().fit(docs[:1]))

    def tagged(part: list) -> list:
        return tagger.tag_records([[row.title or "", row.abstract or ""] for row in part])

    t = time.perf_counter()
    for i in range(0, len(rows), step):
        tagged(rows[i:i + step])
    loop_s = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, len(rows), step):
        for row, spans in zip(rows[i:i + step], tagged(rows[i:i + step])):
            read_record(row.id, row.pmid, row.title, row.abstract, (spans[0], spans[1]), normaliser)
    return {"n": len(rows), "loop_s": loop_s, "pipeline_s": time.perf_counter() - t}


def rows_for(rep, again, base: dict, rss: float, settings: dict) -> list[dict]:
    """The result rows of a build report ``rep`` (:class:`serendip.kg.build.BuildReport`), the second
    build's report ``again``, the :func:`baselines` timings and the peak RSS (MiB)."""
    n = base["n"]
    loop = (("dictionary" if settings["tagger"] == "dictionary" else "model") + "-tagger-loop", n / base["loop_s"])

    def row(method: str, metric: str, value: float, **kw) -> dict:
        return _rows.row(BENCH, DATASET, "corpus", n, method, metric, value, settings=settings, **kw)

    c = rep.counts
    rows = [row("kg-build", "docs_per_s", rep.docs_per_s, baseline=loop, wall_s=rep.seconds, peak_rss_mb=rss),
            row("kg-build", "wall_s", rep.seconds, wall_s=rep.seconds, peak_rss_mb=rss),
            row("kg-build", "slowdown_vs_tagger_loop", loop[1] / rep.docs_per_s, baseline=(loop[0], 1.0),
                wall_s=rep.seconds, peak_rss_mb=rss),
            row("tag-normalise-split-no-storage", "pipeline_docs_per_s", n / base["pipeline_s"], baseline=loop,
                wall_s=base["pipeline_s"]),
            row("kg-build", "rerun_records_read", again.records_read, wall_s=again.seconds)]
    rows += [row("kg-build", metric, c[key], wall_s=rep.seconds, peak_rss_mb=rss)
             for metric, key in (("entities", "entities"), ("mentions", "mentions"), ("edges", "edges"),
                                 ("evidence_rows", "evidence"))]
    if rep.relations:
        rows.append(row("kg-build", "cid_edges", rep.cid_edges, wall_s=rep.seconds, peak_rss_mb=rss))
    return rows


def passage_index_rows(ws, args, rep, n: int) -> list[dict]:
    """The build again from scratch (``rebuild``) after ``serendip index --passages``: its sentences come
    from the passage index (the split is not repeated); the same graph must come out."""
    from serendip.evidence.passage_index import update_passages
    from serendip.kg.build import build

    t = time.perf_counter()
    update_passages(ws)
    index_s = time.perf_counter() - t
    reused = build(ws, args.tagger, batch=args.batch, limit=args.limit, rebuild=True, **_relations(args))
    same = reused.counts == rep.counts
    print(f"passage index built in {index_s:.1f} s; kg build --rebuild with it: {reused.records_read:,} records "
          f"in {reused.seconds:.1f} s ({reused.docs_per_s:,.1f} docs/s; sentences of {reused.passages_reused:,} "
          f"from the index); graph {'the same' if same else 'DIFFERENT: ' + str(reused.counts)}", flush=True)
    if not same:
        raise SystemExit("the build with the passage index gave another graph")
    settings = {**_settings(args, rep), "sentences": "passage index"}
    base = ("kg-build (splits every record)", rep.docs_per_s)
    return [_rows.row(BENCH, DATASET, "corpus", n, "kg-build", "docs_per_s", reused.docs_per_s, settings=settings,
                      baseline=base, wall_s=reused.seconds),
            _rows.row(BENCH, DATASET, "corpus", n, "serendip-index-passages", "wall_s", index_s,
                      settings={"splitter": "pysbd"}, wall_s=index_s)]


def _relations(args) -> dict:
    """``build``'s keyword arguments for ``--relations`` (none without it)."""
    return {"relations": args.relations} if args.relations else {}


def _settings(args, rep) -> dict:
    out = {"tagger": args.tagger_name or args.tagger, "batch": args.batch}
    if args.relations:
        scorer = "cid-stacked" if (args.relations / "cid_stacker.json").is_file() else "cid-ft"
        out.update(relations=f"{scorer} run {args.relations.name}", relation_threshold=rep.relation_threshold)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=_rows.positive_int, default=64, help="records per batch")
    ap.add_argument("--limit", type=_rows.positive_int, default=None,
                    help="build over the first N records only (a check; writes nothing)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the workspace goes (default: a temp folder)")
    ap.add_argument("--no-passages", action="store_true", help="skip the build that reuses the passage index")
    ap.add_argument("--relations", type=Path, default=None,
                    help="a CID classifier run (benchmarks/kg_cid.py): the build also stores cid edges")
    ap.add_argument("--tagger", default="dictionary", help="the build's tagger: dictionary, or model:NER_RUN "
                                                           "(a token run of benchmarks/kg_bc5cdr.py)")
    ap.add_argument("--tagger-name", help="what the rows call --tagger (default: the spec as given)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from serendip import datasets
    from serendip.kg.build import build
    from serendip.workbench import Workspace

    t_all = time.perf_counter()
    folder = datasets.resolve(DATASET)["scifact/corpus.jsonl.gz"]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kg_build-"))
    ws = Workspace.init(workdir / "ws")
    t = time.perf_counter()
    ingested = ws.ingest([folder], fmt="beir").ingested
    print(f"workspace {ws.path}: {ingested:,} records ingested in {time.perf_counter() - t:.1f} s", flush=True)

    base = baselines(ws, args.limit, args.tagger, args.batch)
    n = base["n"]
    print(f"bare tagger loop: {n:,} records in {base['loop_s']:.2f} s ({n / base['loop_s']:,.0f} docs/s); "
          f"tag + normalise + sentences, no storage: {base['pipeline_s']:.2f} s "
          f"({n / base['pipeline_s']:,.0f} docs/s)", flush=True)

    rep = build(ws, args.tagger, batch=args.batch, limit=args.limit, **_relations(args))
    rss = _rows.peak_rss_mb()
    c = rep.counts
    print(f"kg build: {rep.records_read:,} records in {rep.seconds:.1f} s ({rep.docs_per_s:,.1f} docs/s); "
          f"{c['entities']:,} entities, {c['mentions']:,} mentions, {c['edges']:,} edges, {c['evidence']:,} "
          f"evidence rows; {len(rep.unsplit)} records unsplit; peak RSS {rss:.0f} MB", flush=True)
    if args.relations:
        print(f"relations: {rep.cid_edges:,} cid edges from {rep.candidates_scored:,} candidates (threshold "
              f"{rep.relation_threshold}, {rep.threshold_source})", flush=True)
    again = build(ws, args.tagger, batch=args.batch, limit=0 if args.limit else None,  # --limit: nothing more
                  **_relations(args))
    print(f"second build: {again.records_read} records read in {again.seconds:.1f} s; counts "
          f"{'unchanged' if again.counts == c else 'CHANGED: ' + str(again.counts)}", flush=True)
    rows = rows_for(rep, again, base, rss, settings=_settings(args, rep))
    if not args.no_passages:
        rows += passage_index_rows(ws, args, rep, n)
    ws.close()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write or bool(args.limit))


if __name__ == "__main__":
    _rows.run_main(main)
