"""The official SciFact claim-verification metrics: abstract-level and sentence-level precision,
recall and F1 (Wadden et al., "Fact or Fiction: Verifying Scientific Claims", EMNLP 2020, section 4;
the scoring walk-through in https://github.com/allenai/scifact/blob/master/doc/evaluation.md).

Gold, per claim: ``{doc_id: [{"sentences": [int, ...], "label": "SUPPORT" | "CONTRADICT"}, ...]}``
(one or more evidence sets per abstract, all with the abstract's label). Predicted, per claim:
``{doc_id: {"label": "SUPPORT" | "CONTRADICT", "sentences": [int, ...]}}``; an abstract predicted
NOT ENOUGH INFO is simply left out.

- **Abstract-level, label-only**: a predicted abstract is correct when it is a gold abstract and its
  label is the gold label. **Label+rationale**: besides, one whole gold evidence set lies among its
  *first three* predicted sentences (:data:`MAX_ABSTRACT_SENTS`). Precision = correct / predicted
  abstracts; recall = correct / gold abstracts.
- **Sentence-level, selection-only**: a predicted sentence is correct when it belongs to a gold
  evidence set of a gold abstract and every other sentence of that set is predicted too (all predicted
  sentences count). **Selection+label**: besides, the abstract's predicted label is the gold label.
  Precision = correct / predicted sentences; recall = correct / gold evidence sentences.

Written from the published definitions; no code of the official evaluator is copied.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: the abstract-level rationale check reads only the first three predicted sentences
MAX_ABSTRACT_SENTS = 3
LABELS = ("SUPPORT", "CONTRADICT")


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 (0.0 where a denominator is 0), with the counts behind them."""

    precision: float
    recall: float
    f1: float
    correct: int
    predicted: int
    gold: int

    @classmethod
    def of(cls, correct: int, predicted: int, gold: int) -> "PRF":
        p = correct / predicted if predicted else 0.0
        r = correct / gold if gold else 0.0
        return cls(p, r, 2 * p * r / (p + r) if p + r else 0.0, correct, predicted, gold)


def _check(claim_id, doc_id, label: str, where: str) -> None:
    if label not in LABELS:
        raise ValueError(f"{where}: claim {claim_id}, abstract {doc_id}: label {label!r} is not one of "
                         f"{', '.join(LABELS)} (leave a NOT ENOUGH INFO abstract out)")


def _gold_label(claim_id, doc_id, sets: list[dict]) -> str:
    labels = {s["label"] for s in sets}
    if len(labels) != 1:
        raise ValueError(f"gold: claim {claim_id}, abstract {doc_id}: evidence sets disagree on the "
                         f"label ({sorted(labels)})")
    label = labels.pop()
    _check(claim_id, doc_id, label, "gold")
    return label


def _counts(gold: Mapping, pred: Mapping, claim_id) -> dict[str, int]:
    c = dict.fromkeys(("abs_label", "abs_rationale", "sent_sel", "sent_sel_label", "pred_abs",
                       "gold_abs", "pred_sents", "gold_sents"), 0)
    c["gold_abs"] = len(gold)
    c["gold_sents"] = sum(len(s["sentences"]) for sets in gold.values() for s in sets)
    for doc_id, p in pred.items():
        _check(claim_id, doc_id, p["label"], "predicted")
        sents = [int(i) for i in p.get("sentences") or ()]
        c["pred_abs"] += 1
        c["pred_sents"] += len(set(sents))
        sets = gold.get(doc_id)
        if not sets:
            continue
        label_ok = p["label"] == _gold_label(claim_id, doc_id, sets)
        first3 = set(sents[:MAX_ABSTRACT_SENTS])
        c["abs_label"] += label_ok
        c["abs_rationale"] += label_ok and any(set(s["sentences"]) <= first3 for s in sets)
        chosen = set(sents)
        hit = {i for s in sets if set(s["sentences"]) <= chosen for i in s["sentences"]}
        c["sent_sel"] += len(hit)
        c["sent_sel_label"] += len(hit) if label_ok else 0
    return c


def scifact_scores(gold: Mapping, predicted: Mapping) -> dict[str, PRF]:
    """The four SciFact scores over all claims.

    Parameters
    ----------
    gold : ``{claim_id: {doc_id: [evidence set, ...]}}`` as in ``claims_dev.jsonl``'s ``evidence``
        (doc ids as str or int, consistently with ``predicted``); a claim with no evidence maps to {}.
    predicted : ``{claim_id: {doc_id: {"label": ..., "sentences": [...]}}}``; a claim absent from it
        predicted nothing. Claims absent from ``gold`` raise (scored against what?).

    Returns
    -------
    dict
        ``abstract_label_only``, ``abstract_label_rationale``, ``sentence_selection``,
        ``sentence_selection_label``: each a :class:`PRF`.

    Raises
    ------
    ValueError
        A label other than SUPPORT / CONTRADICT, gold evidence sets of one abstract that disagree, or a
        predicted claim that gold does not hold, each naming the claim and abstract.
    """
    extra = set(predicted) - set(gold)
    if extra:
        raise ValueError(f"predicted: claim(s) {sorted(extra)[:5]} not in the gold claims")
    total: dict[str, int] = {}
    for claim_id, ev in gold.items():
        for k, v in _counts(ev, predicted.get(claim_id) or {}, claim_id).items():
            total[k] = total.get(k, 0) + v
    if not total:
        raise ValueError("gold holds no claim")
    return {
        "abstract_label_only": PRF.of(total["abs_label"], total["pred_abs"], total["gold_abs"]),
        "abstract_label_rationale": PRF.of(total["abs_rationale"], total["pred_abs"], total["gold_abs"]),
        "sentence_selection": PRF.of(total["sent_sel"], total["pred_sents"], total["gold_sents"]),
        "sentence_selection_label": PRF.of(total["sent_sel_label"], total["pred_sents"], total["gold_sents"]),
    }


def gold_from_claims(claims: Iterable[Mapping]) -> dict:
    """``{claim id: evidence}`` from SciFact claim records (``claims_{train,dev}.jsonl`` lines)."""
    return {c["id"]: {str(d): sets for d, sets in (c.get("evidence") or {}).items()} for c in claims}
