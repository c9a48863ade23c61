"""GUE (Genome Understanding Evaluation) tasks from the dataset registry, with their official splits.

GUE is the benchmark released with DNABERT-2 (Zhou Z., Ji Y., Li W., Dutta P., Davuluri R., Liu H.,
"DNABERT-2: Efficient Foundation Model and Benchmark for Multi-Species Genome", ICLR 2024,
arXiv:2306.15006). Each task is three files ``{train,dev,test}.csv`` (here gzip-compressed), header
``sequence,label``, one sequence per row. The files are found through :func:`serendip.datasets.resolve`
(mirror, cache, download; sha256 checked) under the registry names ``gue/<task>``.

The official splits hold exact duplicate sequences, inside a split and across splits (e.g.
``prom_core_all``: 148 duplicate rows inside train, 42 distinct sequences shared by train and test).
They are **reported, not removed**: the official test set stays as published so figures compare with
the paper's. :func:`load_gue` returns the splits with a :class:`GueSplitReport`, and marks each example
whose sequence also occurs in another split (``meta["also_in"]``), so a caller can score the subset
without them as well.
"""
from __future__ import annotations

import csv
import gzip
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from serendip.errors import DataError, ParseError
from serendip.models.example import Example

__all__ = ["GUE_TASKS", "GueSplitReport", "GueSplits", "load_gue", "read_gue_csv", "split_report"]

#: Task names with a registry entry ``gue/<name>`` (the official GUE path in brackets in the docs).
GUE_TASKS = ("prom_core_all", "tf0", "prom_core_tata", "prom_300_tata", "mouse0", "mouse2", "mouse3",
             "mouse4")
SPLITS = ("train", "dev", "test")
_BASES = frozenset("ACGTN")


@dataclass(slots=True)
class GueSplitReport:
    """Duplicate sequences inside and across the splits of a task.

    Attributes
    ----------
    rows : dict of str to int
        Rows per split.
    duplicates : dict of str to int
        Per split, rows minus distinct sequences (extra copies of a sequence).
    conflicting : dict of str to int
        Per split, distinct sequences that occur with more than one label.
    shared : dict of str to int
        Per pair ``"train/test"`` etc., distinct sequences present in both splits.
    shared_conflicting : dict of str to int
        Per pair, shared sequences whose label sets differ between the two splits.
    """

    rows: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    conflicting: dict[str, int] = field(default_factory=dict)
    shared: dict[str, int] = field(default_factory=dict)
    shared_conflicting: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [f"{s}: {n} rows, {self.duplicates[s]} duplicate, {self.conflicting[s]} with two labels"
                 for s, n in self.rows.items()]
        parts += [f"{p}: {n} shared ({self.shared_conflicting[p]} with different labels)"
                  for p, n in self.shared.items()]
        return "; ".join(parts)


class GueSplits(dict):
    """``dict[split, list[Example]]`` (train, dev, test) with ``task`` and ``report`` (:class:`GueSplitReport`)."""

    def __init__(self, task: str, splits: dict[str, list[Example]], report: GueSplitReport):
        super().__init__(splits)
        self.task = task
        self.report = report


def _task_name(task: str) -> str:
    t = task.strip().lower().removeprefix("gue/")
    t = t.removeprefix("prom/")
    for fam in ("tf", "mouse"):
        if t.startswith(fam + "/"):
            t = fam + t[len(fam) + 1:]
    return t


