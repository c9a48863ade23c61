"""Cited answers on SciFact: ``serendip ask`` against a retrieval-only baseline, same script.

Data: the 5,183 SciFact abstracts (BEIR corpus of the mirror) ingested into a workspace and indexed
(hybrid: BM25 + all-MiniLM-L6-v2); the SciFact **dev** claims that have evidence (the labelled
held-out split; never tuned on), each asked as a question ("Is it true that <claim>?"); and 50 fixed
off-topic questions (:data:`_offtopic_questions.SCORED`).

Tuned on train only: the relevance floor (``min_relevance``) is the value of a grid that best separates
200 SciFact **train** claims with evidence (seed 0), asked the same way, from 30 other off-topic
questions (:data:`_offtopic_questions.TUNING`): the highest balanced accuracy of "answered" on the
claims and "no evidence found" on the off-topic questions (ties: the lower floor). Then, on the same
train claims, the passage choice (``record_weight``: the weight of the record's reciprocal search rank,
``max_records``) and the extractive answer's ``max_sentences``: the grid point of best citation F1
(:func:`_tune_selection`).

Metrics (micro-averaged over the questions): **citation precision** = cited abstracts in the claim's
gold evidence set / cited abstracts; **citation recall** = gold evidence abstracts cited / gold evidence
abstracts; **grounded share** = sentences that pass the grounding check / sentences written; answered
rate on the dev claims; **no-evidence rate** on the 50 off-topic questions. Baseline: cite the top-3
records of the same hybrid search (no sentence selection, never abstains).

Generative backends (``--backend openai -o base_url=…``) are scored on the first ``--generative-n`` dev
claims and need the verifier (``--verifier RATIONALE_RUN LABEL_RUN``: runs of
``evidence_scifact.py`` or ``serendip verify --train``).

No published figure is on this setting: PaperQA2 and OpenScholar report citation precision/recall on
their own benchmarks (LitQA2, ScholarQABench), not on SciFact claims; the rows say anchor None.

Usage: ``python benchmarks/evidence_answer.py [--workdir /tmp/serendip-answer] [--verifier R L]
[--backend extractive] [-o NAME=VALUE] [--contended]``.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _offtopic_questions as offtopic  # noqa: E402
import _rows  # noqa: E402
import _scifact_tune as sf  # noqa: E402

from serendip.evidence import scifact_data as sd  # noqa: E402
from serendip.workbench import Workspace  # noqa: E402

BENCH = "evidence_answer"
GRID = tuple(round(x, 3) for x in np.arange(0.30, 0.701, 0.025))
RECORD_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
MAX_RECORDS = (1, 2, 3, None)
MAX_SENTENCES = (1, 2, 3, 5)


def as_question(claim: str) -> str:
    """``"Is it true that <claim>?"``, the claim's first letter lower-cased unless it starts an acronym."""
    c = claim.strip().rstrip(".")
    if len(c) > 1 and not c[1].isupper():
        c = c[0].lower() + c[1:]
    return f"Is it true that {c}?"


def _workspace(folder: Path) -> Workspace:
    if (folder / "indexes" / "bm25").exists():
        return Workspace.open(folder)
    ws = Workspace.init(folder)
    t = time.perf_counter()
    ws.ingest([sf.mirror() / "corpus.jsonl.gz"], fmt="beir")
    ws.index()
    print(f"workspace {folder}: {ws.count()} records ingested and indexed in {time.perf_counter() - t:.0f} s",
          flush=True)
    return ws


def _doc_ids(ws) -> dict[int, str]:
    from sqlalchemy import select

    from serendip.workspace.schema import records

    with ws.engine.connect() as conn:
        return {rid: sid.split(":", 1)[1] for rid, sid in conn.execute(
            select(records.c.id, records.c.source_id).where(records.c.source_id.like("beir:%")))}


def _gather(ws, questions: list[str]) -> list[tuple]:
    """Each question's passages, relevance and embeddings (:func:`serendip.evidence.answer.gather_passages`),
    computed once for both tunings."""
    from serendip.evidence.answer import gather_passages

    out = []
    for i, q in enumerate(questions, 1):
        out.append(gather_passages(ws, q))
        if i % 50 == 0:
            print(f"  passages gathered for {i}/{len(questions)} questions", flush=True)
    return out


