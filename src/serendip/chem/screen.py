"""Screen a molecule library with a trained property model: stream, standardise, predict, filter, keep the
best, resume after a kill, pick a diverse subset (issue 18, item 8).

    from serendip.chem.screen import ScreenFilters, screen_library
    report = screen_library("esol-model", ["library.smi.gz"], "screen-out", top_k=1000, diverse=50,
                            filters=ScreenFilters(no_pains=True, min_ad=0.3))

The library is read in chunks of ``chunk_size`` records (:mod:`serendip.chem.screen_io`); each line is
parsed and standardised as ``chem train`` reads molecules (:mod:`serendip.chem.standardize`); a line that
fails goes to ``issues.csv`` (file, line, name, SMILES, reason) and the run goes on. A molecule whose
parent InChIKey an earlier line already gave is a *duplicate*: not scored again, counted, and listed in
``duplicates.csv`` (file, line, name, SMILES, InChIKey). The best ``top_k`` molecules are kept in a heap,
so memory does not grow with the library (except 8 bytes per unique molecule for the duplicate check).

A checkpoint is written atomically at the start and after every chunk (``checkpoint.json``: file, byte
offset and line reached, counts, the current top-k, and the sizes of the append-only side files). A run
killed, or stopped by Ctrl-C (KeyboardInterrupt, raised promptly even inside RDKit:
:func:`serendip.chem.standardize.python_sigint`), at any moment and started again with ``resume=True``
(the default) cuts the side files back to the checkpoint, seeks to the recorded offset and goes on; the
result equals an uninterrupted run's, because each step is deterministic and order-preserving (ties are
broken by line order). Settings that would change the
result (model, library files, filters, top_k, direction, ranking column) must match, or the resume is
refused. While a run goes on it holds an ``flock`` on ``out/.screen.lock``: a second run on the same
folder is refused (:func:`serendip.chem.screen_io.lock_folder`).

Outputs in ``out``: ``candidates.csv`` / ``candidates.sdf`` (best first: rank, name, parent SMILES,
input SMILES, InChIKey, file, line, what standardisation changed, prediction, sd, conformal lower/upper,
ad_max_tanimoto, nearest training SMILES, QED, MW, logP, PAINS/Brenk alerts, rule-of-five violations,
diverse_pick), ``diverse.csv`` (the MaxMin picks in pick order), ``issues.csv``, ``duplicates.csv``,
``report.json`` (counts, rates, settings).

Diversity: RDKit's MaxMin picker (Ashton et al. 2002, QSAR 21:598; ``rdkit.SimDivFilters.MaxMinPicker.
LazyBitVectorPick``) on Morgan fingerprints (radius 2, 2,048 bits, Tanimoto distance) over the ranked
top-k, seeded with the best-ranked molecule, so the picks are the best candidate and then, each time,
the one farthest from those already picked.
"""
from __future__ import annotations

import csv
import hashlib
import heapq
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from serendip.chem.screen_filters import FILTER_ORDER, ScreenFilters
from serendip.chem.screen_io import (
    LOCK_NAME,
    LibraryRecord,
    SeenKeys,
    detect_format,
    file_identity,
    iter_records,
    key_digest,
    lock_folder,
    text_size,
    truncate_to,
    write_json_atomic,
)
from serendip.chem.standardize import parse_smiles, python_sigint
from serendip.errors import ConfigError, DataError

__all__ = ["RANK_BY", "ScreenFilters", "ScreenReport", "screen_library"]

CHECKPOINT_VERSION = 1
#: Columns a run may rank by: the prediction, or a bound of its conformal interval.
RANK_BY = ("prediction", "lower", "upper")
_ROW = ("seq", "file", "line", "name", "input_smiles", "smiles", "inchikey", "changes", "prediction", "sd",
        "lower", "upper", "ad_max_tanimoto", "nearest_train")
_SIDE = {"issues": ("issues.csv", ["file", "line", "name", "smiles", "reason"]),
         "duplicates": ("duplicates.csv", ["file", "line", "name", "smiles", "inchikey"])}


