"""Claim verification over a workspace: ``train_verifier`` (once) and ``verify_claim``.

:func:`train_verifier` fine-tunes the rationale and label models through the engine on the SciFact
train claims (``scifact-claims``, from the data mirror or cache) and records both runs in the
workspace, named :data:`RATIONALE_RUN` and :data:`LABEL_RUN`. :func:`verify_claim` retrieves the
claim's top-``k`` records with the workspace's search, splits each abstract into sentences with
offsets (:mod:`serendip.evidence.passages`), and labels each record SUPPORT / CONTRADICT / NEI with its
rationale sentences (:class:`serendip.evidence.verify.Verifier`). ``serendip verify`` wraps both.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serendip.errors import DataError, IndexNotBuilt

#: run names of the two models in the workspace's ``runs`` table
RATIONALE_RUN, LABEL_RUN = "scifact-rationale", "scifact-label"
#: a claim longer than this is refused (a claim is a sentence, not a document)
MAX_CLAIM_CHARS = 2000


@dataclass
class RecordVerdict:
    """The verdict on one retrieved record: its search rank, id, PMID and title; ``label`` and its
    ``probability``; ``rationale`` the selected sentences with their offsets into the stored
    abstract (``start``/``end``) and P(rationale)."""

    rank: int
    record_id: int
    pmid: str | None
    title: str | None
    label: str
    probability: float
    rationale: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "record_id": self.record_id, "pmid": self.pmid, "title": self.title,
                "label": self.label, "probability": round(self.probability, 4), "rationale": self.rationale}


def check_text(text: str, *, what: str, limit: int, empty_hint: str, long_hint: str) -> str:
    """``text`` stripped; :class:`DataError` (``"the claim is empty: ..."``, ``"the claim has N
    characters, over the L limit: ..."``) when it is empty or longer than ``limit`` characters."""
    out = (text or "").strip()
    if not out:
        raise DataError(f"the {what} is empty: {empty_hint}")
    if len(out) > limit:
        raise DataError(f"the {what} has {len(out):,} characters, over the {limit:,} limit: {long_hint}")
    return out


def check_claim(claim: str) -> str:
    """The claim stripped; raises :class:`DataError` when empty or over :data:`MAX_CLAIM_CHARS`."""
    return check_text(claim, what="claim", limit=MAX_CLAIM_CHARS, empty_hint="give one sentence to verify",
                      long_hint="give one claim (a sentence), not a document")


def verifier_runs(ws) -> tuple[Path, Path]:
    """The newest finished :data:`RATIONALE_RUN` and :data:`LABEL_RUN` run folders of ``ws``.

    Raises
    ------
    DataError
        Either run is missing: the message says to run ``serendip verify --train``.
    """
    from serendip.models.runs import list_runs

    found: dict[str, Path] = {}
    for run in list_runs(ws, status="done"):
        if run.name in (RATIONALE_RUN, LABEL_RUN) and run.name not in found:
            found[run.name] = Path(run.path)
    missing = [n for n in (RATIONALE_RUN, LABEL_RUN) if n not in found]
    if missing:
        raise DataError(f"no trained verifier in {ws.path} (missing run(s) {', '.join(missing)}): run "
                        f"`serendip verify --train` once (hours on 2 CPU cores, minutes on a GPU)")
    return found[RATIONALE_RUN], found[LABEL_RUN]


def train_verifier(ws, *, epochs_rationale: int = 4, epochs_label: int = 15, batch_size: int = 32,
                   progress=None, log=None) -> tuple[str, str]:
    """Fine-tune both models on the SciFact train claims, tune the decision rule, and record them in
    ``ws``; returns the run ids (rationale, label).

    The recipe of :mod:`serendip.evidence.verify_train` (measured in ``benchmarks/evidence_scifact.py``):
    the train claims are split by claim (90 % fit, 10 % held out, seed 0); the rationale model (lr 5e-5,
    128 tokens) also reads each claim's best-ranked BM25 abstract that it does not cite, the label model
    (lr 2e-5, 256 tokens) also the rule-negated claims; each keeps its best held-out epoch; the rationale
    threshold and label offsets are chosen on the held-out claims and written to the label run's
    ``verifier.json``. The dev and test claims are never read. On 2 CPU cores this takes hours (the
    engine uses a GPU where torch sees one: about 4 minutes on one H200).

    Raises
    ------
    DatasetNotFound
        ``scifact-claims`` is in neither the data mirror nor the cache.
    """
    from serendip.datasets.store import resolve
    from serendip.evidence import scifact_data as sd
    from serendip.evidence import verify_train as vt
    from serendip.evidence.verify import Verifier
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    files = resolve("scifact-claims")
    corpus = sd.load_corpus(files["scifact/claims/corpus.jsonl.gz"])
    fit, held = sd.split_claims(sd.load_claims(files["scifact/claims/claims_train.jsonl"]), 0.1, seed=0)
    retrieve = vt.bm25_retriever(corpus)
    runs = []
    with tempfile.TemporaryDirectory(prefix="serendip-verify-") as tmp:
        for name, rows_of, epochs, length, lr in (
                (RATIONALE_RUN, lambda cs: vt.rationale_rows(cs, corpus, retrieve), epochs_rationale, 128, 5e-5),
                (LABEL_RUN, lambda cs: vt.label_rows(cs, corpus), epochs_label, 256, 2e-5)):
            train = sd.write_jsonl(rows_of(fit), Path(tmp) / f"{name}-fit.jsonl")
            dev = sd.write_jsonl(rows_of(held), Path(tmp) / f"{name}-held.jsonl")
            cfg = FineTuneConfig.model_validate({
                "task": "pair", "data": {"train": str(train), "dev": str(dev), "split": {"test": 0.0},
                                         "columns": {"text_pair": "text_pair", "id": "id"}},
                "imbalance": {"method": "class_weight"},
                "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "max_length": length,
                             "seed": 0, "early_stopping": {"patience": None}},
                "output": {"name": name, "plots": False}})
            runs.append(finetune(cfg, workspace=ws, progress=progress))
    verifier = Verifier(runs[0].run_dir, runs[1].run_dir)
    threshold, bias, score = vt.tune_decision(verifier, held, corpus, retrieve(held, 3), log=log)
    vt.write_decision(runs[1].run_dir, threshold=threshold, label_bias=bias, score=score,
                      tuned_on=f"{len(held)} held-out SciFact train claims (seed 0), oracle + BM25 top-3")
    return runs[0].run_id, runs[1].run_id


