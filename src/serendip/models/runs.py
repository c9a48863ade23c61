"""Run folders and the workspace's ``runs`` table.

A training run writes everything needed to reproduce, inspect and reuse it into one folder,
``<runs>/<id>/`` (``id`` = UTC time ``yyyymmdd-HHMMSS`` plus 6 random hex digits, so ids sort by time
and two runs started in the same second do not collide)::

    run.json              id, name, kind, status (running/done/failed), task, backbone, times, error
    config.resolved.json  the whole validated config (every default filled in)
    data_files.json       each data file's path, size and sha256
    versions.json         python, serendip, torch, transformers, peft, numpy ... versions; platform
    label_space.json      task, classes (None for regression), target scaling, tokenizer settings
    split_report.json     SplitReport (sizes, label counts, skipped rows, cross-split duplicates)
    augment_report.json   AugmentReport (+ the resampling report when resampling was used)
    history.json          one row per epoch: train loss, dev loss, dev metrics, learning rate
    metrics.json          dev metrics per epoch, the best epoch's, the test metrics (strict JSON)
    plots/                curves.png, confusion_matrix.png, roc.png, pr.png (classification)
    model/                the fine-tuned model (safetensors) and its tokenizer
    adapter/              the PEFT adapter alone (LoRA/AdaLoRA runs)

With a workspace, the run is also a row of the ``runs`` table (:data:`serendip.workspace.schema.runs`):
inserted as ``running`` when the run starts, set to ``done`` (with its metrics) or ``failed`` (with
the error) when it ends. A ``running`` row left behind means the process was killed.
"""
from __future__ import annotations

import contextlib
import platform
import secrets
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serendip.core.files import sha256_file
from serendip.errors import DataError, SerendipError
from serendip.models.run_json import (
    RunNotFound,
    _json_or_reason,
    _strict,
    read_json,
    write_json,
)

__all__ = [
    "RunFolder",
    "RunInfo",
    "RunNotFound",
    "data_fingerprints",
    "get_run",
    "list_runs",
    "new_run_id",
    "package_versions",
    "read_json",
    "read_run",
    "resolve_run",
    "sha256_file",
    "write_json",
]

RUN_JSON = "run.json"
_PACKAGES = ("serendip", "torch", "transformers", "peft", "tokenizers", "safetensors", "numpy",
             "scikit-learn", "seqeval", "accelerate")


# -- small helpers ---------------------------------------------------------------------------------
def new_run_id(now: datetime | None = None) -> str:
    """``"20261201-142530-a1b2c3"``: UTC time of ``now`` (default: now) and 6 random hex digits."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def data_fingerprints(paths: Mapping[str, str | Path | None]) -> dict[str, Any]:
    """``{role: {"path", "bytes", "sha256"}}`` for each given file (None entries are left out).

    A path that is not a file is recorded with ``"sha256": None`` and an ``"error"``.
    """
    out: dict[str, Any] = {}
    for role, p in paths.items():
        if p is None:
            continue
        path = Path(p)
        try:
            out[role] = {"path": str(path.resolve()), "bytes": path.stat().st_size,
                         "sha256": sha256_file(path)}
        except OSError as exc:
            out[role] = {"path": str(path), "bytes": None, "sha256": None,
                         "error": exc.strerror or str(exc)}
    return out


def package_versions() -> dict[str, Any]:
    """Versions of Python and the libraries a run depends on (None: not installed), and the platform."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Any] = {"python": platform.python_version(),
                           "platform": platform.platform(), "machine": platform.machine()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch_cuda"] = getattr(torch.version, "cuda", None)
        out["cuda_available"] = bool(torch.cuda.is_available())
    return out


# -- run records -----------------------------------------------------------------------------------
@dataclass
class RunInfo:
    """A run as recorded in ``run.json`` and the ``runs`` table.

    ``config`` is the resolved config (dict), ``metrics`` the summary written when the run is done
    (None while running), ``path`` the run folder (absolute).
    """

    id: str
    name: str
    path: str
    status: str = "running"
    kind: str = "finetune"
    created_at: datetime | None = None
    finished_at: datetime | None = None
    task: str | None = None
    backbone: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "finished_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunInfo:
        values = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        for key in ("created_at", "finished_at"):
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        if values.get("config") is None:
            values["config"] = {}
        return cls(**values)

    def summary(self) -> dict[str, Any]:
        """The headline of a finished run, from its record: ``metric`` (the selection metric, or
        None), ``dev`` (its best dev value) and ``test`` (its test value; None when not scored)."""
        m = self.metrics or {}
        metric = m.get("selection_metric")
        if not metric:
            return {"metric": None, "dev": None, "test": None}
        return {"metric": metric, "dev": m.get(f"dev_{metric}"), "test": m.get(f"test_{metric}")}


