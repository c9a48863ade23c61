"""A second-stage CID scorer: the classifier's probability stacked with document features and a prior
learnt from the training relations.

Why: the fine-tuned classifier (:class:`serendip.kg.relations.CidClassifier`) reads a marked text of at
most ``max_length`` word pieces; what it cannot see, or sees only through a small model, is what
BioCreative V CDR systems used as features: where the two concepts are mentioned (same sentence, the
title), how central each is to the abstract, trigger words between them, and whether the pair, or
each concept, was a CID relation in the curated training abstracts. The best team of the task stacked
such features with a knowledge base (Xu et al., "CD-REST: a system for extracting chemical-induced
disease relation in literature", Database 2016, baw036; the task: Wei et al. 2016, Database baw032);
here the knowledge is the training set's own relations only (no CTD).

Features of one candidate (:data:`FEATURES`, in order; sentences as
:func:`serendip.kg.relations.document_sentences` gives them, a mention's sentence the one holding its
first character):

- ``model_logit``: logit of the classifier's P(CID), clipped to [-10, 10];
- ``shared_sentences``: log(1 + sentences holding a mention of both); ``any_shared``: 1 when there is one;
- ``chemical_in_title``, ``disease_in_title``: 1 when the title mentions the concept; ``both_in_title``:
  1 when it mentions both;
- ``chemical_share``, ``disease_share``: the concept's mentions over the most mentions of any concept
  of its type in the document (1: the most mentioned);
- ``sentence_gap``: log(1 + the fewest sentences between a mention of each);
- ``trigger``: 1 when a sentence holding both matches :data:`TRIGGER` ("induced", "caused by", ...);
- ``n_chemicals``, ``n_diseases``: log(1 + the document's concepts of each type);
- ``prior_pair``: log(1 + training abstracts where the pair is a CID relation);
- ``prior_chemical``, ``prior_disease``: of the training abstracts mentioning the concept, the share
  where it takes part in a CID relation (0 for a concept never mentioned there).

Model: logistic regression (scikit-learn, features standardised) fitted on candidates the classifier
did not train on (``benchmarks/kg_cid.py``: the development abstracts); its inverse regularisation
``C`` chosen by 5-fold cross-validated log-loss with folds by document, the decision threshold by the
BioCreative F1 of the out-of-fold probabilities (gold pairs without a candidate count as missed). Saved
as JSON (:data:`STACKER_FILE` in the classifier's run folder), read back without scikit-learn.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serendip.errors import DataError
from serendip.kg.pubtator import Document
from serendip.kg.relations import (
    CHEMICAL,
    DISEASE,
    Candidate,
    concept_ids,
    document_candidates,
    sentence_of,
)

__all__ = ["FEATURES", "STACKER_FILE", "TRIGGER", "CidPrior", "CidStacker", "candidate_rows", "pair_features"]

STACKER_FILE = "cid_stacker.json"
FEATURES = ("model_logit", "shared_sentences", "any_shared", "chemical_in_title", "disease_in_title",
            "both_in_title", "chemical_share", "disease_share", "sentence_gap", "trigger", "n_chemicals", "n_diseases",
            "prior_pair", "prior_chemical", "prior_disease")
#: Words that state causation in CDR abstracts (lower-cased match anywhere in a shared sentence)
TRIGGER = re.compile(r"induc|caus|associated with|due to|toxicit|after|following|secondary to|develop|produc"
                     r"|adverse|side effect|complicat|related")
GRID = [round(0.05 * i, 2) for i in range(1, 20)]
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 1.0, 10.0)


@dataclass
class CidPrior:
    """What the training abstracts say about pairs and concepts: per (chemical, disease) the abstracts
    where it is a CID relation; per concept the abstracts mentioning it and, of those, the ones where it
    is in a CID relation."""

    pair_cid: dict[tuple[str, str], int]
    concept_docs: dict[str, int]
    concept_cid: dict[str, int]

    @classmethod
    def from_documents(cls, docs: Iterable[Document]) -> CidPrior:
        """Counted over labelled documents (their mentions' resolved ids and ``CID`` relations)."""
        pair_cid: Counter = Counter()
        concept_docs: Counter = Counter()
        concept_cid: Counter = Counter()
        for doc in docs:
            mentioned = {i for m in doc.mentions for i in concept_ids(m)}
            concept_docs.update(mentioned)
            pairs = {(r.id1, r.id2) for r in doc.relations if r.type == "CID"}
            pair_cid.update(pairs)
            concept_cid.update({i for pair in pairs for i in pair} & mentioned)
        return cls(dict(pair_cid), dict(concept_docs), dict(concept_cid))

    def rate(self, concept: str) -> float:
        n = self.concept_docs.get(concept, 0)
        return self.concept_cid.get(concept, 0) / n if n else 0.0

    def to_json(self) -> dict:
        return {"pair_cid": [[c, d, n] for (c, d), n in sorted(self.pair_cid.items())],
                "concept_docs": dict(sorted(self.concept_docs.items())),
                "concept_cid": dict(sorted(self.concept_cid.items()))}

    @classmethod
    def from_json(cls, data: dict) -> CidPrior:
        """Read :meth:`to_json`'s data. Raises ValueError on a count that is not a whole number >= 0 and
        on more CID abstracts than abstracts for a concept; KeyError/TypeError on another shape."""
        prior = cls({(str(c), str(d)): _count(n) for c, d, n in data["pair_cid"]},
                    {str(k): _count(v) for k, v in data["concept_docs"].items()},
                    {str(k): _count(v) for k, v in data["concept_cid"].items()})
        over = [k for k, n in prior.concept_cid.items() if n > prior.concept_docs.get(k, 0)]
        if over:
            raise ValueError(f"concepts in more CID abstracts than abstracts: {', '.join(sorted(over)[:3])}")
        return prior


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"count {value!r} is not a whole number >= 0")
    return value


