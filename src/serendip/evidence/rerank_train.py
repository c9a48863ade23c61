"""Training a cross-encoder reranker on a workspace's own records from judged queries
(``serendip rerank-train``).

Input: BEIR-style files (Thakur et al. 2021): ``queries.jsonl`` (``{"_id", "text"}`` per line) and a
qrels TSV (``query-id<TAB>corpus-id<TAB>score``, an optional header), read by
:func:`serendip.retrieval.evaluate.load_beir_queries` / :func:`~serendip.retrieval.evaluate.load_beir_qrels`
(:func:`load_judgements`). A qrels ``corpus-id`` names a workspace record by the id it had in the file
it was ingested from (its source id, ``source_id`` in ``serendip search --json``: ``4983`` finds the
record ingested as ``beir:4983`` or ``jsonl:4983``, and ``beir:4983`` works too; a record of a format
without ids has none), or, with ``record_ids``, by its workspace record id (``record_id`` in
``serendip search --json``). Queries of ``queries.jsonl`` without a judgement are not used (BEIR keeps
all splits' queries in one file; the qrels choose the split).

Recipe (:func:`train_reranker`; the defaults are ``benchmarks/evidence_rerank.py``'s, chosen on
SciFact): the judged queries are split by query (:func:`~serendip.evidence.rerank_data.split_queries`,
``held_out`` of them held out, seed 0); per query, its judged-relevant records and ``negatives`` hard
negatives drawn from the workspace's own ``mode`` top ``mine_depth`` (:mod:`serendip.evidence.rerank_data`);
the bundled all-MiniLM-L6-v2 fine-tuned through the engine's ``pair`` task
(:func:`~serendip.evidence.rerank.reranker_config` + :func:`serendip.models.train.finetune`: 3 epochs
at 128 tokens, lr 1e-4, class-weighted loss), the run recorded in the workspace. The held-out queries
then choose the rerank depth and weight (:mod:`serendip.evidence.rerank_tune`), written beside the
model (``reranker.json``), so ``serendip search --rerank RUN`` uses them; with no held-out query that
has a relevant record, no settings are written and a search uses depth 50, weight 1.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from serendip.core.progress import Steps, start_step
from serendip.errors import DataError

__all__ = ["Judgements", "RerankTraining", "load_judgements", "train_reranker"]


@dataclass
class Judgements:
    """Judged queries over a workspace's records: ``queries`` (query id -> text, judged ones only),
    ``qrels`` (query id -> {record id (str): relevance}), ``texts`` (record id -> "title abstract",
    the text a search's reranker reads) and the two files they came from."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    texts: dict[str, str]
    queries_file: Path
    qrels_file: Path


@dataclass
class RerankTraining:
    """What :func:`train_reranker` did: the run (``run_id``, ``run_dir``), the queries (``fit`` /
    ``held`` counts) and training pairs (``positives``, ``negatives``), the training wall time in
    seconds, and the settings chosen on the held-out queries (``rerank_k``, ``weight``, their nDCG@10
    and the first stage's alone; all None when nothing was held out)."""

    run_id: str | None
    run_dir: Path
    mode: str
    fit: int
    held: int
    positives: int
    negatives: int
    train_s: float
    rerank_k: int | None = None
    weight: float | None = None
    ndcg_at_10: float | None = None
    first_stage_ndcg_at_10: float | None = None


def _line_of(path: Path, qid: str, did: str | None = None) -> int | None:
    """The first line of the qrels file ``path`` judging ``qid`` (and ``did``); None if not found."""
    with path.open("r", encoding="utf-8", newline="") as fh:
        for lineno, raw in enumerate(fh, 1):
            parts = [p.strip() for p in raw.rstrip("\r\n").split("\t")]
            if parts[0] == qid and (did is None or (len(parts) > 1 and parts[1] == did)):
                return lineno
    return None


def _where(path: Path, qid: str, did: str | None = None) -> str:
    line = _line_of(path, qid, did)
    return f"{path}, line {line}" if line else str(path)


def _record_ids(ws, qrels_file: Path, qrels: dict, record_ids: bool) -> dict[str, str]:
    """corpus-id -> workspace record id (str) for every corpus-id of ``qrels``.

    Raises
    ------
    DataError
        A corpus-id that names no record, or (source ids) more than one; names file and line.
    """
    from sqlalchemy import select

    from serendip.literature.readers import id_keyed_formats, source_id_of
    from serendip.workspace.schema import possible_record_ids, records

    wanted = sorted({d for judged in qrels.values() for d in judged})
    if record_ids:
        forms = {d: {d} for d in wanted if d.isdigit()}
        column = records.c.id
    else:
        formats = id_keyed_formats()
        forms = {d: {d} | {source_id_of(f, d) for f in formats} for d in wanted}
        column = records.c.source_id
    keys = sorted({int(f) if record_ids else f for fs in forms.values() for f in fs})
    if record_ids:  # a corpus-id outside the record id range is no record (never bound: SQLite refuses it)
        keys = possible_record_ids(keys)
    found: dict[str, str] = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(keys), 900):  # under SQLite's bound-parameter limit
            for rid, key in conn.execute(select(records.c.id, column).where(column.in_(keys[start:start + 900]))):
                found[str(key)] = str(rid)
    first_query: dict[str, str] = {}
    for q, judged in qrels.items():
        for d in judged:
            first_query.setdefault(d, q)
    out = {}
    for d in wanted:
        hits = sorted({found[f] for f in forms.get(d, ()) if f in found})
        qid = first_query[d]
        if not hits:
            how = ("a workspace record id (record_id in `serendip search --json`)" if record_ids else
                   "the id it had in the file it was ingested from, e.g. a BEIR corpus _id; or give "
                   "--record-ids for workspace record ids")
            raise DataError(f"{_where(qrels_file, qid, d)}: record {d!r} is not in the workspace (a corpus-id "
                            f"is {how})")
        if len(hits) > 1:
            raise DataError(f"{_where(qrels_file, qid, d)}: record {d!r} is ambiguous: records {', '.join(hits)} "
                            f"were ingested with that id from different formats; write it as FORMAT:{d}")
        out[d] = hits[0]
    return out


