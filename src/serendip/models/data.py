"""Training data: train/dev/test splits and their report (the table readers are in
:mod:`serendip.models.example_readers`, re-exported here).

Files are read by the :data:`~serendip.models.registries.DATA_READERS` entry of their format (see
:mod:`serendip.models.example_readers` for the call form and the skipped-row rule).

:func:`load_splits` reads the train file and, when given, the dev and test files; a split without a
file is carved out of the training file by :func:`split_examples` (seeded, stratified on the class
for single-label tasks, via scikit-learn's ``train_test_split``). Its :class:`SplitReport` lists
split sizes, label counts, skipped rows, texts shared across splits (:class:`Duplicate` - reported,
never dropped) and classes under 5 % of the training labels, which also raise a
:class:`ClassImbalanceWarning`.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from serendip.errors import DataError
from serendip.models.data_checks import (  # noqa: F401  (re-exported)
    IMBALANCE_THRESHOLD,
    ClassImbalanceWarning,
    Duplicate,
    _within,
    check_imbalance,
    find_duplicates,
)
from serendip.models.example import Example
from serendip.models.example_readers import (  # noqa: F401  (re-exported: one import path for callers)
    DataIssue,
    _accepted,
    data_suffix_map,
    format_of_path,
    read_csv,
    read_examples,
    read_jsonl,
    read_lines,
    read_tsv,
)
from serendip.models.tasks import Task, example_name, make_task

__all__ = [
    "IMBALANCE_THRESHOLD",
    "ClassImbalanceWarning",
    "DataIssue",
    "DataSplits",
    "Duplicate",
    "SplitReport",
    "check_imbalance",
    "find_duplicates",
    "load_splits",
    "format_of_path",
    "load_splits_from_config",
    "read_csv",
    "read_examples",
    "read_jsonl",
    "read_tsv",
    "split_examples",
]

_SPLITS = ("train", "dev", "test")


@dataclass
class SplitReport:
    """What :func:`load_splits` did.

    Attributes
    ----------
    origin : dict
        Split -> where it came from (``"file <path>"``, ``"carved from train: 10%"`` or ``"none"``).
    sizes : dict
        Split -> number of examples.
    label_counts : dict
        Split -> {class: number of examples} (empty for regression and token tasks).
    issues : list of DataIssue
        Rows skipped, with file and line.
    duplicates : list of Duplicate
        Texts shared by two splits (kept in both; decide and fix the data).
    duplicates_within : dict
        Split -> number of examples whose text repeats an earlier example of the same split.
    rare_classes : list of dict
        ``{"class", "count", "fraction"}`` for training classes under the imbalance threshold.
    seed, dev_fraction, test_fraction, stratified :
        The splitting settings (fractions of the training file; ``stratified`` says whether the
        carving was stratified on the class).
    """

    origin: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    issues: list[DataIssue] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    duplicates_within: dict[str, int] = field(default_factory=dict)
    rare_classes: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    dev_fraction: float = 0.0
    test_fraction: float = 0.0
    stratified: bool = False

    @property
    def skipped(self) -> int:
        """Number of rows skipped."""
        return len(self.issues)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (issues as strings plus their fields)."""
        data = asdict(self)
        data["skipped"] = self.skipped
        data["issues"] = [{**asdict(i), "message": str(i)} for i in self.issues]
        return data


@dataclass
class DataSplits:
    """Train, dev and test examples (dev or test may be empty when their fraction is 0) and the report."""

    train: list[Example]
    dev: list[Example]
    test: list[Example]
    report: SplitReport

    def as_dict(self) -> dict[str, list[Example]]:
        return {"train": self.train, "dev": self.dev, "test": self.test}