@dataclass
class ScreenReport:
    """What :func:`screen_library` did.

    Attributes
    ----------
    counts : dict of str to int
        ``lines`` read (every physical line), ``blank``, ``header``, ``records`` (the other lines),
        ``invalid`` (records in issues.csv), ``duplicates``, ``unique`` (valid, first of their InChIKey),
        ``passed`` (unique molecules that passed every filter), ``kept`` (in the ranked output: at most
        ``top_k``).
    filtered : dict of str to int
        Molecules left out per filter (counted under the first filter failed, :data:`FILTER_ORDER`).
    candidates : list of dict
        The ranked output rows (best first), as written to candidates.csv.
    wall_s, lines_per_s : float
        Seconds of this call and lines read per second in it (NaN when nothing was read: a finished run
        only rewrote its outputs); ``total_wall_s`` sums every session of the run.
    resumed_at_line : int or None
        Lines already done when this call resumed a checkpoint (None: a fresh run).
    outputs : dict of str to Path
        ``candidates_csv``, ``candidates_sdf`` (when written), ``diverse_csv`` (when asked), ``issues_csv``,
        ``duplicates_csv``, ``report_json``, ``checkpoint``.
    """

    counts: dict[str, int]
    filtered: dict[str, int]
    candidates: list[dict]
    wall_s: float
    lines_per_s: float
    total_wall_s: float
    resumed_at_line: int | None
    outputs: dict[str, Path]
    settings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"counts": self.counts, "filtered": self.filtered, "wall_s": round(self.wall_s, 3),
                "lines_per_s": None if math.isnan(self.lines_per_s) else round(self.lines_per_s, 1),
                "total_wall_s": round(self.total_wall_s, 3), "resumed_at_line": self.resumed_at_line,
                "outputs": {k: str(v) for k, v in self.outputs.items()}, "settings": self.settings}


def _model_digest(loaded) -> str:
    return hashlib.sha256(json.dumps(loaded.meta, sort_keys=True).encode()).hexdigest()[:16]


def _check_args(loaded, top_k: int, chunk_size: int, diverse: int, rank_by: str, filters: ScreenFilters) -> None:
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1; got: {top_k}")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1; got: {chunk_size}")
    if not 0 <= diverse <= top_k:
        raise ConfigError(f"diverse must be between 0 and top_k ({top_k}); got: {diverse}")
    if rank_by not in RANK_BY:
        raise ConfigError(f"rank_by must be one of: {', '.join(RANK_BY)}; got: {rank_by!r}")
    if rank_by != "prediction" and loaded.conformal is None:
        raise ConfigError(f"rank_by={rank_by!r} needs conformal intervals; this model has none "
                          f"({loaded.meta.get('task')} model); rank by prediction")
    if filters.max_sd is not None and len(loaded.members) < 2:
        raise ConfigError("filter max_sd needs an ensemble model (several members); this model has one")


def _fresh_state(n_files: int) -> dict:
    counts = dict.fromkeys(("lines", "blank", "header", "records", "invalid", "duplicates", "unique", "passed"), 0)
    return {"file": 0, "offset": 0, "line": 0, "seq": 0, "counts": counts,
            "filtered": dict.fromkeys(FILTER_ORDER, 0), "heap": [], "sizes": {}, "wall_s": 0.0, "done": False,
            "n_files": n_files}


