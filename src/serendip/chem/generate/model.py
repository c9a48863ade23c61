"""A SMILES language model: token embedding -> stacked LSTM -> linear layer over the vocabulary, the
shape of MOSES's CharRNN (Polykovskiy et al. 2020, Front. Pharmacol. 11:565644; moses/char_rnn/model.py:
3 LSTM layers of 768 units, dropout 0.2, one-hot input) with a learnt embedding and sizes chosen for
CPU training (:class:`GeneratorConfig`). Sampling draws one token at a time from
``softmax(logits / temperature)`` (Segler et al. 2018, ACS Cent. Sci. 4:120, "temperature"), by default
over the tokens the SMILES grammar allows next (:mod:`serendip.chem.generate.syntax`; optionally also
each atom's valence, :mod:`serendip.chem.generate.valence`).

The model folder (:meth:`SmilesGenerator.save`) holds ``config.json`` (the config and the training
record), ``vocab.json`` (:class:`~serendip.chem.tokenize.Vocab`) and ``weights.safetensors``: no pickle.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from serendip.chem.generate.syntax import SyntaxMask
from serendip.chem.generate.valence import ValenceMask
from serendip.chem.tokenize import Vocab
from serendip.errors import ConfigError, DataError

FORMAT = "serendip-smiles-lm/1"
#: sampling masks by name (``SmilesGenerator.sample(mask=...)``)
MASKS = {"none": None, "syntax": SyntaxMask, "valence": ValenceMask}
FILES = ("config.json", "vocab.json", "weights.safetensors")


class GeneratorConfig(BaseModel):
    """Sizes of the SMILES LSTM. ``max_length`` caps sampling, in tokens (without ``<bos>``/``<eos>``);
    MOSES's CharRNN samples up to 100. ``smiles_form``: the form the model is trained on and samples in,
    ``"as-given"`` (the training file's SMILES) or ``"kekule"`` (each molecule rewritten by RDKit as
    canonical Kekulé SMILES, no aromatic atoms: ``c1ccccc1`` is learnt as ``C1=CC=CC=C1``), so that every
    bond order is written out and a valence mask can check each one (:mod:`serendip.chem.generate.valence`);
    about 15% more tokens on MOSES."""

    model_config = ConfigDict(extra="forbid")
    embedding_dim: int = Field(64, ge=1)
    hidden_size: int = Field(384, ge=1)
    num_layers: int = Field(2, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    max_length: int = Field(100, ge=1)
    smiles_form: Literal["as-given", "kekule"] = "as-given"


class SmilesLSTM(nn.Module):
    """``forward(x, state)``: x int64 of shape (batch, time) token ids -> logits float32 of shape
    (batch, time, vocab) and the LSTM state ((h, c), each (num_layers, batch, hidden_size))."""

    def __init__(self, vocab_size: int, config: GeneratorConfig):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=Vocab.pad_id)
        self.lstm = nn.LSTM(config.embedding_dim, config.hidden_size, config.num_layers, batch_first=True,
                            dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.head = nn.Linear(config.hidden_size, vocab_size)

    def forward(self, x: torch.Tensor, state=None):
        h, state = self.lstm(self.embedding(x), state)
        return self.head(h), state


class SmilesGenerator:
    """A vocabulary, a config and the network, with sampling and save/load of the model folder.
    ``info`` is the training record (steps, molecules seen, losses...) kept in ``config.json``."""

    def __init__(self, vocab: Vocab, config: GeneratorConfig | None = None, *, info: dict | None = None):
        self.vocab = vocab
        self.config = config or GeneratorConfig()
        self.net = SmilesLSTM(len(vocab), self.config)
        self.info = dict(info or {})

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    @torch.no_grad()
    def sample(self, n: int, *, temperature: float = 1.0, batch_size: int = 1000, max_length: int | None = None,
               seed: int = 0, mask: str = "syntax", on_batch: Callable[[int], None] | None = None) -> list[str]:
        """``n`` SMILES strings in the model's ``smiles_form`` (Kekulé SMILES from a model trained on them),
        not checked by RDKit: an invalid one is returned as drawn, so validity can be measured. Each
        string is drawn token by token from ``softmax(logits / temperature)``, with
        ``mask`` (:data:`MASKS`): ``"syntax"`` (the default) renormalised over the tokens the SMILES
        grammar allows next (:class:`~serendip.chem.generate.syntax.SyntaxMask`: no unclosed ring or
        branch, no empty branch, no dangling bond), ``"valence"`` also refusing bonds an atom has no room
        for (:class:`~serendip.chem.generate.valence.ValenceMask`), ``"none"`` over the whole vocabulary, until
        ``<eos>`` or ``max_length`` tokens (default: the config's; ``<pad>`` and ``<bos>`` are never
        drawn); near ``max_length`` a mask draws only tokens after which what is open can still close
        in time (:meth:`~serendip.chem.generate.syntax.SyntaxMask.finish_in_time`), and a string cut at
        ``max_length`` is returned as far as it got. ``seed`` seeds a private ``torch.Generator`` (same seed, same
        strings on the same machine). ``on_batch(k)`` is called with the number of strings of each
        finished batch. Raises ConfigError for ``n`` < 0, a temperature <= 0, a batch size < 1 or a mask
        not in :data:`MASKS`."""
        if n < 0 or batch_size < 1:
            raise ConfigError(f"sample: n must be >= 0 and batch_size >= 1, got n={n}, batch_size={batch_size}")
        if mask not in MASKS:
            raise ConfigError(f"sample: mask must be one of {', '.join(MASKS)}, got {mask}")
        if not temperature > 0:
            raise ConfigError(f"sample: temperature must be > 0, got {temperature}")
        max_length = max_length or self.config.max_length
        gen = torch.Generator().manual_seed(int(seed))
        was_training = self.net.training
        self.net.eval()
        out: list[str] = []
        try:
            for start in range(0, n, batch_size):
                b = min(batch_size, n - start)
                out.extend(self._sample_batch(b, temperature, max_length, gen, mask))
                if on_batch is not None:
                    on_batch(b)
        finally:
            self.net.train(was_training)
        return out

    def _sample_batch(self, b: int, temperature: float, max_length: int, gen: torch.Generator,
                      mask_name: str) -> list[str]:
        v = self.vocab
        x = torch.full((b, 1), v.bos_id, dtype=torch.long)
        done = torch.zeros(b, dtype=torch.bool)
        kind = MASKS[mask_name]
        mask = None if kind is None else kind(v, b, max_depth=max_length + 1)
        steps, state = [], None
        for t in range(max_length + 1):  # + 1: room for the <eos> after max_length tokens
            logits, state = self.net(x, state)
            logits = logits[:, -1].float()
            logits[:, [v.pad_id, v.bos_id]] = float("-inf")  # never targets in training: never drawn
            if mask is None:
                probs = torch.softmax(logits / temperature, dim=-1)
            else:
                probs = mask.restrict(logits, temperature, steps_left=max_length + 1 - t)
            nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
            if mask is not None:
                mask.step(nxt, done)
            nxt = torch.where(done, torch.full_like(nxt, v.pad_id), nxt)
            steps.append(nxt)
            done |= nxt == v.eos_id
            if bool(done.all()):
                break
            x = nxt.unsqueeze(1)
        ids = torch.stack(steps, dim=1).tolist()
        return [v.decode(row[:max_length]) for row in ids]

    def save(self, folder: Path) -> Path:
        """Write the model folder (:data:`FILES`); existing files of those names are replaced, each
        written to a temporary name first and then renamed. Returns ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".weights.safetensors.tmp"
        save_file({k: t.detach().contiguous() for k, t in self.net.state_dict().items()}, str(tmp))
        tmp.replace(folder / "weights.safetensors")
        self.vocab.save(folder / ".vocab.json.tmp")
        (folder / ".vocab.json.tmp").replace(folder / "vocab.json")
        meta = {"format": FORMAT, "config": self.config.model_dump(), "vocab_size": len(self.vocab),
                "info": self.info}
        (folder / ".config.json.tmp").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        (folder / ".config.json.tmp").replace(folder / "config.json")
        return folder

    @classmethod
    def load(cls, folder: Path) -> "SmilesGenerator":
        """Read a folder written by :meth:`save`. Raises DataError naming the folder and the file for a
        missing or damaged file, or weights that do not fit the config."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(folder)
        missing = [f for f in FILES if not (folder / f).is_file()]
        if missing:
            raise DataError(f"{folder}: not a SMILES generator folder (missing {', '.join(missing)}); write one "
                            "with `serendip chem generate train`")
        try:
            meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
            config = GeneratorConfig(**meta["config"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise DataError(f"{folder / 'config.json'}: damaged ({type(exc).__name__}: {exc})") from None
        model = cls(Vocab.load(folder / "vocab.json"), config, info=meta.get("info") or {})
        try:
            state = load_file(str(folder / "weights.safetensors"))
            model.net.load_state_dict(state)
        except (SafetensorError, RuntimeError, OSError) as exc:
            raise DataError(f"{folder / 'weights.safetensors'}: does not fit config.json and vocab.json "
                            f"({str(exc).splitlines()[0]})") from None
        return model
