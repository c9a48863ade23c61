"""The closed symbol alphabet of a run's inputs, and the check of inputs against it at predict time.

A run whose tokenizer spells its whole vocabulary with a few letters (``ACGTN`` for a DNA run's
character, k-mer or BPE tokenizer; the amino acids for a protein run) can only read text in those
letters; anything else becomes ``[UNK]`` and would be scored as noise. The alphabet is read from the
tokenizer the run saved, so the engine needs no knowledge of any domain.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from serendip.errors import DataError
from serendip.models.example import Example
from serendip.models.labels import example_name

__all__ = ["check_alphabet", "run_alphabet"]

#: a tokenizer vocabulary spelled with at most this many distinct letters is a closed alphabet
_MAX_ALPHABET = 32
_WORD_MARKS = ("##", "\u0120", "\u2581")  # WordPiece continuation, byte-level BPE space, SentencePiece


def run_alphabet(tokenizer: Any) -> frozenset[str] | None:
    """The closed symbol alphabet a run's inputs are spelled in, read from its saved tokenizer.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        The run's tokenizer (``model/`` or ``adapter/`` folder).

    Returns
    -------
    frozenset of str or None
        Upper-case letters: the characters of every non-special vocabulary entry (``##``, ``Ġ`` and
        ``▁`` word marks removed) when they are at most 32 letters (DNA ``ACGTN`` character, k-mer
        or BPE vocabularies; proteins); None for an open vocabulary (a text model), where any input
        is accepted.
    """
    try:
        vocab = tokenizer.get_vocab()
    except (AttributeError, NotImplementedError, TypeError):
        return None
    special = set(getattr(tokenizer, "all_special_tokens", []) or [])
    letters: set[str] = set()
    for token in vocab:
        if token in special or (token[:1], token[-1:]) in (("[", "]"), ("<", ">")):
            continue
        for mark in _WORD_MARKS:
            token = token.removeprefix(mark)
        letters.update(token.upper())
        if len(letters) > _MAX_ALPHABET:
            return None
    return frozenset(letters) if letters and all(c.isalpha() for c in letters) else None


def check_alphabet(examples: list[Example], alphabet: frozenset[str] | None, input_path: Path,
                   skipped: list) -> list[Example]:
    """The examples spelled in ``alphabet`` (case-insensitive, whitespace ignored); each other one is
    added to ``skipped`` with its first foreign character and position.

    Raises
    ------
    DataError
        More than half of the examples hold a character outside the alphabet: the file is not the
        run's kind of input (English text given to a DNA run). The message names the file, the
        count, the first such record and character, and the alphabet.
    """
    from serendip.issues import Issue

    if alphabet is None:
        return examples
    kept: list[Example] = []
    bad: list[tuple[int, Example, str, int]] = []
    for n, ex in enumerate(examples, 1):
        text = "".join(t for t in (ex.text, ex.text_pair) if t)
        pos = next((i for i, c in enumerate(text) if c.upper() not in alphabet and not c.isspace()),
                   None)
        if pos is None:
            kept.append(ex)
        else:
            bad.append((n, ex, text[pos], pos + 1))
    letters = "".join(sorted(alphabet))
    if bad and len(bad) * 2 > len(examples):
        _, ex, char, pos = bad[0]
        raise DataError(
            f"{input_path}: {len(bad)} of {len(examples)} record(s) are not spelled in the run's "
            f"alphabet {letters} (first: record {example_name(ex)}, character {char!r} at position "
            f"{pos}); the run was trained on {letters} sequences, so this file was not scored")
    skipped += [Issue(str(input_path), f"character {char!r} at position {pos} is not in the run's "
                      f"alphabet {letters}", record=ex.id or str(n))
                for n, ex, char, pos in bad]
    return kept
