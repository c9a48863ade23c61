"""Claim verification over abstracts: rationale selection, then a label per abstract.

The pipeline of VeriSci (Wadden et al., "Fact or Fiction: Verifying Scientific Claims", EMNLP 2020,
section 5), with models fine-tuned through Serendip's engine (``pair`` task runs; see
``benchmarks/evidence_scifact.py``):

1. the **rationale model** scores every sentence of an abstract against the claim; sentences with
   P(rationale) >= ``threshold`` are selected (at most ``max_sentences``, highest first, returned in
   abstract order);
2. with no sentence selected the abstract is NOT ENOUGH INFO; otherwise the **label model** reads the
   claim and the selected sentences and gives SUPPORT / CONTRADICT / NEI with probabilities.

Output per abstract: :class:`AbstractVerdict` (label, its probability, the rationale sentences with
their indices and probabilities). Offsets into the stored text come from the passage splitter where
sentences were split by Serendip; SciFact's corpus gives its sentences ready split.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serendip.errors import DataError
from serendip.evidence.scifact_data import NEI, RATIONALE, SENT_SEP

#: the labels a verdict can carry (NEI is "not enough info": no finding on the claim)
VERDICTS = ("SUPPORT", "CONTRADICT", NEI)


@dataclass
class Rationale:
    """One selected sentence: its index in the abstract, text and P(rationale)."""

    index: int
    text: str
    probability: float


@dataclass
class AbstractVerdict:
    """The verdict on one abstract: ``label`` one of :data:`VERDICTS`, ``probability`` the label
    model's probability of it (for NEI by lack of rationale: 1 - the best sentence's P(rationale)),
    ``rationale`` the selected sentences in abstract order."""

    doc_id: str
    label: str
    probability: float
    rationale: list[Rationale] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "label": self.label, "probability": round(self.probability, 4),
                "rationale": [{"index": r.index, "text": r.text, "probability": round(r.probability, 4)}
                              for r in self.rationale]}


class Verifier:
    """Rationale selection + label prediction with two fine-tuned ``pair`` runs.

    Parameters
    ----------
    rationale_run, label_run : path
        Run folders of the engine (``runs/<id>``): a ``pair`` task with classes
        ``rationale``/``other``, and one with SUPPORT / CONTRADICT / NEI.
    threshold : float, optional
        P(rationale) at or above which a sentence is selected. Default: the one tuned on held-out
        training claims and kept in ``<label_run>/verifier.json``
        (:func:`serendip.evidence.verify_train.write_decision`), else 0.5.
    max_sentences : int, default 3
        At most this many sentences are selected per abstract (SciFact's abstract-level score reads
        three).
    batch_size : int, default 64
    label_bias : mapping of label -> float, optional
        Added to the label model's log-probabilities before the arg-max (the reported probability stays
        the model's): a decision-rule correction for the class weights of training, tuned on held-out
        claims (logit adjustment, Menon et al., "Long-tail learning via logit adjustment", ICLR 2021).
        Default: the tuned offsets of ``verifier.json``, else 0 for every label.

    Raises
    ------
    RunNotFound, DataError
        A run folder that is not a complete run, or whose classes are not the expected ones.
    """

    def __init__(self, rationale_run: str | Path, label_run: str | Path, *, threshold: float | None = None,
                 max_sentences: int = 3, batch_size: int = 64, label_bias: dict[str, float] | None = None):
        from serendip.evidence.verify_train import read_decision
        from serendip.models.predict import load_run_model

        tuned = read_decision(label_run) or {"threshold": 0.5, "label_bias": {}}
        self.selector = load_run_model(rationale_run)
        self.labeller = load_run_model(label_run)
        self._check(self.selector, {RATIONALE, "other"}, rationale_run)
        self._check(self.labeller, set(VERDICTS), label_run)
        self.threshold = float(tuned["threshold"] if threshold is None else threshold)
        self.max_sentences = int(max_sentences)
        self.batch_size = int(batch_size)
        self.label_bias = dict(tuned["label_bias"] if label_bias is None else label_bias)

    @staticmethod
    def _check(bundle, classes: set[str], run) -> None:
        found = set(bundle.label_space.classes) if bundle.label_space is not None else set()
        if found != classes:
            raise DataError(f"run {run}: classes {sorted(found)}, expected {sorted(classes)}")

    def _probs(self, bundle, claim_pairs: list[tuple[str, str]]) -> np.ndarray:
        from serendip.models.example import Example
        from serendip.models.predict import predict_examples

        if not claim_pairs:
            return np.zeros((0, len(bundle.label_space.classes)))
        pred = predict_examples(bundle, [Example(text=c, text_pair=p) for c, p in claim_pairs],
                                batch_size=self.batch_size)
        return pred.scores

    def rationale_probabilities(self, claim: str, sentences: Sequence[str]) -> np.ndarray:
        """P(rationale) per sentence: float64 array of shape (len(sentences),)."""
        scores = self._probs(self.selector, [(claim, s) for s in sentences])
        col = list(self.selector.label_space.classes).index(RATIONALE)
        return scores[:, col] if len(scores) else np.zeros(0)

    def label_probabilities(self, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """The label model's probabilities for (claim, evidence text) pairs: ``{label: float64 array of
        shape (len(pairs),)}`` for each of :data:`VERDICTS`."""
        scores = self._probs(self.labeller, list(pairs))
        classes = list(self.labeller.label_space.classes)
        return {c: (scores[:, classes.index(c)] if len(scores) else np.zeros(0)) for c in VERDICTS}

    def support_probability(self, sentence: str, evidence: Sequence[str]) -> float:
        """P(SUPPORT) of ``sentence`` given the ``evidence`` sentences (joined as the label model was
        trained), in [0, 1]: the grounding check of cited answers
        (:func:`serendip.evidence.citations.check_sentences`)."""
        return float(self.label_probabilities([(sentence, SENT_SEP.join(evidence))])["SUPPORT"][0])

    def verify(self, claim: str, docs: Sequence[tuple[str, Sequence[str]]]) -> list[AbstractVerdict]:
        """A verdict per abstract.

        Parameters
        ----------
        claim : str
            The claim (non-empty).
        docs : sequence of (doc_id, sentences)
            Each abstract as its sentences (the title not included).

        Returns
        -------
        list of AbstractVerdict, in the order of ``docs``.

        Raises
        ------
        DataError
            An empty claim.
        """
        if not claim or not claim.strip():
            raise DataError("the claim is empty")
        pairs = [(claim, s) for _, sents in docs for s in sents]
        scores = self._probs(self.selector, pairs)
        col = list(self.selector.label_space.classes).index(RATIONALE)
        p_all = scores[:, col] if len(scores) else np.zeros(0)
        verdicts: list[AbstractVerdict] = []
        chosen: list[tuple[int, list[Rationale]]] = []
        start = 0
        for doc_id, sents in docs:
            p = p_all[start:start + len(sents)]
            start += len(sents)
            top = [int(i) for i in np.argsort(-p, kind="stable")[:self.max_sentences] if p[i] >= self.threshold]
            rationale = [Rationale(i, sents[i], float(p[i])) for i in sorted(top)]
            best = float(p.max()) if len(p) else 0.0
            verdicts.append(AbstractVerdict(str(doc_id), NEI, 1.0 - best, rationale))
            if rationale:
                chosen.append((len(verdicts) - 1, rationale))
        label_scores = self._probs(self.labeller, [(claim, SENT_SEP.join(r.text for r in rat)) for _, rat in chosen])
        classes = list(self.labeller.label_space.classes)
        bias = np.array([float(self.label_bias.get(c, 0.0)) for c in classes])
        for (pos, _), row in zip(chosen, label_scores):
            k = int(np.argmax(np.log(np.clip(row, 1e-12, None)) + bias))
            verdicts[pos].label, verdicts[pos].probability = classes[k], float(row[k])
            if classes[k] == NEI:
                verdicts[pos].rationale = []
        return verdicts


def as_scifact_prediction(verdicts: Sequence[AbstractVerdict]) -> dict:
    """Verdicts as a SciFact prediction for one claim (NEI abstracts left out), for
    :func:`serendip.evidence.scifact_metrics.scifact_scores`."""
    return {v.doc_id: {"label": v.label, "sentences": [r.index for r in v.rationale]}
            for v in verdicts if v.label != NEI}
