"""Configuration helpers shared by every config schema: the strict pydantic base and the one
validation-error formatter.

Every config model derives from :class:`StrictModel` (``extra="forbid"``, assignments validated), so an
unknown key is refused wherever it appears. :func:`describe_validation_error` turns a pydantic
:class:`~pydantic.ValidationError` into one line that lists *every* error (dotted key, allowed keys
for an unknown key, the bad value and the reason); :func:`validate_config` raises it as
:class:`~serendip.errors.ConfigError`. :func:`read_config_file` reads a TOML or YAML file and
:func:`apply_overrides` applies ``key=value`` flags to any config model.
"""
from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from serendip.errors import ConfigError

__all__ = ["StrictModel", "apply_overrides", "describe_validation_error", "read_config_file", "validate_config"]


class StrictModel(BaseModel):
    """Base of every config table: unknown keys refused, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)  # a free-form key holding dots (a search-space key) is quoted
            out += ("." if out else "") + (repr(text) if "." in text else text)
    return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside ``annotation`` (itself, Optional[...], list[...]); else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _field_model(model: type[BaseModel] | None, part: Any) -> tuple[bool, type[BaseModel] | None]:
    """Whether ``part`` is a field of ``model``, and the BaseModel that field holds (else None)."""
    if model is None or str(part) not in model.model_fields:
        return False, None
    return True, _model_of(model.model_fields[str(part)].annotation)


def _allowed_keys(loc: Sequence[Any], root_model: type[BaseModel]) -> list[str] | None:
    """Field names of the model at ``loc`` (the path to the unknown key's parent), if one."""
    model: type[BaseModel] | None = root_model
    for part in loc:
        if isinstance(part, int):
            continue
        known, model = _field_model(model, part)
        if not known:
            return None
    return sorted(model.model_fields) if model is not None else None


def _clean_loc(loc: Sequence[Any], root_model: type[BaseModel]) -> list[Any]:
    """Drop pydantic's union-branch labels (``'list[float]'``, ``'float'``) from a location."""
    keep: list[Any] = []
    model: type[BaseModel] | None = root_model
    for part in loc:
        if isinstance(part, int):
            keep.append(part)
            continue
        known, sub = _field_model(model, part)
        if known:
            keep.append(part)
            model = sub
        elif model is None and keep and not any(c in str(part) for c in "[]-") and str(part) not in (
                "float", "int", "str", "bool", "list", "dict"):
            keep.append(part)  # a key inside a free-form table
        elif model is not None:
            keep.append(part)  # unknown key of a model (extra_forbidden)
            model = None
    return keep


def describe_validation_error(exc: ValidationError, root_model: type[BaseModel]) -> str:
    """One line for a pydantic error on ``root_model``: dotted keys, allowed keys for unknown ones,
    missing keys, and each bad value with its reason."""
    lines: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = _clean_loc(err["loc"], root_model)
        key = _dotted(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1], root_model)
            hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
            lines.setdefault(f"unknown key {key!r}{hint}", [])
        elif err["type"] == "missing":
            lines.setdefault(f"{key}: required key missing", [])
        else:
            msg = err["msg"].removeprefix("Value error, ")
            value = err.get("input")
            got = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
            got = "" if msg.endswith(got) else got  # a nested model's message already says it
            lines.setdefault(key, []).append(f"{msg}{got}")
    # several union branches failing on one key read as one sentence
    return "; ".join(f"{head}: {' or '.join(dict.fromkeys(msgs))}" if msgs else head
                     for head, msgs in lines.items())


_M = typing.TypeVar("_M", bound=BaseModel)


def validate_config(data: Any, where: str, root_model: type[_M]) -> _M:
    """``data`` validated as ``root_model``; ConfigError starting with ``where`` otherwise."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the configuration must be a table/mapping; got "
                          f"{type(data).__name__}")
    try:
        return root_model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe_validation_error(exc, root_model)}") from None


# -- files and overrides -------------------------------------------------------------------------
def read_config_file(path: str | Path) -> Any:
    """The parsed contents of a ``.toml``/``.yaml``/``.yml`` config file (not yet validated).

    Raises
    ------
    ConfigError
        Unreadable file, unknown suffix, a syntax error (with its line) or an empty YAML file; the
        message starts with the file path.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
        if data is None:
            raise ConfigError(f"{path}: the config file is empty")
        return data
    raise ConfigError(f"{path}: unknown config format {path.suffix!r}; use .toml, .yaml or .yml")


def _parse_value(text: str) -> Any:
    """A flag value: TOML syntax (``3e-5``, ``true``, ``"a"``, ``["q", "v"]``), ``null`` for None,
    else the raw string."""
    text = text.strip()
    if text == "null":
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(cfg: _M, overrides: Sequence[str], *, example: str = "training.lr=3e-5") -> _M:
    """A new config (of ``cfg``'s class: any pydantic model) with ``key=value`` overrides applied (CLI flags), validated as a whole.

    Parameters
    ----------
    cfg : FineTuneConfig (or another pydantic model, e.g. a PretrainConfig)
    overrides : sequence of str
        ``"training.lr=3e-5"``, ``"peft.method=lora"``, ``"peft.target_modules=['query','value']"``,
        ``"augmentations.0.params.p=0.5"``, ``"data.dev=null"``. Values use TOML syntax; anything
        that is not valid TOML is a string. Paths are taken as given (relative to the working
        folder).
    example : str
        The ``key=value`` example shown when a flag has no ``=``.

    Returns
    -------
    FineTuneConfig
        Of ``cfg``'s class; ``cfg`` is not modified.

    Raises
    ------
    ConfigError
        A flag without ``=``, an unknown key, or a value of the wrong type; the message names the key.
    """
    data = cfg.model_dump(mode="python")
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key=value, e.g. {example}")
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts[:-1]):
            here = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"override {item!r}: {here!r} is not an index of a list of "
                                      f"{len(node)}")
                node = node[int(part)]
            elif isinstance(node, dict):
                if node.get(part) is None:
                    node[part] = {}
                elif not isinstance(node[part], (dict, list)):
                    raise ConfigError(f"override {item!r}: {here!r} is a value, not a table")
                node = node[part]
            else:
                raise ConfigError(f"override {item!r}: {here!r} is a value, not a table")
        last = parts[-1]
        value = _parse_value(raw)
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigError(f"override {item!r}: {key!r} is not an index of a list of "
                                  f"{len(node)}")
            node[int(last)] = value
        else:
            node[last] = value
    model = type(cfg)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"override: {describe_validation_error(exc, model)}") from None