def load_judgements(ws, queries_file: str | Path, qrels_file: str | Path, *, record_ids: bool = False) -> Judgements:
    """Read and check BEIR ``queries.jsonl`` and qrels against the workspace ``ws``.

    Raises
    ------
    DataError
        A file is missing; the qrels judge no record, judge a query absent from ``queries_file``, or
        name a record the workspace does not hold (ambiguous, or without title and abstract); no
        query has a relevant record (relevance > 0). Each names the file and, where there is one,
        the line.
    ParseError
        A malformed line (names file and line).
    """
    from serendip.reranking import candidate_texts
    from serendip.retrieval.evaluate import load_beir_qrels, load_beir_queries

    queries_file, qrels_file = Path(queries_file).expanduser(), Path(qrels_file).expanduser()
    for path, what in ((queries_file, 'queries (BEIR queries.jsonl: one {"_id", "text"} per line)'),
                       (qrels_file, "qrels (a TSV of query-id, corpus-id, score)")):
        if not path.is_file():
            raise DataError(f"{path}: no such file; expected the {what}")
    queries, qrels = load_beir_queries(queries_file), load_beir_qrels(qrels_file)
    if not qrels:
        raise DataError(f"{qrels_file}: no judgements")
    for qid in qrels:
        if qid not in queries:
            raise DataError(f"{_where(qrels_file, qid)}: query {qid!r} is not in {queries_file}")
        if not str(queries[qid]).strip():
            raise DataError(f"{queries_file}: query {qid!r} has no text")
    if not any(rel > 0 for judged in qrels.values() for rel in judged.values()):
        raise DataError(f"{qrels_file}: no query has a relevant record (score > 0): nothing to learn from")
    to_record = _record_ids(ws, qrels_file, qrels, record_ids)
    mapped = {q: {to_record[d]: rel for d, rel in judged.items()} for q, judged in qrels.items()}
    texts = candidate_texts(ws, sorted(set(to_record.values()), key=int))
    for qid, judged in qrels.items():
        for d in judged:
            if not texts.get(to_record[d], "").strip():
                raise DataError(f"{_where(qrels_file, qid, d)}: record {d!r} has neither title nor abstract")
    return Judgements({q: queries[q] for q in qrels}, mapped, texts, queries_file, qrels_file)


