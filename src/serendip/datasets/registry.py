"""The dataset registry: what each public dataset is, which files it has and how to check them.

The entries live as data in ``catalog.toml`` (package data, parsed with :mod:`tomllib`), one
``[[dataset]]`` table per dataset with its ``[[dataset.files]]``. Each file carries its path relative
to the data mirror, its sha256 (copied from the mirror's ``SOURCE.md`` files and checked against the
mirror), a direct download URL when one exists, and where its official content comes from.

Where the files are found (mirror, cache, download) is :mod:`serendip.datasets.store`'s business.
"""
from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["DataFile", "Dataset", "load_catalog", "catalog", "list_datasets", "get", "names"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DataFile(BaseModel):
    """One file of a dataset.

    Attributes
    ----------
    path : str
        POSIX path relative to the data mirror (the cache uses the same layout), e.g.
        ``"scifact/qrels/test.tsv"``.
    sha256 : str
        Lower-case hex sha256 of the file exactly as stored.
    url : str or None
        A direct download of exactly these bytes (a pinned-commit URL), or ``None`` when no such
        download exists (the file was re-compressed, cut or assembled; see the dataset's SOURCE.md).
    source : str or None
        Where the official content comes from: a page or an archive URL. ``None`` means the
        dataset's ``homepage``.
    member : str or None
        The member of the ``source`` archive (or package) holding this content, when the source is an
        archive. The bytes may differ (re-compressed, re-serialised); the sha256 is of the stored file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    sha256: str
    url: str | None = None
    source: str | None = None
    member: str | None = None

    @field_validator("path")
    @classmethod
    def _relative_posix(cls, value: str) -> str:
        p = PurePosixPath(value)
        if not value or p.is_absolute() or ".." in p.parts or "\\" in value or str(p) != value:
            raise ValueError(f"path {value!r} must be a plain relative POSIX path (no '..', no leading '/')")
        return value

    @field_validator("sha256")
    @classmethod
    def _hex64(cls, value: str) -> str:
        value = value.lower()
        if not _SHA256.match(value):
            raise ValueError(f"sha256 {value!r} is not 64 hex digits")
        return value

    @field_validator("url", "source")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def name(self) -> str:
        """The file name (last path component)."""
        return PurePosixPath(self.path).name


class Dataset(BaseModel):
    """A registered public dataset.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"scifact"`` or ``"gue/prom_core_all"``.
    description : str
        One or two sentences: what the data is.
    files : tuple of DataFile
        The dataset's files, paths unique.
    homepage : str
        The official upstream (project page or repository).
    licence : str
        Licence of the data as stated by the upstream (or its container).
    citation : tuple of str
        References to cite when using the data.
    counts : str
        What was checked in the mirror copy (record counts), as listed in the mirror's MANIFEST.md.
    provenance : str or None
        Path (relative to the mirror) of the SOURCE.md giving the full provenance.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    files: tuple[DataFile, ...]
    homepage: str
    licence: str
    citation: tuple[str, ...] = ()
    counts: str = ""
    provenance: str | None = None

    @field_validator("name")
    @classmethod
    def _lower(cls, value: str) -> str:
        if not value or value != value.strip().lower():
            raise ValueError(f"dataset name {value!r} must be non-empty lower case without spaces around")
        return value

    @field_validator("files")
    @classmethod
    def _unique(cls, value: tuple[DataFile, ...]) -> tuple[DataFile, ...]:
        if not value:
            raise ValueError("a dataset needs at least one file")
        paths = [f.path for f in value]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"duplicate file paths: {', '.join(dupes)}")
        return value

    def file(self, path: str) -> DataFile:
        """Return the file with relative ``path`` (or a unique file name).

        Raises
        ------
        ConfigError
            If no file (or more than one by name) matches; the message lists the files.
        """
        hits = [f for f in self.files if f.path == path] or [f for f in self.files if f.name == path]
        if len(hits) != 1:
            raise ConfigError(
                f"dataset {self.name!r} has no single file {path!r}; its files are: "
                + ", ".join(f.path for f in self.files)
            )
        return hits[0]


def load_catalog(path: str | Path | None = None) -> Registry[Dataset]:
    """Parse a catalog TOML file into a registry of :class:`Dataset`.

    Parameters
    ----------
    path : str or Path, optional
        A catalog file; default: the ``catalog.toml`` shipped with the package.

    Returns
    -------
    Registry of Dataset
        Keyed by dataset name.

    Raises
    ------
    ConfigError
        If the file is not valid TOML, an entry is malformed, or a name or file path is repeated.
    """
    if path is None:
        where = "serendip/datasets/catalog.toml"
        raw = resources.files("serendip.datasets").joinpath("catalog.toml").read_bytes()
    else:
        where = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read dataset catalog {where}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"dataset catalog {where} is not valid TOML: {exc}") from None

    registry: Registry[Dataset] = Registry("dataset")
    owner: dict[str, str] = {}
    for i, entry in enumerate(data.get("dataset", []), start=1):
        label = entry.get("name", f"entry #{i}") if isinstance(entry, dict) else f"entry #{i}"
        try:
            ds = Dataset.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"dataset catalog {where}, dataset {label!r}: {problems}") from None
        if ds.name in registry:
            raise ConfigError(f"dataset catalog {where}: dataset {ds.name!r} is listed twice")
        for f in ds.files:
            if f.path in owner:
                raise ConfigError(
                    f"dataset catalog {where}: file {f.path} belongs to both {owner[f.path]!r} and {ds.name!r}"
                )
            owner[f.path] = ds.name
        registry.add(ds.name, ds)
    if not registry.keys():
        raise ConfigError(f"dataset catalog {where} has no [[dataset]] entries")
    return registry


@cache
def catalog() -> Registry[Dataset]:
    """The built-in catalog, parsed once per process."""
    return load_catalog()


def list_datasets() -> list[Dataset]:
    """Every registered dataset, sorted by name."""
    return [ds for _, ds in catalog().items()]


def names() -> list[str]:
    """Every registered dataset name, sorted."""
    return catalog().keys()


def get(name: str) -> Dataset:
    """Return the dataset registered as ``name`` (case-insensitive).

    Raises
    ------
    ConfigError
        If ``name`` is not registered; the message lists every registered name.
    """
    return catalog().get(name)
