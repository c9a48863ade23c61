"""The demo's screening step on the mirror's Cohen Antihistamines review: the figures of the benchmark's
runs for seed 0 (``tfidf-svm`` screens in ASReview elas_u4's order), the printed table, and a skip that
says why when the collection is not in the mirror."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from serendip.screening.demo_step import DEMO_REVIEW, run_screening_demo

MIRROR = os.environ.get("SERENDIP_DATA_MIRROR", "")
needs_cohen = pytest.mark.skipif(not (Path(MIRROR) / "cohen" / "labels.tsv").is_file(),
                                 reason="the Cohen collection is not in SERENDIP_DATA_MIRROR")


@needs_cohen
def test_seed_0_gives_the_benchmarks_figures_and_the_table_shows_them():
    from serendip.cli.common import console
    from serendip.cli.demo_cmd import print_screening

    demo = run_screening_demo(seeds=(0,))
    assert demo.skipped is None and [r.model for r in demo.results] == ["tfidf-svm", "tfidf-mesh-svm"]
    svm, mesh = (r.runs[0] for r in demo.results)
    assert (demo.results[0].n, demo.results[0].n_includes) == (310, 92)
    # the runs behind benchmarks/results/screening_cohen.json's Antihistamines rows, seed 0
    assert svm.metrics["wss@95"] == pytest.approx(0.2194805, abs=1e-6)
    assert mesh.metrics["wss@95"] == pytest.approx(0.2389610, abs=1e-6)
    assert (svm.metrics["rrf@10"], mesh.metrics["rrf@10"]) == (pytest.approx(16 / 91), pytest.approx(21 / 91))
    assert svm.stops["hypergeometric"].recall == pytest.approx(91 / 92) and mesh.stops["hypergeometric"].recall == 1.0
    with console.capture() as out:
        print_screening(demo)
    text = " ".join(out.get().split())
    assert f"review {DEMO_REVIEW} (310 records, 92 includes)" in text and "seeds 0," in text
    assert "│ tfidf-svm │ 21.9 % │ 17.6 % │ 98.9 % │ 9.0 % │" in text
    assert "│ tfidf-mesh-svm │ 23.9 % │ 23.1 % │ 100.0 % │ 11.0 % │" in text


def test_without_the_collection_the_step_says_why(tmp_path, monkeypatch):
    from serendip.cli.common import console
    from serendip.cli.demo_cmd import print_screening

    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(tmp_path))
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    demo = run_screening_demo()
    assert demo.results == [] and "cohen/records.jsonl.gz is not in the data mirror" in demo.skipped
    with console.capture() as out:
        print_screening(demo)
    assert "simulated screening skipped: dataset 'cohen-2006'" in " ".join(out.get().split())
