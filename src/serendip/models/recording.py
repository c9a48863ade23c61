"""What a fine-tuning run writes into its folder (see :mod:`serendip.models.runs` for the layout).

* before training: ``config.resolved.json``, ``data_files.json``, ``versions.json``,
  ``label_space.json``, ``split_report.json``, ``augment_report.json`` (:func:`write_inputs`);
* after training: the exported model - PEFT weights merged unless asked not to, with a check that
  the merged model gives the same outputs (:func:`merged_model`) - its tokenizer and adapter
  (:func:`save_model`),
  ``model.json``, the plots (:func:`draw_plots`), ``metrics.json`` and the run record
  (:func:`summarise`).
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serendip.errors import DataError
from serendip.models.example import Example
from serendip.models.inference import ModelBundle, model_outputs
from serendip.models.tasks import LabelSpace, Task

__all__ = ["base_dir", "draw_plots", "merged_model", "save_model", "summarise", "write_inputs"]


def base_dir(cfg: Any, workspace: Any) -> Path:
    """Where runs go: ``<workspace>/runs`` with a workspace, else ``cfg.output.run_dir``."""
    if workspace is not None:
        return Path(workspace.path) / "runs"
    return Path(cfg.output.run_dir)


def write_inputs(run: Any, cfg: Any, splits: Any, space: LabelSpace | None, scaling: Any,
                 augment_report: Any, resample_report: Any) -> None:
    """The run's inputs: resolved config, data file fingerprints, package versions, label space
    (with the target scaling, columns and reader options predictions need) and the split and
    augmentation reports."""
    from serendip.models.runs import data_fingerprints, package_versions

    run.write_json("config.resolved.json", cfg.to_dict())
    run.write_json("data_files.json", data_fingerprints(
        {"train": cfg.data.train, "dev": cfg.data.dev, "test": cfg.data.test}))
    run.write_json("versions.json", package_versions())
    run.write_json("label_space.json", {
        "task": {"name": cfg.task.name, "params": cfg.task.params},
        "classes": list(space.classes) if space is not None else None,
        "target_scaling": scaling, "max_length": cfg.training.max_length,
        "columns": cfg.data.columns.model_dump(), "format": cfg.data.format,
        "options": cfg.data.options})
    run.write_json("split_report.json", splits.report.to_dict())
    run.write_json("augment_report.json", {
        **augment_report.to_dict(),
        "resample": resample_report.to_dict() if resample_report is not None else None})


def _merge_check(bundle: ModelBundle, exported: Any, probe: Sequence[Example], feats: list,
                 batch_size: int) -> dict[str, Any] | None:
    """The largest absolute difference between the outputs of the trained and the merged model."""
    from serendip.models.heads import head_of

    if not feats:
        return None
    head = head_of(bundle.task)
    before = model_outputs(bundle, probe, batch_size=batch_size, _feats=feats)
    after = model_outputs(dataclasses.replace(bundle, model=exported), probe,
                          batch_size=batch_size, _feats=feats)
    a, b = head.flat(before), head.flat(after)
    finite = np.isfinite(a) & np.isfinite(b)
    return {"max_abs_diff": float(np.max(np.abs(a[finite] - b[finite]))) if finite.any() else 0.0,
            "n_examples": len(probe)}


def merged_model(cfg: Any, bundle: ModelBundle, probe: tuple[Sequence[Example], list],
                 merge: bool) -> tuple[Any, dict[str, Any] | None]:
    """``(exported model, merge check)``: PEFT weights merged into a copy when PEFT was used and
    ``merge``, checked on ``probe`` (examples and their features: dev, else test); else the trained
    model itself and no check."""
    from serendip.models.peft_methods import merge_peft, uses_adapter

    model = bundle.model
    exported = merge_peft(model) if (uses_adapter(cfg.peft) and merge) else model
    if exported is model:
        return model, None
    return exported, _merge_check(bundle, exported, probe[0], probe[1], cfg.training.batch_size)


def save_model(run: Any, cfg: Any, model: Any, exported: Any, tokenizer: Any,
               notes: list[str]) -> str | None:
    """Save what ``cfg.output.save_model`` asks; returns the format saved: ``"full"``, ``"merged"``
    (with the adapter alone in ``adapter/``), ``"adapter"``, or None (a note says why)."""
    from serendip.models.backbone import quiet_hf, save_pretrained
    from serendip.models.peft_methods import uses_adapter

    if not cfg.output.save_model:
        notes.append("output.save_model = false: no model saved (prediction needs one)")
        return None
    peft_used = uses_adapter(cfg.peft)
    if peft_used:
        adapter_dir = run.path / "adapter"
        with quiet_hf():
            # AdaLoRA can prune a matrix to rank 0; peft then warns about DeepSpeed/FSDP shards,
            # which do not exist here
            warnings.filterwarnings("ignore", message=".*LoRA tensor.*invalid shape.*")
            save_pretrained(model, adapter_dir)
            tokenizer.save_pretrained(str(adapter_dir))
    if exported is not model or not peft_used:
        with quiet_hf():
            save_pretrained(exported, run.path / "model")
            tokenizer.save_pretrained(str(run.path / "model"))
        return "merged" if peft_used else "full"
    return "adapter"


def draw_plots(run_dir: Path, history: list[dict[str, Any]], task: Task, space: LabelSpace | None,
               examples: Sequence[Example], outputs: Any, split: str) -> list[str]:
    """Draw the training curves and, for one-class-per-example tasks, the confusion matrix, ROC and
    PR curves of ``split``; returns notes for any that could not be drawn."""
    from serendip.models import plots

    notes: list[str] = []
    out = run_dir / "plots"
    try:
        keys = [k for k in dict.fromkeys(k for r in history for k in r) if k.startswith("eval_")
                and "loss" not in k]
        plots.plot_history(history, out, metrics=keys)
    except (DataError, ValueError) as exc:
        notes.append(f"plots: curves not drawn ({exc})")
    if task.label_kind != "class" or space is None or not len(examples):
        return notes
    try:
        preds = task.predict(outputs, space, examples)
        y_true = [ex.label for ex in examples]
        plots.plot_confusion_matrix(y_true, preds.labels, space.classes, out)
        plots.plot_roc(y_true, preds.scores, space.classes, out)
        plots.plot_pr(y_true, preds.scores, space.classes, out)
    except (DataError, ValueError) as exc:
        notes.append(f"plots: {split} confusion matrix / ROC / PR not drawn ({exc})")
    return notes


def summarise(loop: Any, test_metrics: dict[str, Any] | None, extra: dict[str, Any]
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metrics.json content, run record)`` from the loop's result, the test metrics and the
    run's other figures (``extra``: parameter counts, peft, loss, merge check, sizes, notes ...,
    in ``metrics.json`` order after ``test``)."""
    sel = loop.selection
    best = next((d for d in loop.dev_metrics if d["epoch"] == sel.best_epoch), None)
    summary = {
        "selection": {"metric": sel.metric, "mode": sel.mode, "best_epoch": sel.best_epoch,
                      "best_value": sel.best_value, "stopped_early": loop.stopped_early,
                      "epochs_run": len(loop.history)},
        "dev": loop.dev_metrics, "best": best, "test": test_metrics, **extra,
    }
    record = {"selection_metric": sel.metric, "best_epoch": sel.best_epoch,
              f"dev_{sel.metric}": sel.best_value,
              **({f"test_{k}": v for k, v in test_metrics.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)}
                 if test_metrics else {}),
              "trainable_params": extra["trainable_params"],
              "trainable_fraction": extra["trainable_fraction"]}
    return summary, record
