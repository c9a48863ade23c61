"""Prediction with a fine-tuned run: load the model from its run folder, read an input file, write CSV.

:func:`load_run_model` rebuilds what a run saved (``model/``: merged or fully fine-tuned weights and
the tokenizer; or ``adapter/`` applied to the local backbone when the run was not merged), with the
task and label space of ``label_space.json``. :func:`predict` reads any registered data format (CSV,
TSV, JSON Lines, and FASTA/FASTQ once :mod:`serendip.genomics` is importable) with the run's column
names, predicts in batches, in file order, and writes one CSV row per example::

    id, [label,] prediction, p_<class 1>, ..., p_<class K>

``p_<class>`` are softmax probabilities (single-label tasks) or per-class sigmoid probabilities
(multi-label); a regression run writes the value in ``prediction`` and no probability column; a token
run writes the space-separated tags. Floats are written with Python's ``repr`` (17 significant
digits), so the file holds the exact float64 values. ``label`` is written when every input example has
one. Labels are not needed: a label column is echoed only when every example has a label the run
knows, else it is ignored and the report says why (``notes``).

Inputs are checked against the run's symbol alphabet (:func:`run_alphabet`: the characters of its saved
tokenizer's vocabulary when that is a small closed set of letters, as for a DNA run's ``ACGTN``
character, k-mer or BPE tokenizer); a record with another character is skipped and reported, and a
file in which more than half of the records are so (English text given to a DNA run) is refused
with a :class:`~serendip.errors.DataError` naming the file and the first such record.
"""
from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serendip.errors import ConfigError, DataError, ParseError
from serendip.models.alphabet import check_alphabet, run_alphabet
from serendip.models.example import Example
from serendip.models.tasks import LabelSpace, Predictions, Task, example_name, make_task

__all__ = ["PredictReport", "check_alphabet", "default_output_path", "load_run_model", "predict",
           "predict_examples", "read_input", "run_alphabet"]

_DEFAULT_COLUMNS = {"text": "text", "label": "label", "text_pair": None, "id": None}


@dataclass
class PredictReport:
    """What :func:`predict` did: files, counts, skipped input rows (as strings), and timing."""

    run_dir: str
    input: str
    output: str
    n: int
    has_labels: bool
    columns: list[str]
    skipped: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_run_model(run_dir: str | Path, *, device: str | None = None, weights: bool = True) -> Any:
    """The :class:`~serendip.models.train.ModelBundle` of a run folder (model in eval mode).

    ``weights=False``: the bundle without the model (``model`` None, ``device`` "cpu"): the tokenizer,
    task, label space and max length, for a caller that runs the saved weights another way (an ONNX
    export of ``<run>/model``).

    Raises
    ------
    RunNotFound
        ``run_dir`` is not a complete run folder.
    DataError
        The run saved no model (``output.save_model = false``) or its files disagree.
    ConfigError
        An adapter run whose backbone folder is gone.
    """
    import torch

    from serendip.models.backbone import (
        load_backbone,
        load_tokenizer,
        quiet_hf,
        resolve_backbone,
    )
    from serendip.models.heads import auto_model_class, head_of
    from serendip.models.inference import ModelBundle
    from serendip.models.plugins import load_domains
    from serendip.models.runs import read_json, read_run

    run_dir = Path(run_dir)
    read_run(run_dir)
    load_domains()
    labels = read_json(run_dir / "label_space.json")
    info = read_json(run_dir / "model.json")
    task = make_task(labels["task"]["name"], **(labels["task"].get("params") or {}))
    space = LabelSpace(labels["classes"]) if labels.get("classes") is not None else None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    fmt = info.get("format")
    if not weights and fmt in ("merged", "full", "adapter"):
        tokenizer = load_tokenizer(str(run_dir / ("adapter" if fmt == "adapter" else "model")))
        return ModelBundle(None, tokenizer, task, space, int(labels["max_length"]), labels.get("target_scaling"), "cpu")
    if fmt in ("merged", "full"):
        folder = run_dir / "model"
        tokenizer = load_tokenizer(str(folder))
        with quiet_hf():
            model = auto_model_class(info.get("head") or head_of(task).model_kind).from_pretrained(
                str(folder), local_files_only=True)
    elif fmt == "adapter":
        from peft import PeftModel

        backbone = info.get("backbone")
        try:
            backbone = resolve_backbone(backbone)
        except ConfigError:
            raise ConfigError(f"run {run_dir} saved only a PEFT adapter; its backbone {backbone} is "
                              f"not a local model folder any more") from None
        base, _ = load_backbone(backbone, task, space, layers=info.get("backbone_layers"))
        tokenizer = load_tokenizer(str(run_dir / "adapter"))
        with quiet_hf():
            model = PeftModel.from_pretrained(base, str(run_dir / "adapter"))
    else:
        raise DataError(f"run {run_dir} saved no model (output.save_model was false); train again "
                        f"with it on to predict")
    n_out = task.num_outputs(space)
    if getattr(model.config, "num_labels", n_out) != n_out:
        raise DataError(f"run {run_dir}: the model has {model.config.num_labels} outputs but the "
                        f"label space needs {n_out}")
    model.to(device)
    model.eval()
    from serendip.models.augment import build_views

    views = build_views(info.get("test_time_augmentations") or [])
    return ModelBundle(model, tokenizer, task, space, int(labels["max_length"]),
                       labels.get("target_scaling"), device, views)