def _start(out: Path, settings: dict, resume: bool) -> tuple[dict, bool]:
    """The state to run from (a checkpoint's, or fresh with empty side files) and whether it resumed."""
    ckpt = out / "checkpoint.json"
    if resume and ckpt.is_file():
        saved = json.loads(ckpt.read_text(encoding="utf-8"))
        if saved.get("version") != CHECKPOINT_VERSION:
            raise ConfigError(f"{ckpt}: checkpoint version {saved.get('version')!r}; screen again with resume=False")
        diff = [k for k in settings if saved["settings"].get(k) != settings[k]]
        if diff:
            raise ConfigError(f"{ckpt}: the run there used other settings ({', '.join(diff)}); use another output "
                              f"folder, the same settings, or resume=False to start again")
        state = saved["state"]
        for side, (name, _) in _SIDE.items():
            truncate_to(out / name, state["sizes"][side])
        return state, True
    state = _fresh_state(len(settings["files"]))
    for side, (name, header) in _SIDE.items():
        with (out / name).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow(header)
        state["sizes"][side] = (out / name).stat().st_size
    state["sizes"]["seen"] = 0
    write_json_atomic(ckpt, {"version": CHECKPOINT_VERSION, "settings": settings, "state": state})  # resumable now
    return state, False


def _flush_side(out: Path, side: str, rows: list[list], state: dict) -> None:
    if rows:
        with (out / _SIDE[side][0]).open("a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    state["sizes"][side] = (out / _SIDE[side][0]).stat().st_size


class _Screener:
    """One run's per-chunk work: parse, standardise, deduplicate, filter, predict, keep the top-k."""

    def __init__(self, loaded, files: list[Path], state: dict, seen: SeenKeys, filters: ScreenFilters,
                 top_k: int, maximize: bool, rank_by: str, tautomer: bool):
        from serendip.chem.standardize import Standardizer

        self.loaded, self.files, self.state, self.seen = loaded, files, state, seen
        self.filters, self.top_k, self.sign, self.rank_by = filters, top_k, 1.0 if maximize else -1.0, rank_by
        self.std = Standardizer(tautomer=tautomer)

    def chunk(self, records: list[LibraryRecord]) -> tuple[list[list], list[list]]:
        """Screen ``records`` in order; returns the issues.csv and duplicates.csv rows they gave."""
        st, counts = self.state, self.state["counts"]
        issues, dups, cands = [], [], []
        for rec in records:
            seq = st["seq"]
            st["seq"] += 1
            where = [str(self.files[rec.file]), rec.line, rec.name, rec.smiles]
            with python_sigint():  # RDKit may take Ctrl-C over (serendip.chem.standardize); give it back
                mol, reason = (None, rec.error) if rec.error else parse_smiles(rec.smiles)
                parent = None
                if mol is not None:
                    try:
                        parent = self.std(mol)
                    except Exception as exc:  # RDKit failing inside MolStandardize (not Ctrl-C): report, go on
                        reason = f"standardisation failed: {exc}"
            if parent is None:
                issues.append(where + [reason or "?"])
                continue
            digest = key_digest(parent.inchikey)
            if digest in self.seen:
                dups.append(where + [parent.inchikey])
                continue
            self.seen.add(digest)
            counts["unique"] += 1
            with python_sigint():
                failed = self.filters.before_prediction(parent.mol)
            if failed:
                st["filtered"][failed] += 1
                continue
            cands.append((seq, rec, parent, where))
        if cands:
            cols = self.loaded.predict([p.smiles for _, _, p, _ in cands])
            for i, (seq, rec, parent, where) in enumerate(cands):
                self._keep(i, seq, rec, parent, where, cols, issues)
        counts["invalid"] += len(issues)
        counts["duplicates"] += len(dups)
        return issues, dups

    def _keep(self, i, seq, rec, parent, where, cols, issues) -> None:
        pred, sd, ad = float(cols["prediction"][i]), float(cols["sd"][i]), float(cols["ad_max_tanimoto"][i])
        value = float(cols[self.rank_by][i])
        if not math.isfinite(pred) or not math.isfinite(value):
            issues.append(where + [f"the model gave no finite {self.rank_by} ({value})"])
            self.state["counts"]["unique"] -= 1
            return
        with python_sigint():
            failed = self.filters.after_prediction(parent.mol, pred, sd, ad)
        if failed:
            self.state["filtered"][failed] += 1
            return
        self.state["counts"]["passed"] += 1
        row = [seq, rec.file, rec.line, rec.name, rec.smiles, parent.smiles, parent.inchikey, "; ".join(parent.changes),
               pred, sd, float(cols["lower"][i]), float(cols["upper"][i]), ad, int(cols["nearest_train"][i])]
        entry = [self.sign * value, -seq, row]
        heap = self.state["heap"]
        if len(heap) < self.top_k:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)


