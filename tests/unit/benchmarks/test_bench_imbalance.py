"""benchmarks/imbalance_dna.py: each arm is compared with plain cross-entropy seed by seed."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
pytest.importorskip("torch")
import imbalance_dna  # noqa: E402


def test_paired_differences_are_taken_seed_by_seed():
    per_arm = {("cnn", "ce"): [{"recall_pos": 0.2, "pr_auc": 0.36}, {"recall_pos": 0.1, "pr_auc": 0.30}],
               ("cnn", "class_weight"): [{"recall_pos": 0.5, "pr_auc": 0.37},
                                         {"recall_pos": 0.4, "pr_auc": 0.29}]}
    runs = [("cnn", "ce"), ("cnn", "class_weight")]
    out = imbalance_dna.paired_vs_ce(per_arm, runs, [0, 1])
    assert list(out) == [("cnn", "class_weight")]
    st = out["cnn", "class_weight"]
    assert st["recall_pos_minus_ce"] == pytest.approx(0.3)
    assert st["recall_pos_minus_ce_sd"] == pytest.approx(0.0, abs=1e-12)
    assert st["recall_pos_seeds_higher"] == 2
    # +0.01 and -0.01: mean 0, one seed higher, sd of the differences (not of the arms)
    assert st["pr_auc_minus_ce"] == pytest.approx(0.0, abs=1e-12)
    assert st["pr_auc_minus_ce_sd"] == pytest.approx(math.sqrt(2) * 0.01)
    assert st["pr_auc_seeds_higher"] == 1
    # no ce arm: nothing to pair with
    assert imbalance_dna.paired_vs_ce({("cnn", "focal"): [{"recall_pos": 1, "pr_auc": 1}]},
                                      [("cnn", "focal")], [0]) == {}


def test_backbone_must_be_a_model_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["imbalance_dna.py", "--backbone", str(tmp_path), "--no-write"])
    with pytest.raises(imbalance_dna._rows.UsageError, match="not a model folder"):
        imbalance_dna.main()


def test_backbone_must_have_the_kmer_tokenizer(tmp_path):
    import json

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(imbalance_dna._rows.UsageError, match="not a 6-mer DNA model"):
        imbalance_dna.check_backbone(tmp_path, 6)  # no tokenizer_config.json
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))
    with pytest.raises(imbalance_dna._rows.UsageError, match="'BertTokenizer', k None"):
        imbalance_dna.check_backbone(tmp_path, 6)  # a text model
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "KmerTokenizer", "k": 3}))
    with pytest.raises(imbalance_dna._rows.UsageError, match="k 3"):
        imbalance_dna.check_backbone(tmp_path, 6)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "KmerTokenizer", "k": 6}))
    imbalance_dna.check_backbone(tmp_path, 6)


def test_an_arm_given_twice_is_refused():
    with pytest.raises(imbalance_dna._rows.UsageError, match="'ce' is given twice"):
        imbalance_dna._names("ce,class_weight,ce", imbalance_dna.ARMS, "--arms")


def test_pooling_stored_per_seed_rows_matches_a_run_over_all_seeds():
    labels = imbalance_dna.arm_labels(["ce", "class_weight"], 3, 30, None, None)
    runs = [("cnn", "ce"), ("cnn", "class_weight")]
    assert labels["cnn", "ce"] == "cnn-3conv ce (select dev PR-AUC)"
    values = {("ce", 0): 0.30, ("ce", 1): 0.40, ("class_weight", 0): 0.35, ("class_weight", 1): 0.38}
    stored = [imbalance_dna._rows.row(imbalance_dna.BENCH, imbalance_dna.DATASET, "test", 3107,
                                      f"{labels['cnn', arm]} [seed {seed}]", m, v, seed=seed)
              for (arm, seed), v in values.items() for m in imbalance_dna.METRICS]
    per_arm, n_test = imbalance_dna.stored_per_seed(stored, labels, runs, [0, 1])
    assert n_test == 3107 and [r["pr_auc"] for r in per_arm["cnn", "class_weight"]] == [0.35, 0.38]
    rows, _ = imbalance_dna.summary_rows(labels, runs, [0, 1], per_arm, n_test)
    got = {(r["method"], r["metric"]): r["value"] for r in rows}
    paired = "cnn-3conv class_weight (select dev PR-AUC) [minus ce, paired over seeds 0,1]"
    assert got[paired, "pr_auc_minus_ce"] == pytest.approx((0.05 - 0.02) / 2)
    assert got[paired, "pr_auc_seeds_higher"] == 1
    assert got["cnn-3conv ce (select dev PR-AUC) [mean of seeds 0,1]", "pr_auc"] == pytest.approx(0.35)
    with pytest.raises(imbalance_dna._rows.UsageError, match=r"\[seed 2\]"):
        imbalance_dna.stored_per_seed(stored, labels, runs, [0, 2])


def test_pool_seeds_refuses_one_seed_and_a_damaged_results_file(tmp_path, monkeypatch):
    monkeypatch.setattr(imbalance_dna._rows, "HERE", tmp_path)
    (tmp_path / "results").mkdir()
    argv = ["imbalance_dna.py", "--models", "cnn", "--arms", "ce,class_weight", "--no-write", "--pool-seeds"]
    monkeypatch.setattr(sys, "argv", [*argv, "0"])
    with pytest.raises(imbalance_dna._rows.UsageError, match="at least two seeds"):
        imbalance_dna.main()
    monkeypatch.setattr(sys, "argv", [*argv, "0,1"])
    for bad, match in (("{broken", "not valid JSON"), ("null", "JSON list"),
                       ('[{"dataset": "d", "split": "test", "method": "m", "metric": "x", "value": "0.3"}]',
                        "not a finite number")):
        (tmp_path / "results" / "imbalance_dna.json").write_text(bad)
        with pytest.raises(imbalance_dna._rows.UsageError, match=match):
            imbalance_dna.main()


def test_a_non_default_split_seed_is_in_the_names():
    assert imbalance_dna.arm_labels(["ce"], 3, 30, 2500, None, 7)["cnn", "ce"] == \
        "cnn-3conv ce (select dev PR-AUC, split seed 7, subset 2500)"
    assert imbalance_dna.arm_labels(["ce"], 3, 30, None, None)["cnn", "ce"] == "cnn-3conv ce (select dev PR-AUC)"
