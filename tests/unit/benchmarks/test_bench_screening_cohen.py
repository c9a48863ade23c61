"""benchmarks/screening_cohen.py: pooled rows per system and metric with ASReview as the baseline, the
CSV ASReview reads, and (when asreview 3.0.8 is installed: ``$SERENDIP_ASREVIEW`` or on PATH) the same
screening order from ``asreview simulate`` and Serendip's ``tfidf-svm`` on a small set."""
from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows
import _screening_asreview
import screening_cohen
from screening_helpers import tiny_set

from serendip.screening import simulate


def test_rows_pool_the_seeds_with_asreview_beside():
    ds = tiny_set(6, 30)
    results = {m: simulate(ds, m, "max", [0, 1]) for m in ("tfidf-nb", "tfidf-svm")}
    results[screening_cohen.ASREVIEW] = results["tfidf-svm"]
    rows = screening_cohen.rows_for("Antihistamines", results, [0, 1], None)
    assert all(_rows._row_problem(r) is None for r in rows)
    by = {(r["method"], r["metric"]): r for r in rows}
    assert len(rows) == 3 * 3 and not any(r["metric"] == "wss@100" for r in rows)
    nb = by[("tfidf-nb", "wss@95")]
    assert nb["seeds"] == [0, 1] and nb["dataset"] == "cohen-2006/Antihistamines" and nb["split"] == "test"
    assert nb["value"] == round(results["tfidf-nb"].summary()["wss@95"][0], 4)
    assert nb["baseline"]["method"] == screening_cohen.ASREVIEW and nb["anchor"]["value"] == 0.225
    assert by[(screening_cohen.ASREVIEW, "atd")]["baseline"]["method"] == "tfidf-nb"


def test_the_asreview_csv_keeps_order_and_labels(tmp_path):
    ds = tiny_set()
    path = _screening_asreview.write_asreview_csv(ds, tmp_path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["pmid"] for r in rows] == ds.ids and [int(r["included"]) for r in rows] == ds.labels.tolist()


def _asreview():
    exe = os.environ.get("SERENDIP_ASREVIEW") or shutil.which("asreview")
    if not exe:
        pytest.skip("asreview 3.0.8 not installed (pip install 'serendip[peers]' or set SERENDIP_ASREVIEW)")
    return _screening_asreview.find_asreview(exe)


@pytest.mark.slow
def test_asreview_and_tfidf_svm_screen_in_the_same_order(tmp_path):
    exe = _asreview()
    ds = tiny_set(8, 40)
    ours = simulate(ds, "tfidf-svm", "max", [3], stop_rules=()).runs[0]
    theirs, note = _screening_asreview.asreview_run(ds, exe, 3, None)
    assert "same priors: True" in note
    assert theirs.priors == ours.priors and theirs.order == ours.order


def _fake(review: str, system: str, wss: float):
    """A SimulationResult of one seed whose WSS@95 is ``wss``."""
    from serendip.screening.simulate import SimulationResult, SimulationRun, StopOutcome

    run = SimulationRun(0, [0, 1], [2], {"wss@95": wss, "wss@100": wss, "rrf@10": 0.5, "atd": 3.0},
                        {"hypergeometric": StopOutcome(10, 0.96 if wss > 0.2 else 0.9, 0.1, 0.95)})
    return SimulationResult(review, 100, 10, system, "max", "balanced", 1, [run])


def test_serendip_is_chosen_on_the_other_reviews_only(monkeypatch):
    monkeypatch.setattr(screening_cohen, "CANDIDATES", ("a", "b"))
    # "a" is far better on review R1 alone; "b" better on R2 and R3
    wss = {("R1", "a"): 0.9, ("R1", "b"): 0.1, ("R2", "a"): 0.2, ("R2", "b"): 0.3,
           ("R3", "a"): 0.2, ("R3", "b"): 0.3}
    results = {k: _fake(*k, v) for k, v in wss.items()}
    choice = screening_cohen.choose_loro(results, ["R1", "R2", "R3"])
    assert choice["R1"][0] == "b"                       # R1's own figures do not choose its model
    assert choice["R2"][0] == "a" and choice["R3"][0] == "a"   # R1 pulls the mean of "a" up elsewhere
    assert choice["R2"][1] == {"a": 0.55, "b": 0.2}


