"""Optional experiment trackers of a fine-tuning run: MLflow and TensorBoard.

Each is used when the config asks for it (``output.mlflow``, ``output.tensorboard``) and the package
is installed; otherwise the run gets a note, never a crash. Logging failures become notes too.
"""
from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Trackers", "flat_dict"]


def flat_dict(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"training.lr": 5e-05, ...}`` from a nested dict (lists kept as values)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Mapping):
            out.update(flat_dict(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


class Trackers:
    """MLflow and TensorBoard logging when asked for and installed; otherwise a note, never a crash."""

    def __init__(self, cfg: Any, run: Any):
        self.notes: list[str] = []
        self.mlflow = None
        self.tb = None
        out = cfg.output
        if out.mlflow:
            if importlib.util.find_spec("mlflow") is None:
                self.notes.append("output.mlflow: mlflow is not installed; MLflow logging skipped")
            else:
                try:
                    import mlflow

                    mlflow.set_tracking_uri(out.mlflow_tracking_uri or (run.path / "mlruns").as_uri())
                    mlflow.start_run(run_name=run.info.name)
                    mlflow.log_params({k: str(v)[:250] for k, v in flat_dict(cfg.to_dict()).items()})
                    mlflow.set_tag("serendip.run_id", run.id)
                    self.mlflow = mlflow
                except Exception as exc:  # pragma: no cover - depends on an optional package
                    self.notes.append(f"output.mlflow: MLflow logging failed ({exc}); skipped")
        if out.tensorboard:
            if importlib.util.find_spec("tensorboard") is None:
                self.notes.append("output.tensorboard: tensorboard is not installed; TensorBoard "
                                  "logging skipped")
            else:
                try:
                    from torch.utils.tensorboard import SummaryWriter

                    self.tb = SummaryWriter(log_dir=str(run.path / "tensorboard"))
                except Exception as exc:  # pragma: no cover
                    self.notes.append(f"output.tensorboard: TensorBoard logging failed ({exc}); skipped")

    def log(self, row: Mapping[str, Any], step: int) -> None:
        values = {k: float(v) for k, v in row.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        try:
            if self.mlflow is not None:
                self.mlflow.log_metrics(values, step=step)
            if self.tb is not None:
                for k, v in values.items():
                    self.tb.add_scalar(k, v, step)
        except Exception as exc:  # pragma: no cover
            self.notes.append(f"tracker logging failed at step {step}: {exc}")

    def close(self, status: str = "FINISHED") -> None:
        try:
            if self.mlflow is not None:
                self.mlflow.end_run(status=status)
            if self.tb is not None:
                self.tb.close()
        except Exception:  # pragma: no cover
            pass
