"""Tiny labelled screening sets for the screening tests: two vocabularies, so every sensible model
ranks the includes first, and a small deterministic embedder standing in for MiniLM."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from serendip.screening.data import ScreeningSet
from serendip.screening.features import FeatureContext

INCLUDE_WORDS = ("aspirin", "trial", "heart", "infarction", "randomised")
EXCLUDE_WORDS = ("zebrafish", "gene", "fin", "embryo", "expression")


def tiny_set(n_inc: int = 4, n_exc: int = 8, name: str = "Toy") -> ScreeningSet:
    """``n_inc`` includes then ``n_exc`` excludes interleaved by index (record i is an include when
    i % 3 == 0 while includes remain), each text made of its class's words (three per record)."""
    ids, titles, abstracts, labels = [], [], [], []
    inc_left, exc_left = n_inc, n_exc
    for i in range(n_inc + n_exc):
        inc = (i % 3 == 0 and inc_left > 0) or exc_left == 0
        words = INCLUDE_WORDS if inc else EXCLUDE_WORDS
        inc_left -= inc
        exc_left -= not inc
        ids.append(str(1000 + i))
        titles.append(f"{words[i % 5]} {words[(i + 1) % 5]}")
        abstracts.append(f"{words[(i + 2) % 5]} study number {i}")
        labels.append(int(inc))
    return ScreeningSet(name, ids, titles, abstracts, np.array(labels), source="tiny")


def toy_embed(texts: list[str]) -> np.ndarray:
    """float32 (len(texts), 3): counts of include words, of exclude words, and 1."""
    out = np.array([[sum(t.split().count(w) for w in INCLUDE_WORDS), sum(t.split().count(w) for w in EXCLUDE_WORDS),
                     1.0] for t in texts], dtype=np.float32)
    return out


def toy_context(tmp_path: Path | None = None) -> FeatureContext:
    """Embeddings from :func:`toy_embed`, not cached unless ``tmp_path`` is given."""
    if tmp_path is None:
        return FeatureContext(embed=toy_embed, use_cache=False)
    return FeatureContext(embed=toy_embed, cache_key="toy", cache_dir=tmp_path)


def write_files(ds: ScreeningSet, folder: Path, review: str | None = None) -> tuple[Path, Path]:
    """``records.jsonl`` and ``labels.tsv`` of ``ds`` in ``folder``."""
    records, labels = folder / "records.jsonl", folder / "labels.tsv"
    records.write_text("".join(json.dumps({"pmid": i, "title": t, "abstract": a}) + "\n"
                               for i, t, a in zip(ds.ids, ds.titles, ds.abstracts)), encoding="utf-8")
    rows = [f"{review or ds.name}\t{i}\t{int(y)}\t{int(y)}" for i, y in zip(ds.ids, ds.labels)]
    labels.write_text("review\tpmid\tlabel_abstract_screening\tlabel_included\n" + "\n".join(rows) + "\n",
                      encoding="utf-8")
    return records, labels


def workspace_records(n_inc: int = 6, n_exc: int = 18) -> list[dict]:
    """JSONL objects of a small literature: ``n_inc`` aspirin-trial records (MeSH Aspirin, Myocardial
    Infarction) interleaved with ``n_exc`` zebrafish-gene ones (MeSH Zebrafish, Gene Expression); every
    record also has MeSH Humans or Animals; PMIDs 2000 + i."""
    out = []
    inc_left, exc_left = n_inc, n_exc
    for i in range(n_inc + n_exc):
        inc = (i % 4 == 0 and inc_left > 0) or exc_left == 0
        inc_left -= inc
        exc_left -= not inc
        words = INCLUDE_WORDS if inc else EXCLUDE_WORDS
        mesh = ["Aspirin", "Myocardial Infarction", "Humans"] if inc else ["Zebrafish", "Gene Expression", "Animals"]
        out.append({"pmid": str(2000 + i), "title": f"{words[i % 5]} {words[(i + 1) % 5]} report {i}",
                    "abstract": f"We studied {words[(i + 2) % 5]} and {words[(i + 3) % 5]} in cohort {i}.",
                    "mesh_terms": mesh, "_inc": bool(inc)})
    return out


def make_workspace(folder: Path, database: str | None = None, **kw):
    """A workspace at ``folder`` holding :func:`workspace_records`; returns (workspace, include record ids,
    exclude record ids), ids as the workspace assigned them."""
    from serendip.workbench import Workspace

    rows = workspace_records(**kw)
    folder.mkdir(parents=True, exist_ok=True)
    src = folder.parent / f"{folder.name}-records.jsonl"
    src.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "_inc"}) + "\n" for r in rows),
                   encoding="utf-8")
    ws = Workspace.init(folder, database=database)
    ws.ingest([src], fmt="jsonl")
    by_pmid = {rec.pmid: rid for rid, rec in ws.records()}
    inc = [by_pmid[r["pmid"]] for r in rows if r["_inc"]]
    exc = [by_pmid[r["pmid"]] for r in rows if not r["_inc"]]
    return ws, inc, exc


CHECKPOINT_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "aspirin", "trial", "heart", "zebrafish", "gene",
                    "fin"]


def tiny_checkpoint(run: Path, seed: int = 0) -> Path:
    """A tiny BERT checkpoint in ``run/model`` (the layout of a `serendip pretrain` run folder), its weights
    drawn with ``seed``; returns ``run``."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    folder = run / "model"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(CHECKPOINT_WORDS) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(CHECKPOINT_WORDS), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(folder)
    return run
