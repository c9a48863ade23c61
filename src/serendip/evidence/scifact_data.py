"""SciFact claims and abstracts as training data for the two verification models.

SciFact (Wadden et al., EMNLP 2020; ``scifact-claims`` in the data mirror) gives claims with, per
evidence abstract, one or more rationale sets (sentence indices) and a label (SUPPORT / CONTRADICT);
the corpus gives each abstract as a list of sentences. Following VeriSci's recipe (the same paper,
section 5), two pair-classification data sets are made, one example per line of a JSON-lines file
with ``text`` (the claim), ``text_pair`` and ``label``, for the engine's ``pair`` task:

- **rationale selection**: every sentence of every abstract a claim cites (evidence abstracts and,
  for claims without evidence, the cited abstracts) with label ``rationale`` when it belongs to a
  gold rationale set, else ``other``;
- **label prediction**: for each evidence abstract, the claim and its gold rationale sentences (in
  abstract order) labelled SUPPORT or CONTRADICT; NOT ENOUGH INFO examples are 1–2 sentences drawn
  (seeded) from the abstracts cited by claims without evidence, and from the non-rationale sentences
  of evidence abstracts.

Claims are split for model selection by claim id (:func:`split_claims`), never by example, so no
claim's sentences are on both sides. Only the train claims are used for training and tuning; the dev
claims are the held-out test of ``benchmarks/evidence_scifact.py``.
"""
from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from serendip.errors import DataError

RATIONALE, OTHER = "rationale", "other"
SUPPORT, CONTRADICT, NEI = "SUPPORT", "CONTRADICT", "NEI"
#: the sentences of the rationale-selection and label inputs are joined by this
SENT_SEP = " "


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except ValueError as exc:
                    raise DataError(f"{path}: line {n}: not JSON ({exc})") from None


def load_corpus(path: str | Path) -> dict[str, dict]:
    """``{doc_id (str): {"title": str, "sentences": [str, ...]}}`` from SciFact's ``corpus.jsonl[.gz]``.

    Raises
    ------
    DataError
        A line that is not JSON, or lacks ``doc_id`` or a list ``abstract`` (file and line named).
    """
    path = Path(path)
    out = {}
    for n, doc in _read_jsonl(path):
        if "doc_id" not in doc or not isinstance(doc.get("abstract"), list):
            raise DataError(f"{path}: line {n}: a SciFact corpus line needs doc_id and an abstract list")
        out[str(doc["doc_id"])] = {"title": doc.get("title") or "", "sentences": [str(s) for s in doc["abstract"]]}
    return out


def load_claims(path: str | Path) -> list[dict]:
    """SciFact claims (``claims_{train,dev}.jsonl``): ``id``, ``claim``, ``evidence`` and
    ``cited_doc_ids`` as in the file (doc ids as str).

    Raises
    ------
    DataError
        A line that is not JSON or lacks ``id``/``claim`` (file and line named).
    """
    path = Path(path)
    out = []
    for n, c in _read_jsonl(path):
        if "id" not in c or not isinstance(c.get("claim"), str):
            raise DataError(f"{path}: line {n}: a SciFact claim needs id and claim")
        out.append({"id": c["id"], "claim": c["claim"],
                    "evidence": {str(d): sets for d, sets in (c.get("evidence") or {}).items()},
                    "cited_doc_ids": [str(d) for d in c.get("cited_doc_ids") or ()]})
    return out