def _tune_floor(train_gathered: list[tuple], off_gathered: list[tuple]) -> tuple[float, dict]:
    def best(gathered):  # the best passage relevance, as ask reports it
        return np.array([float(rel.max()) if len(rel) else float("nan") for _, rel, _ in gathered])

    on, off = best(train_gathered), best(off_gathered)
    grid = {t: ((on >= t).mean() + (off < t).mean()) / 2 for t in GRID}
    floor = max(GRID, key=lambda t: (round(grid[t], 6), -t))
    print(f"floor {floor}: balanced accuracy {grid[floor]:.3f} (train claims answered {(on >= floor).mean():.3f}, "
          f"off-topic abstained {(off < floor).mean():.3f})", flush=True)
    return floor, {str(t): round(v, 4) for t, v in grid.items()}


def _tune_selection(train: list[dict], train_gathered: list[tuple], to_doc, floor: float) -> tuple[dict, dict]:
    """Passage choice (:func:`serendip.evidence.answer.select_passages`) and the extractive answer's
    length chosen on the train claims: the grid point of best citation F1 (ties: the smaller record
    weight, then the fewer sentences). Each claim's passages are gathered once; the extractive backend
    quotes the first ``max_sentences`` supplied passages, each citing itself, so its citations follow
    from the choice without generating."""
    from serendip.evidence.answer import select_passages

    gathered = [(set(c["evidence"]), g) for c, g in zip(train, train_gathered)]
    scores = {}
    for w in RECORD_WEIGHTS:
        for r in MAX_RECORDS:
            for m in MAX_SENTENCES:
                hit = cited = gold = 0
                for truth, (found, rel, vec) in gathered:
                    order = select_passages(found, rel, vec, max_passages=8, min_relevance=floor, record_weight=w,
                                            max_records=r)
                    docs = {to_doc[found[i]["record_id"]] for i in order[:m]}
                    hit, cited, gold = hit + len(docs & truth), cited + len(docs), gold + len(truth)
                p, rc = (hit / cited if cited else 0.0), hit / gold
                scores[(w, r, m)] = (p, rc, 2 * p * rc / (p + rc) if p + rc else 0.0)
    w, r, m = max(scores, key=lambda key: (round(scores[key][2], 6), -key[0], -key[2]))
    p, rc, f1 = scores[(w, r, m)]
    print(f"passage choice on train: record_weight {w}, max_records {r}, max_sentences {m}: citation precision "
          f"{p:.3f}, recall {rc:.3f}, F1 {f1:.3f} (untuned {scores[(0.0, None, 5)]})", flush=True)
    return {"record_weight": w, "max_records": r, "max_sentences": m}, {
        f"{k[0]}/{k[1]}/{k[2]}": round(v[2], 4) for k, v in scores.items()}


def _score(ws, claims, to_doc, answer_fn) -> dict:
    hit = cited = gold = grounded = written = answered = 0
    ms = []
    for c in claims:
        t = time.perf_counter()
        a = answer_fn(as_question(c["claim"]))
        ms.append(1000 * (time.perf_counter() - t))
        by_number = {p.number: p for p in a.passages}
        docs = {to_doc[by_number[n].record_id] for s in a.sentences for n in s.cites}
        truth = set(c["evidence"])
        hit, cited, gold = hit + len(docs & truth), cited + len(docs), gold + len(truth)
        grounded, written = grounded + len(a.sentences), written + len(a.sentences) + len(a.rejected)
        answered += a.status == "answered"
    return {"citation_precision": hit / cited if cited else 0.0, "citation_recall": hit / gold,
            "grounded_share": grounded / written if written else 0.0, "answered_rate": answered / len(claims),
            "p50_ms": float(np.percentile(ms, 50))}


