"""The ``pubtator-cid`` data of serendip.kg: marked pair texts, the fitting stages and their counts, the
reader (negative sampling, missing gold pairs reported), and a tiny fine-tuning run through the engine
read back by CidClassifier."""
from __future__ import annotations

from pathlib import Path

import pytest
from kg_relation_helpers import TITLE, make_doc

from serendip.errors import ConfigError
from serendip.kg.pubtator import Document, Mention, Relation, write_pubtator
from serendip.kg.relation_data import (
    FIT_STAGES,
    CidTextFitter,
    fit_counts,
    mark_sentence,
    pair_examples,
    read_cid_examples,
)
from serendip.kg.relations import document_candidates, document_sentences


@pytest.fixture(scope="module")
def tokenizer():
    from serendip.models.backbone import load_tokenizer, resolve_backbone

    return load_tokenizer(resolve_backbone("sentence-transformers/all-MiniLM-L6-v2"))


def test_marks_wrap_clipped_spans_and_close_before_open():
    text = "ab cd ef"
    assert mark_sentence(text, 0, 8, [(3, 5, ("[", "]")), (0, 2, ("<", ">"))]) == "<ab> [cd] ef"
    assert mark_sentence(text, 3, 8, [(0, 5, ("<", ">")), (5, 8, ("[", "]"))]) == "<cd>[ ef]"
    assert mark_sentence(text, 6, 8, [(0, 2, ("<", ">"))]) == "ef"


def test_reader_examples_mark_the_pair_and_label_it(tmp_path, tokenizer):
    path = write_pubtator([make_doc()], tmp_path / "cdr.PubTator.txt")
    issues: list = []
    got = read_cid_examples(path, issues=issues)
    assert [(e.id, e.label, e.meta["fit"]) for e in got] == [
        ("1:C1:D1", "CID", "whole"), ("1:C1:D2", "none", "whole"), ("1:C1:D3", "CID", "whole")]
    assert got[0].text == ("# Renal and hepatic failure # after @ cocaine @ use. @ Cocaine @ and an unknown drug X "
                           "were given. Seizures followed.")
    assert got[1].text == got[0].text  # a composite mention is marked for each of its ids
    assert got[2].text == ("Renal and hepatic failure after @ cocaine @ use. @ Cocaine @ and an unknown drug X "
                           "were given. # Seizures # followed.")
    assert got[2].meta == {"pmid": "1", "chemical": "C1", "disease": "D3", "fit": "whole", "file": str(path), "line": 1}
    assert [(i.record, i.reason) for i in issues] == [
        ("1", "CID pair C9-D3 has no candidate (a side has no resolved mention); no example")]
    with pytest.warns(UserWarning, match="C9-D3 has no candidate"):
        read_cid_examples(path)


def test_reader_options_negative_sampling_and_errors(tmp_path):
    docs = [make_doc(str(i)) for i in range(1, 41)]
    path = write_pubtator(docs, tmp_path / "cdr.PubTator.txt")
    every = read_cid_examples(path, issues=[])
    half = read_cid_examples(path, negatives=0.5, seed=3, issues=[])
    assert len(every) == 120 and {e.id for e in half} < {e.id for e in every}
    assert sum(e.label == "CID" for e in half) == 80  # every positive kept
    assert 5 < sum(e.label == "none" for e in half) < 35
    assert [e.id for e in read_cid_examples(path, negatives=0.5, seed=3, issues=[])] == [e.id for e in half]
    with pytest.raises(ConfigError, match="negatives"):
        read_cid_examples(path, negatives=0.0)
    with pytest.raises(ConfigError, match="max_length"):
        read_cid_examples(path, max_length=4)
    from serendip.models.config import DataConfig

    cfg = DataConfig.model_validate({"train": str(path), "format": "pubtator-cid",
                                     "options": {"max_length": 64, "negatives": 0.5}})
    assert cfg.format == "pubtator-cid"


def _long_doc(title: str = "A long report.") -> Document:
    """A title, then 30 filler sentences; the chemical in sentence 2 and the disease in sentence 25."""
    filler = [f"Sentence number {i} reports routine observations of the cohort." for i in range(1, 31)]
    filler[1] = "Patients received lithium for many weeks in this sentence."
    filler[24] = "Several of them later developed goitre in this sentence."
    doc = Document("7", title, " ".join(filler))
    text = doc.text
    chem, dis = text.index("lithium"), text.index("goitre")
    doc.mentions = [Mention(chem, chem + 7, "lithium", "Chemical", ("C7",)),
                    Mention(dis, dis + 6, "goitre", "Disease", ("D7",))]
    doc.relations = [Relation("CID", "C7", "D7")]
    return doc


