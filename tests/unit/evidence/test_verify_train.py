"""The verifier's training recipe: claim negation, retrieval negatives, the label offsets, and the
decision rule tuned on held-out claims and kept beside the label model (models replaced by fixed
probabilities, so the rules themselves are tested)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from evidence_helpers import _Bundle
from evidence_helpers import fixed_verifier as _verifier

from serendip.errors import DataError
from serendip.evidence import scifact_data as sd
from serendip.evidence import verify_train as vt
from serendip.evidence.verify import Verifier


@pytest.mark.parametrize("claim, negated", [
    ("ALDH1 expression is associated with poor prognosis.", "ALDH1 expression is not associated with poor prognosis."),
    ("Aspirin does not inhibit platelets.", "Aspirin does inhibit platelets."),
    ("Vitamin D cannot reduce fractures.", "Vitamin D can reduce fractures."),
    ("Exercise increases insulin sensitivity.", "Exercise decreases insulin sensitivity."),
    ("Higher doses lower mortality.", "Lower doses lower mortality."),
    ("Obesity raises the risk of dementia.", None),
])
def test_negated_claim_rules(claim, negated):
    assert sd.negated_claim(claim) == negated


def test_negation_examples_flip_support_and_contradict_and_keep_nei():
    rows = [{"id": "1:d", "text": "X is linked to Y.", "text_pair": "e", "label": "SUPPORT"},
            {"id": "2:d", "text": "X does not cause Y.", "text_pair": "e", "label": "CONTRADICT"},
            {"id": "3:d:nei", "text": "X is Y.", "text_pair": "e", "label": "NEI"},
            {"id": "4:d", "text": "Obesity raises risk.", "text_pair": "e", "label": "SUPPORT"}]
    out = sd.negation_examples(rows)
    assert [(r["id"], r["text"], r["label"]) for r in out] == [
        ("1:d:neg", "X is not linked to Y.", "CONTRADICT"), ("2:d:neg", "X does cause Y.", "SUPPORT"),
        ("3:d:nei:neg", "X is not Y.", "NEI")]


CORPUS = {"11": {"title": "Zinc", "sentences": ["z0", "z1"]}, "12": {"title": "Iron", "sentences": ["i0"]},
          "13": {"title": "Salt", "sentences": ["s0", "s1", "s2"]}}
CLAIM = {"id": 7, "claim": "Zinc shortens colds.", "cited_doc_ids": ["11"],
         "evidence": {"11": [{"sentences": [1], "label": "SUPPORT"}]}}


def test_rationale_rows_add_the_best_ranked_uncited_abstract_as_negatives():
    def retrieve(claims, k):
        return {c["id"]: ["11", "13", "12"][:k] for c in claims}
    rows = vt.rationale_rows([CLAIM], CORPUS, retrieve, k=3)
    assert [(r["text_pair"], r["label"]) for r in rows] == [
        ("z0", "other"), ("z1", "rationale"), ("s0", "other"), ("s1", "other"), ("s2", "other")]
    assert len(vt.rationale_rows([CLAIM], CORPUS)) == 2  # without a retriever: the cited abstracts only


def test_label_bias_moves_the_decision_but_not_the_reported_probability():
    v = _verifier({"a0": 0.9}, [[0.5, 0.1, 0.4], [0.5, 0.1, 0.4]])  # classes CONTRADICT, NEI, SUPPORT
    assert v.verify("c", [("1", ["a0"])])[0].label == "CONTRADICT"
    v.label_bias = {"CONTRADICT": -1.0}
    out = v.verify("c", [("1", ["a0"])])[0]
    assert (out.label, out.probability) == ("SUPPORT", pytest.approx(0.4))


def test_tune_decision_picks_the_threshold_that_finds_the_rationale_and_restores_the_models():
    v = _verifier({"z0": 0.05, "z1": 0.2, "i0": 0.01, "s0": 0.02, "s1": 0.03, "s2": 0.01}, [])
    v._probs = _cycling(v)
    raw = v._probs
    threshold, bias, score = vt.tune_decision(v, [CLAIM], CORPUS, {7: ["11", "13"]})
    assert 0.05 < threshold <= 0.2 and score == pytest.approx(1.0)
    assert (v.threshold, v.label_bias) == (threshold, bias)
    assert v._probs is raw


def _cycling(v):
    """The fixed verifier's models, the label model always SUPPORT (so only the threshold matters)."""
    p_rat = {"z0": 0.05, "z1": 0.2, "i0": 0.01, "s0": 0.02, "s1": 0.03, "s2": 0.01}

    def probs(bundle, pairs):
        if bundle is v.selector:
            return np.array([[1 - p_rat[s], p_rat[s]] for _, s in pairs])
        return np.array([[0.1, 0.1, 0.8] for _ in pairs])
    return probs


