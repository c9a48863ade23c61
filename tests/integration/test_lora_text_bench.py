"""The pair data of benchmarks/lora_text.py built from the real SciFact claim files (marked `data`)."""
from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "lora_text.py"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH.parent))  # the script imports benchmarks/_rows.py
    spec = importlib.util.spec_from_file_location("lora_text_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scifact(mirror, bench):
    folder = mirror / "scifact" / "claims"
    files = {"train": folder / "claims_train.jsonl", "dev": folder / "claims_dev.jsonl",
             "corpus": folder / "corpus.jsonl.gz"}
    corpus = bench.read_corpus(files["corpus"])
    train = bench.build_pairs(bench.read_jsonl(files["train"]), corpus)
    test = bench.build_pairs(bench.read_jsonl(files["dev"]), corpus)
    return files, corpus, train, test


@pytest.mark.data
def test_pair_counts_per_label(scifact):
    _, _, train, test = scifact
    # one pair per (claim, cited abstract); claim 1245 of the dev file cites one abstract twice
    assert Counter(p["label"] for p in train) == {"SUPPORT": 370, "NOINFO": 355, "CONTRADICT": 194}
    assert Counter(p["label"] for p in test) == {"SUPPORT": 138, "NOINFO": 130, "CONTRADICT": 71}
    assert len({p["id"] for p in train}) == len(train) == 919
    assert len({p["claim_id"] for p in train}) == 809
    assert len({p["claim_id"] for p in test}) == 300


@pytest.mark.data
def test_official_dev_claims_are_not_in_train(scifact):
    _, _, train, test = scifact
    assert not {p["claim_id"] for p in train} & {p["claim_id"] for p in test}


@pytest.mark.data
def test_evidence_text_is_gold_rationale_or_tfidf_top2(scifact, bench):
    _, corpus, train, _ = scifact
    by_id = {p["id"]: p for p in train}
    # claim 2 contradicts abstract 13734012 with gold sentence 4 (claims_train.jsonl)
    p = by_id["2:13734012"]
    assert p["label"] == "CONTRADICT" and p["sentences"] == [4]
    assert p["text_pair"] == corpus[13734012]["abstract"][4].strip()
    # NOINFO: the two abstract sentences closest to the claim by TF-IDF, in abstract order
    noinfo = [p for p in train if p["label"] == "NOINFO"]
    assert all(len(p["sentences"]) == min(2, len(corpus[p["doc_id"]]["abstract"])) for p in noinfo)
    assert all(p["sentences"] == sorted(p["sentences"]) for p in noinfo)
    assert all(p["text"] and p["text_pair"] for p in train)


@pytest.mark.data
def test_engine_dev_split_is_grouped_stratified_and_seeded(scifact, bench):
    _, _, train, _ = scifact
    tr, dev = bench.split_train_dev(train, 0.15, seed=0)
    assert len(tr) + len(dev) == len(train)
    assert 0.13 <= len(dev) / len(train) <= 0.17
    # no claim, and no cited abstract, on both sides
    assert not {p["claim_id"] for p in tr} & {p["claim_id"] for p in dev}
    assert not {p["doc_id"] for p in tr} & {p["doc_id"] for p in dev}
    counts, dev_counts = Counter(p["label"] for p in train), Counter(p["label"] for p in dev)
    for label in bench.LABELS:
        assert 0.10 <= dev_counts[label] / counts[label] <= 0.20
    again, _ = bench.split_train_dev(train, 0.15, seed=0)
    assert [p["id"] for p in again] == [p["id"] for p in tr]
    other, _ = bench.split_train_dev(train, 0.15, seed=1)
    assert [p["id"] for p in other] != [p["id"] for p in tr]