def _row(info: RunInfo) -> dict[str, Any]:
    data = {k: getattr(info, k) for k in ("id", "name", "kind", "created_at", "finished_at", "status",
                                          "task", "backbone", "metrics", "path", "error")}
    data["config"] = _strict(info.config)
    data["metrics"] = _strict(info.metrics) if info.metrics is not None else None
    return data


class RunFolder:
    """A run being written: its folder, its :class:`RunInfo`, and its workspace row (if any).

    Create with :meth:`create`; write files with :meth:`write_json` / :attr:`path`; end with
    :meth:`finish` or :meth:`fail`. ``notes`` collects sentences for the record (an optional logger
    that was skipped, a plot that could not be drawn).
    """

    def __init__(self, path: Path, info: RunInfo, workspace: Any = None):
        self.path = path
        self.info = info
        self.workspace = workspace
        self.notes: list[str] = []

    @property
    def id(self) -> str:
        return self.info.id

    @classmethod
    def create(cls, base_dir: str | Path, *, name: str | None = None, task: str | None = None,
               backbone: str | None = None, config: Mapping[str, Any] | None = None,
               workspace: Any = None, kind: str = "finetune", run_id: str | None = None) -> RunFolder:
        """Make ``<base_dir>/<id>/``, write ``run.json`` (status running) and insert the workspace row.

        Raises
        ------
        SerendipError
            The folder cannot be created (permissions, a file in the way).
        """
        run_id = run_id or new_run_id()
        path = (Path(base_dir) / run_id).resolve()
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise SerendipError(f"run folder {path} already exists") from None
        except OSError as exc:
            raise SerendipError(f"cannot create run folder {path}: {exc.strerror or exc}") from None
        info = RunInfo(id=run_id, name=name or run_id, path=str(path), status="running", kind=kind,
                       created_at=datetime.now(UTC), task=task, backbone=backbone,
                       config=dict(config or {}))
        run = cls(path, info, workspace)
        run._write_info()
        if workspace is not None:
            from serendip.workspace.schema import runs

            with workspace.engine.begin() as conn:
                conn.execute(runs.insert().values(**_row(info)))
        return run

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``<run>/<name>`` as strict JSON (see :func:`write_json`)."""
        return write_json(self.path / name, data)

    def _write_info(self) -> None:
        write_json(self.path / RUN_JSON, {**self.info.to_dict(), "notes": self.notes})

    def _update_row(self) -> None:
        if self.workspace is None:
            return
        from serendip.workspace.schema import runs

        row = _row(self.info)
        row.pop("id")
        with self.workspace.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == self.info.id).values(**row))

    def finish(self, metrics: Mapping[str, Any] | None = None) -> RunInfo:
        """Mark the run done with its summary ``metrics``; rewrite ``run.json`` and the row."""
        self.info.status = "done"
        self.info.finished_at = datetime.now(UTC)
        self.info.metrics = _strict(dict(metrics)) if metrics is not None else None
        self._write_info()
        self._update_row()
        return self.info

    def fail(self, error: BaseException | str) -> RunInfo:
        """Mark the run failed with the error's message (never raises itself)."""
        self.info.status = "failed"
        self.info.finished_at = datetime.now(UTC)
        self.info.error = failure_text(error)
        try:
            self._write_info()
            self._update_row()
        except Exception:  # pragma: no cover - the original error matters more
            pass
        return self.info


# -- queries ---------------------------------------------------------------------------------------
def _info_from_row(row: Any) -> RunInfo:
    data = dict(row._mapping)
    return RunInfo.from_dict(data)


def failure_text(error: BaseException | str) -> str:
    """What a failed run records as its error: ``"interrupted (Ctrl-C)"``, ``"interrupted (SIGTERM)"``
    for a ``SystemExit`` of 128 + a signal's number (what the CLI raises on ``kill``), else
    ``"<ExceptionType>: <message>"`` (a string as it is)."""
    import signal

    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(error, SystemExit):
        code = error.code
        if isinstance(code, int) and code > 128:
            with contextlib.suppress(ValueError):
                return f"interrupted ({signal.Signals(code - 128).name})"
        return f"stopped (exit status {code})"
    return f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)


