"""Crash-safe index folders: written beside the old one, swapped in whole, checked when read.

An index is a folder of parts (arrays, JSON, a FAISS graph). :func:`replace_folder` lets a writer fill a
fresh folder ``.<name>.new-<pid>-<hex>`` next to the destination, then writes ``manifest.json`` last,
fsyncs every file and the folder, and swaps it in with two renames (old -> ``.<name>.old-...``, new ->
``<name>``) before deleting the old one. A crash at any point leaves the old index or no index at that
path (then :class:`~serendip.errors.IndexNotBuilt`), never a mix of old and new parts; leftovers of a
crashed write are removed by the next write.

The manifest (format 2) records, for every part: its size in bytes, its modification time
(``mtime_ns``), ``edges_sha256`` (SHA-256 of its first and last :data:`EDGE_BYTES` bytes: the header of
an ``.npy``, the start and end of a JSON or FAISS file) and ``sha256`` (of the whole file). Loading
(:func:`check_manifest`) costs a stat and two 64 KiB reads per part, whatever the index's size: a part
missing, of another size or with other edges is damaged; a part whose modification time moved (it was
written to, or copied without its times) has its whole SHA-256 compared, so damage that keeps the size
is caught without hashing whole files on every search. :func:`verify_folder` (``serendip index
--verify``) compares the whole SHA-256 of every part. Manifests of format 1 (sizes only) are still
read, and folders written before manifests existed load without the check.

:func:`damaged` words the error every loader raises for a part it cannot parse: one line naming the
file and ``serendip index --rebuild``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from serendip.errors import DataError, IndexDamaged, IndexNotBuilt

__all__ = ["EDGE_BYTES", "MANIFEST", "REBUILD_HINT", "PartCheck", "atomic_write_text", "check_manifest",
           "damaged", "load_index_meta", "load_npy", "read_index_json", "replace_folder", "verify_folder"]

MANIFEST = "manifest.json"
REBUILD_HINT = "run `serendip index --rebuild`"
#: bytes read at each end of a part for the cheap check on every load (``edges_sha256``)
EDGE_BYTES = 64 * 1024
_MANIFEST_FORMAT = 2
_NPY_MAGIC = b"\x93NUMPY"
_log = logging.getLogger("serendip")
#: (folder, moved files) already warned about in this process (a search may verify a part twice)
_WARNED_MOVED: set[tuple[str, tuple[str, ...]]] = set()


def _one_line(reason: object) -> str:
    """``reason`` on one line, at most 200 characters, without a parser's advice to load the file some
    other way (numpy's "load it unsafely using the allow_pickle= keyword"): a damaged index file is
    rebuilt, never loaded unsafely."""
    text = " ".join(str(reason).split())
    sentences = [part for part in re.split(r"(?<=\.)\s+", text) if "pickle" not in part.lower()]
    return " ".join(sentences)[:200]


def damaged(path: str | Path, reason: str) -> IndexDamaged:
    """The error for an index file that is missing, cut short or unreadable (one line)."""
    reason = _one_line(reason) or "unreadable"
    return IndexDamaged(f"index file {path} is damaged ({reason}); {REBUILD_HINT}")


def load_npy(path: str | Path, mmap: bool = True):
    """An ``.npy`` index part, memory-mapped read-only (``mmap``) or read, never unpickled.

    Raises
    ------
    IndexDamaged
        Missing, not an ``.npy`` file (bad magic string), a header that does not parse or names an
        object dtype, or cut short; one line naming the file, never numpy's own advice.
    """
    import numpy as np

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(_NPY_MAGIC))
        if magic != _NPY_MAGIC:
            raise damaged(path, "not a NumPy .npy file: its first bytes are not the .npy magic string")
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise damaged(path, "missing") from None
    except ValueError as exc:
        text = str(exc)
        if "header" in text.lower():
            reason = "its .npy header does not parse"
        elif "object" in text.lower() or "pickle" in text.lower():
            reason = "its .npy header names an object (pickled) dtype"
        else:
            reason = text
        raise damaged(path, reason) from None
    except (OSError, EOFError) as exc:
        raise damaged(path, exc) from None


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

    The writer puts its parts in the yielded folder. Then :data:`MANIFEST` (size, modification time,
    edge and whole SHA-256 of every part; a part hard-linked from the old folder and unchanged keeps
    its recorded SHA-256 instead of being read again) is written, all files and the folder are
    fsynced, and the folder is renamed to ``dest``. If the block raises, the temporary folder is
    removed and ``dest`` is untouched.

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
        parts = _describe_parts(tmp, dest)
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


def _sha256(path: Path) -> str:
    """Hex SHA-256 of the whole file (read in blocks)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _edges_sha256(path: Path, size: int) -> str:
    """Hex SHA-256 of the first and the last :data:`EDGE_BYTES` bytes of a file of ``size`` bytes (the
    whole file when it is shorter than twice that)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        digest.update(fh.read(EDGE_BYTES))
        if size > EDGE_BYTES:
            fh.seek(max(EDGE_BYTES, size - EDGE_BYTES))
            digest.update(fh.read(EDGE_BYTES))
    return digest.hexdigest()


def _describe_parts(folder: Path, previous: Path) -> dict[str, dict]:
    """The manifest entry of every file in ``folder``: size, mtime_ns, edges_sha256, sha256. A file that
    is the same inode as ``previous``'s file of that name, with the size and time that folder's
    manifest recorded, keeps the SHA-256 recorded there (a part linked over unchanged, e.g. the
    embeddings of an index whose vectors did not change)."""
    try:
        before = _manifest_entries(previous) if (previous / MANIFEST).is_file() else {}
    except IndexDamaged:
        before = {}
    parts = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        st = path.stat()
        entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                 "edges_sha256": _edges_sha256(path, st.st_size)}
        old, there = before.get(path.name, {}), previous / path.name
        linked = (old.get("sha256") and old.get("size") == st.st_size
                  and old.get("mtime_ns") == st.st_mtime_ns and there.exists() and os.path.samefile(there, path))
        entry["sha256"] = old["sha256"] if linked else _sha256(path)
        parts[path.name] = entry
    return parts


def _manifest_entries(folder: Path) -> dict[str, dict]:
    """Part name -> its manifest entry (a format-1 manifest's sizes as ``{"size": n}``).

    Raises
    ------
    IndexDamaged
        The manifest is unreadable or malformed (names it).
    """
    path = folder / MANIFEST
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        entries = {str(name): (dict(entry) if isinstance(entry, dict) else {"size": entry})
                   for name, entry in files.items()}
        for entry in entries.values():
            entry["size"] = int(entry["size"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise damaged(path, exc) from None
    return entries


def _part_problem(part: Path, want: dict) -> tuple[os.stat_result | None, str | None]:
    """The cheap check of one part (there, of the recorded size, with the recorded edge bytes): its
    stat (None when it cannot be read) and what is wrong with it (None: nothing)."""
    try:
        st = part.stat()
        if st.st_size != want["size"]:
            return st, f"{st.st_size:,} bytes where the index wrote {want['size']:,}"
        if "edges_sha256" in want and _edges_sha256(part, st.st_size) != want["edges_sha256"]:
            return st, f"its first or last {EDGE_BYTES // 1024} KiB differ from what the index wrote"
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, _one_line(exc)
    return st, None


def check_manifest(folder: str | Path) -> None:
    """Check every part listed in ``folder``'s manifest, cheaply: there, of its recorded size, with its
    recorded first and last :data:`EDGE_BYTES` bytes (two reads per part, whatever its size); a part
    whose modification time is not the recorded one has its whole SHA-256 compared (and, when it
    matches, a warning suggests ``serendip index --verify``, which records the new time).

    A folder without a manifest (written before manifests existed) passes unchecked; a format-1
    manifest (sizes only) checks sizes.

    Raises
    ------
    IndexDamaged
        The manifest is unreadable, or a part is missing, has another size, other edge bytes, or
        (modified since written) another SHA-256 (names the file).
    """
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        return
    moved = []
    for name, want in _manifest_entries(folder).items():
        part = folder / name
        st, problem = _part_problem(part, want)
        if problem is not None:
            raise damaged(part, problem)
        if "mtime_ns" not in want or st.st_mtime_ns == want["mtime_ns"]:
            continue
        if not want.get("sha256") or _sha256(part) != want["sha256"]:
            raise damaged(part, "modified after the index wrote it: its SHA-256 differs")
        moved.append(name)
    if moved and (str(folder), tuple(moved)) not in _WARNED_MOVED:  # said once per process
        _WARNED_MOVED.add((str(folder), tuple(moved)))
        _log.warning("index file(s) %s in %s have another modification time than when the index wrote them "
                     "but their content is whole (SHA-256 read whole); run `serendip index --verify` to "
                     "record the new times, so that loading skips this check", ", ".join(moved), folder)


@dataclass(frozen=True, slots=True)
class PartCheck:
    """What :func:`verify_folder` found for one part: ``status`` "ok" (the whole SHA-256 matches),
    "damaged" or "unchecked" (no SHA-256 recorded: a folder written by an older Serendip);
    ``detail`` in words, never the size found (``"the index wrote 3,200 bytes"`` for a part of another
    size); ``size`` in bytes (None when missing)."""

    path: Path
    status: str
    detail: str
    size: int | None = None


def verify_folder(folder: str | Path, record_times: bool = False) -> list[PartCheck]:
    """Compare every part of an index folder with its manifest, reading each whole (SHA-256).

    Parameters
    ----------
    folder : path
        An index folder (``indexes/bm25``, ``indexes/dense``).
    record_times : bool
        When every part is whole, write the parts' current modification times into the manifest
        (atomically), so that loads skip the whole-file check of parts copied without their times.
        The caller holds the index lock.

    Returns
    -------
    list of PartCheck
        One per part, in manifest order; for a folder without a manifest, one "unchecked" entry for
        the folder.
    """
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        return [PartCheck(folder, "unchecked", "no manifest (written before manifests existed)")]
    try:
        entries = _manifest_entries(folder)
    except IndexDamaged as exc:
        return [PartCheck(folder / MANIFEST, "damaged", str(exc))]
    checks, moved = [], {}
    for name, want in entries.items():
        part = folder / name
        st, problem = _part_problem(part, want)
        if problem is not None:
            if st is not None and st.st_size != want["size"]:  # ``size`` gives the one found: not said twice
                problem = f"the index wrote {want['size']:,} bytes"
            checks.append(PartCheck(part, "damaged", problem, st.st_size if st else None))
            continue
        if not want.get("sha256"):
            checks.append(PartCheck(part, "unchecked", "no SHA-256 recorded (written by an older Serendip)",
                                    st.st_size))
        elif _sha256(part) != want["sha256"]:
            checks.append(PartCheck(part, "damaged", "its SHA-256 differs from what the index wrote",
                                    st.st_size))
        else:
            checks.append(PartCheck(part, "ok", "SHA-256 matches", st.st_size))
            if want.get("mtime_ns") != st.st_mtime_ns:
                moved[name] = st.st_mtime_ns
    if record_times and moved and all(c.status == "ok" for c in checks):
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        for name, mtime_ns in moved.items():
            manifest["files"][name]["mtime_ns"] = mtime_ns
        atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1))
    return checks


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