def _numbers(values: Any, name: str, n: int, positive: bool = False) -> list[float]:
    """``values`` as ``n`` finite floats (> 0 with ``positive``); ValueError naming ``name`` otherwise."""
    if not isinstance(values, list) or len(values) != n:
        raise ValueError(f"{name} is not a list of {n} numbers")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (positive and v <= 0):
            raise ValueError(f"{name} holds {v!r}, not a finite number{' > 0' if positive else ''}")
    return [float(v) for v in values]


def pair_features(doc: Document, cand: Candidate, sentences: Sequence[tuple[int, int]], probability: float,
                  prior: CidPrior) -> list[float]:
    """The :data:`FEATURES` of one candidate of ``doc`` (``sentences``: its sentence spans), floats."""
    chem = {sentence_of(sentences, m.start) for m in cand.chemical_mentions}
    dis = {sentence_of(sentences, m.start) for m in cand.disease_mentions}
    shared = chem & dis
    title_end = len(doc.title)
    counts = {t: Counter(i for m in doc.mentions if m.type == t for i in dict.fromkeys(concept_ids(m)))
              for t in (CHEMICAL, DISEASE)}
    top = {t: max(c.values(), default=1) for t, c in counts.items()}
    p = min(max(probability, 1e-10), 1 - 1e-10)
    gap = min((abs(a - b) for a in chem for b in dis), default=len(sentences))
    text = doc.text
    trigger = any(TRIGGER.search(text[sentences[i][0]:sentences[i][1]].lower()) for i in shared) if sentences else False
    chem_title = any(m.start < title_end for m in cand.chemical_mentions)
    dis_title = any(m.start < title_end for m in cand.disease_mentions)
    return [max(-10.0, min(10.0, math.log(p / (1 - p)))), math.log1p(len(shared)), float(bool(shared)),
            float(chem_title), float(dis_title), float(chem_title and dis_title),
            counts[CHEMICAL][cand.chemical] / top[CHEMICAL], counts[DISEASE][cand.disease] / top[DISEASE],
            math.log1p(gap), float(trigger), math.log1p(len(counts[CHEMICAL])), math.log1p(len(counts[DISEASE])),
            math.log1p(prior.pair_cid.get((cand.chemical, cand.disease), 0)), prior.rate(cand.chemical),
            prior.rate(cand.disease)]