def _mine(ws, judged: Judgements, mode: str, depth: int, steps: Steps | None) -> dict[str, list[tuple[str, float]]]:
    """query id -> the workspace's ``mode`` top ``depth`` (record id, score), best first, records
    deleted since the index was built left out; in batches of 64 queries (one progress step)."""
    from serendip.reranking import candidate_texts

    searcher = ws.searcher()
    qids = list(judged.queries)
    advance = start_step(steps, "mine negatives", len(qids))
    out: dict[str, list[tuple[str, float]]] = {}
    for start in range(0, len(qids), 64):
        batch = qids[start:start + 64]
        for q, hits in zip(batch, searcher.search_batch([judged.queries[q] for q in batch], mode=mode, k=depth)):
            out[q] = hits
        advance(len(batch))
    missing = sorted({d for hits in out.values() for d, _ in hits} - set(judged.texts), key=int)
    judged.texts.update(candidate_texts(ws, missing))
    return {q: [(d, s) for d, s in hits if d in judged.texts] for q, hits in out.items()}


def _finetune(ws, rows_fit: list[dict], rows_held: list[dict], tmp: Path, settings: dict, steps: Steps | None):
    """The engine run on the pairs (recorded in ``ws``); the pairs are kept in ``<run>/pairs/``."""
    from serendip.evidence.rerank import reranker_config
    from serendip.evidence.scifact_data import write_jsonl
    from serendip.models.train import finetune

    fit = write_jsonl(rows_fit, tmp / "fit.jsonl")
    held = write_jsonl(rows_held, tmp / "held.jsonl") if rows_held else None
    cfg = reranker_config(fit, held, ws.path / "runs", **settings)
    bar: dict = {}

    def progress(done: int, total: int, info: dict) -> None:
        if "advance" not in bar:
            bar["advance"], bar["done"] = start_step(steps, "fine-tune", total), 0
        if done > bar["done"]:
            bar["advance"](done - bar["done"])
            bar["done"] = done

    result = finetune(cfg, workspace=ws, progress=progress)
    kept = Path(result.run_dir) / "pairs"
    kept.mkdir(exist_ok=True)
    for path in (fit, held):
        if path is not None:
            shutil.copyfile(path, kept / path.name)
    return result


