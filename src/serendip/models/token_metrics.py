"""The ``"token"`` metric bundle (token classification: named entities, tagging), registered in
:data:`~serendip.models.registries.METRICS`; re-exported by :mod:`serendip.models.metrics`.

Reference: H. Nakayama, seqeval (https://github.com/chakki-works/seqeval): CoNLL-style entity-level
precision, recall and F1; ``mode="strict", scheme=IOB2`` counts an entity only when its type and both
boundaries match exactly.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from serendip.errors import DataError
from serendip.models._metric_parts import NAN, _check_lengths, _f
from serendip.models.registries import METRICS

__all__ = ["token_metrics"]

_IOB2_TAG = re.compile(r"^(?:O|[BI]-.+)$")


@METRICS.register("token")
def token_metrics(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], *,
                  scheme: str | None = "IOB2") -> dict[str, Any]:
    """Metrics of token classification (named entities, tagging).

    Parameters
    ----------
    y_true, y_pred : sequence of n sequences of str
        Per-token tags; sequence i of ``y_pred`` must have the length of sequence i of ``y_true``.
    scheme : "IOB2" or None, default "IOB2"
        With "IOB2", tags must be ``O``, ``B-<type>`` or ``I-<type>`` and the entity-level scores are
        computed by seqeval in strict mode (an entity counts only when its type and both boundaries
        match; an ``I-`` tag without its ``B-`` starts no entity). With None (e.g. part-of-speech
        tags) only token accuracy is reported.

    Returns
    -------
    dict
        ``n`` (sequences), ``n_tokens``, ``token_accuracy``; with IOB2 also ``precision``,
        ``recall``, ``f1`` (micro over entities, strict), ``f1_macro`` (mean over entity types),
        ``per_type`` ``{type: {precision, recall, f1, support}}``; ``notes``.

    Raises
    ------
    DataError
        Sequence counts or lengths differ (the message names the sequence), or a tag is not IOB2
        (names the sequence, position and tag).
    """
    n = _check_lengths(y_true=y_true, y_pred=y_pred)
    true = [list(s) for s in y_true]
    pred = [list(s) for s in y_pred]
    for i, (a, b) in enumerate(zip(true, pred)):
        if len(a) != len(b):
            raise DataError(f"sequence {i}: {len(a)} true tags but {len(b)} predicted tags")
    flat_t = [tag for s in true for tag in s]
    flat_p = [tag for s in pred for tag in s]
    n_tokens = len(flat_t)
    notes: list[str] = []
    out: dict[str, Any] = {
        "n": int(n), "n_tokens": int(n_tokens),
        "token_accuracy": _f(np.mean([a == b for a, b in zip(flat_t, flat_p)])) if n_tokens else NAN,
    }
    if scheme is None:
        out["notes"] = notes
        return out
    if scheme.upper() != "IOB2":
        raise DataError(f"unknown tagging scheme {scheme!r}; expected 'IOB2' or None")
    for name, seqs in (("y_true", true), ("y_pred", pred)):
        for i, s in enumerate(seqs):
            for j, tag in enumerate(s):
                if not isinstance(tag, str) or not _IOB2_TAG.match(tag):
                    raise DataError(f"{name} sequence {i}, token {j}: tag {tag!r} is not IOB2 "
                                    f"(O, B-<type> or I-<type>)")
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report(true, pred, mode="strict", scheme=IOB2, output_dict=True,
                                   zero_division=0)
    types = sorted(k for k in report if not k.endswith(" avg"))
    micro = report.get("micro avg")
    if not types:
        notes.append("y_true and y_pred hold no entity: entity-level precision, recall and F1 are NaN")
        out.update(precision=NAN, recall=NAN, f1=NAN, f1_macro=NAN)
    else:
        out.update(precision=_f(micro["precision"]), recall=_f(micro["recall"]),
                   f1=_f(micro["f1-score"]))
        true_types = [t for t in types if report[t]["support"] > 0]
        absent = [t for t in types if report[t]["support"] == 0]
        if absent:
            notes.append(f"entity type(s) {absent} occur only in y_pred: left out of f1_macro")
        out["f1_macro"] = (_f(np.mean([report[t]["f1-score"] for t in true_types]))
                           if true_types else NAN)
    out["per_type"] = {t: {"precision": _f(report[t]["precision"]), "recall": _f(report[t]["recall"]),
                           "f1": _f(report[t]["f1-score"]), "support": int(report[t]["support"])}
                       for t in types}
    out["notes"] = notes
    return out