def test_decision_settings_round_trip_and_are_what_the_verifier_uses(tmp_path, monkeypatch):
    label_run, rationale_run = tmp_path / "label", tmp_path / "rationale"
    label_run.mkdir()
    vt.write_decision(label_run, threshold=0.15, label_bias={"CONTRADICT": -1.0, "NEI": 0.0}, score=0.37,
                      tuned_on="81 held-out claims")
    assert vt.read_decision(label_run) == {"threshold": 0.15, "label_bias": {"CONTRADICT": -1.0, "NEI": 0.0}}
    assert vt.read_decision(rationale_run) is None
    bundles = {str(rationale_run): _Bundle(["other", "rationale"]), str(label_run): _Bundle(["CONTRADICT", "NEI", "SUPPORT"])}
    monkeypatch.setattr("serendip.models.predict.load_run_model", lambda run, **kw: bundles[str(run)])
    v = Verifier(rationale_run, label_run)
    assert (v.threshold, v.label_bias) == (0.15, {"CONTRADICT": -1.0, "NEI": 0.0})
    assert Verifier(rationale_run, label_run, threshold=0.7, label_bias={}).threshold == 0.7


@pytest.mark.parametrize("text, match", [("{", "not a verifier settings file"),
                                         (json.dumps({"label_bias": {}}), "not a verifier settings file"),
                                         (json.dumps({"threshold": 1.5}), "outside")])
def test_a_damaged_settings_file_is_named(tmp_path, text, match):
    (tmp_path / vt.DECISION_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=match) as err:
        vt.read_decision(tmp_path)
    assert str(tmp_path / vt.DECISION_FILE) in str(err.value)


def test_train_verifier_wires_the_recipe_and_saves_the_decision(tmp_path, monkeypatch):
    """``serendip verify --train``'s recipe with the engine replaced: what each model is trained on and
    with which settings, and the tuned decision written beside the label model."""
    from types import SimpleNamespace

    from serendip.evidence import api

    data = tmp_path / "claims"
    data.mkdir()
    corpus = [{"doc_id": 11, "title": "Zinc and colds", "abstract": ["Zinc was given.", "Zinc shortened colds."]},
              {"doc_id": 13, "title": "Zinc in soil", "abstract": ["Soil zinc varies.", "Colds were not studied."]},
              {"doc_id": 12, "title": "Iron", "abstract": ["Iron is a metal."]}]
    claims = [{"id": i, "claim": f"Zinc is effective against colds in group {i}.", "cited_doc_ids": [11],
               "evidence": {"11": [{"sentences": [1], "label": "SUPPORT"}]}} for i in range(10)]
    import gzip
    with gzip.open(data / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(d) + "\n" for d in corpus)
    (data / "claims_train.jsonl").write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
    monkeypatch.setattr("serendip.datasets.store.resolve", lambda name: {
        "scifact/claims/corpus.jsonl.gz": data / "corpus.jsonl.gz",
        "scifact/claims/claims_train.jsonl": data / "claims_train.jsonl"})
    seen = []

    def finetune(cfg, workspace=None, progress=None):
        run = tmp_path / cfg.output.name
        run.mkdir()
        rows = [json.loads(line) for line in open(cfg.data.train, encoding="utf-8")]
        seen.append((cfg, rows))
        return SimpleNamespace(run_dir=run, run_id=cfg.output.name)
    monkeypatch.setattr("serendip.models.train.finetune", finetune)
    classes = {api.RATIONALE_RUN: ["other", "rationale"], api.LABEL_RUN: ["CONTRADICT", "NEI", "SUPPORT"]}
    monkeypatch.setattr("serendip.models.predict.load_run_model",
                        lambda run, **kw: _Bundle(classes[Path(run).name]))
    monkeypatch.setattr(Verifier, "_probs", lambda self, bundle, pairs: np.array(
        [[0.2, 0.8] if "shortened" in p else [0.9, 0.1] for _, p in pairs] if bundle is self.selector
        else [[0.1, 0.1, 0.8] for _ in pairs]))
    assert api.train_verifier(None, epochs_rationale=2, epochs_label=3) == (api.RATIONALE_RUN, api.LABEL_RUN)
    (rat_cfg, rat_rows), (lab_cfg, lab_rows) = seen
    assert (rat_cfg.training.epochs, rat_cfg.training.lr, rat_cfg.data.split.test) == (2, 5e-5, 0.0)
    assert (lab_cfg.training.epochs, lab_cfg.training.lr, lab_cfg.training.max_length) == (3, 2e-5, 256)
    assert any(r["id"].endswith(":bm25") for r in rat_rows)  # the uncited BM25 abstract's sentences
    assert any(r["id"].endswith(":neg") and r["label"] == "CONTRADICT" for r in lab_rows)
    decision = vt.read_decision(tmp_path / api.LABEL_RUN)
    assert decision is not None and 0.1 < decision["threshold"] <= 0.8
