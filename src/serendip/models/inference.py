"""Batching and inference: padded batches of encoded examples, model outputs in the form the task's
metrics take (:func:`model_outputs`), and the mean loss over a split (:func:`eval_loss`).

How features are made and outputs decoded is the task's head's job (:mod:`serendip.models.heads`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from serendip.errors import DataError
from serendip.models.example import Example
from serendip.models.tasks import IGNORE_INDEX, LabelSpace, Task, example_name

__all__ = ["ModelBundle", "batches", "collate", "eval_loss", "model_outputs"]


@dataclass
class ModelBundle:
    """A model ready for inference and what decoding its outputs needs (see :func:`model_outputs`)."""

    model: Any
    tokenizer: Any
    task: Task
    label_space: LabelSpace | None
    max_length: int
    target_scaling: dict[str, float] | None = None
    device: str = "cpu"
    #: test-time views (text -> text, e.g. the reverse complement): outputs are averaged over the
    #: original input and each view (see :func:`model_outputs`)
    views: tuple[Callable[[str], str], ...] = ()


def collate(feats: Sequence[Mapping[str, Any]], pad_id: int) -> dict[str, Any]:
    """Right-padded int64 tensors of shape (batch, longest): ids with ``pad_id``, masks and type ids
    with 0, piece labels with IGNORE_INDEX."""
    import torch

    width = max(len(f["input_ids"]) for f in feats)
    pads = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0, "labels": IGNORE_INDEX}
    out = {}
    for key, pad in pads.items():
        if key in feats[0]:
            out[key] = torch.tensor([list(f[key]) + [pad] * (width - len(f[key])) for f in feats],
                                    dtype=torch.long)
    return out


def batches(n: int, batch_size: int, order: Sequence[int] | None = None) -> Iterator[list[int]]:
    """Lists of at most ``batch_size`` indices into ``range(n)``, in ``order`` (default 0..n-1)."""
    idx = list(range(n)) if order is None else list(order)
    for start in range(0, n, batch_size):
        yield idx[start:start + batch_size]


def _with_views(bundle: ModelBundle, examples: Sequence[Example], batch_size: int,
                progress: Callable[[int, int], None] | None, feats: Any) -> Any:
    """The mean of the outputs over the original inputs and each test-time view of ``text``."""
    passes = 1 + len(bundle.views)
    plain_bundle = dataclasses.replace(bundle, views=())

    def pass_progress(k: int) -> Callable[[int, int], None] | None:
        # one bar over all passes, counted in examples: the share of all passes done, rounded
        # down, so n examples read "n/n" only when every view has been scored
        if progress is None:
            return None
        return lambda done, n: progress((k * n + done) // passes, n)

    plain = model_outputs(plain_bundle, examples, batch_size=batch_size, progress=pass_progress(0),
                          _feats=feats)
    total = np.array(plain, dtype=np.float64, copy=True)
    for k, view in enumerate(bundle.views, start=1):
        viewed = []
        for ex in examples:
            try:
                viewed.append(dataclasses.replace(ex, text=view(ex.text)))
            except DataError as exc:
                raise DataError(f"example {example_name(ex)}: {exc}") from None
        total += model_outputs(plain_bundle, viewed, batch_size=batch_size,
                               progress=pass_progress(k))
    return total / passes


def model_outputs(bundle: ModelBundle, examples: Sequence[Example], *, batch_size: int = 32,
                  progress: Callable[[int, int], None] | None = None,
                  _feats: list[dict[str, Any]] | None = None) -> Any:
    """Model outputs of ``examples`` in the form :meth:`Task.predict` / :meth:`Task.evaluate` take.

    Returns
    -------
    ndarray of shape (n, K), float64
        Logits for single-label and multi-label tasks (the ``sequence`` head).
    ndarray of shape (n,), float64
        Regression values, in the units of the training labels (scaling undone).
    list of n ndarrays of shape (n_words_i, K), float64
        Per-word logits for token tasks (NaN rows: words lost to truncation).

    The form is the task's head's (:meth:`serendip.models.heads.Head.finish`). Examples are
    processed in order, ``batch_size`` at a time, in eval mode with gradients off, so the same model
    and batch size give the same numbers. ``progress(done, total)`` is called after each batch, in
    examples (with test-time views: the share of all passes done, in examples).

    With test-time views (``bundle.views``, from augmentations marked ``test_time``), the outputs are
    the mean of the outputs of the original inputs and of each view of ``text`` (``text_pair`` is
    left as it is): logits are averaged for classification, values for regression. Heads that take
    no views (token tasks) are refused when the run is configured.
    """
    from serendip.models.heads import head_of

    head = head_of(bundle.task)
    if bundle.views and head.takes_views:
        return _with_views(bundle, examples, batch_size, progress, _feats)
    import torch

    feats = _feats if _feats is not None else head.encode(bundle.tokenizer, bundle.task, examples,
                                                          bundle.max_length)[0]
    model = bundle.model
    model.eval()
    chunks: list[Any] = []
    done = 0
    with torch.no_grad():
        for idx in batches(len(feats), batch_size):
            batch = collate([feats[i] for i in idx], bundle.tokenizer.pad_token_id)
            batch.pop("labels", None)
            logits = model(**{k: v.to(bundle.device) for k, v in batch.items()}).logits
            head.collect(chunks, logits.detach().to("cpu", torch.float64).numpy(), feats, idx)
            done += len(idx)
            if progress is not None:
                progress(done, len(feats))
    return head.finish(chunks, bundle.task.num_outputs(bundle.label_space), bundle.target_scaling)


def eval_loss(bundle: ModelBundle, feats: list[dict[str, Any]], encoded: Any,
              loss_fn: Callable[[Any, Any], Any], batch_size: int) -> float:
    """The mean of ``loss_fn`` over the examples of ``feats`` (weighted by batch size; NaN if none)."""
    import torch

    from serendip.models.heads import head_of

    head = head_of(bundle.task)
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in batches(len(feats), batch_size):
            batch = collate([feats[i] for i in idx], bundle.tokenizer.pad_token_id)
            y = head.targets(batch, encoded, idx, bundle.target_scaling)
            logits = bundle.model(**{k: v.to(bundle.device) for k, v in batch.items()}).logits
            total += float(loss_fn(logits, y.to(bundle.device))) * len(idx)
            count += len(idx)
    return total / count if count else float("nan")
