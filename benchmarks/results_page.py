"""Generate ``benchmarks/RESULTS.md`` from ``benchmarks/results/*.json``.

    python benchmarks/results_page.py            # rewrite RESULTS.md
    python benchmarks/results_page.py --check    # exit 1 when RESULTS.md is not what the rows give

Per benchmark (one section per results file, in name order) the page lists its headline rows
(:data:`HEADLINE`: the metrics and splits a reader looks for first), newest first, one table line per
(dataset, split, method, settings, metric):

* a pooled row (two ``seeds`` or more: a mean or a paired difference over seeds) is shown as ``value ± sd``
  with its seeds; where one configuration was pooled over several seed sets, the set with most seeds
  (then the newest) is shown;
* otherwise the one-seed rows of the configuration (the latest row per seed; a row pooled over one
  seed counts as that seed's) give the value, or the mean ± sample standard deviation when there are
  two seeds or more;
* the baseline is shown beside the value, the published anchor as a numbered footnote under the
  section (each anchor once).

Everything else (dev and training rows, timings, bootstrap intervals) stays in the JSON files; per-seed
rows that a pooled row summarises and the run log written before the page was generated are in
``results/archive/``. The page holds no clock time, so the same rows always give the same page
(``tests/unit/benchmarks/test_results_page.py`` checks the committed page against the rows).
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: benchmark -> (splits shown or None for every split, metrics shown or None for every metric but sds[,
#: methods shown]); without the third item every method is shown
HEADLINE: dict[str, tuple[tuple[str, ...] | None, ...]] = {
    "ask_latency": (None, ("latency_p50_ms", "same_answer_share")),  # p95 and the build time in the JSON
    "bm25_backends": (None, ("ndcg@10", "build_peak_rss_mb", "latency_p50_ms")),  # the rest in the JSON
    "dense_backends": (None, ("recall@10", "query_p50_ms", "build_s")),  # disk_mb in the JSON
    # wall seconds (the baseline's beside each ratio) in the JSON
    "cold_start": (None, ("ratio_vs_bare_bm25s", "ratio_vs_bare_transformers", "ratio_vs_bare_transformers+bm25s")),
    "chem_screen": (None, ("lines_per_s", "peak_rss_mb", "resume_equal")),  # lines per CPU-second in the JSON
    "dedupe": (None, ("f1",)),  # precision and recall of each seed in the JSON
    "design_esol": (None, ("top10_beating_best_train_out_of_fold", "top10_beating_best_train_measured")),
    # in-sample bar, predicted logS, AD, AUC in the JSON
    "generation_moses": (("test",), ("valid", "novelty", "IntDiv1", "FCD/Test"), ("serendip-smiles-lstm",)),
    # the training-set draw is the baseline beside each value; unique@1k/10k (0.9993 or more in every run so
    # far), IntDiv2, SNN, Frag, Scaf, TestSF and training speed in the JSON
    "design_pmo": (None, ("auc_top10_sum",)),  # auc_top10 per oracle and seed in the JSON
    "dna_gue": (("test",), ("mcc",)),  # mcc_minus_baseline (mcc minus the baseline beside it) in the JSON
    "dna_rc": (("test",), ("mcc",)),
    "evidence_answer": (None, ("citation_precision", "citation_recall", "grounded_share", "no_evidence_rate")),
    "evidence_scifact": (("dev",), ("abstract_label_only_f1",)),  # sentence-level F1 in the JSON
    "evidence_rerank": (("test",), ("ndcg@10", "latency_p50_ms")),  # mrr@10 and p95 in the JSON
    # the convex-combination grid (alpha x norm, 28 test rows) in the JSON; retrieval_scifact shows the hybrid
    "fusion_sets": (("test",), ("ndcg@10",), ("hybrid-rrf", "bm25", "dense")),
    "encoder_speed": (None, ("speedup_vs_torch", "ndcg@10")),  # docs/s and cosines in the JSON
    "imbalance_dna": (("test",), ("pr_auc",), ("tiny-bert-pretrained ce", "tiny-bert-pretrained focal-cw",
                                              "cnn-3conv ce", "cnn-3conv focal", "kmer6-tfidf-logreg")),
    # every loss (oversample, class_weight, focal-cw) and pr_auc_minus_ce, paired over seeds, in the JSON
    # token-ft (the baseline beside its +abbreviations), dev-chosen (each train-only run chose
    # token-ft+abbreviations) and the plain dictionary in the JSON
    "kg_bc5cdr": (("test",), ("f1_chemical", "f1_disease"),
                  ("token-ft+abbreviations", "dictionary-longest-match+abbreviations")),
    "kg_build": (None, ("docs_per_s",)),  # wall_s, counts and the no-storage rate in the JSON
    "kg_cid": (("test",), ("f1",), ("cid-ft", "cid-stacked", "cid-features")),  # each beside its baseline
    # lexicon-abbrev-fuzzy beside each; it and exact-lexicon alone in the JSON
    "kg_normalise": (("test",), ("f1_chemical", "f1_disease"), ("lexicon-abbrev-fuzzy-embedding",)),
    "kg_timeslice": (None, ("roc_auc", "hits@100"), ("random", "preferential-attachment", "resource-allocation",
                                                     "learned-logreg", "learned-gb")),
    # Adamic-Adar, Jaccard, common neighbours, MRR and the bootstrap intervals in the JSON
    "lora_text": (("test",), ("f1_macro", "f1_macro_gap_vs_full")),  # accuracy in the JSON
    # Serendip's validation-chosen ensemble beside Chemprop (its baseline); the forest, every other
    # model, the ratio to Chemprop and the conformal coverage in the JSON
    "molecules": (("test",), ("rmse", "roc_auc"), ("serendip-best", "serendip+chemprop-stack", "chemprop")),
    "ray_index": (None, ("docs_per_s", "vectors_equal_local")),
    "scale": (None, ("peak_rss_mb", "wall_s_median", "query_p50_ms"),
              ("serendip-index-dense", "serendip-search-hybrid-cold", "serendip-search-hybrid-warm")),
    # the summary over the 14 reviews for Serendip's leave-one-review-out choice and ASReview; every
    # review, model and metric in the JSON
    # CPU seconds of `screen next` (wall time was mostly waiting under load); label, disk, profile in the JSON
    "screen_session_scale": (None, ("cpu_s_median",), ("screen-next-cold-cache", "screen-next-warm-cache")),
    "screening_cohen": (("test",), ("wss@95_mean_over_reviews", "reviews_above_asreview_wss@95",
                                    "stop_hypergeometric_runs_recall>=0.95"), ("serendip", "asreview-elas_u4")),
    # the plain model, enumeration with and without test-time views, the forest (same split)
    "smiles_transformer": (("test",), ("rmse",)),
    "retrieval_scifact": (None, ("ndcg@10", "recall@100", "latency_p50_ms", "throughput_ratio_vs_bm25s")),
    # mrr@10, index_build_s and queries_per_s in the JSON
}

HEADER = """# Benchmark results