def predict_examples(bundle: Any, examples: Sequence[Example], *, batch_size: int = 32,
                     progress: Callable[[int, int], None] | None = None) -> Predictions:
    """Decoded predictions of ``examples`` (see :meth:`Task.predict`): labels and, for classification,
    probabilities of shape (n, K), float64."""
    from serendip.models.inference import model_outputs

    outputs = model_outputs(bundle, examples, batch_size=batch_size, progress=progress)
    return bundle.task.predict(outputs, bundle.label_space, examples)


def _reader_columns(columns: Mapping[str, Any]) -> dict[str, Any]:
    """The run's column names that differ from the defaults (a FASTA reader takes none of them)."""
    return {k: v for k, v in columns.items() if k in _DEFAULT_COLUMNS and v != _DEFAULT_COLUMNS[k]}


def _read(path: Path, fmt: str | None, columns: Mapping[str, Any], issues: list,
          options: Mapping[str, Any]) -> list[Example]:
    from serendip.models.data import _accepted, format_of_path, read_examples
    from serendip.models.registries import DATA_READERS

    name = fmt or format_of_path(path)
    cols = dict(columns)
    if name in DATA_READERS:  # pass only the columns this reader takes (the input format may differ)
        cols = _accepted(DATA_READERS.get(name), cols)
    return read_examples(path, fmt, columns=cols, issues=issues, **dict(options))


def _check_label(task: Task, space: LabelSpace | None, ex: Example) -> Any:
    """Parse ``ex.label`` for the task and check it against the run's label space."""
    label = task.parse_label(ex.label, ex)
    if space is not None:
        values = label if isinstance(label, (list, tuple)) else [label]
        for v in values:
            if v not in space:
                raise DataError(
                    f"example {example_name(ex)}: label {v!r} was not among the labels the model "
                    f"was trained on ({', '.join(map(repr, space.classes))})")
    return label


def read_input(path: str | Path, task: Task, space: LabelSpace | None,
               columns: Mapping[str, Any] | None = None, *, format: str | None = None,
               options: Mapping[str, Any] | None = None,
               notes: list[str] | None = None) -> tuple[list[Example], bool, list[Any]]:
    """Read an input file to predict on: ``(examples, has_labels, skipped)``.

    Every readable example is returned (unlabelled read). When the file also reads with labels and
    every example has one the run knows, ``has_labels`` is True and ``examples[i].label`` is set;
    otherwise the label column is not needed and is ignored, with the reason appended to ``notes``
    (a label the model was not trained on, one the task cannot parse, rows without a label).

    Raises
    ------
    DataError
        No example in the file, a missing text column.
    """
    path = Path(path)
    columns = _reader_columns(dict(columns or {}))
    options = dict(options or {})
    skipped: list[Any] = []
    try:
        examples = _read(path, format, {**columns, "label": None}, skipped, options)
    except DataError as exc:
        # the readers' hint names a config key; predict takes the run's mapping, not a config
        msg = re.sub(r"Set the column mapping \(data\.columns\.(\w+)\)\.",
                     r"The run was trained with that name for its \1 column (data.columns.\1 of its "
                     r"config); rename the column in the input file to match.", str(exc))
        raise DataError(msg) from None
    if not examples:
        why = "; ".join(str(i) for i in skipped[:3])
        raise DataError(f"{path}: no examples to predict on" + (f" ({why})" if why else ""))
    labelled: list[Example] | None
    label_issues: list[Any] = []
    try:
        labelled = _read(path, format, {**columns, "label": columns.get("label", "label")},
                         label_issues, options)
    except (DataError, ParseError, ConfigError):
        labelled = None
    has_labels = False
    if labelled:
        try:
            parsed = [_check_label(task, space, ex) for ex in labelled]
        except (DataError, ValueError) as exc:
            if notes is not None:
                notes.append(f"{path}: label column ignored (not needed to predict): {exc}")
            return examples, False, skipped
        if len(labelled) == len(examples) and all(a.id == b.id for a, b in zip(labelled, examples)):
            for ex, label in zip(examples, parsed):
                ex.label = label
            has_labels = True
        elif notes is not None:
            notes.append(f"{path}: label column ignored: {len(examples) - len(labelled)} of "
                         f"{len(examples)} example(s) have no usable label")
    return examples, has_labels, skipped


