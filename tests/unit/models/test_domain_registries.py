"""Registry meta-tests: every entry of TOKENIZERS, PRETRAIN_CORPORA, DATA_READERS and AUGMENTATIONS
(after the domains are loaded) is exercised for real on tiny inputs; an entry without a case fails
with "no test case for <kind> <name>" (PyKEEN's MetaTestCase habit)."""
from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from serendip.models.example import Example
from serendip.models.plugins import load_domains
from serendip.models.registries import ALL

REGISTRIES = ("tokenizers", "pretrain_corpora", "data_readers", "augmentations")

Case = Callable[[Any, Path], None]
CASES: dict[tuple[str, str], Case] = {}


def case(registry: str, *names: str) -> Callable[[Case], Case]:
    def deco(fn: Case) -> Case:
        for name in names:
            CASES[(registry, name)] = fn
        return fn
    return deco


def _entries() -> list[tuple[str, str]]:
    import serendip.models.augment
    import serendip.models.data
    import serendip.models.pretrain
    import serendip.models.tokenizers  # noqa: F401

    load_domains()
    return [(reg, name) for reg in REGISTRIES for name in ALL[reg]]


# -- tokenizers ---------------------------------------------------------------------------------------
@case("tokenizers", "bpe")
def _bpe(factory: Any, tmp: Path) -> None:
    docs = ["the cat sat on the mat", "the dog sat on the log"] * 4
    tok = factory(docs, kind="text", vocab_size=300, min_frequency=2)
    ids = tok("the cat sat")["input_ids"]
    assert ids[0] == tok.cls_token_id == 2 and ids[-1] == tok.sep_token_id == 3
    assert tok.decode(ids, skip_special_tokens=True) == "the cat sat"


@case("tokenizers", "kmer")
def _kmer(factory: Any, tmp: Path) -> None:
    tok = factory(None, kind="dna", k=2)
    assert len(tok) == 4 ** 2 + 5
    # AC = 5 + 1, CG = 5 + 6, GT = 5 + 11 (base-4 value of the k-mer, after 5 special tokens)
    assert tok("ACGT")["input_ids"] == [2, 6, 11, 16, 3]


# -- pre-training corpora -------------------------------------------------------------------------------
def _corpus_run(kind_name: str, data: dict[str, Any], tokenizer: dict[str, Any], windows: Any = None):
    from serendip.models.pretrain.config import PretrainConfig, corpus_kind
    from serendip.models.pretrain.corpus import load_corpus
    from serendip.models.pretrain.run import _tokenizer_for

    cfg = PretrainConfig.model_validate({"kind": kind_name, "data": data, "tokenizer": tokenizer,
                                         **({"windows": windows} if windows else {})})
    kind = corpus_kind(kind_name)
    corpus, issues = load_corpus(kind, cfg, list(cfg.data.inputs), random.Random(0))
    tok = _tokenizer_for(cfg, corpus)
    train, held = kind.encode(tok, corpus, cfg, 64, continued=False, say=lambda _m: None)
    return cfg, kind, corpus, issues, train, held


@case("pretrain_corpora", "text")
def _text_corpus(kind: Any, tmp: Path) -> None:
    docs = tmp / "docs.txt"
    docs.write_text("\n".join(f"document number {i} about cats and dogs" for i in range(10)) + "\n\n")
    cfg, kind, corpus, issues, train, held = _corpus_run(
        "text", {"inputs": [str(docs)], "heldout": 0.2, "block_tokens": 8}, {"vocab_size": 300})
    assert (len(corpus.train), len(corpus.heldout)) == (8, 2) and issues == []
    assert all(len(a) <= 8 and a[0] == 2 and a[-1] == 3 for a in train) and held
    assert "10 documents" in kind.describe(cfg, corpus.stats)


@case("pretrain_corpora", "dna")
def _dna_corpus(kind: Any, tmp: Path) -> None:
    fasta = tmp / "g.fa"
    fasta.write_text(">a\nACGTACGTAAAACCCCGGGGTTTT\n>b\nNNNNNNNN\n")
    cfg, kind, corpus, issues, train, held = _corpus_run(
        "dna", {"inputs": [str(fasta)], "heldout": 0.0}, {"k": 3},
        {"length": 8, "stride": 8, "reverse_complement": True})
    # record a: 3 windows of 8 bp and their reverse complements; record b: all N, dropped
    assert corpus.train[:2] == ["ACGTACGT", "ACGTACGT"] and len(corpus.train) == 6
    assert corpus.stats["windows_dropped_ambiguous"] == 1 and held == []
    assert [len(a) for a in train] == [8 - 3 + 1 + 2] * 6 and issues == []
    assert "1 dropped as ambiguous" in kind.describe(cfg, corpus.stats)