def screen_library(model, library: str | Path | Sequence[str | Path], out: str | Path, *, top_k: int = 1000,
                   chunk_size: int = 5000, filters: ScreenFilters | None = None, maximize: bool = True,
                   rank_by: str = "prediction", diverse: int = 0, resume: bool = True,
                   smiles_column: str | None = None, name_column: str | None = None, tautomer: bool = False,
                   write_sdf: bool = True, progress: Callable[[dict], None] | None = None) -> ScreenReport:
    """Rank a SMILES library by a saved property model's prediction; see the module docstring.

    Parameters
    ----------
    model : path or LoadedModel
        A folder written by :func:`serendip.chem.api.train` (``out=``), or the model loaded.
    library : path or paths
        SMILES files (``.smi``/``.csv``/``.tsv``/``.txt``, optionally gzipped; header or not; tab, comma or
        whitespace; format rules of :func:`serendip.chem.screen_io.detect_format`).
    out : path
        Output folder (created). Holds the checkpoint while the run goes on.
    top_k : int, default 1000
        Molecules kept in the ranking.
    chunk_size : int, default 5000
        Records per chunk: predicted together, one checkpoint each. Does not change the result.
    filters : ScreenFilters, optional
        Default: none.
    maximize : bool, default True
        Rank the highest value first (False: the lowest).
    rank_by : {"prediction", "lower", "upper"}
        Rank by the prediction or by a bound of its conformal interval (regression models; ``"lower"``
        with ``maximize`` ranks by the pessimistic bound).
    diverse : int, default 0
        MaxMin picks from the ranked top-k (0: none); written to ``diverse.csv`` and the ``diverse_pick``
        column.
    resume : bool, default True
        Go on from ``out/checkpoint.json`` when there is one (False: start again, overwriting).
    smiles_column, name_column : str, optional
        Header names of the SMILES and name columns (default: found by name).
    tautomer : bool, default False
        Also canonicalise tautomers (slow).
    write_sdf : bool, default True
        Also write ``candidates.sdf``.
    progress : callable, optional
        Called after each chunk's checkpoint with ``{"lines", "records", "unique", "invalid", "duplicates",
        "passed", "fraction" (of the library's bytes, 0-1), "elapsed_s"}``. An exception it raises stops
        the run after that checkpoint (a later call resumes).

    Returns
    -------
    ScreenReport

    Raises
    ------
    ConfigError
        A bad argument, an SDF library, or a checkpoint in ``out`` from a run with other settings.
    DataError
        The model folder or a library file cannot be read, the first lines of a file are not UTF-8,
        ``out`` holds other files and no screening checkpoint (a screening folder is never mixed with
        others), or another run holds ``out``'s lock (:func:`~serendip.chem.screen_io.lock_folder`).
    KeyboardInterrupt
        Ctrl-C (raised promptly, also inside RDKit standardisation): the last checkpoint stays, and a
        later call with the same ``out`` resumes from it.
    """
    from serendip.chem.api import LoadedModel, load_model

    t0 = time.perf_counter()
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    filters = filters or ScreenFilters()
    _check_args(loaded, top_k, chunk_size, diverse, rank_by, filters)
    files = [Path(p) for p in ([library] if isinstance(library, (str, Path)) else library)]
    if not files:
        raise ConfigError("no library file given")
    settings = {"model": _model_digest(loaded), "files": [file_identity(p) for p in files], "top_k": top_k,
                "filters": filters.to_json(), "maximize": maximize, "rank_by": rank_by, "tautomer": tautomer,
                "smiles_column": smiles_column, "name_column": name_column}
    formats = [detect_format(p, smiles_column=smiles_column, name_column=name_column) for p in files]
    out = Path(out)
    fresh = not (out / LOCK_NAME).exists()
    lock = lock_folder(out)  # DataError while another run writes out
    try:
        if any(p.name != LOCK_NAME for p in out.iterdir()) and not (out / "checkpoint.json").is_file():
            if fresh:
                (out / LOCK_NAME).unlink(missing_ok=True)
            raise DataError(f"{out}: the folder holds other files and no screening checkpoint; give a new or "
                            f"empty output folder")
        state, resumed = _start(out, settings, resume)
        return _run(loaded, files, formats, out, settings, state, resumed, t0, filters=filters,
                    chunk_size=chunk_size, diverse=diverse, write_sdf=write_sdf, progress=progress)
    finally:
        lock.close()