class CidStacker:
    """Logistic regression over :data:`FEATURES` (module docstring): ``mean``, ``scale``, ``coef``
    (length ``len(FEATURES)``), ``intercept``, the decision ``threshold`` and the :class:`CidPrior`."""

    def __init__(self, mean: Sequence[float], scale: Sequence[float], coef: Sequence[float], intercept: float,
                 threshold: float, prior: CidPrior, info: dict | None = None):
        self.mean, self.scale, self.coef = list(mean), list(scale), list(coef)
        self.intercept, self.threshold, self.prior = float(intercept), float(threshold), prior
        self.info = dict(info or {})

    def probability(self, features: Sequence[float]) -> float:
        """P(CID) of one candidate's features (:func:`pair_features`)."""
        z = self.intercept + sum(c * (x - m) / s for c, x, m, s in zip(self.coef, features, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def fit(cls, rows: Sequence[tuple[tuple[str, str, str], list[float], bool]], n_gold: int, prior: CidPrior, *,
            seed: int = 0, info: dict | None = None) -> CidStacker:
        """Fit on ``rows`` of ``(triple, features, label)`` (:func:`candidate_rows`: every candidate of some
        labelled documents the classifier did not train on; folds by the triple's PMID); ``n_gold`` is
        their number of gold pairs (those without a candidate included, as BioCreative recall counts
        them). Raises DataError when both classes are not present, there are fewer than 5 documents, or
        ``n_gold`` is below the number of positive candidates (each positive is a gold pair)."""
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold
        from sklearn.preprocessing import StandardScaler

        x = np.array([r[1] for r in rows], dtype=float)
        y = np.array([bool(r[2]) for r in rows])
        groups = np.array([r[0][0] for r in rows])
        if len(set(y.tolist())) < 2 or len(set(groups.tolist())) < 5:
            raise DataError(f"CID stacker: {len(rows)} candidates in {len(set(groups.tolist()))} documents with "
                            f"{int(y.sum())} positive: need both classes and at least 5 documents")
        if not n_gold >= int(y.sum()):  # (NaN too)
            raise DataError(f"CID stacker: n_gold {n_gold} is below the {int(y.sum())} positive candidates "
                            f"(each positive candidate is a gold pair)")
        folds = list(GroupKFold(n_splits=5).split(x, y, groups))
        best = None
        for c in C_GRID:
            oof = _out_of_fold(x, y, folds, c, seed)
            loss = float(-np.mean(np.where(y, np.log(np.clip(oof, 1e-12, 1)), np.log(np.clip(1 - oof, 1e-12, 1)))))
            if best is None or loss < best[0]:
                best = (loss, c, oof)
        loss, c, oof = best
        threshold, f1 = max(((t, _f1(oof >= t, y, n_gold)) for t in GRID), key=lambda tf: (tf[1], tf[0]))
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(scaler.transform(x), y)
        scale = [float(s) if s > 0 else 1.0 for s in scaler.scale_]
        return cls(scaler.mean_.tolist(), scale, model.coef_[0].tolist(), float(model.intercept_[0]), threshold, prior,
                   {**(info or {}), "C": c, "cv_log_loss": round(loss, 4), "cv_f1": round(f1, 4),
                    "n_candidates": len(rows), "n_documents": len(set(groups.tolist())), "n_gold": n_gold})

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / STACKER_FILE
        path.write_text(json.dumps({"features": list(FEATURES), "mean": self.mean, "scale": self.scale,
                                    "coef": self.coef, "intercept": self.intercept, "threshold": self.threshold,
                                    "info": self.info, "prior": self.prior.to_json()}), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> CidStacker:
        """Read a saved stacker. Raises DataError naming the file when it is not one: not JSON, other
        features, a number that is not finite (a scale <= 0, a threshold outside [0, 1]), a prior count that is
        not a whole number >= 0."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["features"] != list(FEATURES):
                raise ValueError(f"features {data['features']} are not this version's {list(FEATURES)}")
            n = len(FEATURES)
            mean, scale, coef = (_numbers(data[k], k, n, positive=k == "scale") for k in ("mean", "scale", "coef"))
            (intercept,), (threshold,) = _numbers([data["intercept"]], "intercept", 1), \
                _numbers([data["threshold"]], "threshold", 1)
            if not 0 <= threshold <= 1:
                raise ValueError(f"threshold {threshold} is outside [0, 1]")
            info = data.get("info")
            return cls(mean, scale, coef, intercept, threshold, CidPrior.from_json(data["prior"]),
                       info if isinstance(info, dict) else None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"{path}: not a saved CID stacker ({type(exc).__name__}: {exc}); delete it to use the "
                            "classifier alone") from None


def _out_of_fold(x: Any, y: Any, folds: list, c: float, seed: int) -> Any:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    oof = np.zeros(len(y))
    for fit_idx, held_idx in folds:
        if len(set(y[fit_idx].tolist())) < 2:
            oof[held_idx] = y[fit_idx].mean()
            continue
        scaler = StandardScaler().fit(x[fit_idx])
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(scaler.transform(x[fit_idx]), y[fit_idx])
        oof[held_idx] = model.predict_proba(scaler.transform(x[held_idx]))[:, 1]
    return oof


def _f1(predicted: Any, y: Any, n_gold: int) -> float:
    tp = int((predicted & y).sum())
    n_pred = int(predicted.sum())
    return 2 * tp / (n_pred + n_gold) if n_pred + n_gold else 0.0


def candidate_rows(docs: Iterable[Document], scored: dict[tuple[str, str, str], float],
                   prior: CidPrior) -> tuple[list[tuple[tuple[str, str, str], list[float], bool]], int]:
    """``(triple, features, label)`` of every candidate of ``docs`` (``scored``: the classifier's
    probability of each candidate triple; label False for an unlabelled document's) and the documents'
    number of gold CID pairs (those without a candidate included)."""
    from serendip.kg.relations import document_sentences

    rows, n_gold = [], 0
    for doc in docs:
        found, _ = document_candidates(doc)
        n_gold += len({(r.id1, r.id2) for r in doc.relations if r.type == "CID"})
        spans = document_sentences(doc) if found else []
        rows += [(c.triple, pair_features(doc, c, spans, scored[c.triple], prior), bool(c.label)) for c in found]
    return rows, n_gold