# -- data readers -----------------------------------------------------------------------------------------
def _read(name: str, path: Path) -> list[Example]:
    from serendip.models.data import read_examples

    issues: list[Any] = []
    out = read_examples(path, name, issues=issues)
    assert issues == []
    return out


@case("data_readers", "csv")
def _csv(reader: Any, tmp: Path) -> None:
    path = tmp / "d.csv"
    path.write_text('text,label\nACGT,pos\n"TT,GA",neg\n')
    assert [(e.text, e.label) for e in reader(path)] == [("ACGT", "pos"), ("TT,GA", "neg")]
    assert [e.text for e in _read("csv", path)] == ["ACGT", "TT,GA"]


@case("data_readers", "tsv")
def _tsv(reader: Any, tmp: Path) -> None:
    path = tmp / "d.tsv"
    path.write_text("text\tlabel\nACGT\tpos\nTT,GA\tneg\n")
    assert [(e.text, e.label) for e in reader(path)] == [("ACGT", "pos"), ("TT,GA", "neg")]


@case("data_readers", "jsonl", "ndjson")
def _jsonl(reader: Any, tmp: Path) -> None:
    path = tmp / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ({"text": "a b", "label": 1.5},
                                                      {"text": "c", "label": ["x", "y"]})) + "\n\n")
    assert [(e.text, e.label) for e in reader(path)] == [("a b", 1.5), ("c", ["x", "y"])]


@case("data_readers", "txt", "text")
def _txt(reader: Any, tmp: Path) -> None:
    path = tmp / "corpus.txt"
    path.write_text("\ufefffirst doc\n\n  second doc  \n")
    got = reader(path)
    assert [(e.id, e.text, e.label) for e in got] == [("1", "first doc", None), ("3", "second doc", None)]
    assert [e.text for e in _read("txt", path)] == ["first doc", "second doc"]
    from serendip.models.data import format_of_path

    assert format_of_path(path) == "txt" and format_of_path(tmp / "g.fna.gz") == "fasta"


@case("data_readers", "fasta", "fa", "fna")
def _fasta(reader: Any, tmp: Path) -> None:
    path = tmp / "d.fa"
    path.write_text(">s1 label=promoter\nACGT\nAC\n>s2 label=other\nttga\n")
    got = reader(path)
    assert [(e.id, e.text, e.label) for e in got] == [("s1", "ACGTAC", "promoter"), ("s2", "ttga", "other")]


@case("data_readers", "fastq", "fq")
def _fastq(reader: Any, tmp: Path) -> None:
    path = tmp / "d.fq"
    path.write_text("@r1 label=a\nACGT\n+\nIIII\n@r2 label=b\nGG\n+\nII\n")
    assert [(e.id, e.text, e.label) for e in reader(path)] == [("r1", "ACGT", "a"), ("r2", "GG", "b")]


@case("data_readers", "pubtator-ner")
def _pubtator_ner(reader: Any, tmp: Path) -> None:
    path = tmp / "cdr.PubTator.txt"
    path.write_text("1|t|Lidocaine-induced cardiac asystole.\n1|a|\n1\t0\t9\tLidocaine\tChemical\tD008012\n"
                    "1\t18\t34\tcardiac asystole\tDisease\tD006323\n1\tCID\tD008012\tD006323\n\n")
    got = reader(path, window=4, overlap=1)
    assert [(e.id, e.meta["tokens"], e.label) for e in got] == [
        ("1:w0", ["Lidocaine", "-", "induced", "cardiac"], ["B-Chemical", "O", "O", "B-Disease"]),
        ("1:w1", ["induced", "cardiac", "asystole", "."], ["O", "B-Disease", "I-Disease", "O"])]
    assert [e.id for e in _read("pubtator-ner", path)] == ["1:w0"]  # default window: 128 words


@case("data_readers", "pubtator-cid")
def _pubtator_cid(reader: Any, tmp: Path) -> None:
    path = tmp / "cdr.PubTator.txt"
    path.write_text("1|t|Lidocaine-induced cardiac asystole.\n1|a|\n1\t0\t9\tLidocaine\tChemical\tD008012\n"
                    "1\t18\t34\tcardiac asystole\tDisease\tD006323\n1\tCID\tD008012\tD006323\n\n")
    got = reader(path, max_length=32)
    assert [(e.id, e.text, e.label, e.meta["fit"]) for e in got] == [
        ("1:D008012:D006323", "@ Lidocaine @-induced # cardiac asystole #.", "CID", "whole")]


