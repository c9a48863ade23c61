"""Shared by the evidence tests: tiny reranker runs, fine-tuned through the engine's ``pair`` task, and
a :class:`Verifier` whose two models are replaced by fixed probabilities (:func:`fixed_verifier`).

Importable from any test module (``tests/conftest.py`` puts this folder on ``sys.path``). The toy
task: the query is a word the tiny character tokenizer reads as [UNK] (:data:`QUERY`); a document
holding GGGG is relevant, one with no G at all is not, so a few epochs learn it.
"""
from __future__ import annotations

import contextlib
import json
import random

import numpy as np
from models_helpers import dna, make_backbone

from serendip.evidence.rerank import NOT_RELEVANT, RELEVANT, reranker_config
from serendip.evidence.verify import Verifier

QUERY = "sample"


def toy_pairs(n: int, seed: int) -> list[dict]:
    """Reranker rows whose document holds GGGG (relevant) or no G at all (not relevant), alternately."""
    rng = random.Random(seed)
    return [{"id": f"q{i}", "text": QUERY, "text_pair": f"{QUERY} {dna(rng, bool(i % 2))}",
             "label": RELEVANT if i % 2 else NOT_RELEVANT} for i in range(n)]


def candidates(seed: int = 3) -> tuple[list[str], np.ndarray]:
    """12 documents of 4 to 40 bases (the longest cut at a tiny run's 32 tokens), every other one
    relevant (GGGG), one empty; and which are relevant (bool array)."""
    rng = random.Random(seed)
    lengths = [12, 40, 6, 20, 9, 30, 16, 5, 24, 8, 14, 0]
    docs, relevant = [], []
    for i, n in enumerate(lengths):
        positive = bool(i % 2) and n >= 6
        docs.append(f"{QUERY} {dna(rng, positive, n)}" if n else "")
        relevant.append(positive)
    return docs, np.array(relevant)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two score arrays (no ties expected)."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_tiny_runs(root) -> dict:
    """``{"good": a reranker run, "bad": a pair run labelled yes / no, "root": root}`` under the folder
    ``root``, each a tiny BERT (2 layers, hidden 32) fine-tuned for a few steps on CPU (seconds)."""
    import torch

    from serendip.models.train import finetune

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is fastest on shared cores
    try:
        backbone = make_backbone(root / "backbone")
        train, dev = write_jsonl(root / "train.jsonl", toy_pairs(48, 0)), write_jsonl(root / "dev.jsonl", toy_pairs(8, 1))
        good = finetune(reranker_config(train, dev, root / "runs", epochs=6, max_length=32, batch_size=8, lr=3e-3,
                                        warmup_ratio=0.0, backbone=str(backbone))).run_dir
        other = write_jsonl(root / "other.jsonl", [{**r, "label": "yes" if r["label"] == RELEVANT else "no"}
                                                   for r in toy_pairs(16, 2)])
        bad_cfg = reranker_config(other, None, root / "runs", epochs=1, max_length=32, batch_size=8,
                                  backbone=str(backbone))
        bad_cfg.task.params = {}  # labels yes / no: no positive_label "relevant"
        bad = finetune(bad_cfg).run_dir
    finally:
        torch.set_num_threads(threads)
    return {"good": good, "bad": bad, "root": root}


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
    v.threshold, v.max_sentences, v.batch_size, v.label_bias = 0.5, 2, 8, {}
    rows = iter(label_rows)

    def probs(bundle, pairs):
        if bundle is v.selector:
            return np.array([[1 - p_rationale[s], p_rationale[s]] for _, s in pairs])
        return np.array([next(rows) for _ in pairs])

    v._probs = probs
    return v


@contextlib.contextmanager
def indexed_workspace(root, records: list[dict]):
    """A workspace under ``root`` holding ``records`` (JSON-lines dicts: ``id``, ``title``,
    ``abstract``, optional ``pmid``), indexed (BM25 + dense by the offline MiniLM); closed on exit."""
    from serendip.workbench import Workspace

    src = write_jsonl(root / "records.jsonl", records)
    with Workspace.init(root / "ws") as w:
        w.ingest([src])
        w.index()
        yield w
