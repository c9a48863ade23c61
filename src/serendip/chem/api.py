"""Train a property model on a molecule file, save it, predict with uncertainty and applicability domain.

The Python API behind ``serendip chem train | predict``::

    from serendip.chem.api import train, predict
    result = train("esol.csv", target="logS", model="serendip", split="random", seed=0, out="esol-model")
    rows, read = predict("esol-model", "library.smi")  # one dict per valid input record, in input order

A saved model is a folder: ``model.json`` (model name, task, target, seed, the split kind, seed and
sizes, validation and test metrics, the conformal calibration, members), one file per member
(:mod:`serendip.chem.persist`: forests as ``.npz`` arrays, LightGBM text, Chemprop checkpoints),
``ad.npy`` (the training fingerprints, packed bits), ``train.smi`` (training SMILES, for the nearest
neighbour of each prediction), ``train_predictions.csv`` (the training SMILES, measured value and, when
trained with ``oof_folds``, the out-of-fold prediction of :mod:`serendip.chem.crossval`) and
``test_predictions.csv`` (the test split's SMILES, measured value, prediction, spread and conformal
interval: the parity plot of :mod:`serendip.chem.report`);
``model.json`` also holds ``target_stats`` (median, sd, min, max of the training targets, which
calibrate :class:`serendip.chem.design.property.PropertyOracle`). No pickles. The folder is written to a
temporary sibling and renamed into place (:mod:`serendip.chem.folders`); an existing model folder is
replaced only with ``force``.
"""
from __future__ import annotations

import json
import math
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serendip.chem.crossval import (
    TRAIN_PREDICTIONS,
    out_of_fold,
    read_train_predictions,
    write_train_predictions,
)
from serendip.chem.folders import check_out_folder, write_folder
from serendip.chem.models import EnsembleModel, make_model, weighted_mean_sd
from serendip.chem.molecules import MoleculeIssue, MoleculeSet, read_molecules
from serendip.chem.persist import load_member, save_member
from serendip.chem.scoring import score_predictions
from serendip.chem.splits import Split, make_split
from serendip.chem.uncertainty import ApplicabilityDomain, SplitConformal
from serendip.errors import ConfigError, DataError

__all__ = ["TrainResult", "load_model", "predict", "score_predictions", "train"]

FORMAT_VERSION = 1


@dataclass
class TrainResult:
    """What :func:`train` did: ``metrics`` (``{"val": {...}, "test": {...}}``; a figure that is undefined
    on its split is None), ``undefined`` (``{"test": {"r2": "all 10 targets equal 3 (zero variance)"}}``),
    the ``split`` (kind and seed beside every figure), the input's ``issues``, ``notes`` (what was left
    out or undone and why), the ``duplicates`` count, ``folder`` (None when not saved), ``wall_s`` and
    ``read``, the :class:`MoleculeSet` read (its ``duplicates`` and each molecule's ``changes``)."""

    model: str
    task: str
    target: str
    split: Split
    metrics: dict[str, dict[str, float | None]]
    issues: list[MoleculeIssue]
    notes: list[str]
    n_molecules: int
    n_duplicates: int
    folder: Path | None
    wall_s: float
    fitted: object = field(repr=False, default=None)
    undefined: dict[str, dict[str, str]] = field(default_factory=dict)
    read: MoleculeSet | None = field(repr=False, default=None)
    train_oof: np.ndarray | None = field(repr=False, default=None)


