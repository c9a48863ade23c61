"""Model heads, registered in :data:`~serendip.models.registries.HEADS`: how a task's examples become
model inputs and training targets, and how the model's logits become the task's outputs.

A task names its head (``Task.head``); the engine asks the head, never the task kind:

* ``sequence`` - one output row per example (``AutoModelForSequenceClassification``): logits of
  shape (n, K); targets as :meth:`Task.encode` gives them (int64 class ids, or float32 multi-hot);
* ``regression`` - one value per example (same model class, one output): targets standardised with
  the training mean and standard deviation for the loss, the scaling undone on the outputs;
* ``token`` - one output row per word (``AutoModelForTokenClassification``): sub-word pieces aligned
  with :meth:`TokenTask.align_labels`, per-word logits gathered with :meth:`TokenTask.word_logits`.

A new head subclasses :class:`Head` (the ``sequence`` entry itself), overrides what differs
(:meth:`Head.targets`, :meth:`Head.collect`, :meth:`Head.finish`, :meth:`Head.auto_class` for
another model class ...) and registers itself (``@HEADS.register("mine")``); a task with
``head = "mine"`` then trains, evaluates and predicts with it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from serendip.models.example import Example
from serendip.models.registries import HEADS
from serendip.models.tasks import Task, TokenTask

__all__ = ["Head", "RegressionHead", "TokenHead", "auto_model_class", "head_of"]


def head_of(task: Task) -> Head:
    """A new instance of the head ``task.head`` names (ConfigError listing the heads if unknown)."""
    return HEADS.get(task.head)()


def _truncated(enc: Any, full: Any, n: int) -> int:
    return sum(len(full["input_ids"][i]) > len(enc["input_ids"][i]) for i in range(n))


@HEADS.register("sequence")
class Head:
    """One row of logits per example; the base class of every head.

    Attributes
    ----------
    model_kind : str
        Which Hugging Face model class to load (see :meth:`auto_class`) and, in ``model.json``,
        which kind of head the saved model has: ``"sequence"`` or ``"token"``.
    peft_task_type : str
        ``peft.TaskType`` member name for LoRA/AdaLoRA (the head is trained in full).
    needs_fast_tokenizer : bool
        The encoding needs word ids (only fast tokenizers give them).
    takes_views : bool
        Test-time views (e.g. the reverse complement) can be averaged over.
    """

    model_kind: ClassVar[str] = "sequence"
    peft_task_type: ClassVar[str] = "SEQ_CLS"
    needs_fast_tokenizer: ClassVar[bool] = False
    takes_views: ClassVar[bool] = True

    def auto_class(self) -> Any:
        """The ``transformers`` AutoModel class of :attr:`model_kind`."""
        return auto_model_class(self.model_kind)

    # -- inputs and targets --------------------------------------------------------------------
    def encode(self, tokenizer: Any, task: Task, examples: Sequence[Example], max_length: int,
               targets: Any = None) -> tuple[list[dict[str, Any]], int]:
        """Per-example features (``input_ids``, ``attention_mask``, ``token_type_ids`` when the
        tokenizer makes them) and the number of examples that ``max_length`` truncated."""
        from serendip.models.backbone import quiet_hf

        if not examples:
            return [], 0
        texts = [ex.text for ex in examples]
        pairs = [ex.text_pair or "" for ex in examples] if task.needs_pair or any(
            ex.text_pair is not None for ex in examples) else None
        enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
        with quiet_hf():  # no "longer than the maximum" warning: truncation is counted
            full = tokenizer(texts, pairs, truncation=False)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        feats = [{k: list(enc[k][i]) for k in keys} for i in range(len(examples))]
        return feats, _truncated(enc, full, len(examples))

    def target_scaling(self, train: Sequence[Example]) -> dict[str, float] | None:
        """``{"mean", "std"}`` applied to the targets for the loss (None: targets as encoded)."""
        return None

    def targets(self, batch: dict[str, Any], encoded: Any, idx: Sequence[int],
                scaling: Any) -> Any:
        """Targets of the examples ``idx`` as a tensor (int64 class ids or float32 values); may
        take them out of the collated ``batch`` (piece-level labels)."""
        import torch

        return torch.as_tensor(np.asarray(encoded)[list(idx)])

    # -- outputs -------------------------------------------------------------------------------
    def collect(self, chunks: list[Any], logits: np.ndarray, feats: Sequence[dict[str, Any]],
                idx: Sequence[int]) -> None:
        """Append the outputs of one batch (``logits`` float64, batch first) to ``chunks``."""
        chunks.append(logits)

    def finish(self, chunks: list[Any], width: int, scaling: Any) -> Any:
        """The outputs :meth:`Task.evaluate` takes, from the collected chunks: here an ndarray of
        shape (n, ``width``), float64."""
        if not chunks:
            return np.zeros((0, width))
        return np.concatenate(chunks, axis=0)

    def dummy_outputs(self, examples: Sequence[Example], width: int) -> Any:
        """Constant outputs of the right shape (to check metric names before training)."""
        return np.zeros((len(examples), width))

    def flat(self, outputs: Any) -> np.ndarray:
        """All output values as one 1-D array (to compare two models' outputs)."""
        return np.ravel(outputs)


@HEADS.register("regression")
class RegressionHead(Head):
    """One value per example; targets standardised for the loss, outputs in label units."""

    def target_scaling(self, train: Sequence[Example]) -> dict[str, float]:
        y = np.asarray([ex.label for ex in train], dtype=np.float64)
        std = float(y.std())
        return {"mean": float(y.mean()), "std": std if std > 0 else 1.0}

    def targets(self, batch: dict[str, Any], encoded: Any, idx: Sequence[int],
                scaling: Any) -> Any:
        import torch

        arr = np.asarray(encoded, dtype=np.float32)[list(idx)]
        if scaling is not None:
            arr = (arr - scaling["mean"]) / scaling["std"]
        return torch.as_tensor(arr, dtype=torch.float32)

    def finish(self, chunks: list[Any], width: int, scaling: Any) -> np.ndarray:
        """ndarray of shape (n,), float64, in the units of the training labels."""
        if not chunks:
            return np.zeros((0,))
        out = np.concatenate(chunks, axis=0).reshape(-1)
        if scaling is not None:
            out = out * scaling["std"] + scaling["mean"]
        return out

    def dummy_outputs(self, examples: Sequence[Example], width: int) -> np.ndarray:
        return np.zeros(len(examples))


@HEADS.register("token")
class TokenHead(Head):
    """One row of logits per word; the first sub-word piece of each word carries its tag."""

    model_kind = "token"
    peft_task_type = "TOKEN_CLS"
    needs_fast_tokenizer = True
    takes_views = False

    def encode(self, tokenizer: Any, task: Task, examples: Sequence[Example], max_length: int,
               targets: Any = None) -> tuple[list[dict[str, Any]], int]:
        """As :meth:`Head.encode`, plus ``word_ids``, ``n_words`` and piece-level ``labels``."""
        from serendip.models.backbone import quiet_hf

        if not examples:
            return [], 0
        words = [TokenTask.tokens(ex) for ex in examples]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        with quiet_hf():
            full = tokenizer(words, is_split_into_words=True, truncation=False)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        feats: list[dict[str, Any]] = []
        for i in range(len(examples)):
            f: dict[str, Any] = {k: list(enc[k][i]) for k in keys}
            f["word_ids"] = enc.word_ids(i)
            f["n_words"] = len(words[i])
            if targets is not None:
                f["labels"] = TokenTask.align_labels(f["word_ids"], targets[i])
            feats.append(f)
        return feats, _truncated(enc, full, len(examples))

    def targets(self, batch: dict[str, Any], encoded: Any, idx: Sequence[int],
                scaling: Any) -> Any:
        return batch.pop("labels")

    def collect(self, chunks: list[Any], logits: np.ndarray, feats: Sequence[dict[str, Any]],
                idx: Sequence[int]) -> None:
        for row, i in enumerate(idx):
            f = feats[i]
            chunks.append(TokenTask.word_logits(logits[row, :len(f["input_ids"])], f["word_ids"],
                                                f["n_words"]))

    def finish(self, chunks: list[Any], width: int, scaling: Any) -> list[np.ndarray]:
        """A list of n ndarrays of shape (n_words_i, K), float64 (NaN rows: truncated words)."""
        return chunks

    def dummy_outputs(self, examples: Sequence[Example], width: int) -> list[np.ndarray]:
        return [np.zeros((len(TokenTask.tokens(ex)), width)) for ex in examples]

    def flat(self, outputs: Any) -> np.ndarray:
        return np.concatenate([np.ravel(x) for x in outputs])


def auto_model_class(model_kind: str) -> Any:
    """``AutoModelForTokenClassification`` for ``"token"``, else
    ``AutoModelForSequenceClassification``."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    return AutoModelForTokenClassification if model_kind == "token" else \
        AutoModelForSequenceClassification

