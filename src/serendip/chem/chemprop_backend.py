"""Chemprop's D-MPNN (Yang et al. 2019; Heid et al. 2024, chemprop 2.3) as a property-model backend.

Built through chemprop's Python API with the defaults of ``chemprop train`` (2.3.1, ``cli/train.py``):
bond message passing, hidden size 300, depth 3, no dropout, norm aggregation (norm 100), a one-layer
FFN of 300, no batch norm, batch size 64, 50 epochs, Noam-like schedule (2 warm-up epochs, learning
rates 1e-4 / 1e-3 / 1e-4), targets scaled with the training mean and sd (regression), the checkpoint
with the best ``val_loss`` kept for prediction. CPU, one fixed seed (``lightning.seed_everything``
and the data loader's seed).
"""
from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ChempropModel", "keep_all_batch_size"]


def _quiet() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def keep_all_batch_size(n: int, batch_size: int) -> int:
    """The largest batch size <= ``batch_size`` at which chemprop's ``build_dataloader`` keeps all ``n``
    molecules: it drops a last batch of exactly one molecule (with a warning, even with ``shuffle=False``;
    chemprop 2.3 ``data/dataloader.py``, for batch normalisation in training), so predicting 1 molecule, or
    257 at 256 a batch, lost one. Returns 1 for ``n`` <= 1."""
    size = max(1, min(batch_size, n))
    while size > 1 and n % size == 1:
        size -= 1
    return size


@dataclass
class ChempropModel:
    """Chemprop D-MPNN regressor or binary classifier.

    Parameters
    ----------
    task : {"regression", "classification"}
    seed : int, default 0
    epochs : int, default 50
    batch_size : int, default 64
    hidden : int, default 300
        Message-passing and FFN hidden size.
    depth : int, default 3
    """

    task: str = "regression"
    seed: int = 0
    epochs: int = 50
    batch_size: int = 64
    hidden: int = 300
    depth: int = 3

    def _data(self, smiles: Sequence[str], y: np.ndarray | None):
        from chemprop import data, featurizers
        from rdkit import rdBase

        ys = np.zeros(len(smiles)) if y is None else np.asarray(y, dtype=np.float64)
        with rdBase.BlockLogs():  # the SMILES are Serendip's standardised ones: RDKit's notes are noise here
            points = [data.MoleculeDatapoint.from_smi(s, np.array([v], dtype=np.float32)) for s, v in zip(smiles, ys)]
        return data.MoleculeDataset(points, featurizers.SimpleMoleculeMolGraphFeaturizer())

    def fit(self, smiles: Sequence[str], y: np.ndarray, val_smiles: Sequence[str], val_y: np.ndarray) -> ChempropModel:
        """Train on (``smiles``, ``y``), keep the epoch with the best validation loss.

        Parameters
        ----------
        smiles, val_smiles : sequence of str
        y, val_y : ndarray of shape (n,), float (classification: 0/1)

        Returns
        -------
        self
        """
        import lightning.pytorch as pl
        from chemprop import data, models, nn
        from lightning.pytorch.callbacks import ModelCheckpoint

        _quiet()
        pl.seed_everything(self.seed, verbose=False)
        train, val = self._data(smiles, y), self._data(val_smiles, val_y)
        if self.task == "regression":
            scaler = train.normalize_targets()
            val.normalize_targets(scaler)
            ffn = nn.RegressionFFN(input_dim=self.hidden, hidden_dim=self.hidden,
                                   output_transform=nn.UnscaleTransform.from_standard_scaler(scaler))
        else:
            ffn = nn.BinaryClassificationFFN(input_dim=self.hidden, hidden_dim=self.hidden)
        mpnn = models.MPNN(nn.BondMessagePassing(d_h=self.hidden, depth=self.depth),
                           nn.NormAggregation(norm=100), ffn, batch_norm=False)
        train_loader = data.build_dataloader(train, batch_size=self.batch_size, num_workers=0, seed=self.seed)
        val_loader = data.build_dataloader(val, batch_size=keep_all_batch_size(len(val), self.batch_size),
                                           num_workers=0, shuffle=False)
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = ModelCheckpoint(dirpath=tmp, monitor="val_loss", mode="min", save_last=False)
            trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                                 accelerator="cpu", devices=1, max_epochs=self.epochs, callbacks=[ckpt],
                                 deterministic=False)
            trainer.fit(mpnn, train_loader, val_loader)
            best = ckpt.best_model_path
            self.model_ = models.MPNN.load_from_checkpoint(best, map_location="cpu") if best else mpnn
            self.best_epoch_ = int(Path(best).stem.split("epoch=")[1].split("-")[0]) if "epoch=" in best else None
        self.model_.eval()
        return self

    def predict(self, smiles: Sequence[str]) -> np.ndarray:
        """Predictions of shape (n,), float64: the value (regression) or P(class 1) (classification)."""
        import torch
        from chemprop import data

        if len(smiles) == 0:
            return np.empty(0, dtype=np.float64)
        loader = data.build_dataloader(self._data(smiles, None), batch_size=keep_all_batch_size(len(smiles), 256),
                                       num_workers=0, shuffle=False)
        out = []
        with torch.inference_mode():
            for batch in loader:
                out.append(self.model_(batch.bmg, batch.V_d, batch.X_d).numpy()[:, 0])
        pred = np.concatenate(out).astype(np.float64)
        if len(pred) != len(smiles):  # never silently short: chemprop's loader must keep every molecule
            raise RuntimeError(f"chemprop predicted {len(pred)} of {len(smiles)} molecules")
        return pred

    def save(self, path: str | Path) -> Path:
        """Write the model as chemprop's own checkpoint file (``chemprop.models.save_model``)."""
        from chemprop.models import save_model

        path = Path(path)
        save_model(path, self.model_)
        return path

    @classmethod
    def load(cls, path: str | Path, task: str) -> ChempropModel:
        """A model read back from :meth:`save` (``chemprop.models.MPNN.load_from_file``)."""
        from chemprop.models import MPNN

        obj = cls(task=task)
        obj.model_ = MPNN.load_from_file(path, map_location="cpu")
        obj.model_.eval()
        return obj
