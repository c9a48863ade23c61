"""One-off migration (run 2026-12-04) of the append-only results to the generated results page.

    python benchmarks/_migrate_results.py

1. ``RESULTS.md`` (the run log every script appended to) -> ``results/archive/RESULTS-log-<date>.md.gz``.
2. Every ``results/<script>.json`` as it was (method labels packing the configuration) ->
   ``results/archive/<script>-rows-<date>.json.gz``.
3. Its rows get their configuration in fields (:func:`_row_fields.normalise`); a ``<metric>_sd`` row becomes
   the ``sd`` of its ``<metric>`` row; a pooled mean without an sd row gets the sample sd of the per-seed
   rows it pooled when every one of them is stored and their mean is the pooled value (to 1e-4).
4. Per-seed rows a pooled row summarises -> ``results/archive/<script>-per-seed.json.gz``
   (:func:`_rows.split_detail`); the rest stays in ``results/<script>.json``.
5. ``RESULTS.md`` is generated (:func:`results_page.write_page`).

Nothing is recomputed from models or data; no figure changes.
"""
from __future__ import annotations

import gzip
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _row_fields  # noqa: E402
import _rows  # noqa: E402
import results_page  # noqa: E402

DATE = "2026-12-04"


def fold_sd_rows(rows: list[dict]) -> list[dict]:
    """``rows`` without the ``<metric>_sd`` rows that have a ``<metric>`` row of the same key, whose
    ``sd`` they become."""
    def key(r: dict, metric: str) -> tuple:
        return (*_rows.config_key(r), r["split"], metric, tuple(r.get("seeds") or ()), r.get("seed"), r["n"])

    by_key = {key(r, r["metric"]): r for r in rows}
    out = []
    for r in rows:
        target = by_key.get(key(r, r["metric"][:-3])) if r["metric"].endswith("_sd") else None
        if target is not None and target.get("sd") is None:
            target["sd"] = r["value"]
        else:
            out.append(r)
    return out


def fill_sd_from_seeds(rows: list[dict]) -> int:
    """Give each pooled mean row without ``sd`` the sample sd of its per-seed rows (see the module
    docstring); returns the number of rows filled."""
    per_seed = {(*_rows.config_key(r), r["split"], r["metric"], r["seed"]): r["value"]
                for r in rows if not r.get("seeds") and r.get("seed") is not None}
    filled = 0
    for r in rows:
        seeds = r.get("seeds")
        if not seeds or len(seeds) < 2 or r.get("sd") is not None or (r.get("settings") or {}).get("paired_vs"):
            continue
        values = [per_seed.get((*_rows.config_key(r), r["split"], r["metric"], s)) for s in seeds]
        if None in values or abs(statistics.fmean(values) - r["value"]) > 1e-4:
            continue
        r["sd"] = round(statistics.stdev(values), 4)
        filled += 1
    return filled


def migrate(bench_dir: Path = HERE) -> None:
    archive = bench_dir / "results" / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    log = bench_dir / "RESULTS.md"
    if log.exists():
        (archive / f"RESULTS-log-{DATE}.md.gz").write_bytes(gzip.compress(log.read_bytes(), 9, mtime=0))
    for path in sorted((bench_dir / "results").glob("*.json")):
        original = _rows.read_rows(path)
        _rows.write_gzip_rows(archive / f"{path.stem}-rows-{DATE}.json.gz", original)
        rows = fold_sd_rows([_row_fields.normalise(dict(r)) for r in original])
        filled = fill_sd_from_seeds(rows)
        kept, detail = _rows.split_detail(rows)
        if detail:
            _rows.write_gzip_rows(archive / f"{path.stem}-per-seed.json.gz", detail)
        path.write_text(_rows.dump_rows(kept), encoding="utf-8")
        print(f"{path.name}: {len(original)} rows -> {len(kept)} kept, {len(detail)} per-seed archived, "
              f"{len(original) - len(rows)} sd rows folded, {filled} sd filled from seeds")
    results_page.write_page(bench_dir)


if __name__ == "__main__":
    migrate()
