"""The ranked outputs of a screening run: ``candidates.csv``, ``candidates.sdf``, ``diverse.csv``.

Each file is written to a temporary name and renamed into place, so a kill while writing leaves the
previous file or none. Diversity picking: RDKit's MaxMin (Ashton et al. 2002, Quant. Struct.-Act.
Relat. 21:598; ``rdkit.SimDivFilters.MaxMinPicker.LazyBitVectorPick``) on Morgan fingerprints (radius 2,
2,048 bits; Tanimoto distance), seeded with the best-ranked molecule.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from serendip.chem.screen_filters import candidate_extras

__all__ = ["CANDIDATE_COLUMNS", "maxmin_pick", "write_outputs"]

#: Columns of candidates.csv / diverse.csv (and SD fields of candidates.sdf), in order.
CANDIDATE_COLUMNS = ("rank", "name", "smiles", "input_smiles", "inchikey", "file", "line", "changes",
                     "prediction", "sd", "lower", "upper", "ad_max_tanimoto", "nearest_train_smiles", "qed",
                     "mw", "logp", "pains", "brenk", "lipinski_violations", "diverse_pick")


def maxmin_pick(smiles: list[str], n: int) -> list[int]:
    """Indices of ``n`` mutually dissimilar molecules of ``smiles`` (MaxMin, starting from index 0), in
    pick order; all of them when ``n >= len(smiles)``. Deterministic (fixed first pick and seed 0)."""
    if n <= 0 or not smiles:
        return []
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.SimDivFilters import MaxMinPicker

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    n = min(n, len(fps))
    if n == 1:
        return [0]
    return list(MaxMinPicker().LazyBitVectorPick(fps, len(fps), n, firstPicks=[0], seed=0))


def _cell(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return "" if v is None else str(v)


def _replace_csv(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CANDIDATE_COLUMNS)
        w.writeheader()
        w.writerows({k: _cell(r[k]) for k in CANDIDATE_COLUMNS} for r in rows)
    os.replace(tmp, path)


def _write_sdf(path: Path, rows: list[dict]) -> None:
    from rdkit import Chem

    tmp = path.with_name(f".{path.name}.tmp")
    writer = Chem.SDWriter(str(tmp))
    for r in rows:
        mol = Chem.MolFromSmiles(r["smiles"])
        mol.SetProp("_Name", str(r["name"]))
        for k in CANDIDATE_COLUMNS:
            if k not in ("name", "smiles"):
                mol.SetProp(k, _cell(r[k]))
        writer.write(mol)
    writer.close()
    os.replace(tmp, path)


def write_outputs(loaded, files: list[Path], heap: list, out: Path, diverse: int,
                  write_sdf: bool) -> tuple[list[dict], dict[str, Path]]:
    """Rank the kept heap entries best first, add the extras (:func:`candidate_extras`), pick ``diverse``
    molecules and write the files; returns (rows, {output name: path})."""
    from serendip.chem.screen import _ROW

    rows = []
    for rank, (_, _, values) in enumerate(sorted(heap, reverse=True), 1):
        r = dict(zip(_ROW, values))
        r["file"] = str(files[r["file"]])
        r["name"] = r["name"] or f"{Path(r['file']).name}:{r['line']}"
        r["nearest_train_smiles"] = loaded.train_smiles[r.pop("nearest_train")]
        del r["seq"]
        rows.append({"rank": rank, **r, **candidate_extras(r["smiles"]), "diverse_pick": None})
    picks = maxmin_pick([r["smiles"] for r in rows], diverse)
    for order, i in enumerate(picks, 1):
        rows[i]["diverse_pick"] = order
    outputs = {"candidates_csv": out / "candidates.csv"}
    _replace_csv(outputs["candidates_csv"], rows)
    if write_sdf:
        outputs["candidates_sdf"] = out / "candidates.sdf"
        _write_sdf(outputs["candidates_sdf"], rows)
    if diverse:
        outputs["diverse_csv"] = out / "diverse.csv"
        _replace_csv(outputs["diverse_csv"], [rows[i] for i in picks])
    return rows, outputs