# -- splits ------------------------------------------------------------------------------------
def split_examples(examples: Sequence[Example], *, dev: float = 0.1, test: float = 0.1, seed: int = 0,
                   stratify: bool = True) -> tuple[list[Example], list[Example], list[Example]]:
    """Seeded train/dev/test split of ``examples`` (scikit-learn ``train_test_split``).

    Parameters
    ----------
    examples : sequence of Example
    dev, test : float in [0, 1), default 0.1
        Fractions of ``examples`` for dev and test (0: that split is empty); ``dev + test < 1``.
    seed : int
        ``random_state`` of both cuts (test first, then dev from the rest).
    stratify : bool
        Keep class proportions (labels must be one hashable class per example).

    Returns
    -------
    (train, dev, test) : three lists of Example

    Raises
    ------
    DataError
        Fractions out of range, or a stratified split impossible (a class with a single example, or
        fewer test examples than classes); the message names the class or sizes.
    """
    from sklearn.model_selection import train_test_split

    if not (0 <= dev < 1 and 0 <= test < 1 and dev + test < 1):
        raise DataError(f"split fractions dev={dev}, test={test} must be in [0, 1) with dev + test < 1")
    items = list(examples)
    if not items:
        raise DataError("cannot split an empty dataset")

    def cut(pool: list[Example], fraction: float, what: str) -> tuple[list[Example], list[Example]]:
        if fraction == 0:
            return pool, []
        labels = [ex.label for ex in pool] if stratify else None
        if labels is not None:
            counts: dict[Any, int] = defaultdict(int)
            for lab in labels:
                counts[lab] += 1
            rare = [lab for lab, c in counts.items() if c < 2]
            if rare:
                raise DataError(f"cannot make a stratified {what} split: class {rare[0]!r} has "
                                f"{counts[rare[0]]} example(s) (at least 2 needed); add examples, "
                                f"give split files, or set stratify = false")
        try:
            keep, out = train_test_split(pool, test_size=fraction, random_state=seed, shuffle=True,
                                         stratify=labels)
        except ValueError as exc:
            raise DataError(f"cannot make the {what} split of {len(pool)} examples "
                            f"(fraction {fraction:g}): {exc}") from None
        return list(keep), list(out)

    rest, test_set = cut(items, test, "test")
    train, dev_set = cut(rest, dev / (1 - test) if dev else 0.0, "dev")
    return train, dev_set, test_set


def load_splits(train: str | Path, dev: str | Path | None = None, test: str | Path | None = None, *,
                task: Task | str | None = None, format: str | None = None,
                columns: Mapping[str, str | None] | None = None, dev_fraction: float = 0.1,
                test_fraction: float = 0.1, seed: int = 0, stratify: bool | None = None,
                imbalance_threshold: float = IMBALANCE_THRESHOLD,
                options: Mapping[str, Any] | None = None) -> DataSplits:
    """Read the training data and make train/dev/test splits.

    Parameters
    ----------
    train : path
        The training file. Dev or test without a file are carved out of it.
    dev, test : path, optional
        Dev and test files, used as they are.
    task : Task or str, optional
        With a task, each example is checked and its label parsed (:meth:`Task.prepare`); a bad one
        is skipped and reported as an issue. Without one, labels stay raw strings/JSON values.
    format, columns, options :
        See :func:`read_examples` (one format and mapping for all files).
    dev_fraction, test_fraction : float, default 0.1
        Fractions of the training file carved out for dev / test when those files are not given
        (0: no such split).
    seed : int
        Seed of the split.
    stratify : bool, optional
        Stratify the carving on the class; default: True for single-label tasks, False otherwise.
        Recorded in the report.
    imbalance_threshold : float, default 0.05
        See :func:`check_imbalance`.

    Returns
    -------
    DataSplits

    Raises
    ------
    DataError
        A file yields no usable example (the message gives the number skipped and the first
        reasons), a named column is missing, or the split is impossible.
    ConfigError
        Unknown format or task.

    Warns
    -----
    ClassImbalanceWarning
        A training class under ``imbalance_threshold``.
    """
    task_obj = make_task(task) if task is not None else None
    report = SplitReport(seed=seed)
    loaded: dict[str, list[Example]] = {}
    for name, path in {"train": train, "dev": dev, "test": test}.items():
        if path is not None:
            loaded[name] = _read_split_file(name, path, task_obj, report, format=format,
                                            columns=columns, options=options)
            report.origin[name] = f"file {path}"
    if stratify is None:
        stratify = task_obj.stratifiable if task_obj is not None else all(
            isinstance(ex.label, str) for ex in loaded["train"])
    splits = _carve(loaded, report, dev_fraction, test_fraction, seed, bool(stratify))
    for name in _SPLITS:
        report.sizes[name] = len(splits[name])
        counts = (task_obj.label_counts(splits[name]) if task_obj is not None else
                  _raw_counts(splits[name]))
        report.label_counts[name] = {str(k): v for k, v in counts.items()}
        report.duplicates_within[name] = _within(splits[name])
    report.duplicates = find_duplicates(splits)
    report.rare_classes = check_imbalance(splits["train"], task_obj, threshold=imbalance_threshold,
                                          stacklevel=3)
    return DataSplits(splits["train"], splits["dev"], splits["test"], report)


