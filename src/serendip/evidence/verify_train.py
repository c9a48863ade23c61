"""The verifier's training data recipe and its decision rule, tuned on held-out training claims.

Shared by ``serendip verify --train`` (:func:`serendip.evidence.api.train_verifier`) and
``benchmarks/evidence_scifact.py``. What was measured to matter (SciFact dev, same MiniLM-L6 backbone,
``benchmarks/results/evidence_scifact.json``):

- **rationale negatives from retrieval**: besides every sentence of the abstracts a claim cites, every
  sentence of its best-ranked BM25 abstract that it does not cite (:func:`rationale_rows`) — the kind of
  abstract the open setting shows the model (held-out MCC 0.488 -> 0.534);
- **claim negation for the label model** (:func:`serendip.evidence.scifact_data.negation_examples`):
  held-out macro-F1 0.587 -> 0.644;
- **a tuned decision rule**: the rationale threshold and a per-label offset on the label model's
  log-probabilities (:class:`serendip.evidence.verify.Verifier`'s ``label_bias``; logit adjustment,
  Menon et al., ICLR 2021), chosen together on the held-out claims by the mean of sentence-level
  selection+label F1 and abstract-level label-only F1 over the oracle and open settings
  (:func:`tune_decision`), and kept beside the label model in ``verifier.json``
  (:func:`write_decision`), which :class:`~serendip.evidence.verify.Verifier` reads.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from serendip.errors import DataError
from serendip.evidence import scifact_data as sd
from serendip.evidence.scifact_metrics import gold_from_claims, scifact_scores

__all__ = ["BIASES", "DECISION_FILE", "THRESHOLDS", "bm25_retriever", "label_rows", "read_decision",
           "rationale_rows", "tune_decision", "write_decision"]

#: the decision settings of a trained verifier, in its label run's folder
DECISION_FILE = "verifier.json"
#: rationale thresholds tried on the held-out claims
THRESHOLDS = (0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)
#: label-model log-probability offsets tried on the held-out claims
BIASES = tuple({"CONTRADICT": c, "NEI": n} for c in (-1.0, -0.5, 0.0, 0.5) for n in (-1.0, 0.0, 1.0))
#: the held-out pipeline score's metrics (official SciFact names)
SELECTION_METRICS = ("sentence_selection_label", "abstract_label_only")


def bm25_retriever(corpus: Mapping[str, dict]) -> Callable[[Sequence[dict], int], dict]:
    """``retrieve(claims, k) -> {claim id: [doc id, ...]}``: Serendip's BM25 over each abstract's title
    and sentences (built once, here)."""
    from serendip.retrieval.bm25 import BM25Index

    ids = list(corpus)
    index = BM25Index.build(ids, [f"{corpus[d]['title']} {' '.join(corpus[d]['sentences'])}" for d in ids])

    def retrieve(claims: Sequence[dict], k: int) -> dict:
        return {c["id"]: [d for d, _ in index.search(c["claim"], k)] for c in claims}
    return retrieve


def rationale_rows(claims: Sequence[dict], corpus: Mapping[str, dict], retrieve=None, k: int = 3) -> list[dict]:
    """Rationale-model examples: :func:`~serendip.evidence.scifact_data.rationale_examples`, plus (with
    ``retrieve``) every sentence of each claim's best-ranked abstract among its top ``k`` that it neither
    cites nor has as evidence, labelled ``other`` (none when all ``k`` are cited)."""
    rows = sd.rationale_examples(claims, corpus)
    if retrieve is None:
        return rows
    top = retrieve(claims, k)
    for c in claims:
        known = set(c["evidence"]) | set(c["cited_doc_ids"])
        for d in [d for d in top[c["id"]] if d not in known][:1]:
            rows.extend({"id": f"{c['id']}:{d}:{i}:bm25", "text": c["claim"], "text_pair": s, "label": sd.OTHER}
                        for i, s in enumerate(corpus[d]["sentences"]))
    return rows


def label_rows(claims: Sequence[dict], corpus: Mapping[str, dict], negation: bool = True) -> list[dict]:
    """Label-model examples: :func:`~serendip.evidence.scifact_data.label_examples`, plus their
    rule-negated copies (:func:`~serendip.evidence.scifact_data.negation_examples`) when ``negation``."""
    rows = sd.label_examples(claims, corpus)
    return rows + (sd.negation_examples(rows) if negation else [])


def pipeline_score(predict: Callable, claims: Sequence[dict], corpus: Mapping[str, dict],
                   retrieved: dict | None) -> float:
    """Mean F1 of :data:`SELECTION_METRICS` for ``predict(claim, [(doc id, sentences)]) -> SciFact
    prediction``, on the cited abstracts (``retrieved`` None) or the retrieved ones."""
    def docs_of(c):
        ids = retrieved[c["id"]] if retrieved is not None else dict.fromkeys(list(c["evidence"]) + c["cited_doc_ids"])
        return [(d, corpus[d]["sentences"]) for d in ids]
    scores = scifact_scores(gold_from_claims(claims), {c["id"]: predict(c, docs_of(c)) for c in claims})
    return sum(scores[m].f1 for m in SELECTION_METRICS) / len(SELECTION_METRICS)


def _memoise(verifier) -> Callable[[], None]:
    """Cache the verifier's model outputs by input while a grid runs; returns the undo."""
    cache: dict = {}
    raw = verifier._probs

    def probs(bundle, pairs):
        key = (id(bundle), tuple(pairs))
        if key not in cache:
            cache[key] = raw(bundle, pairs)
        return cache[key]
    verifier._probs = probs

    def undo() -> None:
        verifier._probs = raw
    return undo


