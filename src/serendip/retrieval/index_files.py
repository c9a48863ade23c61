"""Crash-safe index folders: written beside the old one, swapped in whole, checked when read.

An index is a folder of parts (arrays, JSON, a FAISS graph). :func:`replace_folder` lets a writer fill a
fresh folder ``.<name>.new-<pid>-<hex>`` next to the destination, then writes ``manifest.json`` (every
part's size in bytes) last, fsyncs every file and the folder, and swaps it in with two renames (old ->
``.<name>.old-...``, new -> ``<name>``) before deleting the old one. A crash at any point leaves the old
index or no index at that path (then :class:`~serendip.errors.IndexNotBuilt`), never a mix of old and
new parts; leftovers of a crashed write are removed by the next write.

:func:`check_manifest` compares the parts on disk with the manifest (a missing or truncated part is
caught before any parser sees it) and :func:`damaged` words the error every loader raises for a part
it cannot parse: one line naming the file and ``serendip index --rebuild``. Folders written before
manifests existed load without the size check.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from serendip.errors import DataError, IndexDamaged, IndexNotBuilt

__all__ = ["MANIFEST", "REBUILD_HINT", "atomic_write_text", "check_manifest", "damaged", "load_index_meta",
           "read_index_json",
           "replace_folder"]

MANIFEST = "manifest.json"
REBUILD_HINT = "run `serendip index --rebuild`"
_MANIFEST_FORMAT = 1


def damaged(path: str | Path, reason: str) -> IndexDamaged:
    """The error for an index file that is missing, cut short or unreadable (one line)."""
    reason = " ".join(str(reason).split())[:200] or "unreadable"
    return IndexDamaged(f"index file {path} is damaged ({reason}); {REBUILD_HINT}")


def read_index_json(path: str | Path):
    """The parsed JSON of an index file.

    Raises
    ------
    IndexDamaged
        The file is missing, unreadable or not JSON (names the file).
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise damaged(path, "missing") from None
    except (OSError, ValueError) as exc:
        raise damaged(path, exc) from None


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder: write, flush,
    fsync, rename. Readers see the old file or the new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        _fsync_path(path.parent)


def _leftovers(dest: Path) -> list[Path]:
    """Temporary folders of earlier writes of ``dest`` (a crash left them behind)."""
    if not dest.parent.is_dir():
        return []
    return [p for p in dest.parent.iterdir()
            if p.name.startswith((f".{dest.name}.new-", f".{dest.name}.old-"))]


@contextlib.contextmanager
def replace_folder(dest: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on a clean exit it replaces ``dest`` whole.

    The writer puts its parts in the yielded folder. Then :data:`MANIFEST` (size of every part) is
    written, all files and the folder are fsynced, and the folder is renamed to ``dest``. If the block
    raises, the temporary folder is removed and ``dest`` is untouched.

    Parameters
    ----------
    dest : str or Path
        The index folder to (re)write; its parent is created if needed.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for old in _leftovers(dest):
        shutil.rmtree(old, ignore_errors=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = dest.parent / f".{dest.name}.new-{token}"
    tmp.mkdir()
    try:
        yield tmp
        parts = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {"format": _MANIFEST_FORMAT, "files": parts}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for name in (*parts, MANIFEST):
            _fsync_path(tmp / name)
        _fsync_path(tmp)
        old = dest.parent / f".{dest.name}.old-{token}"
        if dest.exists():
            os.rename(dest, old)
        os.rename(tmp, dest)
        _fsync_path(dest.parent)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_manifest(folder: str | Path) -> None:
    """Check that every part listed in ``folder``'s manifest is there with its recorded size.

    A folder without a manifest (written before manifests existed) passes unchecked.

    Raises
    ------
    IndexDamaged
        The manifest is unreadable, or a part is missing or has another size (names the file).
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        sizes = {str(name): int(size) for name, size in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise damaged(path, exc) from None
    for name, size in sizes.items():
        part = folder / name
        try:
            got = part.stat().st_size
        except OSError:
            raise damaged(part, "missing") from None
        if got != size:
            raise damaged(part, f"{got} bytes, the index wrote {size}")


def load_index_meta(folder: str | Path, meta_name: str, *, kind: str, required_key: str, fmt: int,
                    not_built: str) -> dict:
    """The description file ``meta_name`` of an index folder, checked: present, the manifest's parts
    whole (:func:`check_manifest`), a JSON object holding ``required_key``, written in format ``fmt``.

    Parameters
    ----------
    folder : path
        The index folder.
    meta_name : str
        Its description file (``"meta.json"``).
    kind : str
        The index in words, for messages (``"BM25"``, ``"dense"``).
    required_key : str
        A key every description of this kind holds.
    fmt : int
        The format number this Serendip writes.
    not_built : str
        The message of :class:`IndexNotBuilt` when the folder holds no index at all.

    Raises
    ------
    IndexNotBuilt
        No index (no description and no manifest).
    IndexDamaged
        A part is missing, cut short or unreadable (names the file and ``serendip index --rebuild``).
    DataError
        An unknown format number (an index written by a newer Serendip).
    """
    folder = Path(folder)
    meta_path = folder / meta_name
    if not meta_path.is_file():
        if (folder / MANIFEST).is_file():  # the rest of an index is there
            raise damaged(meta_path, "missing")
        raise IndexNotBuilt(not_built)
    check_manifest(folder)
    meta = read_index_json(meta_path)
    if not isinstance(meta, dict) or required_key not in meta:
        raise damaged(meta_path, f"not a {kind} index description")
    if meta.get("format") != fmt:
        raise DataError(f"{meta_path}: unknown {kind} index format {meta.get('format')!r}")
    return meta