def _read_split_file(name: str, path: str | Path, task_obj: Task | None, report: SplitReport, *,
                     format: str | None, columns: Mapping[str, str | None] | None,
                     options: Mapping[str, Any] | None) -> list[Example]:
    """The usable examples of one split's file; rows the task refuses go to ``report.issues``."""
    before = len(report.issues)
    examples = read_examples(path, format, columns=columns, issues=report.issues, **dict(options or {}))
    if task_obj is not None:
        kept = []
        for ex in examples:
            try:
                task_obj.prepare(ex)
            except DataError as exc:
                meta = ex.meta or {}
                reason = str(exc).removeprefix(f"example {example_name(ex)}: ")
                report.issues.append(DataIssue(str(meta.get("file", path)), f"{reason}; row skipped",
                                               line=meta.get("line"), record=ex.id))
                continue
            kept.append(ex)
        examples = kept
    if not examples:
        skipped = report.issues[before:]
        why = "; ".join(str(i) for i in skipped[:3]) if skipped else "no data rows"
        raise DataError(f"{path}: no usable examples in the {name} file ({len(skipped)} row(s) "
                        f"skipped: {why})")
    return examples


def _carve(loaded: Mapping[str, list[Example]], report: SplitReport, dev_fraction: float,
           test_fraction: float, seed: int, stratify: bool) -> dict[str, list[Example]]:
    """Dev/test carved from train where no file gave them; the carving recorded in ``report``."""
    carve_dev = dev_fraction if "dev" not in loaded else 0.0
    carve_test = test_fraction if "test" not in loaded else 0.0
    report.dev_fraction, report.test_fraction = carve_dev, carve_test
    report.stratified = stratify and (carve_dev > 0 or carve_test > 0)
    tr, dv, te = split_examples(loaded["train"], dev=carve_dev, test=carve_test, seed=seed,
                                stratify=stratify)
    splits = {"train": tr, "dev": loaded.get("dev", dv), "test": loaded.get("test", te)}
    for name, fraction in (("dev", carve_dev), ("test", carve_test)):
        if name not in loaded:
            report.origin[name] = (f"carved from train: {fraction:.0%}, seed {seed}"
                                   f"{', stratified' if report.stratified else ''}"
                                   if fraction else "none")
    return splits


def load_splits_from_config(data: Any, task: Task | str | None = None) -> DataSplits:
    """:func:`load_splits` driven by a :class:`~serendip.models.config.DataConfig`.

    Only the column names that differ from the defaults are passed to the reader, so a domain
    reader without table columns (``fasta``) is not handed ``text="text"``.
    """
    columns = data.columns.model_dump(exclude_defaults=True)
    return load_splits(data.train, data.dev, data.test, task=task, format=data.format,
                       columns=columns or None, dev_fraction=data.split.dev,
                       test_fraction=data.split.test, seed=data.split.seed,
                       stratify=data.split.stratify, options=data.options)


def _raw_counts(examples: Sequence[Example]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for ex in examples:
        if isinstance(ex.label, (str, int)):
            counts[str(ex.label)] += 1
    return dict(sorted(counts.items()))