def _shown(path) -> str:
    """``path`` as a user wrote it (one path, or several joined by commas), not a Python list."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    return ", ".join(str(p) for p in paths)


def _where(sources) -> str:
    return ", ".join(f"{Path(f).name} line {line}" for f, line, _ in sources[:4]) + (" ..." if len(sources) > 4 else "")


def _none_read(ms: MoleculeSet, shown: str) -> None:
    if ms.records == 0:
        raise DataError(f"{shown}: no records (the file is empty, or holds only a header or blank lines)")


def _labelled(ms: MoleculeSet, target: str, task: str | None, shown: str) -> tuple[list, str, list[str]]:
    """The molecules to train on, the task and notes for the user: molecules without a finite value in
    ``target`` are left out and named; the task is classification when every value *as read* (before
    duplicates are averaged) is 0 or 1; in classification, a molecule whose copies carry both labels is
    left out and named (its mean is not a class), and any other value is an error.

    Raises
    ------
    DataError
        Fewer than 20 molecules left; classification asked for on values other than 0 and 1.
    """
    notes: list[str] = []
    missing = [m for m in ms.molecules if not math.isfinite(m.values.get(target, math.nan))]
    if missing:
        notes.append(f"{len(missing)} molecule(s) have no value in '{target}' and are left out: "
                     + "; ".join(f"{m.name} ({_where(m.sources)})" for m in missing[:5]) + (" ..." if len(missing) > 5 else ""))
    keep = [m for m in ms.molecules if math.isfinite(m.values.get(target, math.nan))]
    raw = {m.inchikey: [m.values[target]] for m in keep}
    for d in ms.duplicates:
        if d.inchikey in raw:
            raw[d.inchikey] = [v for v in d.values.get(target, []) if math.isfinite(v)] or raw[d.inchikey]
    binary = bool(raw) and all(set(vs) <= {0.0, 1.0} for vs in raw.values())
    task = task or ("classification" if binary else "regression")
    if task == "classification":
        if not all(set(vs) <= {0.0, 1.0} for vs in raw.values()):
            odd = next(v for vs in raw.values() for v in vs if v not in (0.0, 1.0))
            raise DataError(f"{shown}: classification needs labels 0 and 1 in '{target}'; it holds {odd:g}")
        mixed = [m for m in keep if len(set(raw[m.inchikey])) > 1]
        if mixed:
            notes.append(f"{len(mixed)} molecule(s) carry both labels 0 and 1 in their copies and are left out: "
                         + "; ".join(f"{m.name} ({_where(m.sources)})" for m in mixed[:5])
                         + (" ..." if len(mixed) > 5 else ""))
            keep = [m for m in keep if len(set(raw[m.inchikey])) == 1]
    if len(keep) < 20:
        first = f"; the first left out: {ms.issues[0]}" if ms.issues else ""
        raise DataError(f"{shown}: {len(keep)} molecules with a usable value in '{target}' (of {ms.records} "
                        f"records, {len(ms.issues)} left out{first}); at least 20 are needed")
    return keep, task, notes


def _spread(model, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(model, EnsembleModel) or hasattr(model, "predict_with_spread"):
        return model.predict_with_spread(smiles)
    return model.predict(smiles), None


def train(path: str | Path | Sequence[str | Path], target: str, *, model: str = "serendip",
          task: str | None = None, split: str = "random", seed: int = 0, alpha: float = 0.1,
          out: str | Path | None = None, force: bool = False, oof_folds: int = 0, **read_options) -> TrainResult:
    """Read, standardise and deduplicate molecules, split, fit ``model``, calibrate, score, save.

    Parameters
    ----------
    path : path or paths
        Molecule files (:func:`~serendip.chem.molecules.read_molecules`) holding column ``target``.
    target : str
        The value column (a header name; an SD field for SDF).
    model : str, default "serendip"
        A :data:`~serendip.chem.models.PROPERTY_MODELS` name.
    task : {"regression", "classification"}, optional
        Default: classification when every value is 0 or 1.
    split : str, default "random"
        A :data:`~serendip.chem.splits.SPLITTERS` name (80/10/10).
    seed : int, default 0
        Seeds the split and the model.
    alpha : float, default 0.1
        Conformal miscoverage (regression): intervals aim at 1 - alpha coverage.
    out : path, optional
        Folder to save the model in: missing or empty (checked before any work), written whole or not at
        all (a temporary folder renamed into place).
    force : bool, default False
        Replace ``out`` when it already holds a model (a folder with ``model.json``); any other
        non-empty folder is never replaced.
    oof_folds : int, default 0
        When 2 or more: also predict every training molecule out of fold (``oof_folds``-fold, a model per
        fold; :func:`serendip.chem.crossval.out_of_fold`), kept in ``train_oof``, scored as
        ``metrics["train_oof"]`` and saved in ``train_predictions.csv``. Costs ``oof_folds`` more fits.

    Returns
    -------
    TrainResult

    Raises
    ------
    DataError
        Fewer than 20 molecules with a value, a split part left empty (a scaffold split of few
        scaffolds), a file that cannot be read or holds no record, or ``out`` already holding a model
        (without ``force``), other files, or unwritable.
    ConfigError
        Unknown model, split or task; ``oof_folds`` of 1 or above the training molecules (before any fit).
    """
    t0 = time.perf_counter()
    check_task(task)
    if out is not None:
        check_out_folder(out, force)
    ms: MoleculeSet = read_molecules(path, value_columns=[target], **read_options)
    _none_read(ms, _shown(path))
    keep, task, notes = _labelled(ms, target, task, _shown(path))
    smiles = [m.smiles for m in keep]
    y = np.array([m.values[target] for m in keep], dtype=np.float64)
    sp = make_split(split, smiles, seed=seed, **({"y": y} if split == "stratified" else {}))
    empty = [part for part in ("train", "val", "test") if len(getattr(sp, part)) == 0]
    if empty:
        raise DataError(f"{_shown(path)}: the {split} split (seed {seed}) of {len(smiles)} molecules leaves "
                        f"{' and '.join(empty)} empty; use another split or more molecules")
    if oof_folds and not 2 <= oof_folds <= len(sp.train):  # before any fit, not after the main one
        raise ConfigError(f"out-of-fold predictions need 2 <= folds <= {len(sp.train)} (the training molecules "
                          f"of the {split} split of {len(smiles)}); got {oof_folds}")
    pick = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    fitted = make_model(model, task, seed).fit(pick(sp.train), y[sp.train], pick(sp.val), y[sp.val])
    metrics, undefined, conformal, parity = {}, {}, None, None
    train_oof = None
    if oof_folds:
        train_oof = out_of_fold(model, task, pick(sp.train), y[sp.train], folds=oof_folds, seed=seed,
                                val_smiles=pick(sp.val), val_y=y[sp.val])
        metrics["train_oof"], undefined["train_oof"] = score_predictions(task, y[sp.train], train_oof)
    for part in ("val", "test"):
        idx = getattr(sp, part)
        pred, sigma = _spread(fitted, pick(idx))
        metrics[part], undefined[part] = score_predictions(task, y[idx], pred)
        notes += [f"{part} {name} is undefined on the {split} split (seed {seed}): {why}"
                  for name, why in undefined[part].items()]
        if part == "test":
            parity = (pick(idx), y[idx], pred, sigma)
        if task == "regression" and part == "val":
            if len(idx) + 1 < math.ceil(1 / alpha):
                notes.append(f"no conformal intervals: {len(idx)} validation molecules, {math.ceil(1 / alpha) - 1} "
                             f"needed for alpha={alpha}")
            else:
                conformal = SplitConformal(alpha).fit(y[idx], pred, sigma)
        elif conformal is not None:
            lo, hi = conformal.interval(pred, sigma)
            parity = (*parity, lo, hi)
            metrics[part][f"conformal{round(100 * (1 - alpha))}_coverage"] = float(np.mean((y[idx] >= lo) & (y[idx] <= hi)))
    result = TrainResult(model, task, target, sp, metrics, ms.issues, notes, len(keep), len(ms.duplicates), None,
                         time.perf_counter() - t0, fitted, undefined, ms, train_oof)
    if out is not None:
        check_out_folder(out, force)  # again: the folder may have appeared while the model trained
        result.folder = write_folder(out, lambda tmp: _save(tmp, result, pick(sp.train), conformal, y[sp.train],
                                                            parity))
    return result


def _write_test_predictions(path: Path, parity: tuple) -> None:
    """``test_predictions.csv``: smiles, measured, prediction, sd, lower, upper of the test split (the
    parity plot of :mod:`serendip.chem.report`); empty fields where a value is undefined."""
    import csv

    smiles, y, pred, sigma = parity[:4]
    n = len(smiles)
    nan = np.full(n, np.nan)
    lo, hi = parity[4:6] if len(parity) == 6 else (nan, nan)
    sd = nan if sigma is None else sigma
    cell = lambda v: "" if not math.isfinite(v) else repr(float(v))  # noqa: E731
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["smiles", "measured", "prediction", "sd", "lower", "upper"])
        w.writerows([smiles[i], cell(y[i]), cell(pred[i]), cell(sd[i]), cell(lo[i]), cell(hi[i])] for i in range(n))


def _save(folder: Path, result: TrainResult, train_smiles: list[str], conformal: SplitConformal | None,
          train_y: np.ndarray | None = None, parity: tuple | None = None) -> Path:
    fitted = result.fitted
    members = fitted.members if isinstance(fitted, EnsembleModel) else [fitted]
    entries = [save_member(m, folder, i) for i, m in enumerate(members)]
    ad = ApplicabilityDomain().fit(train_smiles)
    np.save(folder / "ad.npy", ad.to_bits())
    (folder / "train.smi").write_text("\n".join(train_smiles) + "\n")
    if train_y is not None:
        write_train_predictions(folder / TRAIN_PREDICTIONS, train_smiles, train_y, result.train_oof)
        meta_extra = {"train_predictions": TRAIN_PREDICTIONS}
    else:
        meta_extra = {}
    sp = result.split
    meta = {"format": FORMAT_VERSION, "model": result.model, "task": result.task, "target": result.target,
            "split": {"kind": sp.kind, "seed": sp.seed, "n_train": len(sp.train), "n_val": len(sp.val),
                      "n_test": len(sp.test)},
            "metrics": result.metrics, "undefined": result.undefined, "members": entries,
            "conformal": conformal.to_json() if conformal is not None else None,
            "ad": {"fingerprint": "morgan", "radius": ad.radius, "n_bits": ad.n_bits, "file": "ad.npy"}, **meta_extra}
    if getattr(fitted, "weights_", None) is not None:
        meta["weights"] = [float(w) for w in fitted.weights_]
    if train_y is not None and len(train_y):
        meta["target_stats"] = {"median": float(np.median(train_y)), "sd": float(np.std(train_y)),
                                "min": float(np.min(train_y)), "max": float(np.max(train_y)), "n": len(train_y)}
    if parity is not None:
        _write_test_predictions(folder / "test_predictions.csv", parity)
        meta["test_predictions"] = "test_predictions.csv"
    (folder / "model.json").write_text(json.dumps(meta, indent=1))
    return folder


@dataclass
class LoadedModel:
    """A model folder read back: ``meta`` (model.json), ``members``, ``conformal``, ``ad``, ``train_smiles``,
    ``folder``."""

    meta: dict
    members: list
    conformal: SplitConformal | None
    ad: ApplicabilityDomain
    train_smiles: list[str]
    folder: Path | None = None

    def predict(self, smiles: Sequence[str]) -> dict[str, np.ndarray]:
        """Columns of shape (n,): ``prediction``, ``sd`` (member spread; NaN for one member), ``lower`` /
        ``upper`` (conformal, regression; else NaN), ``ad_max_tanimoto``, ``nearest_train`` (index)."""
        memo: dict[str, np.ndarray] = {}                      # each feature block computed once per call
        p = np.stack([m.predict(smiles, memo) for m in self.members])
        mean, sd = weighted_mean_sd(p, self.meta.get("weights"))
        sd = sd if len(p) > 1 else np.full(p.shape[1], np.nan)
        lo = hi = np.full_like(mean, np.nan)
        if self.conformal is not None:
            lo, hi = self.conformal.interval(mean, sd if self.conformal.beta_ is not None else None)
        sim, nearest = self.ad.score(smiles)
        return {"prediction": mean, "sd": sd, "lower": lo, "upper": hi, "ad_max_tanimoto": sim,
                "nearest_train": nearest}

    def train_values(self) -> dict[str, np.ndarray]:
        """``measured`` and ``out_of_fold`` (NaN where not computed) of each training molecule, shape (n,)
        each, float64, in :attr:`train_smiles` order (:func:`serendip.chem.crossval.read_train_predictions`)."""
        return read_train_predictions(self.folder, self.meta, self.train_smiles)


def load_model(folder: str | Path) -> LoadedModel:
    """Read a folder written by :func:`train` (``out=``).

    Raises
    ------
    DataError
        No ``model.json``, another format version, or a member file missing.
    """
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise DataError(f"{folder}: no model.json; train one with `serendip chem train ... --out {folder}`")
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise DataError(f"{meta_path}: format {meta.get('format')}, this Serendip reads {FORMAT_VERSION}")
        members = [load_member(e, folder, meta["task"]) for e in meta["members"]]
        conformal = SplitConformal.from_json(meta["conformal"]) if meta.get("conformal") else None
        ad_meta = meta["ad"]
        ad = ApplicabilityDomain.from_bits(np.load(folder / ad_meta["file"], allow_pickle=False), ad_meta["radius"],
                                           ad_meta["n_bits"])
        train_smiles = (folder / "train.smi").read_text().split()
        if len(train_smiles) != len(ad.train_):
            raise ValueError(f"train.smi holds {len(train_smiles)} molecules, the applicability domain "
                             f"{len(ad.train_)}")
    except DataError:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError, zipfile.BadZipFile) as exc:
        raise DataError(f"{folder}: the model folder is damaged ({type(exc).__name__}: {exc}); train the model "
                        f"again") from None
    return LoadedModel(meta, members, conformal, ad, train_smiles, folder)


def predict(model: str | Path | LoadedModel, path: str | Path | Sequence[str | Path],
            **read_options) -> tuple[list[dict], MoleculeSet]:
    """Predict every valid record of ``path`` with a saved model: one row per record, in input order.

    Records are not merged: a molecule given twice (two lines with one parent InChIKey, a salt and its
    free base) gets a row for each line, the later ones flagged with ``duplicate_of`` (the first
    line's ``"<file> line <n>"``); its prediction is the same. Invalid records get no row: they are the
    returned set's ``issues`` (file, line, name, SMILES, reason).

    Returns
    -------
    (list of dict, MoleculeSet)
        Per valid record: ``file``, ``line``, ``name``, ``input_smiles`` (as written), ``smiles`` (the
        standardised parent), ``inchikey``, ``changes`` (what standardisation did, ``"; "``-joined, ""
        if nothing), ``duplicate_of`` ("" for a first appearance), ``prediction``, ``sd``, ``lower``,
        ``upper`` (float; NaN where undefined), ``ad_max_tanimoto`` and ``nearest_train_smiles``; and
        the set read with ``merge=False`` (``issues``; ``duplicates``, the groups of records sharing a
        parent).

    Raises
    ------
    DataError
        Unreadable model folder or file; no record, or no valid molecule, in ``path``.
    """
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    ms = read_molecules(path, merge=False, **read_options)
    _none_read(ms, _shown(path))
    if not ms.molecules:
        raise DataError(f"{_shown(path)}: no valid molecule to predict (all {len(ms.issues)} records left out; "
                        f"the first: {ms.issues[0]})")
    first: dict[str, int] = {}
    for i, m in enumerate(ms.molecules):
        first.setdefault(m.inchikey, i)
    unique = list(first.values())
    cols = loaded.predict([ms.molecules[i].smiles for i in unique])
    at = {ms.molecules[i].inchikey: k for k, i in enumerate(unique)}
    rows = []
    for i, m in enumerate(ms.molecules):
        k, f = at[m.inchikey], ms.molecules[first[m.inchikey]]
        row = {"file": m.file, "line": m.line, "name": m.name, "input_smiles": m.input_smiles, "smiles": m.smiles,
               "inchikey": m.inchikey, "changes": "; ".join(m.changes),
               "duplicate_of": "" if first[m.inchikey] == i else f"{f.file} line {f.line}"}
        row.update({c: float(cols[c][k]) for c in ("prediction", "sd", "lower", "upper", "ad_max_tanimoto")})
        row["nearest_train_smiles"] = loaded.train_smiles[int(cols["nearest_train"][k])]
        rows.append(row)
    return rows, ms


def check_task(task: str | None) -> None:
    """Raise :class:`ConfigError` for a task that is neither None, ``regression`` nor ``classification``."""
    if task not in (None, "regression", "classification"):
        raise ConfigError(f"task must be one of: regression, classification; got: {task}")
