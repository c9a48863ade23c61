"""serendip.chem.smiles_tokenizer: TOKENIZERS["smiles"], the ``smiles`` corpus kind, and a tiny
pre-train + fine-tune of a SMILES BERT through the engine with ``randomized_smiles``."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from serendip.errors import DataError, ParseError

TRAIN = ["CC(=O)Oc1ccccc1C(=O)O", "c1ccccc1Br", "C[C@@H](N)C(=O)O", "ClCCCl", "C%10CCCCC%10", "OCC"]


def _factory():
    import serendip.chem  # noqa: F401  (registers the tokenizer)
    from serendip.models.registries import TOKENIZERS

    return TOKENIZERS.get("smiles")


def test_vocabulary_ids_and_round_trip(tmp_path: Path) -> None:
    from serendip.models.tokenizers import load_tokenizer

    tok = _factory()(TRAIN)
    vocab = tok.get_vocab()
    assert [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])][:6] == \
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "C"]  # C is the commonest token
    assert len(tok) == 5 + 12  # C ( = O ) c 1 Br [C@@H] N Cl %10: every token of TRAIN, once
    enc = tok("ClC(Br)[C@@H]")
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == ["[CLS]", "Cl", "C", "(", "Br", ")", "[C@@H]", "[SEP]"]
    tok.save_pretrained(tmp_path)
    assert (tmp_path / "smiles_tokenizer.json").is_file() and not (tmp_path / "tokenizer.json").exists()
    again = load_tokenizer(tmp_path)
    assert type(again).__name__ == "SmilesTokenizer" and again.get_vocab() == vocab
    for smi in TRAIN:
        ids = again(smi)["input_ids"]
        assert ids == tok(smi)["input_ids"] and again.decode(ids, skip_special_tokens=True) == smi


def test_unknown_token_is_unk_unknown_character_is_refused() -> None:
    tok = _factory()(TRAIN)
    ids = tok("C[Se]C")["input_ids"]  # a valid bracket atom never seen in training
    assert ids == [2, tok.convert_tokens_to_ids("C"), tok.unk_token_id, tok.convert_tokens_to_ids("C"), 3]
    with pytest.raises(ParseError, match=r"SMILES CC!C cannot be tokenised: the character ! at position 2"):
        tok("CC!C")
    with pytest.raises(ParseError, match=r"the character ! at position 1"):
        tok(["CCO", "C!"], padding=True)
    with pytest.raises(ParseError, match=r"record #1: SMILES C C cannot be tokenised"):
        _factory()(["CCO", "C C"])
    with pytest.raises(DataError, match="no training SMILES"):
        _factory()([])


def _corpus_file(tmp_path: Path, n: int) -> Path:
    from rdkit import Chem

    base = ["CCO", "CCN", "c1ccccc1O", "CC(=O)O", "CCCl", "c1ccncc1", "CC(C)Br", "OCC(O)CO", "C1CCCCC1N"]
    out = [Chem.MolToSmiles(Chem.MolFromSmiles("C" * (i // len(base)) + base[i % len(base)])) for i in range(n)]
    path = tmp_path / "mols.txt"
    path.write_text("\n".join(out) + "\n")
    return path


def test_smiles_corpus_one_molecule_a_sequence(tmp_path: Path) -> None:
    import random

    from serendip.models.pretrain.config import PretrainConfig, corpus_kind
    from serendip.models.pretrain.corpus import load_corpus
    from serendip.models.pretrain.run import _tokenizer_for

    cfg = PretrainConfig.model_validate({"kind": "smiles", "data": {"inputs": [str(_corpus_file(tmp_path, 20))],
                                                                  "heldout": 0.1}})
    assert cfg.tokenizer_kind() == "smiles"
    kind = corpus_kind("smiles")
    corpus, issues = load_corpus(kind, cfg, list(cfg.data.inputs), random.Random(0))
    assert (len(corpus.train), len(corpus.heldout), issues) == (18, 2, [])
    tok = _tokenizer_for(cfg, corpus)
    train, held = kind.encode(tok, corpus, cfg, 64, continued=False, say=lambda _m: None)
    assert [list(a) for a in train] == [tok(s)["input_ids"] for s in corpus.train]
    assert len(held) == 2 and "20 molecules -> 18 training / 2 held-out" in kind.describe(cfg, corpus.stats)


def test_pretrain_then_finetune_with_randomized_smiles(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from serendip.models.config import FineTuneConfig
    from serendip.models.pretrain import PretrainConfig, pretrain
    from serendip.models.train import finetune

    torch.set_num_threads(1)
    corpus = _corpus_file(tmp_path, 40)
    pre = pretrain(PretrainConfig.model_validate({
        "kind": "smiles", "data": {"inputs": [str(corpus)], "heldout": 0.1},
        "model": {"size": "tiny", "hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1,
                  "intermediate_size": 32, "max_position_embeddings": 64},
        "training": {"max_steps": 1, "batch_size": 8, "eval_every": 1},
        "output": {"dir": str(tmp_path / "smiles-bert")}}))
    assert pre.steps == 1 and (tmp_path / "smiles-bert" / "smiles_tokenizer.json").is_file()

    smiles = corpus.read_text().split()[:30]
    for name, rows in (("train", smiles[:20]), ("dev", smiles[20:25]), ("test", smiles[25:30])):
        with open(tmp_path / f"{name}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["smiles", "y"])
            w.writerows([s, float(len(s))] for s in rows)
    run = finetune(FineTuneConfig.model_validate({
        "data": {"train": str(tmp_path / "train.csv"), "dev": str(tmp_path / "dev.csv"),
                 "test": str(tmp_path / "test.csv"), "columns": {"text": "smiles", "label": "y"}},
        "task": "regression", "backbone": str(tmp_path / "smiles-bert"),
        "augmentations": [{"name": "randomized_smiles", "params": {"n": 2}, "test_time": True}],
        "training": {"epochs": 1, "batch_size": 8, "lr": 1e-3},
        "output": {"run_dir": str(tmp_path / "runs"), "plots": False}}))
    import json

    report = json.loads((Path(run.run_dir) / "augment_report.json").read_text())
    assert report["n_original"] == 20 and report["augmentations"][0]["details"]["failed_check"] == 0
    assert report["n_after"] == 20 + report["augmentations"][0]["kept"] and report["augmentations"][0]["kept"] >= 30
    rmse = run.metrics["test"]["rmse"]
    assert rmse == rmse and rmse > 0  # a real number from the test split averaged over the view
