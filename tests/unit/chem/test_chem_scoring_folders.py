"""Undefined figures are named, never numbers; a model folder is written whole and never over another by
accident (chem tester findings: r2 on constant targets, ROC-AUC without positives, --out overwritten)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from serendip.chem.folders import check_out_folder, write_folder
from serendip.chem.scoring import score_predictions
from serendip.errors import DataError


def test_r2_on_constant_targets_is_undefined_with_its_reason() -> None:
    figures, undefined = score_predictions("regression", np.full(6, 2.5), np.array([2.0, 2.5, 3.0, 2.5, 2.4, 2.6]))
    assert figures["r2"] is None and undefined == {"r2": "all 6 targets equal 2.5 (zero variance)"}
    assert figures["rmse"] == pytest.approx(np.sqrt(np.mean([0.25, 0, 0.25, 0, 0.01, 0.01])))
    figures, undefined = score_predictions("regression", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert figures["r2"] == pytest.approx(1 - 1 / 2) and undefined == {}


@pytest.mark.parametrize("label, reason", [(0.0, "no positives (all 5 labels are 0)"),
                                           (1.0, "no negatives (all 5 labels are 1)")])
def test_ranking_figures_need_both_classes(label: float, reason: str) -> None:
    figures, undefined = score_predictions("classification", np.full(5, label), np.linspace(0.1, 0.9, 5))
    assert figures["roc_auc"] is None and figures["pr_auc"] is None
    assert undefined == {"roc_auc": reason, "pr_auc": reason}
    assert figures["accuracy"] == pytest.approx(0.4 if label == 0 else 0.6)   # defined: 0.5 threshold
    figures, undefined = score_predictions("classification", np.array([0.0, 1, 0, 1]), np.array([0.1, 0.8, 0.3, 0.6]))
    assert (figures["roc_auc"], figures["pr_auc"], undefined) == (1.0, 1.0, {})


def test_out_folder_refused_unless_new_empty_or_forced_model(tmp_path: Path) -> None:
    assert check_out_folder(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    check_out_folder(tmp_path / "empty")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text("{}")
    with pytest.raises(DataError, match=f"{model} already holds a model; .*--force"):
        check_out_folder(model)
    check_out_folder(model, force=True)
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("x")
    with pytest.raises(DataError, match="is not a model folder"):
        check_out_folder(tmp_path / "thesis", force=True)
    with pytest.raises(DataError, match="does not exist"):
        check_out_folder(tmp_path / "no" / "where")


def test_write_folder_replaces_whole_or_leaves_the_old_one(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.json").write_text("old")

    def half_then_fail(tmp: Path) -> None:
        (tmp / "model.json").write_text("new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_folder(folder, half_then_fail)
    assert (folder / "model.json").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    write_folder(folder, lambda tmp: (tmp / "model.json").write_text("new"))
    assert (folder / "model.json").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["model"]