def tune_decision(verifier, held: Sequence[dict], corpus: Mapping[str, dict], held_retrieved: dict,
                  log: Callable[[str], None] | None = None) -> tuple[float, dict[str, float], float]:
    """(threshold, label bias, held-out score): the :data:`THRESHOLDS` x :data:`BIASES` pair with the
    best mean :func:`pipeline_score` over the oracle and open (``held_retrieved``) settings; each model
    runs once per input. ``verifier`` is left with the chosen settings."""
    from serendip.evidence.verify import as_scifact_prediction

    undo = _memoise(verifier)

    def predict(c, docs):
        return as_scifact_prediction(verifier.verify(c["claim"], docs))
    best = (-1.0, 0.5, {})
    try:
        for t in THRESHOLDS:
            for bias in BIASES:
                verifier.threshold, verifier.label_bias = t, dict(bias)
                score = (pipeline_score(predict, held, corpus, None)
                         + pipeline_score(predict, held, corpus, held_retrieved)) / 2
                if score > best[0]:
                    best = (score, t, dict(bias))
            if log is not None:
                log(f"threshold {t}: best held-out score so far {best[0]:.4f} (threshold {best[1]}, bias {best[2]})")
    finally:
        undo()
    verifier.threshold, verifier.label_bias = best[1], best[2]
    return best[1], best[2], best[0]


def write_decision(label_run: str | Path, *, threshold: float, label_bias: Mapping[str, float], score: float,
                   tuned_on: str) -> Path:
    """Write the decision settings to ``<label_run>/verifier.json``; returns the path."""
    path = Path(label_run) / DECISION_FILE
    path.write_text(json.dumps({"threshold": threshold, "label_bias": dict(label_bias), "heldout_score": score,
                                "tuned_on": tuned_on}, indent=1) + "\n", encoding="utf-8")
    return path


def read_decision(label_run: str | Path) -> dict | None:
    """The decision settings of a label run (``threshold``: float in (0, 1), ``label_bias``: {label:
    float}), or None when the run has none (a run trained before they were tuned).

    Raises
    ------
    DataError
        ``verifier.json`` is not JSON or its values are out of range (the file named).
    """
    path = Path(label_run) / DECISION_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        threshold = float(data["threshold"])
        bias = {str(k): float(v) for k, v in (data.get("label_bias") or {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{path}: not a verifier settings file ({exc.__class__.__name__}: {exc})") from None
    if not 0.0 < threshold < 1.0:
        raise DataError(f"{path}: threshold {threshold} is outside (0, 1)")
    return {"threshold": threshold, "label_bias": bias}