def _run(loaded, files: list[Path], formats: list, out: Path, settings: dict, state: dict, resumed: bool,
         t0: float, *, filters: ScreenFilters, chunk_size: int, diverse: int, write_sdf: bool, progress
         ) -> ScreenReport:
    """Screen from ``state`` to the end (checkpointing every chunk), then write the outputs."""
    at_line = state["counts"]["lines"] if resumed else None
    seen = SeenKeys(out / "seen.u64", state["sizes"]["seen"])
    screener = _Screener(loaded, files, state, seen, filters, settings["top_k"],
                         settings["maximize"], settings["rank_by"], settings["tautomer"])
    lines_before, sizes = state["counts"]["lines"], [text_size(p) for p in files]
    t_run = time.perf_counter()

    def checkpoint(records: list[LibraryRecord], file_idx: int, offset: int, line: int) -> None:
        issues, dups = screener.chunk(records)
        _flush_side(out, "issues", issues, state)
        _flush_side(out, "duplicates", dups, state)
        state["sizes"]["seen"] = seen.flush()
        state.update(file=file_idx, offset=offset, line=line)
        state["wall_s"] += time.perf_counter() - checkpoint.t
        checkpoint.t = time.perf_counter()
        write_json_atomic(out / "checkpoint.json", {"version": CHECKPOINT_VERSION, "settings": settings,
                                                    "state": state})
        if progress is not None:
            done = sum(sizes[:file_idx]) + min(offset, sizes[file_idx] if file_idx < len(sizes) else 0)
            progress({**{k: state["counts"][k] for k in ("lines", "records", "unique", "invalid", "duplicates",
                                                          "passed")},
                      "fraction": min(1.0, done / max(1, sum(sizes))), "elapsed_s": time.perf_counter() - t0})

    checkpoint.t = t_run
    for i in range(state["file"], len(files)):
        if state["done"]:
            continue
        chunk: list[LibraryRecord] = []
        offset = line = 0
        for rec, offset, line in iter_records(files[i], formats[i], state, i, state["counts"]):
            chunk.append(rec)
            if len(chunk) >= chunk_size:
                checkpoint(chunk, i, offset, line)
                chunk = []
        checkpoint(chunk, i + 1, 0, 0)
    state["done"] = True
    write_json_atomic(out / "checkpoint.json", {"version": CHECKPOINT_VERSION, "settings": settings, "state": state})
    read = state["counts"]["lines"] - lines_before
    run_s = time.perf_counter() - t_run
    from serendip.chem.screen_out import write_outputs

    rows, outputs = write_outputs(loaded, files, state["heap"], out, diverse, write_sdf)
    counts = {**state["counts"], "kept": len(rows)}
    outputs.update(issues_csv=out / "issues.csv", duplicates_csv=out / "duplicates.csv",
                   report_json=out / "report.json", checkpoint=out / "checkpoint.json")
    report = ScreenReport(counts, dict(state["filtered"]), rows, time.perf_counter() - t0,
                          read / run_s if read and run_s > 0 else math.nan, state["wall_s"], at_line, outputs,
                          {**settings, "diverse": diverse, "chunk_size": chunk_size})
    write_json_atomic(out / "report.json", report.to_json())
    return report