def test_long_documents_fall_back_stage_by_stage_and_are_counted(tokenizer):
    doc = _long_doc()
    spans = document_sentences(doc)
    (cand,), _ = document_candidates(doc)
    sentences = [doc.text[s:e] for s, e in spans]
    sentences[2] = sentences[2].replace("lithium", "@ lithium @")
    sentences[25] = sentences[25].replace("goitre", "# goitre #")
    whole = " ".join(sentences)
    near = " ".join(sentences[i] for i in (0, 1, 2, 3, 24, 25, 26))
    entity = " ".join(sentences[i] for i in (0, 2, 25))
    counter = CidTextFitter(tokenizer, 512)
    assert counter.count(whole) > counter.count(near) > counter.count(entity) > counter.count(sentences[0])
    assert counter.fit(doc, cand, spans) == (whole, "whole")
    assert CidTextFitter(tokenizer, counter.count(near)).fit(doc, cand, spans) == (near, "neighbours")
    assert CidTextFitter(tokenizer, counter.count(entity)).fit(doc, cand, spans) == (entity, "entity")
    # one piece short of the entity text: the title first (no sentence holds both), then the nearest
    cut = CidTextFitter(tokenizer, counter.count(entity) - 1).fit(doc, cand, spans)
    assert cut == (" ".join(sentences[i] for i in (0, 2)), "cut")
    text, stage = CidTextFitter(tokenizer, 8).fit(doc, cand, spans)
    assert stage == "cut" and text == sentences[0]  # the title alone (6 pieces) still fits
    untitled = _long_doc("")
    (cand,), _ = document_candidates(untitled)
    text, stage = CidTextFitter(tokenizer, 8).fit(untitled, cand, document_sentences(untitled))
    # no title: the chemical's sentence comes first (as near the disease as the disease's), over 8 pieces
    assert (text, stage) == ("Patients received @ lithium @ for many weeks in this sentence.", "truncated")
    fitted = [ex for size in (512, counter.count(near), counter.count(entity) - 1)
              for _, ex in pair_examples(doc, CidTextFitter(tokenizer, size))]
    assert fit_counts(fitted) == {"whole": 1, "neighbours": 1, "entity": 0, "cut": 1, "truncated": 0}
    assert tuple(fit_counts([])) == FIT_STAGES


def _tiny_backbone(folder: Path, tokenizer) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(str(folder))
    return folder


def test_tiny_finetune_through_the_engine_and_classifier(tmp_path, tokenizer):
    from serendip.kg.relations import CidClassifier
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    backbone = _tiny_backbone(tmp_path / "backbone", tokenizer)
    train = write_pubtator([make_doc(str(i)) for i in range(1, 7)], tmp_path / "train.PubTator.txt")
    dev = write_pubtator([make_doc(str(i)) for i in range(7, 9)], tmp_path / "dev.PubTator.txt")
    options = {"backbone": str(backbone), "max_length": 64}
    cfg = FineTuneConfig.model_validate({
        "task": {"name": "binary", "params": {"positive_label": "CID"}}, "backbone": str(backbone),
        "data": {"train": str(train), "dev": str(dev), "format": "pubtator-cid", "options": options,
                 "split": {"dev": 0.0, "test": 0.0}},
        "training": {"epochs": 2, "batch_size": 4, "lr": 1e-3, "max_length": 64,
                     "early_stopping": {"metric": "pr_auc", "patience": None}},
        "output": {"run_dir": str(tmp_path / "runs"), "plots": False}})
    result = finetune(cfg)  # the engine passes its issue list: the missing C9-D3 pairs go there
    assert result.metrics["sizes"] == {"train": 18, "dev": 6, "test": 0}
    assert result.label_space.classes[-1] == "CID" and result.best_epoch in (1, 2)
    clf = CidClassifier(result.run_dir)
    assert clf.threshold == 0.5
    docs = [make_doc("42")]
    scored = clf.predict(docs, all_candidates=True)
    assert [(p.pmid, p.chemical, p.disease) for p in scored] == [("42", "C1", "D1"), ("42", "C1", "D2"),
                                                                  ("42", "C1", "D3")]
    assert all(0.0 <= p.probability <= 1.0 for p in scored)
    assert scored[0].probability == scored[1].probability  # the same marked text
    assert scored[0].evidence == TITLE
    clf.save_threshold(0.0, "test")
    assert CidClassifier(result.run_dir).threshold == 0.0
    assert len(CidClassifier(result.run_dir).predict(docs)) == 3
    assert CidClassifier(result.run_dir, threshold=1.01).predict(docs) == []
