"""The unit of training data the engine passes around."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Example:
    """One labelled (or unlabelled) example.

    ``text`` is the input (a sentence, a DNA sequence, a SMILES string); ``text_pair`` the second
    input of a pair task; ``label`` a class name (str), a list of class names (multi-label), a float
    (regression) or a list of per-token tags (token classification); None when unlabelled.
    ``id`` names the example in error messages and predictions (record id, FASTA id, row number);
    ``source`` says where it came from ("file.csv line 12") and ``meta`` holds anything else
    (e.g. ``{"augmented_from": "seq7", "augmentation": "reverse_complement"}``).
    """

    text: str
    label: Any = None
    text_pair: str | None = None
    id: str | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
