"""The ``token`` task: one tag per token (named entities, tagging), registered in
:data:`~serendip.models.registries.TASKS`; trained with the ``token`` head
(:class:`serendip.models.heads.TokenHead`).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from serendip.errors import ConfigError, DataError
from serendip.models.example import Example
from serendip.models.labels import IGNORE_INDEX, LabelSpace, Predictions, example_name
from serendip.models.registries import METRICS, TASKS
from serendip.models.task_base import Task

__all__ = ["TokenTask", "iob2_viterbi"]

_IOB2_TAG = re.compile(r"^(?:O|[BI]-.+)$")


@TASKS.register("token")
class TokenTask(Task):
    """One tag per token (named entities, tagging).

    The tokens of an example are ``example.meta["tokens"]`` when given, else ``example.text.split()``
    (whitespace); its label is one tag per token - a list, or a whitespace-separated string. The
    model predicts per *word*: a training loop aligns sub-word pieces with :meth:`align_labels` (the
    first piece of each word carries its tag, the others :data:`IGNORE_INDEX`) and gathers the first
    piece's logits back with :meth:`word_logits`.

    Parameters
    ----------
    scheme : "IOB2" or None, default "IOB2"
        With "IOB2" tags must be ``O``, ``B-<type>``, ``I-<type>`` and the metrics are seqeval's
        strict entity-level precision/recall/F1 plus token accuracy; with None (e.g. part-of-speech
        tags) token accuracy only, which is then the selection metric.
    decoding : "viterbi" or "argmax", default "viterbi"
        How words get their tags from the model's per-word scores. ``viterbi`` (IOB2 only): the tag
        sequence of highest total log-probability among those IOB2 allows (``I-X`` only after ``B-X`` or
        ``I-X``; :func:`iob2_viterbi`), the constrained decoding of a CRF-less tagger (as AllenNLP's
        ``allowed_transitions``; Lample et al. 2016 decode a CRF the same way). ``argmax``: each word's
        most probable tag on its own (an ill-formed ``O I-X`` is then read as an entity by the chunker).
        On the BC5CDR development abstracts (benchmarks/kg_bc5cdr.py, MiniLM, seed 0) ``viterbi`` raised
        strict entity F1 from 0.795 to 0.808. Without a scheme, always ``argmax``.
    """

    name = "token"
    label_kind = "tags"
    loss = "cross_entropy"
    head = "token"
    problem_type = None
    metrics = "token"
    primary_metric = "f1"
    per_token = True

    def __init__(self, scheme: str | None = "IOB2", decoding: str = "viterbi"):
        if scheme is not None and scheme.upper() != "IOB2":
            raise ConfigError(f"token task scheme must be 'IOB2' or None; got {scheme!r}")
        if decoding not in ("viterbi", "argmax"):
            raise ConfigError(f"token task decoding must be 'viterbi' or 'argmax'; got {decoding!r}")
        self.scheme = scheme.upper() if scheme else None
        self.decoding = decoding if self.scheme == "IOB2" else "argmax"
        if self.scheme is None:
            self.primary_metric = "token_accuracy"

    @property
    def stratifiable(self) -> bool:
        return False

    @staticmethod
    def tokens(example: Example) -> list[str]:
        """The word tokens of ``example``: ``meta["tokens"]`` or the whitespace split of its text."""
        tokens = example.meta.get("tokens") if example.meta else None
        return list(tokens) if tokens is not None else example.text.split()

    def parse_label(self, raw: Any, example: Example) -> list[str]:
        if raw is None:
            raise DataError(f"example {example_name(example)}: no tags")
        tags = raw.split() if isinstance(raw, str) else raw
        if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
            raise DataError(f"example {example_name(example)}: tags {raw!r} are not a list of strings")
        n_tokens = len(self.tokens(example))
        if len(tags) != n_tokens:
            raise DataError(f"example {example_name(example)}: {len(tags)} tags for {n_tokens} tokens")
        if self.scheme == "IOB2":
            for j, tag in enumerate(tags):
                if not _IOB2_TAG.match(tag):
                    raise DataError(f"example {example_name(example)}, token {j}: tag {tag!r} is not "
                                    f"IOB2 (O, B-<type> or I-<type>)")
        return list(tags)

    def label_counts(self, examples: Sequence[Example]) -> dict[str, int]:
        return {}

    def encode(self, examples: Sequence[Example], space: LabelSpace | None) -> list[np.ndarray]:
        """Per-word tag ids: a list of n int64 arrays, array i of shape (n_words_i,)."""
        assert space is not None
        return [np.array([space.encode(t, example=ex) for t in ex.label], dtype=np.int64)
                for ex in examples]

    @staticmethod
    def align_labels(word_ids: Sequence[int | None], tag_ids: Sequence[int]) -> list[int]:
        """Targets per sub-word piece from targets per word.

        Parameters
        ----------
        word_ids : sequence of int or None, length T
            For each piece, the index of its word (``BatchEncoding.word_ids()`` of a fast Hugging
            Face tokenizer called with ``is_split_into_words=True``); None for special tokens.
        tag_ids : sequence of int, length n_words
            Tag id of each word.

        Returns
        -------
        list of int, length T
            The word's tag id on its first piece; :data:`IGNORE_INDEX` on special tokens and on the
            following pieces of a word.
        """
        out: list[int] = []
        previous = None
        for w in word_ids:
            out.append(IGNORE_INDEX if w is None or w == previous else int(tag_ids[w]))
            previous = w
        return out

    @staticmethod
    def word_logits(logits: np.ndarray, word_ids: Sequence[int | None], n_words: int) -> np.ndarray:
        """Per-word logits from per-piece logits (the first piece of each word).

        Parameters
        ----------
        logits : ndarray of shape (T, K)
        word_ids : sequence of int or None, length T (see :meth:`align_labels`)
        n_words : int

        Returns
        -------
        ndarray of shape (n_words, K), float64
            Rows of words that lost all their pieces to truncation (``max_length``) are NaN;
            :meth:`predict` tags them ``O`` (or the first class without IOB2), so truncation costs
            recall instead of vanishing from the metrics.
        """
        logits = np.asarray(logits, dtype=np.float64)
        out = np.full((n_words, logits.shape[-1]), np.nan)
        previous = None
        for t, w in enumerate(word_ids):
            if w is not None and w != previous and w < n_words:
                out[w] = logits[t]
            previous = w
        return out

    def predict(self, outputs: Any, space: LabelSpace | None,
                examples: Sequence[Example] | None = None) -> Predictions:
        """Tags from per-word logits.

        Parameters
        ----------
        outputs : list of n arrays of shape (n_words_i, K), or an array of shape (n, T, K), T >= n_words_i
            Per-word logits (see :meth:`word_logits`), decoded as ``decoding`` says (the argmax over
            the last axis, or the best IOB2-valid sequence). NaN rows (truncated words) get ``O``.
        examples : sequence of Example
            Required: gives the number of words of each example.
        """
        assert space is not None
        if examples is None:
            raise DataError("token predictions need the examples (for the number of words in each)")
        if len(outputs) != len(examples):
            raise DataError(f"{len(outputs)} outputs for {len(examples)} examples")
        fallback = "O" if "O" in space else space.classes[0]
        labels = []
        for ex, logits in zip(examples, outputs):
            n_words = len(self.tokens(ex))
            logits = np.asarray(logits, dtype=np.float64)
            if logits.ndim != 2 or logits.shape[0] < n_words or logits.shape[1] != len(space):
                raise DataError(f"example {example_name(ex)}: outputs of shape {logits.shape}; "
                                f"expected ({n_words}, {len(space)})")
            logits = logits[:n_words]
            missing = np.isnan(logits).any(axis=1)
            if self.decoding == "viterbi" and fallback == "O":
                scores = np.where(missing[:, None], -np.inf, np.nan_to_num(logits, nan=0.0))
                scores[missing, space.classes.index("O")] = 0.0  # a truncated word: O for certain
                labels.append(iob2_viterbi(scores, space.classes))
                continue
            ids = np.argmax(np.nan_to_num(logits, nan=-np.inf), axis=-1)
            labels.append([fallback if m else space.classes[i] for i, m in zip(ids, missing)])
        return Predictions(labels, None)

    def evaluate(self, examples: Sequence[Example], outputs: Any,
                 space: LabelSpace | None) -> dict[str, Any]:
        preds = self.predict(outputs, space, examples)
        return METRICS.get(self.metrics)([ex.label for ex in examples], preds.labels,
                                         scheme=self.scheme)


def iob2_viterbi(logits: np.ndarray, classes: Sequence[str]) -> list[str]:
    """The IOB2-valid tag sequence of highest total log-probability (Viterbi, Viterbi 1967).

    Parameters
    ----------
    logits : array of shape (n_words, K), float
        Per-word scores over ``classes`` (log-softmax is taken per word; ``-inf`` rules a tag out).
    classes : sequence of K str
        The tags: ``O``, ``B-<type>``, ``I-<type>``.

    Returns
    -------
    list of n_words str
        No sequence starts with ``I-X`` and ``I-X`` follows only ``B-X`` or ``I-X``; among such
        sequences, the one whose per-word log-probabilities sum highest (ties: the lower class index).
    """
    logits = np.asarray(logits, dtype=np.float64)
    n, k = logits.shape
    if n == 0:
        return []
    with np.errstate(invalid="ignore"):
        lp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    lp = np.where(np.isnan(lp), -np.inf, lp)  # (nan_to_num would make -inf the lowest finite float)
    parts = [c.partition("-") for c in classes]
    allowed = np.ones((k, k), dtype=bool)  # [previous, current]
    for j, (prefix, _, typ) in enumerate(parts):
        if prefix == "I":
            allowed[:, j] = [p in ("B", "I") and t == typ for p, _, t in parts]
    start = np.array([p != "I" for p, _, _ in parts])
    transition = np.where(allowed, 0.0, -np.inf)
    score = np.where(start, lp[0], -np.inf)
    back = np.zeros((n, k), dtype=np.int64)
    for w in range(1, n):
        candidates = score[:, None] + transition
        back[w] = np.argmax(candidates, axis=0)
        score = candidates[back[w], np.arange(k)] + lp[w]
    best = [int(np.argmax(score))]
    for w in range(n - 1, 0, -1):
        best.append(int(back[w, best[-1]]))
    return [classes[i] for i in reversed(best)]