def list_runs(ws: Any, *, status: str | None = None, limit: int | None = None) -> list[RunInfo]:
    """The runs of workspace ``ws``, newest first (optionally only those with ``status``)."""
    from sqlalchemy import select

    from serendip.workspace.schema import runs

    stmt = select(runs).order_by(runs.c.created_at.desc(), runs.c.id.desc())
    if status is not None:
        stmt = stmt.where(runs.c.status == status)
    if limit is not None:
        stmt = stmt.limit(limit)
    with ws.engine.connect() as conn:
        return [_info_from_row(r) for r in conn.execute(stmt)]


def get_run(ws: Any, run_id: str) -> RunInfo:
    """The run ``run_id`` of workspace ``ws``; a unique prefix of an id is accepted.

    Raises
    ------
    RunNotFound
        No run (or several) match; the message says how to list them.
    """
    from sqlalchemy import select

    from serendip.workspace.schema import runs

    run_id = str(run_id).strip()
    with ws.engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is not None:
            return _info_from_row(row)
        if not run_id or any(c in run_id for c in "%_"):
            matches = []
        else:
            matches = list(conn.execute(select(runs).where(runs.c.id.like(f"{run_id}%")).limit(3)))
    if len(matches) == 1:
        return _info_from_row(matches[0])
    if len(matches) > 1:
        raise RunNotFound(f"run id {run_id!r} is ambiguous (matches "
                          f"{', '.join(repr(m.id) for m in matches[:2])}, ...); give more of it")
    raise RunNotFound(f"no run {run_id!r} in workspace {ws.path}; `serendip runs list` shows the runs")


def read_run(run_dir: str | Path) -> RunInfo:
    """The :class:`RunInfo` in ``<run_dir>/run.json``.

    Raises
    ------
    RunNotFound
        The folder does not exist, or holds no ``run.json``.
    DataError
        ``run.json`` is not JSON, not an object, or lacks a field ("<file> is not a valid run record (why)").
    """
    run_dir = Path(run_dir)
    path = run_dir / RUN_JSON
    if not path.is_file():
        raise RunNotFound(f"{run_dir} is not a run folder (no {RUN_JSON})" if run_dir.is_dir()
                          else f"{run_dir} is a file, not a run folder" if run_dir.exists()
                          else f"{run_dir} does not exist (give a run folder)")
    data, reason = _json_or_reason(path)
    if reason is None and not isinstance(data, dict):
        reason = f"a JSON {type(data).__name__}, not an object"
    elif reason is None and not all(isinstance(data.get(k), str) for k in ("id", "name")):
        reason = "no id or name"
    if reason is None:
        try:
            return RunInfo.from_dict({**data, "path": str(run_dir.resolve())})
        except (TypeError, ValueError) as exc:
            reason = str(exc)
    raise DataError(f"{path} is not a valid run record ({reason})")


def resolve_run(ref: str | Path, workspace: Any = None) -> Path:
    """The folder of a run given as a folder path or as a run id (looked up in ``workspace``).

    Order: an existing folder holding ``run.json``; the workspace's database row; the workspace's
    ``runs/<ref>`` folder.

    Raises
    ------
    RunNotFound
        Nothing matches (the message names what was tried).
    """
    path = Path(ref)
    if path.is_dir() and (path / RUN_JSON).is_file():
        return path.resolve()
    if workspace is not None:
        try:
            info = get_run(workspace, str(ref))
        except RunNotFound:
            candidate = Path(workspace.path) / "runs" / str(ref)
            if (candidate / RUN_JSON).is_file():
                return candidate.resolve()
            raise
        found = Path(info.path)
        if not (found / RUN_JSON).is_file():
            raise RunNotFound(f"run {info.id!r} is recorded at {found}, but that folder is gone")
        return found
    if path.is_dir():
        raise RunNotFound(f"{path} is not a run folder (no {RUN_JSON})")
    raise RunNotFound(f"run {str(ref)!r} is neither a run folder nor, without a workspace, an id "
                      f"that can be looked up; give the folder or a workspace (-w)")