def _baseline(ws, claims, to_doc) -> dict:
    hit = cited = gold = 0
    for c in claims:
        docs = {to_doc[h.record_id] for h in ws.search(as_question(c["claim"]), k=3)}
        truth = set(c["evidence"])
        hit, cited, gold = hit + len(docs & truth), cited + len(docs), gold + len(truth)
    return {"citation_precision": hit / cited, "citation_recall": hit / gold, "answered_rate": 1.0}


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/serendip-answer"))
    ap.add_argument("--verifier", nargs=2, metavar=("RATIONALE_RUN", "LABEL_RUN"))
    ap.add_argument("--backend", default="extractive")
    ap.add_argument("-o", "--option", action="append", default=[], help="backend option NAME=VALUE")
    ap.add_argument("--generative-n", type=int, default=50)
    ap.add_argument("--contended", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    return ap.parse_args()


def main() -> None:
    from serendip.evidence.answer import ask

    args = _args()
    t_all = time.perf_counter()
    root = sf.mirror() / "claims"
    train = [c for c in sd.load_claims(root / "claims_train.jsonl") if c["evidence"]]
    train = random.Random(0).sample(train, 200)
    dev = [c for c in sd.load_claims(root / "claims_dev.jsonl") if c["evidence"]]
    ws = _workspace(args.workdir / "ws")
    to_doc = _doc_ids(ws)
    verifier = None
    if args.verifier:
        from serendip.evidence.verify import Verifier

        verifier = Verifier(*args.verifier)
    train_gathered = _gather(ws, [as_question(c["claim"]) for c in train])
    floor, grid = _tune_floor(train_gathered, _gather(ws, list(offtopic.TUNING)))
    choice, choice_grid = _tune_selection(train, train_gathered, to_doc, floor)
    del train_gathered
    options = dict(o.split("=", 1) for o in args.option)
    generative = args.backend != "extractive"
    if not generative:
        options.setdefault("max_sentences", choice["max_sentences"])
    claims = dev[:args.generative_n] if generative else dev

    def answer_fn(q):
        return ask(ws, q, backend=args.backend, options=options, min_relevance=floor, verifier=verifier,
                   record_weight=choice["record_weight"], max_records=choice["max_records"])

    t = time.perf_counter()
    ours = _score(ws, claims, to_doc, answer_fn)
    wall = time.perf_counter() - t
    off = [answer_fn(q).status == "no evidence found" for q in offtopic.SCORED]
    base = _baseline(ws, claims, to_doc)
    print(f"dev claims with evidence: {len(claims)}; {args.backend}: {ours}; baseline top-3 hits: {base}; "
          f"off-topic no-evidence rate {np.mean(off):.3f}", flush=True)
    settings = {"backend": args.backend, "min_relevance": floor, "tuned_on": "200 train claims + 30 off-topic",
                "record_weight": choice["record_weight"], "max_records": choice["max_records"] or "any",
                "retrieval": "hybrid", "k": 10, "max_passages": 8, "verifier": bool(verifier),
                "contended": args.contended, **{f"option_{k}": v for k, v in options.items() if k != "api_key"}}
    method = f"serendip-ask-{args.backend}"
    rows = [_rows.row(BENCH, "scifact-claims-as-questions", "dev", len(claims), method, m, ours[m],
                      settings=settings, baseline=("top-3 hybrid hits cited", base[m]) if m in base else None,
                      wall_s=wall) for m in ("citation_precision", "citation_recall", "answered_rate")]
    rows.append(_rows.row(BENCH, "scifact-claims-as-questions", "dev", len(claims), method, "grounded_share",
                          ours["grounded_share"], settings=settings))
    rows.append(_rows.row(BENCH, "scifact-claims-as-questions", "dev", len(claims), method, "latency_p50_ms",
                          ours["p50_ms"], settings=settings))
    rows.append(_rows.row(BENCH, "offtopic-50", "test", len(off), method, "no_evidence_rate", float(np.mean(off)),
                          settings=settings, baseline=("top-3 hybrid hits cited", 0.0)))
    print(f"relevance-floor grid (balanced accuracy on train + tuning off-topic): {grid}", flush=True)
    print(f"passage-choice grid (citation F1 on train; record_weight/max_records/max_sentences): {choice_grid}",
          flush=True)
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


if __name__ == "__main__":
    main()