def _abstracts(ws, record_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    from sqlalchemy import select

    from serendip.workspace.schema import records

    with ws.engine.connect() as conn:
        rows = conn.execute(select(records.c.id, records.c.title, records.c.abstract).where(
            records.c.id.in_(record_ids)))
        return {rid: (title, abstract) for rid, title, abstract in rows}


def verify_claim(ws, claim: str, k: int = 10, mode: str | None = None, *, verifier=None,
                 threshold: float | None = None) -> list[RecordVerdict]:
    """Verify ``claim`` against the workspace's top-``k`` records.

    Parameters
    ----------
    ws : Workspace
    claim : str
        One sentence (non-empty, at most :data:`MAX_CLAIM_CHARS` characters).
    k : int, default 10
        Records retrieved (``ws.search``).
    mode : str, optional
        Retrieval mode (default: the workspace's).
    verifier : Verifier, optional
        Default: the workspace's trained runs (:func:`verifier_runs`).
    threshold : float, optional
        P(rationale) for a sentence to be selected (default: the one tuned when the verifier was
        trained, else 0.5).

    Returns
    -------
    list of RecordVerdict, in search order (NEI records included: they were read and found silent).

    Raises
    ------
    DataError
        A bad claim or no trained verifier. IndexNotBuilt: no index.
    """
    from serendip.evidence.passages import ABSTRACT, split_record
    from serendip.evidence.verify import Verifier

    claim = check_claim(claim)
    if k < 1:
        raise DataError(f"-k must be at least 1, got {k}")
    if verifier is None:
        verifier = Verifier(*verifier_runs(ws), threshold=threshold)
    hits = ws.search(claim, mode=mode, k=k)
    if not hits and ws.count() == 0:
        raise IndexNotBuilt("the workspace holds no records: run `serendip ingest PATH` first")
    texts = _abstracts(ws, [h.record_id for h in hits])
    passages = {h.record_id: [p for p in split_record(*texts.get(h.record_id, (None, None)), record=str(h.record_id))
                              if p.field == ABSTRACT] for h in hits}
    verdicts = verifier.verify(claim, [(str(h.record_id), [p.text for p in passages[h.record_id]]) for h in hits])
    out = []
    for h, v in zip(hits, verdicts):
        spans = passages[h.record_id]
        rationale = [{"index": r.index, "start": spans[r.index].start, "end": spans[r.index].end,
                      "text": r.text, "probability": round(r.probability, 4)} for r in v.rationale]
        out.append(RecordVerdict(h.rank, h.record_id, h.pmid, h.title, v.label, v.probability, rationale))
    return out