def train_reranker(ws, judged: Judgements, *, mode: str = "hybrid", epochs: int = 3, max_length: int = 128,
                   lr: float = 1e-4, batch_size: int = 16, negatives: int = 5, mine_depth: int = 50,
                   held_out: float = 0.1, imbalance: str = "class_weight", backbone: str | None = None,
                   seed: int = 0, name: str = "reranker", steps: Steps | None = None,
                   layers: int | None = None) -> RerankTraining:
    """Train a cross-encoder reranker on ``judged`` (:func:`load_judgements`) over the workspace
    ``ws`` (the recipe in the module docstring) and record the run in ``ws``.

    Parameters
    ----------
    mode : str, default "hybrid"
        The retrieval mode that ranks the candidates hard negatives are drawn from and that the
        held-out queries are tuned on (the mode a search with the run should use).
    epochs, max_length, lr, batch_size, imbalance, backbone, seed, layers
        The engine's training settings (:func:`~serendip.evidence.rerank.reranker_config`);
        ``max_length`` in tokens; ``backbone`` a local model folder (default all-MiniLM-L6-v2);
        ``layers`` keeps its first N transformer layers only (None: all).
    negatives, mine_depth : int
        Hard negatives per query, drawn from the top ``mine_depth`` (seeded by ``seed``).
    held_out : float, default 0.1
        Share of the judged queries held out of training to choose the search settings (0: none).
    name : str
        The run's name in ``serendip runs list``.
    steps : callable, optional
        Progress (:mod:`serendip.core.progress`): ``mine negatives`` (queries), ``fine-tune``
        (optimizer steps), ``tune on held-out`` (queries).

    Raises
    ------
    ConfigError
        An unknown mode, or a training value the engine refuses; ``held_out`` outside [0, 0.5],
        ``negatives`` < 0 or ``mine_depth`` < 1.
    IndexNotBuilt
        No index yet, or none of the parts ``mode`` reads (run ``serendip index``).
    DataError
        Unusable training data (:func:`serendip.models.train.finetune`).
    """
    from serendip.errors import ConfigError
    from serendip.evidence.rerank import CrossEncoderReranker, write_reranker_settings
    from serendip.evidence.rerank_data import reranker_examples, split_queries
    from serendip.evidence.rerank_tune import DEPTHS, tune_settings
    from serendip.retrieval.evaluate import evaluate_run
    from serendip.retrieval.modes import RETRIEVAL_MODES

    RETRIEVAL_MODES.get(mode)
    if not 0.0 <= held_out <= 0.5 or negatives < 0 or mine_depth < 1:
        raise ConfigError(f"held_out must be in [0, 0.5], negatives >= 0 and mine_depth >= 1; got {held_out}, "
                          f"{negatives}, {mine_depth}")
    if layers is not None:  # refused now, not after the negatives are mined
        from serendip.models.backbone import backbone_layers, resolve_backbone
        from serendip.models.config import DEFAULT_BACKBONE

        backbone_layers(resolve_backbone(backbone or DEFAULT_BACKBONE), layers)
    ws._ensure_fresh(mode)  # as a search: IndexNotBuilt, or a StaleIndexWarning (or auto-index)
    fit, held = split_queries(judged.queries, held_out, seed=seed)
    mined = _mine(ws, judged, mode, max(mine_depth, max(DEPTHS)), steps)
    ranked = {q: [d for d, _ in hits] for q, hits in mined.items()}
    common = dict(negatives=negatives, depth=mine_depth, seed=seed)
    rows_fit = reranker_examples(judged.queries, judged.qrels, ranked, judged.texts, fit, **common)
    rows_held = reranker_examples(judged.queries, judged.qrels, ranked, judged.texts, held, **common)
    settings = dict(epochs=epochs, max_length=max_length, batch_size=batch_size, lr=lr, imbalance=imbalance,
                    backbone=backbone, seed=seed, name=name, layers=layers)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="serendip-rerank-") as tmp:
        result = _finetune(ws, rows_fit, rows_held, Path(tmp), settings, steps)
    report = RerankTraining(result.run_id, Path(result.run_dir), mode, len(fit), len(held),
                            sum(r["label"] == "relevant" for r in rows_fit),
                            sum(r["label"] != "relevant" for r in rows_fit), time.perf_counter() - t)
    held_qrels = {q: judged.qrels[q] for q in held if any(rel > 0 for rel in judged.qrels[q].values())}
    if not held_qrels:
        return report
    reranker = CrossEncoderReranker.load(report.run_dir)
    cands = {q: mined[q][:max(DEPTHS)] for q in held_qrels}
    advance = start_step(steps, "tune on held-out", len(cands))
    scores = {}
    for q, cand in cands.items():
        scores[q] = reranker.score(judged.queries[q], [judged.texts[d] for d, _ in cand])
        advance(1)
    depth, weight, ndcg, _ = tune_settings(cands, scores, held_qrels)
    first = evaluate_run(held_qrels, {q: dict(c) for q, c in cands.items()}, ("ndcg@10",))["ndcg@10"]
    write_reranker_settings(report.run_dir, rerank_k=depth, weight=weight, ndcg_at_10=round(ndcg, 4),
                            tuned_on=f"{len(held_qrels)} held-out queries of {judged.qrels_file.name} "
                                     f"(seed {seed}), {mode} first stage, nDCG@10")
    report.rerank_k, report.weight, report.ndcg_at_10, report.first_stage_ndcg_at_10 = depth, weight, ndcg, first
    return report
