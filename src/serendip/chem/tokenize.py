"""Atom-level SMILES tokenisation and its vocabulary.

The regular expression is the one of Schwaller et al. 2019, "Molecular Transformer: A Model for
Uncertainty-Calibrated Chemical Reaction Prediction", ACS Cent. Sci. 5, 1572 (their ``smi_tokenizer``):
a bracket atom (``[nH]``, ``[C@@H]``, ``[O-]``) is one token, ``Br`` and ``Cl`` are one token, a two-digit
ring closure ``%10`` is one token, every other character is its own token. A SMILES the expression
does not cover whole (a character outside it, such as ``!`` or an unclosed ``[``) is refused, never
silently shortened.

:class:`Vocab` maps tokens to integer ids with three special tokens (``<pad>`` = 0, ``<bos>`` = 1,
``<eos>`` = 2); it is saved as JSON. A token missing from the vocabulary is an error that names the
SMILES (there is no ``<unk>``: a generator must never emit a token it cannot spell).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from serendip.errors import DataError, ParseError

#: Schwaller et al. 2019 (Molecular Transformer), ``smi_tokenizer``
SMILES_REGEX = re.compile(
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])")

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)


def tokenize_smiles(smiles: str, *, where: str | None = None) -> list[str]:
    """The atom-level tokens of ``smiles`` (Schwaller et al. 2019 regex, :data:`SMILES_REGEX`).

    ``"".join(tokens) == smiles`` always holds. Raises :class:`~serendip.errors.ParseError` naming the
    SMILES (and ``where``, e.g. "file.csv line 12") and the first character the expression does not
    cover, for an empty string or one with characters outside the expression."""
    if not smiles:
        raise ParseError("empty SMILES", record=where)
    tokens = SMILES_REGEX.findall(smiles)
    if sum(map(len, tokens)) != len(smiles):
        pos = 0
        for tok in tokens:  # findall skips what it cannot match: find the first gap
            nxt = smiles.find(tok, pos)
            if nxt != pos:
                break
            pos += len(tok)
        raise ParseError(f"SMILES {smiles} cannot be tokenised: the character {smiles[pos]} at position {pos} "
                         "starts no SMILES token", record=where)
    return tokens


class Vocab:
    """Token <-> id map; ids 0, 1, 2 are ``<pad>``, ``<bos>``, ``<eos>``, then the SMILES tokens in the
    order given (:meth:`build` sorts them by falling frequency, ties by token)."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tokens[:3] != list(SPECIALS):
            tokens = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        if len(set(tokens)) != len(tokens):
            dup = next(t for t in tokens if tokens.count(t) > 1)
            raise DataError(f"vocabulary lists the token {dup} twice")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    pad_id, bos_id, eos_id = 0, 1, 2

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens

    @classmethod
    def build(cls, smiles: Iterable[str], *, skip_errors: bool = False) -> "Vocab":
        """The vocabulary of every token in ``smiles``. A SMILES that cannot be tokenised raises
        ParseError as :func:`tokenize_smiles` (naming the 0-based record number), or with
        ``skip_errors`` adds nothing (the caller reports it when it encodes the records)."""
        counts: Counter[str] = Counter()
        for i, smi in enumerate(smiles):
            try:
                counts.update(tokenize_smiles(smi, where=f"#{i}"))
            except ParseError:
                if not skip_errors:
                    raise
        return cls(sorted(counts, key=lambda t: (-counts[t], t)))

    def encode(self, smiles: str, *, where: str | None = None) -> list[int]:
        """``[<bos>, tokens..., <eos>]`` as ids. Raises ParseError naming the SMILES (and ``where``) for
        a token not in the vocabulary or a SMILES that cannot be tokenised."""
        ids = [self.bos_id]
        for tok in tokenize_smiles(smiles, where=where):
            try:
                ids.append(self.index[tok])
            except KeyError:
                raise ParseError(f"SMILES {smiles} has the token {tok}, which is not in the vocabulary "
                                 f"({len(self)} tokens)", record=where) from None
        ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The SMILES spelt by ``ids``: a leading ``<bos>`` is skipped, reading stops at ``<eos>`` or
        ``<pad>``. Raises DataError for an id outside the vocabulary."""
        out = []
        for k, i in enumerate(ids):
            i = int(i)
            if i == self.bos_id and k == 0:
                continue
            if i in (self.eos_id, self.pad_id):
                break
            if not 0 <= i < len(self.tokens) or i == self.bos_id:
                raise DataError(f"token id {i} at position {k} is not a SMILES token of this vocabulary")
            out.append(self.tokens[i])
        return "".join(out)

    def save(self, path: Path) -> None:
        """Write ``{"tokens": [...]}`` as JSON to ``path``."""
        Path(path).write_text(json.dumps({"tokens": self.tokens}, ensure_ascii=False, indent=0), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Vocab":
        """Read a file written by :meth:`save`. Raises DataError naming the file when it is not one."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            tokens = data["tokens"]
            if not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a SMILES vocabulary file ({type(exc).__name__}: {exc})") from None
        return cls(tokens)
