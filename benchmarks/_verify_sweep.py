"""Training recipes for the SciFact verifier, chosen on held-out TRAIN claims only.

Used by ``benchmarks/evidence_scifact.py``. A *recipe* is a backbone (the offline all-MiniLM-L6-v2,
optionally first adapted by continued masked-LM pre-training on the mirror's biomedical abstracts), a
learning rate per model and the rationale model's negatives (the sentences of the abstracts a claim
cites, optionally plus those of its best-ranked BM25 abstract that it does not cite: the hardest of the
abstracts the open setting shows the model). Each model's epoch is chosen by the engine on the held-out claims; the
rationale threshold and the backbone by the held-out pipeline score (mean of sentence-level
selection+label F1 and abstract-level label-only F1 over the oracle and open settings). The dev
claims are never read here.

Domain adaptation follows Gururangan et al. 2020 ("Don't Stop Pretraining", ACL: DAPT) with the
engine's ``pretrain`` (``model.init_from``); the corpus is the mirror's abstracts named in issue 16:
SciFact's corpus, the Cohen 2006 records and BC5CDR's training set (never its dev or test).
"""
from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from serendip.evidence import scifact_data as sd
from serendip.evidence.scifact_metrics import gold_from_claims, scifact_scores

#: rationale thresholds tried on the held-out claims (the last run's best, 0.3, was the grid's edge)
THRESHOLDS = (0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)
#: label-model log-probability offsets tried on the held-out claims (Verifier.label_bias)
BIASES = tuple({"CONTRADICT": c, "NEI": n} for c in (-1.0, -0.5, 0.0, 0.5) for n in (-1.0, 0.0, 1.0))
#: the held-out pipeline score that picks the threshold and the backbone
SELECTION_METRICS = ("sentence_selection_label", "abstract_label_only")


@dataclass
class Recipe:
    """One model's training options (the backbone folder, learning rate, epochs, data variant)."""

    backbone: str
    lr: float
    epochs: int
    negatives: str = "cited"  # rationale model: "cited" | "cited+bm25"
    augment: str = "none"  # label model: "none" | "negation" (scifact_data.negation_examples)


def adaptation_texts(mirror: Path) -> list[str]:
    """Title + abstract of each abstract in the mirror's SciFact corpus, Cohen 2006 records and BC5CDR
    training set (PubTator ``|t|``/``|a|`` lines), one string per document, empty ones dropped."""
    docs = []
    with gzip.open(mirror / "scifact" / "claims" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append(f"{d.get('title') or ''} {' '.join(d['abstract'])}")
    cohen = mirror / "cohen" / "records.jsonl.gz"
    if cohen.is_file():
        with gzip.open(cohen, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                docs.append(f"{r.get('title') or ''} {r.get('abstract') or ''}")
    cdr = mirror / "bc5cdr" / "CDR_TrainingSet.PubTator.txt.gz"
    if cdr.is_file():
        parts: dict[str, list[str]] = {}
        with gzip.open(cdr, "rt", encoding="utf-8") as fh:
            for line in fh:
                bits = line.rstrip("\n").split("|", 2)
                if len(bits) == 3 and bits[1] in ("t", "a"):
                    parts.setdefault(bits[0], []).append(bits[2])
        docs.extend(" ".join(v) for v in parts.values())
    return [" ".join(d.split()) for d in docs if d.strip()]


def adapt_backbone(backbone: str, texts: Sequence[str], out: Path, epochs: float, batch_size: int,
                   log: Callable[[str], None] = print) -> tuple[Path, dict]:
    """Continued masked-LM pre-training of ``backbone`` on ``texts`` (256-token blocks, 5 % of the
    documents held out); returns the adapted model folder and its held-out report."""
    from serendip.models.pretrain.config import pretrain_config_from_options
    from serendip.models.pretrain.run import pretrain

    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "adaptation.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    cfg = pretrain_config_from_options(
        inputs=[corpus], kind="text", out=out / "model", overwrite=True, seed=0,
        overrides=[f'model.init_from="{backbone}"', "data.block_tokens=256", f"training.epochs={epochs}",
                   f"training.batch_size={batch_size}", "training.eval_every=500"])
    t = time.perf_counter()
    result = pretrain(cfg)
    report = {"documents": len(texts), "steps": result.steps, "heldout": result.heldout,
              "baseline": result.baseline, "wall_s": round(time.perf_counter() - t, 1)}
    log(f"adaptation: {len(texts)} documents, {result.steps} steps in {report['wall_s']} s; held-out "
        f"{result.heldout}")
    return out / "model", report


def bm25_negatives(claims: Sequence[dict], corpus: dict, retrieve: Callable, k: int) -> list[dict]:
    """Rationale-model examples labelled ``other``: every sentence of each claim's best-ranked abstract
    among its BM25 top ``k`` that it neither cites nor has as evidence (none when all ``k`` are cited)."""
    top = retrieve(claims, corpus, k)
    out = []
    for c in claims:
        known = set(c["evidence"]) | set(c["cited_doc_ids"])
        for d in [d for d in top[c["id"]] if d not in known][:1]:
            for i, sent in enumerate(corpus[d]["sentences"]):
                out.append({"id": f"{c['id']}:{d}:{i}:bm25", "text": c["claim"], "text_pair": sent,
                            "label": sd.OTHER})
    return out


def pipeline_score(predict: Callable, claims: Sequence[dict], corpus: dict, retrieved: dict | None) -> float:
    """Mean of :data:`SELECTION_METRICS` F1 for ``predict(claim, docs) -> SciFact prediction``."""
    docs_of = (lambda c: [(d, corpus[d]["sentences"]) for d in retrieved[c["id"]]]) if retrieved is not None \
        else (lambda c: [(d, corpus[d]["sentences"]) for d in dict.fromkeys(list(c["evidence"]) + c["cited_doc_ids"])])
    scores = scifact_scores(gold_from_claims(claims), {c["id"]: predict(c, docs_of(c)) for c in claims})
    return sum(scores[m].f1 for m in SELECTION_METRICS) / len(SELECTION_METRICS)


def memoise_model_outputs(verifier) -> None:
    """Cache the verifier's model outputs by input, so a grid over its decision settings (threshold,
    label bias) runs each model once per input."""
    cache: dict = {}
    raw = verifier._probs

    def probs(bundle, pairs):
        key = (id(bundle), tuple(pairs))
        if key not in cache:
            cache[key] = raw(bundle, pairs)
        return cache[key]
    verifier._probs = probs


def tune_decision(verifier, held: Sequence[dict], corpus: dict, held_retrieved: dict,
                  log: Callable[[str], None] = print) -> tuple[float, dict, float]:
    """(threshold, label bias, held-out score): the :data:`THRESHOLDS` x :data:`BIASES` pair with the
    best mean held-out pipeline score over the oracle and open settings."""
    from serendip.evidence.verify import as_scifact_prediction

    memoise_model_outputs(verifier)

    def predict(c, docs):
        return as_scifact_prediction(verifier.verify(c["claim"], docs))
    best = (-1.0, 0.5, {})
    for t in THRESHOLDS:
        for bias in BIASES:
            verifier.threshold, verifier.label_bias = t, dict(bias)
            score = (pipeline_score(predict, held, corpus, None)
                     + pipeline_score(predict, held, corpus, held_retrieved)) / 2
            if score > best[0]:
                best = (score, t, dict(bias))
        log(f"  threshold {t}: best held-out pipeline score so far {best[0]:.4f} (threshold {best[1]}, "
            f"bias {best[2]})")
    return best[1], best[2], best[0]