def split_claims(claims: list[dict], dev_fraction: float = 0.1, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(train, dev) claims, split by claim with ``numpy.random.default_rng(seed)``."""
    order = np.random.default_rng(seed).permutation(len(claims))
    n_dev = int(round(len(claims) * dev_fraction))
    dev_ids = set(order[:n_dev].tolist())
    return ([c for i, c in enumerate(claims) if i not in dev_ids], [c for i, c in enumerate(claims) if i in dev_ids])


def _rationale_ids(sets: list[dict]) -> set[int]:
    return {int(i) for s in sets for i in s["sentences"]}


def _docs_of(claim: Mapping, corpus: Mapping[str, dict]) -> list[str]:
    docs = list(claim["evidence"]) + [d for d in claim["cited_doc_ids"] if d not in claim["evidence"]]
    missing = [d for d in docs if d not in corpus]
    if missing:
        raise DataError(f"claim {claim['id']}: abstract(s) {missing} not in the corpus")
    return docs


def rationale_examples(claims: Iterable[Mapping], corpus: Mapping[str, dict]) -> list[dict]:
    """One ``{"text": claim, "text_pair": sentence, "label": "rationale"|"other", "id": ...}`` per
    sentence of every abstract the claims cite (see the module docstring)."""
    out = []
    for c in claims:
        for d in _docs_of(c, corpus):
            gold = _rationale_ids(c["evidence"].get(d) or [])
            for i, sent in enumerate(corpus[d]["sentences"]):
                out.append({"id": f"{c['id']}:{d}:{i}", "text": c["claim"], "text_pair": sent,
                            "label": RATIONALE if i in gold else OTHER})
    return out


def label_examples(claims: Iterable[Mapping], corpus: Mapping[str, dict], seed: int = 0) -> list[dict]:
    """Claim + rationale examples labelled SUPPORT / CONTRADICT / NEI (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = []
    for c in claims:
        for d in _docs_of(c, corpus):
            sents = corpus[d]["sentences"]
            sets = c["evidence"].get(d)
            if sets:
                gold = sorted(_rationale_ids(sets))
                out.append({"id": f"{c['id']}:{d}", "text": c["claim"], "label": sets[0]["label"],
                            "text_pair": SENT_SEP.join(sents[i] for i in gold if i < len(sents))})
                pool = [i for i in range(len(sents)) if i not in gold]
            else:
                pool = list(range(len(sents)))
            if pool:
                k = min(len(pool), int(rng.integers(1, 3)))
                pick = sorted(rng.choice(pool, size=k, replace=False).tolist())
                out.append({"id": f"{c['id']}:{d}:nei", "text": c["claim"], "label": NEI,
                            "text_pair": SENT_SEP.join(sents[i] for i in pick)})
    return out


_AUX = r"(is|are|was|were|can|could|does|do|did|has|have|had|will|would|should|may|might|must)"
_NOT_AFTER_AUX = re.compile(rf"\b{_AUX}\s+not\b", re.IGNORECASE)
_CANNOT = re.compile(r"\bcannot\b", re.IGNORECASE)
_FIRST_AUX = re.compile(rf"\b{_AUX}\b", re.IGNORECASE)
#: antonym pairs swapped (first match only, both directions) when a claim has no auxiliary verb
_ANTONYMS = (("increases", "decreases"), ("increased", "decreased"), ("increase", "decrease"),
             ("higher", "lower"), ("more", "less"), ("promotes", "inhibits"), ("enhances", "reduces"),
             ("positively", "negatively"), ("positive", "negative"), ("upregulates", "downregulates"),
             ("up-regulates", "down-regulates"), ("improves", "worsens"), ("greater", "smaller"))
_SWAP = {a: b for a, b in _ANTONYMS} | {b: a for a, b in _ANTONYMS}
_SWAP_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SWAP), key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)
_FLIP = {SUPPORT: CONTRADICT, CONTRADICT: SUPPORT, NEI: NEI}


def negated_claim(claim: str) -> str | None:
    """The claim negated by rule, or None where no rule applies: an auxiliary's ``not`` removed
    ("is not" -> "is", "cannot" -> "can"), else ``not`` added after the first auxiliary ("is" -> "is
    not"), else the first antonym swapped ("increases" <-> "decreases", "higher" <-> "lower", ...).

    SciFact's own CONTRADICT claims were written by negating supported ones (Wadden et al. 2020,
    section 3.2); these rules make such pairs for the label model (FEVER-style claim mutation, Thorne et
    al. 2018), so that it learns the negation rather than the topic."""
    if _NOT_AFTER_AUX.search(claim):
        return _NOT_AFTER_AUX.sub(lambda m: m.group(1), claim, count=1)
    if _CANNOT.search(claim):
        return _CANNOT.sub(lambda m: "Can" if m.group(0)[0].isupper() else "can", claim, count=1)
    if _FIRST_AUX.search(claim):
        return _FIRST_AUX.sub(lambda m: f"{m.group(1)} not", claim, count=1)
    m = _SWAP_RE.search(claim)
    if m:
        word = _SWAP[m.group(1).lower()]
        word = word.capitalize() if m.group(1)[0].isupper() else word
        return claim[:m.start()] + word + claim[m.end():]
    return None


def negation_examples(rows: Iterable[Mapping]) -> list[dict]:
    """For each label example whose claim :func:`negated_claim` can negate, a copy with the negated
    claim and the label flipped (SUPPORT <-> CONTRADICT; NEI stays NEI, so a ``not`` alone never
    tells the label)."""
    out = []
    for r in rows:
        neg = negated_claim(r["text"])
        if neg is not None and neg != r["text"]:
            out.append({**r, "id": f"{r['id']}:neg", "text": neg, "label": _FLIP[r["label"]]})
    return out


def write_jsonl(rows: Iterable[Mapping], path: str | Path) -> Path:
    """Write ``rows`` one JSON object per line (UTF-8); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path
