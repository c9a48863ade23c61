"""Training plots are written as PNG files."""
from __future__ import annotations

import numpy as np
import pytest

from serendip.errors import DataError
from serendip.models.plots import plot_confusion_matrix, plot_history, plot_pr, plot_roc

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    return path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 1000


def test_history_curves(tmp_path):
    history = [{"epoch": 1, "train_loss": 0.9, "eval_loss": 0.8, "eval_mcc": 0.2},
               {"epoch": 2, "train_loss": 0.6, "eval_loss": 0.7, "eval_mcc": float("nan")},
               {"epoch": 3, "train_loss": 0.4, "eval_mcc": 0.5}]
    path = plot_history(history, tmp_path / "plots")
    assert path == tmp_path / "plots" / "curves.png" and is_png(path)
    with pytest.raises(DataError, match="no training history"):
        plot_history([], tmp_path)


def test_confusion_matrix(tmp_path):
    path = plot_confusion_matrix(["a", "b", "b", "c"], ["a", "b", "c", "c"], ["a", "b", "c"],
                                 tmp_path, normalize=True)
    assert is_png(path) and path.name == "confusion_matrix.png"
    with pytest.raises(DataError, match="'z' is not one of"):
        plot_confusion_matrix(["a"], ["z"], ["a", "b"], tmp_path)


def test_roc_and_pr_binary_and_multiclass(tmp_path):
    y = ["neg", "pos", "pos", "neg", "pos"]
    s = np.array([0.2, 0.7, 0.9, 0.4, 0.3])
    assert is_png(plot_roc(y, s, ["neg", "pos"], tmp_path))
    assert is_png(plot_pr(y, s, ["neg", "pos"], tmp_path))
    rng = np.random.default_rng(0)
    y3 = list(rng.choice(["a", "b"], 20))  # class "c" absent: no curve for it, no crash
    p3 = rng.dirichlet([1, 1, 1], 20)
    assert is_png(plot_roc(y3, p3, ["a", "b", "c"], tmp_path, filename="roc3.png"))
    assert is_png(plot_pr(y3, p3, ["a", "b", "c"], tmp_path, filename="pr3.png"))
    with pytest.raises(DataError, match="shape"):
        plot_roc(y3, p3[:, :2], ["a", "b", "c"], tmp_path)
