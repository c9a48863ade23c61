"""Finding a dataset's files: the data mirror, then the cache, then a download.

Order for every file of a dataset:

1. the mirror: the folder named by ``SERENDIP_DATA_MIRROR`` (same layout as the file paths);
2. the cache: ``$SERENDIP_CACHE/datasets`` or, without that variable, the platform cache folder
   (``~/.cache/serendip/datasets`` on Linux), laid out like the mirror;
3. a download with :func:`pooch.retrieve` into the cache, for files that have a direct URL
   (pooch checks the sha256 of what it downloads).

Files found in the mirror or the cache are checked against their registered sha256; each file is
hashed at most once per process (the result is kept while its size and modification time stay the
same). A file found nowhere and not downloadable raises :class:`DatasetNotFound`, naming the dataset,
the file and where to get it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, NamedTuple

from serendip.core.files import sha256_file
from serendip.datasets.registry import DataFile, Dataset, get
from serendip.errors import ConfigError, DataError, DatasetNotFound

__all__ = [
    "MIRROR_ENV", "CACHE_ENV", "Located", "mirror_dir", "cache_dir", "sha256_file", "locate",
    "resolve", "fetch", "status",
]

MIRROR_ENV = "SERENDIP_DATA_MIRROR"
CACHE_ENV = "SERENDIP_CACHE"

Origin = Literal["mirror", "cache", "download", "missing"]


class Located(NamedTuple):
    """Where one file of a dataset is: ``origin`` is mirror, cache, download or missing."""

    path: Path | None
    origin: Origin


# ----------------------------------------------------------------------------------------- places


def mirror_dir() -> Path | None:
    """The data mirror folder from ``SERENDIP_DATA_MIRROR``, or ``None`` when the variable is unset.

    Raises
    ------
    ConfigError
        If the variable is set but does not name a folder.
    """
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"{MIRROR_ENV}={value} is not a folder; point it at the public-data mirror "
            f"(the folder holding MANIFEST.md) or unset it"
        )
    return path


def cache_dir() -> Path:
    """The dataset cache folder: ``$SERENDIP_CACHE/datasets``, else the platform cache.

    The platform cache is ``pooch.os_cache("serendip") / "datasets"``, i.e.
    ``~/.cache/serendip/datasets`` on Linux (honouring ``XDG_CACHE_HOME``). The folder is not
    created here; downloads create what they need.
    """
    value = os.environ.get(CACHE_ENV, "").strip()
    if value:
        return Path(value).expanduser() / "datasets"
    import pooch  # imported lazily: keeps `import serendip.datasets` cheap

    return Path(pooch.os_cache("serendip")) / "datasets"


# ------------------------------------------------------------------------------------------ hashes

def _check(ds: Dataset, f: DataFile, path: Path, origin: str) -> None:
    actual = sha256_file(path)
    if actual != f.sha256:
        if origin == "cache":
            todo = "delete it and fetch the dataset again"
        else:
            todo = f"replace it with a good copy (see {ds.provenance or ds.homepage})"
        raise DataError(
            f"dataset {ds.name!r}: {origin} file {path} has sha256 {actual}, expected {f.sha256} "
            f"(registered for {f.path}); the file is damaged or a different version: {todo}"
        )


# ---------------------------------------------------------------------------------------- locating


def _dataset(name: str | Dataset) -> Dataset:
    return name if isinstance(name, Dataset) else get(name)


def _find_local(f: DataFile, mirror: Path | None, cache: Path) -> Located:
    if mirror is not None:
        p = mirror / f.path
        if p.is_file():
            return Located(p, "mirror")
    p = cache / f.path
    if p.is_file():
        return Located(p, "cache")
    return Located(None, "missing")


def locate(name: str | Dataset) -> dict[str, Located]:
    """Say where each file of a dataset is, without downloading or hashing anything.

    Parameters
    ----------
    name : str or Dataset
        A registered dataset name, or a :class:`Dataset` (e.g. from a custom catalog).

    Returns
    -------
    dict of str to Located
        File path (relative to the mirror) to its location; origin ``"missing"`` has path ``None``.
    """
    ds = _dataset(name)
    mirror, cache = mirror_dir(), cache_dir()
    return {f.path: _find_local(f, mirror, cache) for f in ds.files}


def status(name: str | Dataset) -> Literal["mirror", "cache", "missing"]:
    """Where a dataset can be read from right now, without downloading or hashing.

    Returns
    -------
    {"mirror", "cache", "missing"}
        ``"mirror"`` when every file is in the mirror; ``"cache"`` when every file is in the mirror or
        the cache and at least one only in the cache; ``"missing"`` when some file is in neither
        (it may still be downloadable: see :func:`fetch`).
    """
    origins = {loc.origin for loc in locate(name).values()}
    if "missing" in origins:
        return "missing"
    return "cache" if "cache" in origins else "mirror"


def _not_found(ds: Dataset, f: DataFile, mirror: Path | None, cache: Path, others: int,
               failure: str | None) -> DatasetNotFound:
    where_mirror = f"the data mirror ({mirror})" if mirror else f"the data mirror ({MIRROR_ENV} is not set)"
    details = [f"archive member {f.member}"] if f.member else []
    if ds.provenance:
        details.append(f"provenance: {ds.provenance} in the mirror")
    official = (f.source or ds.homepage) + (f" ({'; '.join(details)})" if details else "")
    if failure is None:
        how = "and it has no direct download URL"
    else:
        how = f"and downloading it from {f.url} failed ({failure})"
    more = ""
    if others == 1:
        more = " 1 more file of this dataset is missing too."
    elif others > 1:
        more = f" {others} more files of this dataset are missing too."
    return DatasetNotFound(
        f"dataset {ds.name!r}: file {f.path} is not in {where_mirror} nor in the cache "
        f"({cache / f.path}), {how}. Get it from {official}, then set {MIRROR_ENV} to a mirror "
        f"folder containing {f.path}, or put the file at {cache / f.path}.{more}"
    )


def _failure_text(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` of a download failure, with the innermost cause (e.g. the name-resolution
    error inside requests' ConnectionError) when there is one; longer than ``limit`` characters, it
    is cut and ends with "... [cut]" so the cut is visible."""
    root, seen = exc, {id(exc)}
    while (nxt := root.__cause__ or root.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        root = nxt
    text = f"{type(exc).__name__}: {exc}".strip()
    if root is not exc:
        text = f"{type(root).__name__}: {root}".strip() + f" (raised as {type(exc).__name__})"
    return text if len(text) <= limit else text[: limit - 9].rstrip() + " ... [cut]"


def _download(ds: Dataset, f: DataFile, mirror: Path | None, cache: Path, others: int) -> Path:
    import pooch  # lazily: pulls in requests

    target = cache / f.path
    try:
        got = pooch.retrieve(
            f.url, known_hash=f"sha256:{f.sha256}", fname=target.name, path=target.parent,
            progressbar=False,
        )
    except ValueError as exc:  # pooch: the downloaded bytes do not match the registered hash
        raise DataError(
            f"dataset {ds.name!r}: the download of {f.path} from {f.url} does not match its registered "
            f"sha256 {f.sha256} ({exc}); the upstream file changed. Get the registered version "
            f"(see {ds.provenance or ds.homepage}) and set {MIRROR_ENV}."
        ) from exc
    except Exception as exc:  # network errors (requests/OSError), refused URLs, ...
        raise _not_found(ds, f, mirror, cache, others, _failure_text(exc)) from exc
    return Path(got)


def fetch(name: str | Dataset, *, verify: bool = True) -> dict[str, Located]:
    """Make every file of a dataset available locally and say where each one is.

    Files in the mirror are used where they are (not copied); files in neither the mirror nor the
    cache are downloaded into the cache when they have a direct URL.

    Parameters
    ----------
    name : str or Dataset
        A registered dataset name, or a :class:`Dataset`.
    verify : bool, default True
        Check the sha256 of mirror and cache files (downloads are always checked).

    Returns
    -------
    dict of str to Located
        File path (relative to the mirror) to its local path and origin
        (``"mirror"``, ``"cache"`` or ``"download"``), in the dataset's file order.

    Raises
    ------
    ConfigError
        Unknown dataset name, or ``SERENDIP_DATA_MIRROR`` not a folder.
    DataError
        A file's sha256 differs from the registered one.
    DatasetNotFound
        A file is in neither place and has no URL, or its download failed (e.g. offline).
    """
    ds = _dataset(name)
    mirror, cache = mirror_dir(), cache_dir()
    found = {f.path: _find_local(f, mirror, cache) for f in ds.files}
    missing = [f for f in ds.files if found[f.path].origin == "missing"]
    out: dict[str, Located] = {}
    for f in ds.files:
        loc = found[f.path]
        if loc.origin == "missing":
            others = len(missing) - 1
            if f.url is None:
                raise _not_found(ds, f, mirror, cache, others, None)
            loc = Located(_download(ds, f, mirror, cache, others), "download")
            missing.remove(f)
        elif verify:
            _check(ds, f, loc.path, loc.origin)
        out[f.path] = loc
    return out


def resolve(name: str | Dataset, *, verify: bool = True) -> dict[str, Path]:
    """Return the local path of every file of a dataset (mirror, else cache, else download).

    Parameters
    ----------
    name : str or Dataset
        A registered dataset name (e.g. ``"scifact"``), or a :class:`Dataset`.
    verify : bool, default True
        Check the sha256 of mirror and cache files (each file hashed once per process).

    Returns
    -------
    dict of str to Path
        File path relative to the mirror (e.g. ``"scifact/qrels/test.tsv"``) to its local path.

    Raises
    ------
    ConfigError
        Unknown dataset name (the message lists the registered ones), or a bad ``SERENDIP_DATA_MIRROR``.
    DataError
        A file's sha256 differs from the registered one (the message names the file and both hashes).
    DatasetNotFound
        A file is in neither the mirror nor the cache and cannot be downloaded; the message names the
        dataset, the file, the official place to get it and says to set ``SERENDIP_DATA_MIRROR``.
    """
    return {rel: loc.path for rel, loc in fetch(name, verify=verify).items()}