def read_gue_csv(path: str | Path, split: str | None = None) -> list[Example]:
    """Read one GUE CSV file (plain or gzip): header ``sequence,label``.

    Parameters
    ----------
    path : str or Path
        The file.
    split : str, optional
        Split name used in example ids (``"<split>:<row>"``, row 1-based over data rows); default the
        file name's stem.

    Returns
    -------
    list of Example
        ``text`` = sequence (upper-case ACGTN), ``label`` = the label string (``"0"``, ``"1"``...),
        ``source`` = ``"<file> line <n>"``.

    Raises
    ------
    DataError
        The header is not ``sequence,label``.
    ParseError
        A row does not have two fields, has an empty sequence, a character other than A C G T N, or a
        label that is not an integer; the message names the file and line. (The official splits are
        read whole or not at all: dropping rows would change the benchmark.)
    """
    path = Path(path)
    file = str(path)
    split = split or path.name.split(".")[0]
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as raw, \
            io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != ["sequence", "label"]:
            raise DataError(f"{file}: header is {header!r}, expected ['sequence', 'label'] (GUE CSV)")
        out = []
        for row in reader:
            no = reader.line_num
            if len(row) != 2:
                raise ParseError(f"expected 2 fields (sequence,label), got {len(row)}", file=file, line=no)
            seq, label = row[0].strip(), row[1].strip()
            if not seq:
                raise ParseError("empty sequence", file=file, line=no)
            odd = set(seq) - _BASES
            if odd:
                ch = min(odd, key=seq.index)
                raise ParseError(f"character {ch!r} at position {seq.index(ch) + 1} is not A, C, G, T or N",
                                 file=file, line=no)
            if not label.lstrip("-").isdigit():
                raise ParseError(f"label {label!r} is not an integer", file=file, line=no)
            out.append(Example(text=seq, label=label, id=f"{split}:{len(out) + 1}",
                               source=f"{file} line {no}"))
    return out


def split_report(splits: dict[str, list[Example]]) -> GueSplitReport:
    """Count duplicate and label-conflicting sequences inside and across splits.

    Parameters
    ----------
    splits : dict of str to list of Example
        Split name -> examples (``text`` compared exactly, case-sensitive).

    Returns
    -------
    GueSplitReport
    """
    rep = GueSplitReport()
    labels: dict[str, dict[str, set]] = {}
    for name, exs in splits.items():
        counts = Counter(e.text for e in exs)
        by_seq: dict[str, set] = defaultdict(set)
        for e in exs:
            by_seq[e.text].add(e.label)
        labels[name] = by_seq
        rep.rows[name] = len(exs)
        rep.duplicates[name] = len(exs) - len(counts)
        rep.conflicting[name] = sum(1 for v in by_seq.values() if len(v) > 1)
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = labels[a].keys() & labels[b].keys()
            rep.shared[f"{a}/{b}"] = len(common)
            rep.shared_conflicting[f"{a}/{b}"] = sum(1 for s in common if labels[a][s] != labels[b][s])
    return rep


def load_gue(task: str = "prom_core_all", *, verify: bool = True) -> GueSplits:
    """Load a GUE task's official train/dev/test splits.

    Parameters
    ----------
    task : str, default="prom_core_all"
        One of :data:`GUE_TASKS`; ``"gue/tf0"``, ``"tf/0"`` and ``"prom/prom_core_all"`` are accepted too.
    verify : bool, default=True
        Check each file's sha256 against the registry (once per process).

    Returns
    -------
    GueSplits
        ``{"train": [...], "dev": [...], "test": [...]}`` of :class:`Example` (see :func:`read_gue_csv`);
        ``.report`` is the :func:`split_report` of the three; an example whose sequence also occurs in
        another split has ``meta["also_in"]`` = the sorted names of those splits. Nothing is removed.

    Raises
    ------
    ConfigError
        Unknown task (the message lists the registered datasets).
    DatasetNotFound, DataError, ParseError
        From the registry (missing file, wrong sha256) or :func:`read_gue_csv`.
    """
    from serendip import datasets

    name = _task_name(task)
    paths = datasets.resolve(f"gue/{name}", verify=verify)
    by_split: dict[str, Path] = {}
    for rel, p in paths.items():
        stem = Path(rel).name.split(".")[0]
        by_split[stem] = p
    missing = [s for s in SPLITS if s not in by_split]
    if missing:
        raise DataError(f"GUE task {name!r}: no {missing[0]} file among {sorted(paths)}")
    splits = {s: read_gue_csv(by_split[s], s) for s in SPLITS}
    where: dict[str, set[str]] = defaultdict(set)
    for s, exs in splits.items():
        for e in exs:
            where[e.text].add(s)
    for s, exs in splits.items():
        for e in exs:
            others = where[e.text] - {s}
            if others:
                e.meta["also_in"] = sorted(others)
    return GueSplits(name, splits, split_report(splits))
