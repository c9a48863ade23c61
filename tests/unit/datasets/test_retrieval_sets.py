"""The retrieval-set registry: every entry has a case here (a source dataset in the catalog, its tuning
and report splits), and loads from tiny files laid out like its source dataset's."""
from __future__ import annotations

import gzip
import json

import pytest

from serendip import datasets
from serendip.datasets import store
from serendip.datasets.retrieval_sets import (
    RETRIEVAL_SETS,
    RetrievalData,
    RetrievalSet,
    register_retrieval_set,
    retrieval_set_names,
)
from serendip.errors import ConfigError, DatasetNotFound

#: name -> (source dataset, tune split, report split)
CASES = {"scifact": ("scifact", "train", "test"), "bc5cdr-cid": ("bc5cdr", "tune", "test")}

PUBTATOR = {
    "train": "1|t|Lidocaine asystole.\n1|a|Text.\n1\t0\t9\tLidocaine\tChemical\tD1\n"
             "1\t10\t18\tasystole\tDisease\tD2\n1\tCID\tD1\tD2\n\n",
    "dev": "2|t|Lithium gout.\n2|a|\n2\t0\t7\tLithium\tChemical\tD3\n2\t8\t12\tgout\tDisease\tD4\n2\tCID\tD3\tD4\n\n",
    "test": "3|t|Lidocaine asystole.\n3|a|\n3\t0\t9\tLidocaine\tChemical\tD1\n"
            "3\t10\t18\tasystole\tDisease\tD2\n3\tCID\tD1\tD2\n\n",
}


@pytest.fixture
def fake_files(tmp_path, monkeypatch):
    """``store.resolve`` answering with tiny files for scifact and bc5cdr."""
    files = {}
    stems = {"train": "CDR_TrainingSet", "dev": "CDR_DevelopmentSet", "test": "CDR_TestSet"}
    for split, text in PUBTATOR.items():
        rel = f"bc5cdr/{stems[split]}.PubTator.txt.gz"
        (tmp_path / "bc5cdr").mkdir(exist_ok=True)
        with gzip.open(tmp_path / rel, "wt", encoding="utf-8") as fh:
            fh.write(text)
        files[rel] = tmp_path / rel
    sf = tmp_path / "scifact"
    (sf / "qrels").mkdir(parents=True)
    with gzip.open(sf / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i, title in ((4983, "Microstructural development"), (5836, "Induction of myelodysplasia")):
            fh.write(json.dumps({"_id": str(i), "title": title, "text": "Abstract."}) + "\n")
    (sf / "queries.jsonl").write_text('{"_id": "1", "text": "claim one"}\n{"_id": "3", "text": "claim three"}\n')
    (sf / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n1\t4983\t1\n")
    (sf / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n3\t5836\t1\n")
    for rel in ("corpus.jsonl.gz", "queries.jsonl", "qrels/train.tsv", "qrels/test.tsv"):
        files[f"scifact/{rel}"] = sf / rel

    def resolve(name):
        return {k: v for k, v in files.items() if k.startswith(datasets.get(name).files[0].path.split("/")[0])}

    monkeypatch.setattr(store, "resolve", resolve)
    return files


@pytest.mark.parametrize("name", retrieval_set_names())
def test_every_set_has_a_case_and_a_catalog_source(name):
    if name not in CASES:
        pytest.fail(f"no test case for retrieval set {name}: add one to CASES in {__file__}")
    entry = RETRIEVAL_SETS.get(name)
    assert (entry.source, entry.tune, entry.report) == CASES[name]
    assert entry.tune != entry.report and entry.description
    datasets.get(entry.source)  # the source is a catalog dataset


@pytest.mark.parametrize("name", sorted(CASES))
def test_loads_from_its_source_files(name, fake_files):
    entry = RETRIEVAL_SETS.get(name)
    data = entry.load()
    assert len(data.doc_ids) == len(data.titles) == len(data.abstracts) > 0
    for split in (entry.tune, entry.report):
        qids, texts, qrels = data.split(split)
        assert qids and len(texts) == len(qids)
        assert all(d in data.doc_ids for q in qids for d in qrels[q])


def test_bc5cdr_cid_from_files(fake_files):
    data = RETRIEVAL_SETS.get("bc5cdr-cid").load()
    assert data.doc_ids == ["1", "2", "3"]
    assert data.qrels == {"tune": {"D3|D4": {"2": 1}}, "test": {"D1|D2": {"1": 1, "3": 1}}}
    assert data.queries["D1|D2"] == "lidocaine asystole"


def test_unknown_split_and_duplicate_name():
    data = RetrievalData(["a"], ["t"], [""], {"q": "x"}, {"tune": {"q": {"a": 1}}})
    with pytest.raises(ConfigError, match="no split 'test'; this set has: tune"):
        data.split("test")
    with pytest.raises(ValueError):
        register_retrieval_set(RetrievalSet("scifact", "scifact", "train", "test", lambda: data, "dup"))


def test_bc5cdr_cid_on_the_mirror():
    """The built set's size on the real BC5CDR files (skipped without the data mirror)."""
    try:
        files = store.resolve("bc5cdr")
    except DatasetNotFound as exc:
        pytest.skip(f"BC5CDR files not available: {exc}")
    assert len(files) == 3
    data = RETRIEVAL_SETS.get("bc5cdr-cid").load()
    assert len(data.doc_ids) == 1500
    assert (len(data.qrels["tune"]), len(data.qrels["test"])) == (1490, 939)
    assert set(data.qrels["tune"]).isdisjoint(data.qrels["test"])