def _smiles_reader(reader: Any, tmp: Path) -> None:
    path = tmp / "m.smi"
    path.write_text("smiles\tname\tlogS\nCC(=O)[O-].[Na+]\tacetate\t0.5\nC1CC\tbroken\t1\n\nOc1ccccc1\tphenol\t-0.1\n")
    issues: list = []
    got = reader(path, label="logS", issues=issues)
    assert [(e.id, e.text, e.label, e.meta["line"]) for e in got] == [("acetate", "CC(=O)O", "0.5", 2),
                                                                     ("phenol", "Oc1ccccc1", "-0.1", 5)]
    assert [(i.line, i.record) for i in issues] == [(3, "broken")] and "unclosed ring" in issues[0].reason


if importlib.util.find_spec("rdkit") is not None:  # serendip.chem registers "smiles" only with the chem extra
    case("data_readers", "smiles", "smi", "sdf")(_smiles_reader)


def _smiles_tokenizer(factory: Any, tmp: Path) -> None:
    tok = factory(["CCO", "c1ccccc1Cl"], kind="smiles")
    ids = tok("ClCO")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "Cl", "C", "O", "[SEP]"]
    assert tok.decode(ids, skip_special_tokens=True) == "ClCO"


def _smiles_corpus(kind: Any, tmp: Path) -> None:
    mols = tmp / "mols.txt"
    mols.write_text("\n".join(["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCl"] * 2) + "\n")
    cfg, kind, corpus, issues, train, held = _corpus_run("smiles", {"inputs": [str(mols)], "heldout": 0.2}, {})
    assert (len(corpus.train), len(corpus.heldout), issues) == (8, 2, [])
    assert sorted(len(a) for a in train + held) == sorted(len(s) + 2 - s.count("Cl") for s in corpus.train + corpus.heldout)


def _randomized_smiles(cls: Any, tmp: Path) -> None:
    from rdkit import Chem

    new = cls(n=2).apply([Example(text="CC(=O)Oc1ccccc1C(=O)O", label="1.5", id="aspirin")], rng=0)
    assert [(e.id, e.label) for e in new] == [("aspirin:rs0", "1.5"), ("aspirin:rs1", "1.5")]
    assert {Chem.MolToSmiles(Chem.MolFromSmiles(e.text)) for e in new} == {"CC(=O)Oc1ccccc1C(=O)O"}


# -- augmentations ---------------------------------------------------------------------------------------
@case("augmentations", "reverse_complement")
def _revcomp(cls: Any, tmp: Path) -> None:
    new = cls().apply([Example(text="AACGt", label="x", id="e1")], rng=0)
    assert [(e.text, e.label, e.id) for e in new] == [("aCGTT", "x", "e1:rc")]
    assert new[0].meta["augmentation"] == "reverse_complement"


@case("augmentations", "random_substitution")
def _substitution(cls: Any, tmp: Path) -> None:
    src = Example(text="ACGTACGTAC", label="x", id="e1")
    new = cls(rate=1.0, copies=2).apply([src], rng=0)
    assert len(new) == 2 and all(len(e.text) == 10 and e.label == "x" for e in new)
    assert all(a != b for e in new for a, b in zip(e.text, src.text))  # rate 1: every base changes
    assert cls(rate=0.0).apply([src], rng=0)[0].text == src.text


if importlib.util.find_spec("rdkit") is not None:  # serendip.chem registers these only with the chem extra
    case("tokenizers", "smiles")(_smiles_tokenizer)
    case("pretrain_corpora", "smiles")(_smiles_corpus)
    case("augmentations", "randomized_smiles")(_randomized_smiles)


@pytest.mark.parametrize(("registry", "name"), _entries())
def test_registry_entry(registry: str, name: str, tmp_path: Path) -> None:
    fn = CASES.get((registry, name))
    if fn is None:
        pytest.fail(f"no test case for {ALL[registry].kind} {name}")
    fn(ALL[registry].get(name), tmp_path)


def test_every_case_names_a_registered_entry() -> None:
    """A case for a name no longer registered is stale."""
    assert set(CASES) <= set(_entries())
