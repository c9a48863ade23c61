"""What ``serendip chem train | predict`` read, told to the user: records skipped, what standardisation
changed (a salt stripped, a charge neutralised), the duplicates merged (train) or flagged (predict).

On the terminal: counts and the first few of each kind; all of them in ``--json`` and in the
``--report`` CSV (one row per skipped record, per standardised record and per duplicate group). Lives
beside :mod:`serendip.cli.chem_cmd`; reads only the public :class:`~serendip.chem.MoleculeSet`.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from serendip.cli.common import err_console, labelled
from serendip.cli.display import count

__all__ = ["as_json", "finite", "say_read", "write_report"]

#: Examples shown per kind on the terminal.
SHOWN = 3
#: Skipped records listed one by one on the terminal before the rest are only counted.
SKIPPED_SHOWN = 20
REPORT_FIELDS = ("kind", "file", "line", "name", "smiles", "detail")


def finite(value):
    """``value`` with NaN / inf floats as None, recursively (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _where(file: str, line: int, name: str) -> str:
    return f"{Path(file).name} line {line}" + (f" ({name})" if name else "")


def _warn(label: str, text: str) -> None:
    err_console.print(labelled(label, text), highlight=False, soft_wrap=True)


def say_read(ms, *, merged: bool, more: str = "") -> None:
    """Print to stderr the records ``ms`` (a MoleculeSet) left out, the standardisation changes and the
    duplicates: counts and the first few examples; ``more`` names where the rest are (``--json``...)."""
    tail = f" (all of them: {more})" if more else ""
    for issue in ms.issues[:SKIPPED_SHOWN]:
        _warn("[yellow]skipped:[/]", str(issue))
    if len(ms.issues) > SKIPPED_SHOWN:
        _warn("[yellow]skipped:[/]", f"... and {count(len(ms.issues) - SKIPPED_SHOWN, 'more record')}{tail}")
    changed = ms.changed
    if changed:
        kinds = ", ".join(f"{n} {kind}" for kind, n in ms.change_counts().items())
        _warn("[cyan]standardised:[/]", f"{count(len(changed), 'record')} changed ({kinds}){tail}")
        for m in changed[:SHOWN]:
            _warn("  ", f"{_where(m.file, m.line, m.name)}: {m.input_smiles} -> {m.smiles}: {'; '.join(m.changes)}")
    if ms.duplicates:
        n_rec = sum(len(d.sources) for d in ms.duplicates)
        if merged:
            n_conf = sum(d.conflicting for d in ms.duplicates)
            what = (f"{count(n_rec, 'record')} merged into {count(len(ms.duplicates), 'molecule')} (same parent InChIKey; "
                    f"values averaged; {count(n_conf, 'group')} with differing values)")
        else:
            what = (f"{count(n_rec - len(ms.duplicates), 'record')} repeat a molecule given earlier (same parent "
                    f"InChIKey); each keeps its row, flagged in duplicate_of")
        _warn("[cyan]duplicates:[/]", what + tail)
        for d in ms.duplicates[:SHOWN]:
            _warn("  ", str(d))


def as_json(ms) -> dict:
    """``{"records", "skipped": [...], "changes": [...], "duplicates": [...]}`` of a MoleculeSet: every
    record left out, every record standardisation changed, every duplicate group (NaN as None)."""
    return finite({"records": ms.records, "skipped": [i.to_json() for i in ms.issues],
                   "changes": [{"file": m.file, "line": m.line, "name": m.name, "input_smiles": m.input_smiles,
                                "smiles": m.smiles, "changes": m.changes} for m in ms.changed],
                   "duplicates": [d.to_json() for d in ms.duplicates]})


def write_report(path: Path, ms) -> int:
    """Write every skipped record, standardisation change and duplicate group of ``ms`` to the CSV
    ``path`` (columns :data:`REPORT_FIELDS`; a duplicate group is one row per record, the detail naming
    the group's first record). Returns the number of rows.

    Raises
    ------
    DataError
        ``path`` cannot be written.
    """
    from serendip.errors import DataError

    rows = [("skipped", i.file, i.line, i.name, i.smiles, i.reason) for i in ms.issues]
    rows += [("standardised", m.file, m.line, m.name, m.input_smiles, f"-> {m.smiles}: {'; '.join(m.changes)}")
             for m in ms.changed]
    for d in ms.duplicates:
        f0, l0, _ = d.sources[0]
        for k, (f, line, name) in enumerate(d.sources):
            vals = "; ".join(f"{c} {vs[k]:g}" for c, vs in d.values.items() if k < len(vs) and math.isfinite(vs[k]))
            detail = f"first record of {len(d.sources)}" if k == 0 else f"same parent as {Path(f0).name} line {l0}"
            rows.append(("duplicate", f, line, name, d.smiles, detail + (f"; {vals}" if vals else "")))
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(REPORT_FIELDS)
            w.writerows(rows)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(rows)
