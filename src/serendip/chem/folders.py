"""A model folder written whole or not at all, and never over another folder by accident.

:func:`check_out_folder` refuses, before any work, a folder that cannot be written or that already
holds something: a model folder is replaced only when asked (``force``), any other non-empty folder
never. :func:`write_folder` writes into a temporary sibling folder and renames it into place (pooch's
download-to-temp-then-move, ``pooch/core.py:790-838``), so a failure or an interrupt leaves the old
folder, or none, never a half-written one.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from serendip.errors import DataError

__all__ = ["check_out_folder", "write_folder"]

MARKER = "model.json"


def check_out_folder(folder: str | Path, force: bool = False) -> Path:
    """Check that ``folder`` can take a new model.

    Parameters
    ----------
    folder : path
        Missing, an empty folder, or (with ``force``) a model folder (one holding ``model.json``).
    force : bool, default False
        Replace an existing model folder.

    Returns
    -------
    Path

    Raises
    ------
    DataError
        ``folder`` is a file, its parent folder is missing or read-only, it already holds a model
        (without ``force``), or it holds other files (even with ``force``: nothing but a model folder
        is ever replaced).
    """
    folder = Path(folder)
    parent = folder.parent if str(folder.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise DataError(f"cannot write the model folder {folder}: it is a file")
    if not parent.is_dir():
        raise DataError(f"cannot write the model folder {folder}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise DataError(f"cannot write the model folder {folder}: {parent} is read-only")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise DataError(f"{folder} already exists and is not a model folder (no {MARKER}); choose a new "
                            f"folder for the model (nothing but a model folder is replaced, even with --force)")
        if not force:
            raise DataError(f"{folder} already holds a model; choose a new folder, or replace it with --force "
                            f"(Python: force=True)")
    return folder


def write_folder(folder: str | Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a new temporary folder beside ``folder``, then put it in ``folder``'s place.

    An existing ``folder`` (already checked by :func:`check_out_folder`) is moved aside, replaced and
    deleted only once the new one is in place; if ``write`` raises, the temporary folder is deleted
    and ``folder`` is left as it was.

    Returns
    -------
    Path
        ``folder``.
    """
    folder = Path(folder)
    parent = folder.parent if str(folder.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700
        write(tmp)
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=parent))
            old.rmdir()
            folder.rename(old)
        try:
            tmp.rename(folder)
        except OSError:
            if old is not None:
                old.rename(folder)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder
