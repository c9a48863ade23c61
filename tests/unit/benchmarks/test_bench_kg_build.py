"""benchmarks/kg_build.py rows: the build's docs/s beside the bare tagger loop, its wall time, the
slowdown ratio, the no-storage pipeline, the rerun and the graph's counts; valid for results/*.json."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows
import kg_build

from serendip.kg.build import BuildReport


def test_rows_for_a_build():
    rep = BuildReport(1, "dictionary", "normaliser-x.json", records_read=100, seconds=4.0,
                      counts={"records": 100, "entities": 7, "mentions": 50, "edges": 12, "evidence": 30})
    again = BuildReport(2, "dictionary", "normaliser-x.json", seconds=0.5, counts=rep.counts)
    rows = kg_build.rows_for(rep, again, {"n": 100, "loop_s": 0.5, "pipeline_s": 2.0}, 123.0,
                             settings={"tagger": "dictionary", "batch": 64})
    assert all(_rows._row_problem(r) is None for r in rows)
    by = {(r["method"], r["metric"]): r for r in rows}
    docs = by[("kg-build", "docs_per_s")]
    assert docs["value"] == 25.0 and docs["baseline"] == {"method": "dictionary-tagger-loop", "value": 200.0}
    assert docs["peak_rss_mb"] == 123.0 and docs["wall_s"] == 4.0 and docs["n"] == 100
    assert by[("kg-build", "wall_s")]["value"] == 4.0
    assert by[("kg-build", "slowdown_vs_tagger_loop")]["value"] == 8.0
    assert by[("tag-normalise-split-no-storage", "pipeline_docs_per_s")]["value"] == 50.0
    assert by[("kg-build", "rerun_records_read")]["value"] == 0
    assert [by[("kg-build", m)]["value"] for m in ("entities", "mentions", "edges", "evidence_rows")] == [7, 50, 12, 30]
    import results_page

    assert [r["metric"] for r in rows if results_page.is_headline("kg_build", r)] == ["docs_per_s"]