def default_output_path(input_path: str | Path) -> Path:
    """Where predictions of ``input_path`` go by default: ``<name up to the first dot>.predictions.csv``
    in the current folder (``data/test.fa.gz`` -> ``test.predictions.csv``)."""
    return Path(f"{Path(input_path).name.split('.')[0]}.predictions.csv")


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _drop_viewless(examples: list[Example], views: Any, input_path: Path, skipped: list
                   ) -> list[Example]:
    """The examples every test-time view can take; the others are added to ``skipped``.

    Raises
    ------
    DataError
        No example is left.
    """
    from serendip.issues import Issue
    from serendip.models.augment import view_failures

    failed = view_failures(examples, views)
    if not failed:
        return examples
    bad = {i for i, _ in failed}
    skipped += [Issue(str(input_path), msg, record=examples[i].id or str(i + 1)) for i, msg in failed]
    kept = [ex for i, ex in enumerate(examples) if i not in bad]
    if not kept:
        raise DataError(f"{input_path}: no example can take the run's test-time "
                        f"augmentation ({'; '.join(str(s) for s in skipped[:3])})")
    return kept


def _write_predictions(output_csv: Path, task: Task, space: LabelSpace | None,
                       examples: Sequence[Example], preds: Predictions, has_labels: bool) -> list[str]:
    """Write the predictions CSV (UTF-8, atomically); returns its header: ``id``, ``label`` (with
    labels), ``prediction`` and ``p_<class>`` per class when there are probabilities. Lists of
    labels are joined by spaces for per-token tasks, else by the task's ``sep`` (default ``;``)."""
    sep = getattr(task, "sep", ";")
    header = ["id"] + (["label"] if has_labels else []) + ["prediction"]
    with_scores = preds.scores is not None and space is not None
    if with_scores:
        header += [f"p_{c}" for c in space.classes]

    def show(label: Any) -> str:
        if isinstance(label, (list, tuple)):
            return (" " if task.per_token else sep).join(map(str, label))
        return _fmt(label)

    output_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_csv.with_name(f".{output_csv.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i, ex in enumerate(examples):
            row = [ex.id if ex.id is not None else str(i + 1)]
            if has_labels:
                row.append(show(ex.label))
            row.append(show(preds.labels[i]))
            if with_scores:
                row += [_fmt(v) for v in preds.scores[i]]
            writer.writerow(row)
    tmp.replace(output_csv)
    return header


def predict(run_dir: str | Path, input_path: str | Path, output_csv: str | Path, *,
            batch_size: int = 32, format: str | None = None, device: str | None = None,
            options: Mapping[str, Any] | None = None,
            progress: Callable[[int, int], None] | None = None) -> PredictReport:
    """Predict every example of ``input_path`` with the run in ``run_dir``; write ``output_csv``.

    Parameters
    ----------
    run_dir : path
        A run folder (see :func:`serendip.models.runs.resolve_run` to get one from a run id).
    input_path : path
        CSV, TSV, JSON Lines, FASTA/FASTQ or any registered format; the text column (and pair / id
        columns) are those the run was trained with. Labels are optional.
    output_csv : path
        Written in UTF-8; its folder is created if needed.
    batch_size : int, default 32
    format : str, optional
        A data-reader name; default from the file suffix.
    device : str, optional
        Default ``"cuda"`` when available, else ``"cpu"``.
    options : mapping, optional
        Extra reader options (e.g. ``{"alphabet": "ACGTN"}`` for FASTA).
    progress : callable, optional
        ``progress(done, total)`` after each batch (examples).

    Returns
    -------
    PredictReport

    Raises
    ------
    RunNotFound, DataError, ConfigError, ParseError
        See :func:`load_run_model`, :func:`read_input` and :func:`check_alphabet` (inputs not in
        the run's alphabet); a batch size below 1 is a ConfigError.
        With a test-time augmentation, records it cannot transform are skipped and listed in
        ``skipped`` (DataError when none is left).
    """
    from serendip.models.runs import read_json

    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1; got {batch_size}")
    t0 = time.perf_counter()
    run_dir, input_path, output_csv = Path(run_dir), Path(input_path), Path(output_csv)
    bundle = load_run_model(run_dir, device=device)
    labels = read_json(run_dir / "label_space.json")
    notes: list[str] = []
    examples, has_labels, skipped = read_input(input_path, bundle.task, bundle.label_space,
                                               labels.get("columns"), format=format,
                                               options=options, notes=notes)
    examples = check_alphabet(examples, run_alphabet(bundle.tokenizer), input_path, skipped)
    if bundle.views:  # test-time augmentation: a record it cannot take is reported and skipped
        examples = _drop_viewless(examples, bundle.views, input_path, skipped)
    preds = predict_examples(bundle, examples, batch_size=batch_size, progress=progress)
    header = _write_predictions(output_csv, bundle.task, bundle.label_space, examples, preds,
                                has_labels)
    return PredictReport(str(run_dir), str(input_path), str(output_csv), len(examples), has_labels,
                         header, [str(s) for s in skipped], time.perf_counter() - t0, notes)
