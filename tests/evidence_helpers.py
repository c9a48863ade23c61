"""Shared evidence test helpers: a :class:`Verifier` whose two models are replaced by fixed
probabilities, so the selection and labelling rules are what a test checks."""
from __future__ import annotations

import numpy as np

from serendip.evidence.verify import Verifier


class _Space:
    def __init__(self, classes):
        self.classes = classes


class _Bundle:
    def __init__(self, classes):
        self.label_space = _Space(classes)


def fixed_verifier(p_rationale: dict[str, float], label_rows: list[list[float]]) -> Verifier:
    """A Verifier whose rationale model gives ``p_rationale[sentence]`` and whose label model gives the
    rows of ``label_rows`` in turn (classes CONTRADICT, NEI, SUPPORT)."""
    v = Verifier.__new__(Verifier)
    v.selector, v.labeller = _Bundle(["other", "rationale"]), _Bundle(["CONTRADICT", "NEI", "SUPPORT"])
    v.threshold, v.max_sentences, v.batch_size = 0.5, 2, 8
    rows = iter(label_rows)

    def probs(bundle, pairs):
        if bundle is v.selector:
            return np.array([[1 - p_rationale[s], p_rationale[s]] for _, s in pairs])
        return np.array([next(rows) for _ in pairs])

    v._probs = probs
    return v