def test_summary_rows_count_wins_and_stopping_recall():
    per_review = {}
    for review, ours, theirs in (("R1", 0.3, 0.2), ("R2", 0.1, 0.2), ("R3", 0.5, 0.4)):
        per_review[review] = {"serendip": _fake(review, "serendip", ours),
                              screening_cohen.ASREVIEW: _fake(review, screening_cohen.ASREVIEW, theirs)}
    rows = screening_cohen.summary_rows(per_review, [0])
    assert all(_rows._row_problem(r) is None for r in rows)
    by = {(r["method"], r["metric"]): r for r in rows}
    assert by[("serendip", "reviews_above_asreview_wss@95")]["value"] == 2
    assert by[("serendip", "wss@95_mean_over_reviews")]["value"] == 0.3
    assert by[("serendip", "wss@95_mean_over_reviews")]["baseline"]["value"] == 0.2667
    assert by[("serendip", "stop_hypergeometric_runs_recall>=0.95")]["value"] == round(2 / 3, 4)
    assert by[(screening_cohen.ASREVIEW, "stop_hypergeometric_runs_recall>=0.95")]["value"] == round(1 / 3, 4)
    assert by[("serendip", "stop_hypergeometric_saved_mean")]["value"] == 0.1


def test_stored_runs_are_keyed_by_the_modules_a_simulation_runs():
    import subprocess

    names = [p.stem for p in screening_cohen.simulation_modules()]
    assert {"simulate", "models", "features", "strategies", "stopping", "metrics", "data"} <= set(names)
    assert not {"session", "session_texts", "feature_cache", "export", "recommend"} & set(names)
    # every serendip.screening module loaded by importing the simulation is among them
    src = Path(screening_cohen.__file__).resolve().parents[1] / "src"
    out = subprocess.run([sys.executable, "-c", "import sys, serendip.screening.simulate; print(' '.join("
                          "m.split('.')[2] for m in sys.modules if m.startswith('serendip.screening.')))"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)}, check=True)
    assert set(out.stdout.split()) <= set(names)
    assert len(screening_cohen.code_hash()) == 16


def test_an_unknown_model_is_refused_before_any_runs_file_is_written(monkeypatch, tmp_path):
    runs = tmp_path / "runs.jsonl"
    monkeypatch.setattr(screening_cohen, "review_names", lambda: ["Antihistamines"])
    monkeypatch.setattr(sys, "argv", ["screening_cohen.py", "--models", "tfidf-svm", "nope", "--no-asreview",
                                      "--runs-file", str(runs)])
    with pytest.raises(_rows.UsageError, match=r"unknown model nope; models: .*tfidf-svm"):
        screening_cohen.main()
    assert not runs.exists()


def test_moved_out_archives_exist_and_none_of_their_rows_is_also_live():
    moved = _rows.moved_out_rows(screening_cohen.MOVED_OUT)
    assert len(moved) == 112 + 56 + 56 + 84 and {k[4] for k in moved} == {"rrf@10", "atd"}
    live = _rows.read_rows(_rows.HERE / "results" / "screening_cohen.json")
    assert not [r for r in live if _rows.row_key(r) in moved]


def test_adapted_systems_carry_the_encoders_digest_and_show_without_it(tmp_path, monkeypatch):
    from serendip.errors import ConfigError

    monkeypatch.delenv(screening_cohen.ADAPTED_ENV, raising=False)
    assert screening_cohen.adapted_systems(None) == []
    with pytest.raises(ConfigError, match="is not a folder"):
        screening_cohen.adapted_systems(tmp_path / "missing")
    st = tmp_path / "encoder"
    st.mkdir()
    (st / "modules.json").write_text("[]")
    systems = screening_cohen.adapted_systems(st)
    assert [screening_cohen.shown_name(s) for s in systems] == ["minilm-logreg@adapted", "fused-mesh-wmean@adapted"]
    assert [screening_cohen.model_of(s) for s in systems] == ["minilm-logreg", "fused-mesh-wmean"]
    digest = systems[0].split(":", 1)[1]
    assert len(digest) == 12 and os.environ[screening_cohen.ADAPTED_ENV] == str(st.resolve())
    assert screening_cohen._ADAPTED["label"] == f"encoder ({digest})"
