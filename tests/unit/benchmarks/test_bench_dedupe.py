"""benchmarks/dedupe.py on a tiny labelled set (12 Cohen-shaped records, two of them real-style
same-title works, plus made letters and chapters): the labelled groups, the pairwise scores, and the
merge rules beating the DOI-or-title baseline on precision."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))
import dedupe  # noqa: E402

TINY = ROOT / "tests" / "fixtures" / "dedupe" / "cohen_tiny.jsonl"


def _records():
    return [json.loads(line) for line in TINY.read_text().splitlines()]


def test_score_is_pairwise():
    labels = {("ris", 0): 1, ("bib", 0): 1, ("nbib", 0): 1, ("ris", 1): 2}
    s = dedupe.score([[("ris", 0), ("bib", 0)], [("nbib", 0), ("ris", 1)]], labels)
    assert (s["true_pairs"], s["predicted_pairs"]) == (3, 2)
    assert s["precision"] == 0.5 and s["recall"] == 1 / 3


def test_labelled_set_is_deterministic(tmp_path):
    works = dedupe.build_works(_records(), 10, 2, 2, seed=3)
    sampled = [w for w in works if w.doi.startswith("10.5555/cohen.")]
    assert len(sampled) in (10, 11, 12)  # 10 sampled, plus whichever same-title work was not
    assert {"1000001", "1000002"} <= {w.pmid for w in sampled}  # both "Heart failure." works
    assert len(works) == len(sampled) + 2 + 2 * 3  # + letters + chapters
    assert [w.id for w in works] == list(range(len(works)))
    assert sum(w.chapter for w in works) == 6 and len({w.doi for w in works if w.chapter}) == 2
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert dedupe.render(works, a, 3) == dedupe.render(dedupe.build_works(_records(), 10, 2, 2, seed=3), b, 3)
    for fmt in dedupe.FORMATS:
        assert (a / f"export.{fmt}").read_bytes() == (b / f"export.{fmt}").read_bytes()


def test_merge_rules_beat_the_baseline_on_the_tiny_set(tmp_path):
    res = dedupe.run(_records(), 10, 2, 2, seed=0, tmp=tmp_path)
    assert res["failed"] == 0, res["errors"]
    ours, base = res["serendip"], res["baseline"]
    assert ours["precision"] == 1.0 and ours["recall"] >= 0.9
    assert base["precision"] < 0.8  # chapters under one DOI and same-title works joined
    assert base["recall"] >= ours["recall"]
