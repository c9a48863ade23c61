"""Metric bundles of the engine, checked against hand-computed values and scikit-learn."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from serendip.errors import DataError
from serendip.models.metrics import (
    classification_metrics,
    flatten_metrics,
    json_safe,
    multilabel_metrics,
    regression_metrics,
    token_metrics,
)
from serendip.models.registries import METRICS


def _plain(value):
    """True when a metrics dict holds only JSON types (dict, list, str, int, float, bool, None)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_bundles_registered():
    assert {"classification", "multilabel", "regression", "token"} <= set(METRICS.keys())


def test_binary_confusion_matrix_by_hand():
    # tp=5, fn=1, fp=2, tn=4 (positive class "pos")
    y_true = ["pos"] * 6 + ["neg"] * 6
    y_pred = ["pos"] * 5 + ["neg"] + ["pos"] * 2 + ["neg"] * 4
    m = classification_metrics(y_true, y_pred, labels=["neg", "pos"])
    mcc = (5 * 4 - 2 * 1) / math.sqrt((5 + 2) * (5 + 1) * (4 + 2) * (4 + 1))  # Matthews 1975
    assert m["mcc"] == pytest.approx(mcc)  # 0.50709...
    assert m["accuracy"] == pytest.approx(9 / 12)
    assert m["per_class"]["pos"]["precision"] == pytest.approx(5 / 7)
    assert m["per_class"]["pos"]["recall"] == pytest.approx(5 / 6)
    assert m["per_class"]["pos"]["f1"] == pytest.approx(10 / 13)
    assert m["per_class"]["neg"]["f1"] == pytest.approx(8 / 11)
    assert m["f1_macro"] == pytest.approx((10 / 13 + 8 / 11) / 2)
    assert m["confusion_matrix"] == [[4, 2], [1, 5]]
    assert "roc_auc" not in m  # no scores given
    assert _plain(m)


def test_binary_auc_by_hand():
    y_true = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]
    m = classification_metrics(y_true, [0, 1, 0, 1], scores, labels=[0, 1])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)  # average precision
    # (n, 2) probabilities give the same
    two = np.stack([1 - np.array(scores), scores], axis=1)
    assert classification_metrics(y_true, [0, 1, 0, 1], two, labels=[0, 1])["roc_auc"] == \
        pytest.approx(0.75)


def test_multiclass_matches_sklearn():
    from sklearn.metrics import f1_score, matthews_corrcoef, roc_auc_score

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 60)
    probs = rng.dirichlet([1, 1, 1], 60)
    y_pred = probs.argmax(1)
    labels = [0, 1, 2]
    m = classification_metrics(list(y_true), list(y_pred), probs, labels)
    assert m["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y_true, y_pred))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y_true, probs, multi_class="ovr",
                                                      average="macro"))
    assert set(m["per_class"]) == {"0", "1", "2"}


def test_class_absent_from_y_true_is_nan_with_note():
    from sklearn.metrics import f1_score

    y_true = ["a", "a", "b", "b", "a"]
    y_pred = ["a", "c", "b", "a", "a"]
    scores = np.array([[.8, .1, .1], [.3, .2, .5], [.1, .8, .1], [.6, .3, .1], [.7, .2, .1]])
    m = classification_metrics(y_true, y_pred, scores, ["a", "b", "c"])
    c = m["per_class"]["c"]
    assert math.isnan(c["recall"]) and math.isnan(c["f1"]) and math.isnan(c["roc_auc"])
    assert c["precision"] == 0.0 and c["support"] == 0
    assert any("'c' is absent from y_true" in n for n in m["notes"])
    assert m["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, labels=["a", "b"], average="macro"))
    assert not math.isnan(m["roc_auc"])


def test_one_class_only_gives_nan_auc_and_zero_mcc():
    m = classification_metrics([1, 1, 1], [1, 0, 1], [0.9, 0.2, 0.8], labels=[0, 1])
    assert math.isnan(m["roc_auc"])
    assert m["mcc"] == 0.0
    assert any("ROC-AUC is undefined" in n for n in m["notes"])
    assert any("MCC" in n for n in m["notes"])
    strict = json.dumps(json_safe(m), allow_nan=False)
    assert '"roc_auc": null' in strict


def test_classification_bad_input():
    with pytest.raises(DataError, match="length"):
        classification_metrics([0, 1], [0])
    with pytest.raises(DataError, match="'x' is not one of the labels"):
        classification_metrics(["a", "x"], ["a", "a"], labels=["a", "b"])
    with pytest.raises(DataError, match="shape"):
        classification_metrics([0, 1, 2], [0, 1, 2], np.ones((3, 2)), labels=[0, 1, 2])


def test_regression_by_hand():
    y = [1.0, 2.0, 3.0, 4.0]
    p = [1.5, 2.0, 2.5, 5.0]
    m = regression_metrics(y, p)
    err = np.array(p) - np.array(y)
    assert m["rmse"] == pytest.approx(math.sqrt(np.mean(err ** 2)))
    assert m["mae"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - np.sum(err ** 2) / 5.0)
    assert m["pearson"] == pytest.approx(np.corrcoef(y, p)[0, 1])
    assert m["spearman"] == pytest.approx(1.0)  # monotonic
    assert _plain(m)


def test_regression_constant_prediction_and_nan():
    m = regression_metrics([1, 2, 3], [2, 2, 2])
    assert math.isnan(m["pearson"]) and math.isnan(m["spearman"])
    assert m["notes"]
    with pytest.raises(DataError, match="non-finite"):
        regression_metrics([1, float("nan")], [1, 2])


def test_multilabel_by_hand():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    p = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1]])
    m = multilabel_metrics(y, p, labels=["x", "y", "z"])
    tp, fp, fn = 3, 1, 2
    assert m["f1_micro"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["subset_accuracy"] == pytest.approx(1 / 3)
    assert m["hamming_loss"] == pytest.approx(3 / 9)
    assert m["per_class"]["x"]["f1"] == pytest.approx(1.0)
    assert m["per_class"]["z"]["f1"] == 0.0
    with pytest.raises(DataError, match="0 and 1"):
        multilabel_metrics(y, p * 2)


def test_token_strict_entity_f1():
    y_true = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-LOC"]]
    y_pred = [["B-PER", "I-PER", "O", "O"], ["O", "B-LOC"]]
    m = token_metrics(y_true, y_pred)
    assert m["precision"] == pytest.approx(1.0)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(0.8)
    assert m["token_accuracy"] == pytest.approx(5 / 6)
    assert m["per_type"]["LOC"]["support"] == 2


def test_token_strict_mode_rejects_entity_without_b():
    # Strict IOB2: "I-PER I-PER" starts no entity, so the prediction finds nothing.
    m = token_metrics([["B-PER", "I-PER"]], [["I-PER", "I-PER"]])
    assert m["f1"] == 0.0
    assert m["token_accuracy"] == pytest.approx(0.5)


def test_token_errors_name_sequence():
    with pytest.raises(DataError, match="sequence 1: 2 true tags but 1"):
        token_metrics([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(DataError, match="y_pred sequence 0, token 1: tag 'PER'"):
        token_metrics([["O", "B-PER"]], [["O", "PER"]])
    assert "f1" not in token_metrics([["NN", "VB"]], [["NN", "NN"]], scheme=None)


def test_flatten_and_json_safe():
    m = classification_metrics(["a", "b"], ["a", "a"], [[.9, .1], [.6, .4]], ["a", "b"])
    flat = flatten_metrics(m)
    assert flat["per_class/a/recall"] == 1.0
    assert "confusion_matrix" not in flat
    json.dumps(json_safe(m), allow_nan=False)