Generated by `python benchmarks/results_page.py` from `results/*.json` (every benchmark run
regenerates it; do not edit by hand). Per benchmark, the headline rows, newest first. A value over
several seeds is the mean ± sample standard deviation over the seeds listed (n = their number);
settings are the method's options (those every row of a section, or of one method in it, shares are
printed once, above its table); anchors (published figures) are footnotes. All metrics, dev and
training rows are in `results/<benchmark>.json` (with the local run folders reused); per-seed rows
that a pooled row summarises, and the append-only run log kept until 2026-12-04, are in
`results/archive/`.
"""

#: settings kept in the JSON only: the local folder a run was reused from (a machine's path, no method)
PAGE_HIDDEN_SETTINGS = ("reused_run",)

COLUMNS = ("date", "dataset", "split", "method", "settings", "metric", "value", "n seeds", "seeds",
           "baseline", "anchor", "commit")


def is_headline(benchmark: str, r: dict) -> bool:
    """Whether row ``r`` of ``benchmark`` is shown on the page (see :data:`HEADLINE`)."""
    splits, metrics, *methods = HEADLINE.get(benchmark, (None, None))
    if splits is not None and r["split"] not in splits:
        return False
    if methods and r["method"] not in methods[0]:
        return False
    if metrics is None:
        return not r["metric"].endswith("_sd")
    return r["metric"] in metrics


def _group_key(r: dict) -> tuple:
    return (r["dataset"], r["split"], r["method"], json.dumps(r.get("settings") or {}, sort_keys=True),
            r["metric"])


def _newest(entries: list[tuple[int, dict]]) -> tuple[int, dict]:
    """The (position, row) with the latest date, then the latest position in the file."""
    return max(entries, key=lambda e: (e[1].get("date") or "", e[0]))


def headline_lines(benchmark: str, rows: list[dict]) -> list[dict]:
    """The page entries of one benchmark's rows, newest first: dicts with ``row`` (the row whose
    anchor, commit and date are shown), ``value``, ``sd`` (None for one seed), ``seeds`` (list of int,
    [] when the row has no seed) and ``baseline`` (the row's; for a mean over one-seed rows whose
    baselines differ, the mean of their baseline values, or None when one has none)."""
    groups: dict[tuple, list[tuple[int, dict]]] = {}
    for pos, r in enumerate(rows):
        if is_headline(benchmark, r):
            groups.setdefault(_group_key(r), []).append((pos, r))
    out = []
    for entries in groups.values():
        pooled = [e for e in entries if len(e[1].get("seeds") or ()) >= 2]
        if pooled:
            most = max(len(e[1]["seeds"]) for e in pooled)
            pos, r = _newest([e for e in pooled if len(e[1]["seeds"]) == most])
            out.append({"pos": pos, "row": r, "value": r["value"], "sd": r.get("sd"), "seeds": list(r["seeds"]),
                        "baseline": r.get("baseline")})
            continue
        per_seed: dict = {}
        for e in entries:  # a "mean" over one seed is that seed's row
            seed = e[1]["seeds"][0] if e[1].get("seeds") else e[1].get("seed")
            per_seed[seed] = _newest([e, per_seed[seed]]) if seed in per_seed else e
        pos, r = _newest(list(per_seed.values()))
        seeds = sorted(s for s in per_seed if s is not None)
        baseline = r.get("baseline")
        if len(per_seed) >= 2:
            values = [e[1]["value"] for e in per_seed.values()]
            value, sd = round(statistics.fmean(values), 4), round(statistics.stdev(values), 4)
            baselines = [e[1].get("baseline") for e in per_seed.values()]
            if any(b != baseline for b in baselines):  # one seed's baseline beside a mean would mislead
                baseline = None if None in baselines else {
                    "method": baseline["method"], "settings": baseline.get("settings"),
                    "value": round(statistics.fmean(b["value"] for b in baselines), 4),
                    "seeds": seeds}
        else:
            value, sd = r["value"], None
        out.append({"pos": pos, "row": r, "value": value, "sd": sd, "seeds": seeds, "baseline": baseline})
    out.sort(key=lambda e: (e["row"].get("date") or "", e["pos"]), reverse=True)
    return out


def _seeds_text(seeds: list[int]) -> str:
    if not seeds:
        return "-"
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def _settings_text(settings: dict | None) -> str:
    shown = {k: v for k, v in (settings or {}).items() if k not in PAGE_HIDDEN_SETTINGS}
    if not shown:
        return "-"
    return ", ".join(f"{k}={'yes' if v is True else v}" for k, v in shown.items())


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _baseline_text(b: dict | None) -> str:
    if not b:
        return "-"
    extra = ", ".join(filter(None, [_settings_text(b.get("settings")) if b.get("settings") else "",
                                    f"seeds {_seeds_text(b['seeds'])}" if b.get("seeds") else ""]))
    return f"{b['method']}{f' ({extra})' if extra else ''}: {b['value']}"


def shared_settings(entries: list[dict]) -> dict:
    """The settings (key and value) that every one of two or more page entries has, in the first
    entry's order; {} for fewer than two entries. The page prints them once above the table."""
    if len(entries) < 2:
        return {}
    first = entries[0]["row"].get("settings") or {}
    dumped = [{k: json.dumps(v, sort_keys=True) for k, v in (e["row"].get("settings") or {}).items()}
              for e in entries]
    return {k: v for k, v in first.items()
            if all(d.get(k, None) == json.dumps(v, sort_keys=True) for d in dumped)}


