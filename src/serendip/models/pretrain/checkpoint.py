"""Checkpoints of a pre-training run, so that an interrupted run continues where it stopped.

With ``training.checkpoint_every = N`` the loop writes ``checkpoint.pt`` into the run's
``<output.dir>.partial`` folder every N optimisation steps (written to a temporary file, then renamed:
a kill while writing leaves the previous checkpoint whole). It holds what the next step depends on:
the model's weights, AdamW's moments, the scheduler's step, the shuffling generator and the order
still to be drawn, the masking collator's generator, torch's global generator (dropout), the losses and
held-out evaluations so far, and a fingerprint of the run (:func:`run_fingerprint`: the config without
its output and checkpoint settings, and the training token arrays). ``output.resume = true``
(``serendip pretrain --resume``) loads it; the resumed run's remaining steps then equal those of an
uninterrupted run on the same machine (same batches, same masks, same dropout).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serendip.errors import ConfigError

if TYPE_CHECKING:
    from serendip.models.pretrain.config import PretrainConfig
    from serendip.models.pretrain.loop import LoopResult

__all__ = ["CHECKPOINT_FILE", "Checkpoint", "read_checkpoint", "run_fingerprint"]

#: file name of the checkpoint inside ``<output.dir>.partial``
CHECKPOINT_FILE = "checkpoint.pt"


def run_fingerprint(cfg: PretrainConfig, train_ids: list[Any]) -> str:
    """sha256 (16 hex) of the config (less ``output``, ``training.checkpoint_every`` and
    ``training.device``) and of the training token arrays: a checkpoint continues only the same run."""
    data = cfg.model_dump(mode="json")
    data.pop("output", None)
    for key in ("checkpoint_every", "device"):
        data.get("training", {}).pop(key, None)
    import numpy as np

    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode())
    for ids in train_ids:
        digest.update(np.asarray(ids).tobytes() + b"|")
    return digest.hexdigest()[:16]


class Checkpoint:
    """The state a pre-training loop saves and restores (see the module docstring).

    Parameters
    ----------
    folder : Path
        The run's ``.partial`` folder.
    fingerprint : str
        :func:`run_fingerprint` of the run.
    every : int or None
        Save every so many steps (None: never save; a loaded state is still restored).
    """

    def __init__(self, folder: Path, fingerprint: str, every: int | None):
        self.path, self.fingerprint, self.every = Path(folder) / CHECKPOINT_FILE, fingerprint, every
        self.state: dict[str, Any] | None = None
        self.saved_step = 0

    def load(self) -> int:
        """Read the checkpoint of this run, if there is one; the step it was saved at (0: none).

        Raises
        ------
        ConfigError
            The checkpoint belongs to another run (a different config or corpus), or cannot be read.
        """
        self.state = read_checkpoint(self.path)
        if self.state is None:
            return 0
        if self.state["fingerprint"] != self.fingerprint:
            raise ConfigError(f"{self.path}: this checkpoint is of another run (other settings or data); "
                              f"resume it with those settings, or pass --overwrite to start again")
        self.saved_step = int(self.state["step"])
        return self.saved_step

    def due(self, step: int, total: int) -> bool:
        """Whether to save after ``step`` (never after the last one: the model is saved then)."""
        return bool(self.every) and step % self.every == 0 and step != total

    def save(self, step: int, model: Any, optim: Any, sched: Any, shuffle: Any, order: list[int],
             collator: Any, run: LoopResult) -> None:
        """Write the state after ``step`` (atomically: a temporary file renamed over the old one)."""
        import torch

        gen = getattr(collator, "generator", None)
        state = {"fingerprint": self.fingerprint, "step": step, "model": model.state_dict(),
                 "optimizer": optim.state_dict(), "scheduler": sched.state_dict(),
                 "shuffle": shuffle.get_state(), "order": list(order),
                 "collator": gen.get_state() if isinstance(gen, torch.Generator) else None,
                 "torch_rng": torch.get_rng_state(),
                 "losses": list(run.losses), "evals": list(run.evals), "tokens_seen": run.tokens_seen,
                 "train_time": run.train_time}
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)
        self.saved_step = step

    def restore(self, model: Any, optim: Any, sched: Any, shuffle: Any, collator: Any,
                run: LoopResult) -> tuple[int, list[int]]:
        """Put the loaded state back; the step it was saved after and the order still to draw
        ((0, []) when nothing was loaded)."""
        import torch

        s = self.state
        if s is None:
            return 0, []
        model.load_state_dict(s["model"])
        optim.load_state_dict(s["optimizer"])
        sched.load_state_dict(s["scheduler"])
        shuffle.set_state(s["shuffle"])
        if s["collator"] is not None:
            collator.generator = torch.Generator()
            collator.generator.set_state(s["collator"])
            collator._generator_pid = os.getpid()
        torch.set_rng_state(s["torch_rng"])
        run.losses, run.evals = list(s["losses"]), list(s["evals"])
        run.tokens_seen, run.train_time = int(s["tokens_seen"]), float(s["train_time"])
        return int(s["step"]), list(s["order"])


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The state saved in ``path`` (None when there is no file).

    Raises
    ------
    ConfigError
        The file exists but is not a checkpoint this version can read.
    """
    import torch

    if not Path(path).is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError...
        first = (str(exc).strip().splitlines() or [""])[0][:200]  # torch's messages run to many lines
        raise ConfigError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {first}); pass --overwrite "
                          f"to start again") from None
    if not isinstance(state, dict) or "fingerprint" not in state or "step" not in state:
        raise ConfigError(f"{path}: not a pre-training checkpoint; pass --overwrite to start again")
    return state
