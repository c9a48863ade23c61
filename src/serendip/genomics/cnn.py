"""A small convolutional classifier of DNA sequences (one-hot input), trained in plain PyTorch.

The model follows the baseline CNN of genomic-benchmarks (Grešová K., Martinek V., Čechák D.,
Šimeček P., Alexiou P., "Genomic benchmarks: a collection of datasets for genomic sequence
classification", BMC Genomic Data 24:25, 2023): three 1-D convolutions with batch normalisation, ReLU
and max pooling over the sequence, then a linear classifier. Differences from theirs, on purpose:
the input is a one-hot encoding of A C G T N (5 channels; N and any other character switch on the N
channel, positions past a sequence's end are all zero) instead of a learned embedding; the
convolutions are padded ("same" length) so that any sequence length works; and the last feature map is
reduced by a global max over positions (so the classifier does not depend on the length) instead of
being flattened.

:func:`train_cnn` trains it with AdamW and cross-entropy, scores the dev split after every epoch by
the Matthews correlation coefficient (``sklearn.metrics.matthews_corrcoef``), keeps the weights of
the best dev epoch, stops after ``patience`` epochs without improvement (or when ``max_seconds`` is
spent) and returns a :class:`TrainedCNN`, a callable that predicts labels of new sequences. Seeded
throughout (weights, shuffling, dropout): the same inputs give the same model on the same machine and
library versions.

torch is imported by this module (it is not imported by :mod:`serendip.genomics` itself).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["SequenceCNN", "TrainedCNN", "one_hot", "train_cnn"]

_ALPHABET = "ACGTN"
_CODE = np.full(256, 4, dtype=np.int64)  # anything else: N
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[_b + 32] = _i  # lower case (soft-masked)


def one_hot(seqs: Sequence[str], length: int | None = None) -> np.ndarray:
    """One-hot encoding of DNA sequences, float32 array of shape (n, 5, length).

    Channels are A, C, G, T, N (N also for any other character); ``length`` None: the longest
    sequence. Longer sequences are cut to ``length``; positions past a sequence's end are all zero.
    """
    if length is None:
        length = max((len(s) for s in seqs), default=1)
    out = np.zeros((len(seqs), len(_ALPHABET), length), dtype=np.float32)
    for i, s in enumerate(seqs):
        raw = s[:length].encode("ascii", "replace")
        codes = _CODE[np.frombuffer(raw, dtype=np.uint8)]
        out[i, codes, np.arange(len(codes))] = 1.0
    return out


class SequenceCNN(nn.Module):
    """Three convolution blocks (Conv1d, BatchNorm1d, ReLU, MaxPool1d(2) after the first two), a
    global max pool over positions, dropout and a linear layer to ``n_classes`` logits.

    Input: float tensor of shape (batch, 5, length) (:func:`one_hot`); output: (batch, n_classes).
    """

    def __init__(self, n_classes: int = 2, channels: int = 64, kernel_size: int = 7,
                 dropout: float = 0.2, in_channels: int = len(_ALPHABET)):
        super().__init__()
        pad = kernel_size // 2
        layers: list[nn.Module] = []
        c_in = in_channels
        for block in range(3):
            layers += [nn.Conv1d(c_in, channels, kernel_size, padding=pad), nn.BatchNorm1d(channels),
                       nn.ReLU()]
            if block < 2:
                layers.append(nn.MaxPool1d(2, ceil_mode=True))
            c_in = channels
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x).amax(dim=-1)
        return self.classifier(self.dropout(h))


@dataclass
class TrainedCNN:
    """A trained :class:`SequenceCNN` with its label set; call it on sequences to get labels.

    ``classes``: the sorted training labels (logit j is ``classes[j]``); ``history``: one dict per
    epoch (``epoch``, ``train_loss``, ``dev_mcc``, ``seconds``); ``best_epoch`` 1-based;
    ``stopped`` why training ended (``"patience"``, ``"epochs"``, ``"max_seconds"``).
    """

    model: SequenceCNN
    classes: list[Any]
    length: int
    best_epoch: int
    best_dev_mcc: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str = "epochs"
    batch_size: int = 256

    def logits(self, seqs: Sequence[str]) -> np.ndarray:
        """Logits, float32 array of shape (n, n_classes), in eval mode without gradients."""
        self.model.eval()
        out = []
        with torch.no_grad():
            for lo in range(0, len(seqs), self.batch_size):
                x = torch.from_numpy(one_hot(seqs[lo:lo + self.batch_size], self.length))
                out.append(self.model(x).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), dtype=np.float32)

    def __call__(self, seqs: Sequence[str]) -> np.ndarray:
        """Predicted labels of ``seqs``, an array of shape (n,) of training label values."""
        idx = self.logits(seqs).argmax(axis=1)
        return np.asarray(self.classes)[idx]


def _class_indices(train: tuple[Sequence[str], Sequence[Any]], dev: tuple[Sequence[str], Sequence[Any]]
                   ) -> tuple[list[Any], list[int], np.ndarray]:
    """Sorted training classes, training class indices, dev class indices (int64 array)."""
    labels, dev_labels = list(train[1]), list(dev[1])
    if not list(train[0]) or not list(dev[0]):
        raise ValueError("train_cnn needs non-empty train and dev splits")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"train_cnn needs at least 2 classes in the training labels; found {classes}")
    index = {c: i for i, c in enumerate(classes)}
    unseen = sorted({lab for lab in dev_labels if lab not in index}, key=str)
    if unseen:
        raise ValueError(f"dev labels not in the training labels: {unseen}")
    return classes, [index[lab] for lab in labels], np.asarray([index[lab] for lab in dev_labels])


def _train_epoch(model: Any, x: Any, y: Any, order: Any, batch_size: int, loss_fn: Any, optim: Any
                 ) -> tuple[float, int]:
    """One pass in ``order``; (summed loss x batch size, examples seen). Batches of one are skipped
    (BatchNorm needs more than one example)."""
    model.train()
    total, seen = 0.0, 0
    for lo in range(0, len(order), batch_size):
        idx = order[lo:lo + batch_size]
        if len(idx) < 2:
            continue
        batch_loss = loss_fn(model(x[idx]), y[idx])
        optim.zero_grad(set_to_none=True)
        batch_loss.backward()
        optim.step()
        total += float(batch_loss.detach()) * len(idx)
        seen += len(idx)
    return total, seen


def train_cnn(train: tuple[Sequence[str], Sequence[Any]], dev: tuple[Sequence[str], Sequence[Any]],
              seed: int = 0, epochs: int = 30, *, batch_size: int = 64, lr: float = 1e-3,
              weight_decay: float = 1e-2, patience: int | None = 4, channels: int = 64,
              kernel_size: int = 7, dropout: float = 0.2, max_seconds: float | None = None,
              log: Any = None, loss: Any = None, dev_metric: Any = None) -> TrainedCNN:
    """Train a :class:`SequenceCNN` with early stopping on dev MCC.

    Parameters
    ----------
    train, dev : (sequences, labels)
        Sequences as strings; labels any sortable values (every dev label must occur in train).
        Sequences longer than the longest training sequence are cut to it.
    seed : int
        Seeds weights, batch order and dropout.
    epochs : int
        At most this many passes over ``train``.
    patience : int or None
        Stop after this many epochs without a better dev MCC (None: run all epochs).
    max_seconds : float, optional
        Stop after the epoch during which this much training time has passed.
    log : callable, optional
        Receives one line per epoch.
    loss : callable, optional
        ``loss(logits, targets) -> scalar tensor`` with logits (batch, n_classes) float32 and targets
        (batch,) int64 class indices (into the sorted training labels), e.g. a class-weighted
        ``torch.nn.CrossEntropyLoss`` or :class:`serendip.models.imbalance.FocalLoss`. Default: plain
        cross-entropy.
    dev_metric : callable, optional
        ``dev_metric(y_dev, logits) -> float`` (higher is better) with y_dev (n_dev,) int64 class
        indices and logits (n_dev, n_classes) float32; selects the best epoch (it is what the
        history's ``dev_mcc`` and ``best_dev_mcc`` then hold). Default: MCC of the argmax
        (``sklearn.metrics.matthews_corrcoef``).

    Returns
    -------
    TrainedCNN
        The weights of the epoch with the best dev MCC (ties: the earlier epoch).
    """
    from sklearn.metrics import matthews_corrcoef

    seqs, dev_seqs = list(train[0]), list(dev[0])
    classes, y_train_list, y_dev = _class_indices(train, dev)
    length = max(len(s) for s in seqs)
    x_train = torch.from_numpy(one_hot(seqs, length))
    y_train = torch.tensor(y_train_list, dtype=torch.long)

    torch.manual_seed(seed)
    model = SequenceCNN(len(classes), channels, kernel_size, dropout)
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = loss if loss is not None else nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    result = TrainedCNN(model, classes, length, best_epoch=0, best_dev_mcc=-np.inf)
    best_state = None
    since_best = 0
    t_start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        total, seen = _train_epoch(model, x_train, y_train, torch.randperm(len(seqs), generator=gen),
                                   batch_size, loss_fn, optim)
        dev_logits = result.logits(dev_seqs)
        mcc = float(dev_metric(y_dev, dev_logits) if dev_metric is not None
                    else matthews_corrcoef(y_dev, dev_logits.argmax(axis=1)))
        row = {"epoch": epoch, "train_loss": total / max(seen, 1), "dev_mcc": mcc,
               "seconds": time.perf_counter() - t0}
        result.history.append(row)
        if log is not None:
            log(f"epoch {epoch}: train loss {row['train_loss']:.4f}, dev MCC {mcc:.4f} "
                f"({row['seconds']:.1f} s)")
        if mcc > result.best_dev_mcc:
            result.best_dev_mcc, result.best_epoch, since_best = mcc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if patience is not None and since_best >= patience:
                result.stopped = "patience"
                break
        if max_seconds is not None and time.perf_counter() - t_start >= max_seconds:
            result.stopped = "max_seconds"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result