def render_section(benchmark: str, rows: list[dict], footnotes: dict[str, int]) -> str:
    """The page section of one benchmark: heading, the settings every row shares and those every row of
    one method shares (each printed once), the table (each row's other settings), then the footnotes
    first used in it. ``footnotes`` maps an
    anchor's text to its number across the page and is extended here."""
    entries = headline_lines(benchmark, rows)
    common = shared_settings(entries)
    by_method: dict[str, dict] = {}  # settings every row of one method shares, beyond ``common``
    for method in dict.fromkeys(e["row"]["method"] for e in entries):
        mine = shared_settings([e for e in entries if e["row"]["method"] == method])
        mine = {k: v for k, v in mine.items() if k not in common}
        if mine:
            by_method[method] = mine
    lines = [f"## {benchmark}", "", f"{len(entries)} headline rows of {len(rows)} stored."
             + (f" Settings of every row: {_cell(_settings_text(common))}." if common else ""), ""]
    if by_method:
        lines += [f"- every {_cell(m)} row: {_cell(_settings_text(v))}" for m, v in by_method.items()] + [""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    new_notes: list[tuple[int, str]] = []
    for e in entries:
        r = e["row"]
        anchor = "-"
        if r.get("anchor"):
            a = r["anchor"]
            text = f"{a['name']}: {a['value']} ({a['source']})"
            if text not in footnotes:
                footnotes[text] = len(footnotes) + 1
                new_notes.append((footnotes[text], text))
            anchor = f"{a['value']} [^{footnotes[text]}]"
        value = f"{e['value']} ± {e['sd']}" if e["sd"] is not None else f"{e['value']}"
        shared = {**common, **by_method.get(r["method"], {})}
        own = {k: v for k, v in (r.get("settings") or {}).items() if k not in shared}
        cells = [r.get("date") or "-", r["dataset"], r["split"], r["method"], _settings_text(own),
                 r["metric"], value, len(e["seeds"]) or "-", _seeds_text(e["seeds"]),
                 _baseline_text(e["baseline"]), anchor, r.get("commit") or "-"]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if new_notes:
        lines.append("")
        lines += [f"[^{i}]: {_cell(text)}" for i, text in new_notes]
    return "\n".join(lines) + "\n"


def render_page(results_dir: Path) -> str:
    """The text of RESULTS.md for the ``*.json`` files in ``results_dir`` (name order). Raises
    ValueError naming a file that is not a list of rows (see :func:`_rows.read_rows`)."""
    import _rows

    footnotes: dict[str, int] = {}
    sections = [render_section(path.stem, _rows.read_rows(path), footnotes)
                for path in sorted(results_dir.glob("*.json"))]
    return HEADER + "".join("\n" + s for s in sections)


def write_page(bench_dir: Path = HERE) -> Path:
    """Regenerate ``bench_dir/RESULTS.md`` from ``bench_dir/results/*.json``; returns its path."""
    page = bench_dir / "RESULTS.md"
    page.write_text(render_page(bench_dir / "results"), encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when RESULTS.md differs from the rows")
    args = ap.parse_args(argv)
    if args.check:
        page = HERE / "RESULTS.md"
        fresh = render_page(HERE / "results")
        if not page.exists() or page.read_text(encoding="utf-8") != fresh:
            print(f"{page} is not generated from results/*.json: run python benchmarks/results_page.py",
                  file=sys.stderr)
            return 1
        return 0
    print(f"wrote {write_page(HERE)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
