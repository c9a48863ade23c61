"""The JSON files of a run folder (:mod:`serendip.models.runs`): strict UTF-8 JSON written atomically,
and read back with a :class:`~serendip.errors.DataError` naming the file and the line of a fault."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from serendip.errors import DataError, SerendipError
from serendip.models.metrics import json_safe

__all__ = ["RunNotFound", "read_json", "write_json"]


class RunNotFound(SerendipError, LookupError):
    """No run with that id (in the workspace database or its runs folder), or not a run folder."""


def _default(value: Any) -> Any:
    if isinstance(value, (Path, datetime)):
        return str(value) if isinstance(value, Path) else value.isoformat()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _strict(value: Any) -> Any:
    """json_safe (NaN -> None) that also walks dataclasses and objects with ``to_dict``."""
    if hasattr(value, "to_dict") and not isinstance(value, Mapping):
        value = value.to_dict()
    elif hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, Mapping):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return json_safe(value)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as strict, indented UTF-8 JSON (NaN -> null; paths and times as strings),
    atomically (a temporary file renamed over the target)."""
    path = Path(path)
    text = json.dumps(_strict(data), indent=2, ensure_ascii=False, default=_default,
                      allow_nan=False)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _json_or_reason(path: Path) -> tuple[Any, str | None]:
    """The JSON of ``path`` and None, or None and why it is not JSON (RunNotFound when missing)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        raise RunNotFound(f"{path.parent} is not a complete run folder: {path.name} is missing") from None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 at byte {exc.start}"
    except json.JSONDecodeError as exc:
        return None, f"line {exc.lineno}: {exc.msg}"


def read_json(path: str | Path) -> Any:
    """Read a JSON file of a run folder.

    Raises
    ------
    RunNotFound
        The file is missing (names it).
    DataError
        The file is not UTF-8 JSON (names it and the line of the fault).
    """
    path = Path(path)
    data, reason = _json_or_reason(path)
    if reason:
        raise DataError(f"{path} is not valid JSON ({reason})")
    return data


