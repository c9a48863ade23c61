"""benchmarks/results_page.py: RESULTS.md is generated from results/*.json (grouping, newest first,
mean ± sd over seeds, anchors as footnotes, one line per entry), never drifts from the committed rows,
and the committed results stay small; benchmarks/_row_fields.py: labels become row fields."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[3] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))
import _row_fields
import _rows
import results_page

ANCHOR = ("paper-model", 0.7, "Someone et al. 2024, Table 2")


def _row(method, metric, value, *, date="2026-11-01", split="test", settings=None, **kw):
    r = _rows.row("toy", "d", split, 100, method, metric, value, settings=settings or {}, **kw)
    r.update(date=date, commit="abc1234")
    return r


def _fixture() -> list[dict]:
    return [
        _row("old", "mcc", 0.2, date="2026-10-01", seed=0),
        # three one-seed rows of one configuration: shown as their mean ± sd
        *[_row("m", "mcc", v, settings={"lr": 0.1}, seed=s, anchor=ANCHOR, baseline=("base", 0.5))
          for s, v in ((0, 0.6), (1, 0.7), (2, 0.8))],
        # the same method with other settings: a line of its own
        _row("m", "mcc", 0.9, settings={"lr": 0.2}, seed=0, anchor=ANCHOR),
        # pooled rows: the set with most seeds is shown, with its sd
        _row("p", "mcc", 0.41, seeds=[0, 1], sd=0.02, date="2026-11-02"),
        _row("p", "mcc", 0.45, seeds=[0, 1, 2, 3], sd=0.03, date="2026-11-02"),
        # a rerun of the same seed replaces the older value
        _row("r", "mcc", 0.1, seed=0, date="2026-11-03"),
        _row("r", "mcc", 0.3, seed=0, date="2026-11-04"),
        # not a headline metric / split of the default rule: an sd metric
        _row("r", "mcc_sd", 0.01, seed=0, date="2026-11-04"),
    ]


def test_entries_are_grouped_newest_first_with_mean_and_sd_over_seeds():
    entries = results_page.headline_lines("toy", _fixture())
    got = [(e["row"]["method"], e["row"]["settings"], e["value"], e["sd"], e["seeds"]) for e in entries]
    assert got == [
        ("r", {}, 0.3, None, [0]),
        ("p", {}, 0.45, 0.03, [0, 1, 2, 3]),
        ("m", {"lr": 0.2}, 0.9, None, [0]),
        ("m", {"lr": 0.1}, 0.7, 0.1, [0, 1, 2]),
        ("old", {}, 0.2, None, [0]),
    ]


def test_a_headline_entry_may_name_the_methods_shown(monkeypatch):
    monkeypatch.setitem(results_page.HEADLINE, "toy", (("test",), ("mcc",), ("m", "p")))
    entries = results_page.headline_lines("toy", _fixture())
    assert sorted({e["row"]["method"] for e in entries}) == ["m", "p"]


def test_a_mean_over_seeds_shows_the_mean_of_differing_baselines():
    rows = [_row("m", "mcc", 0.6, seed=0, baseline=("base", 0.5)),
            _row("m", "mcc", 0.8, seed=1, baseline=("base", 0.7))]
    (entry,) = results_page.headline_lines("toy", rows)
    assert entry["baseline"] == {"method": "base", "settings": None, "value": 0.6, "seeds": [0, 1]}


def test_page_has_one_line_per_entry_and_each_anchor_once_as_a_footnote(tmp_path):
    (tmp_path / "toy.json").write_text(_rows.dump_rows(_fixture()), encoding="utf-8")
    (tmp_path / "zeta.json").write_text(_rows.dump_rows([_row("z", "mcc", 0.5, anchor=ANCHOR)]), encoding="utf-8")
    page = results_page.render_page(tmp_path)
    assert page.startswith(results_page.HEADER)
    sections = page.split("\n## ")[1:]
    assert [s.splitlines()[0] for s in sections] == ["toy", "zeta"]
    table = [line for line in sections[0].splitlines() if line.startswith("| 20")]
    assert len(table) == 5
    assert table[3].split(" | ")[3:9] == ["m", "lr=0.1", "mcc", "0.7 ± 0.1", "3", "0-2"]
    assert "base: 0.5 |" in table[3] and "0.7 [^1]" in table[3]
    # the anchor's text is written once for the page, its number reused in the other section
    assert page.count(ANCHOR[2]) == 1 and "[^1]: paper-model: 0.7 (Someone et al. 2024, Table 2)" in page
    assert "0.7 [^1]" in sections[1]
    assert results_page.render_page(tmp_path) == page  # the same rows give the same page


def test_a_pipe_in_a_field_does_not_break_the_table(tmp_path):
    (tmp_path / "toy.json").write_text(_rows.dump_rows([_row("a|b", "mcc", 0.5)]), encoding="utf-8")
    line = next(x for x in results_page.render_page(tmp_path).splitlines() if x.startswith("| 20"))
    assert "a\\|b" in line and line.count(" | ") == len(results_page.COLUMNS) - 1


def test_committed_page_is_generated_from_the_committed_rows():
    committed = (BENCH_DIR / "RESULTS.md").read_text(encoding="utf-8")
    assert results_page.render_page(BENCH_DIR / "results") == committed, (
        "benchmarks/RESULTS.md differs from results/*.json: run python benchmarks/results_page.py")
    assert results_page.main(["--check"]) == 0


def test_committed_results_stay_small_and_hold_configuration_in_fields():
    assert (BENCH_DIR / "RESULTS.md").stat().st_size < 60_000
    for path in sorted((BENCH_DIR / "results").glob("*.json")):
        assert path.stat().st_size < 200_000, path
        for r in _rows.read_rows(path):
            assert isinstance(r["settings"], dict), (path, r["method"])
            fields = _row_fields.split_label(r["method"])
            assert fields == {"method": r["method"], "settings": {}}, (path, r["method"])
    for path in sorted((BENCH_DIR / "results" / "archive").iterdir()):
        assert path.stat().st_size < 1_000_000, path


@pytest.mark.parametrize("label, fields", [
    ("transformer-pretrain-task (tiny, pt 4000 steps, ft 3 epochs) [mean of seeds 0,1,2]",
     {"method": "transformer-pretrain-task", "settings": {"model_size": "tiny", "pretrain_steps": 4000,
                                                          "finetune_epochs": 3}, "seeds": [0, 1, 2]}),
    ("cnn-3conv (max 5 ep, subset 200)", {"method": "cnn-3conv", "settings": {"cnn_epochs": 5, "subset": 200}}),
    ("tiny-bert-pretrained[pt-tiny] focal-cw (3 ep, select dev PR-AUC) [minus ce, paired over seeds 0,1]",
     {"method": "tiny-bert-pretrained focal-cw", "seeds": [0, 1],
      "settings": {"backbone": "pt-tiny", "epochs": 3, "select": "dev PR-AUC", "paired_vs": "ce"}}),
    ("minilm-l6 lora r8 all-linear (lr 0.0005, 4 ep) (seed 2)",
     {"method": "minilm-l6 lora", "seed": 2,
      "settings": {"lora_r": 8, "lora_targets": "all-linear", "lr": 0.0005, "epochs": 4}}),
    ('kmer6-tfidf-logreg class_weight="balanced" (subset 2500)',
     {"method": "kmer6-tfidf-logreg", "settings": {"class_weight": "balanced", "subset": 2500}}),
    ("hybrid-convex (default, alpha=0.45, N=1000)",
     {"method": "hybrid-convex", "settings": {"default": True, "alpha": 0.45, "candidates": 1000}}),
    ("Workspace.search(mode=bm25)", {"method": "Workspace.search", "settings": {"mode": "bm25"}}),
    # an unknown item keeps the label whole: nothing is guessed or dropped
    ("peak RSS at 9,664 records (MB)", {"method": "peak RSS at 9,664 records (MB)", "settings": {}}),
])
def test_labels_split_into_fields(label, fields):
    assert _row_fields.split_label(label) == fields


def test_normalise_keeps_rows_with_settings_and_moves_pooled_seed():
    legacy = {"benchmark": "b", "dataset": "d", "split": "test", "n": 3, "method": "m (subset 5) (mean of seeds 0,1)",
              "metric": "mcc", "value": 0.5, "seed": 0, "baseline": {"method": "m (subset 5)", "value": 0.1},
              "anchor": None, "date": "2026-11-29"}
    r = _row_fields.normalise(legacy)
    assert (r["method"], r["settings"], r["seed"], r["seeds"], r["sd"]) == ("m", {"subset": 5}, None, [0, 1], None)
    assert r["baseline"] == {"method": "m", "value": 0.1, "settings": {"subset": 5}}
    assert list(r)[:5] == ["benchmark", "dataset", "split", "n", "method"] and r["date"] == "2026-11-29"
    assert _row_fields.normalise(r) is r
    assert json.loads(json.dumps(r)) == r


def test_settings_every_row_shares_are_printed_once_above_the_table(tmp_path):
    rows = [_row("m", "mcc", 0.6, settings={"model": "x", "lr": 0.1, "k": 5}, seed=0),
            _row("n", "mcc", 0.7, settings={"model": "x", "lr": 0.2, "k": 5}, seed=0),
            _row("o", "mcc", 0.8, settings={"k": 5, "model": "x"}, seed=0)]
    entries = results_page.headline_lines("toy", rows)
    assert results_page.shared_settings(entries) == {"model": "x", "k": 5}
    assert results_page.shared_settings(entries[:1]) == {}  # one row: nothing to factor out
    (tmp_path / "toy.json").write_text(_rows.dump_rows(rows), encoding="utf-8")
    page = results_page.render_page(tmp_path)
    assert "3 headline rows of 3 stored. Settings of every row: k=5, model=x." in page
    cells = {line.split(" | ")[3]: line.split(" | ")[4] for line in page.splitlines() if line.startswith("| 20")}
    assert cells == {"m": "lr=0.1", "n": "lr=0.2", "o": "-"}


def test_settings_one_method_shares_are_printed_once_and_run_folders_stay_in_the_json(tmp_path):
    rows = [_row("m", "mcc", 0.6, settings={"model": "x", "k": 1, "reused_run": "/tmp/a"}, seed=0),
            _row("m", "mcc", 0.7, settings={"model": "x", "k": 2, "reused_run": "/tmp/a"}, seed=1, split="dev"),
            _row("base", "mcc", 0.5, settings={"alpha": 0.4}, seed=0)]
    (tmp_path / "toy.json").write_text(_rows.dump_rows(rows), encoding="utf-8")
    page = results_page.render_page(tmp_path)
    assert "Settings of every row" not in page                    # nothing all three rows share
    assert "- every m row: model=x\n" in page                      # a method's shared settings, once
    assert "every base row" not in page                            # a single row keeps its own
    cells = sorted(line.split(" | ")[4] for line in page.splitlines() if line.startswith("| 20"))
    assert cells == ["alpha=0.4", "k=1", "k=2"] and "/tmp/a" not in page
