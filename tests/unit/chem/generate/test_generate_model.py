"""serendip.chem.generate: a tiny SMILES LSTM trains a few steps, samples strings, saves and loads."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from serendip.chem.generate import (
    GeneratorConfig,
    SmilesGenerator,
    read_smiles_file,
    train_generator,
)
from serendip.chem.tokenize import Vocab
from serendip.errors import ConfigError, DataError, ParseError

SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "ClCCBr", "C[C@@H](N)C(=O)O", "c1cc[nH]c1", "CCN(CC)CC",
          "O=C(O)c1ccncc1", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "COc1ccc2[nH]ccc2c1"] * 3
TINY = GeneratorConfig(embedding_dim=8, hidden_size=16, num_layers=2, max_length=30)


def test_tiny_model_trains_samples_saves_and_loads(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    res = train_generator(SMILES + ["C!C"], tmp_path / "m", config=TINY, minutes=None, max_steps=2, batch_size=8,
                          n_val=3, file="t.smi")
    assert (res.steps, res.molecules_seen, res.stopped) == (2, 16, "max_steps")
    assert res.n_train + res.n_val == len(SMILES) and res.n_val == 3
    assert [(i.file, i.line, i.text) for i in res.issues] == [("t.smi", 31, "C!C")]  # reported, not kept
    assert res.train_loss > 0 and res.val_loss > 0 and res.mol_per_cpu_s > 0

    model = SmilesGenerator.load(tmp_path / "m")
    assert model.info["steps"] == 2 and model.config == TINY
    a = model.sample(7, temperature=1.0, seed=3, batch_size=4)
    assert len(a) == 7 and all(isinstance(s, str) for s in a)
    assert all(len(s) <= 30 * 3 for s in a)  # at most max_length tokens (a token is at most a few characters)
    assert model.sample(7, seed=3, batch_size=4) == a                  # same seed, same strings
    loaded = SmilesGenerator.load(model.save(tmp_path / "copy"))
    assert loaded.vocab == model.vocab and loaded.config == model.config
    for (k, p), (k2, p2) in zip(model.net.state_dict().items(), loaded.net.state_dict().items()):
        assert k == k2 and torch.equal(p, p2)
    assert loaded.sample(7, seed=3, batch_size=4) == a


def test_training_continues_from_a_saved_model(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    train_generator(SMILES, tmp_path / "m", config=TINY, minutes=None, max_steps=1, batch_size=8, n_val=3)
    before = SmilesGenerator.load(tmp_path / "m")
    res = train_generator(SMILES, tmp_path / "m", minutes=None, max_steps=2, batch_size=8, n_val=3,
                          init_from=tmp_path / "m")
    after = SmilesGenerator.load(tmp_path / "m")
    assert res.steps == 2 and after.info["continued_from"] == str(tmp_path / "m") and after.vocab == before.vocab
    assert not torch.equal(before.net.head.weight, after.net.head.weight)
    with pytest.raises(DataError, match="already holds a SMILES generator; pass --force"):
        train_generator(SMILES, tmp_path / "m", config=TINY, max_steps=1)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="holds other files"):
        train_generator(SMILES, tmp_path / "other", config=TINY, max_steps=1)
    with pytest.raises(ConfigError, match="own config"):
        train_generator(SMILES, tmp_path / "m", config=TINY, max_steps=1, init_from=tmp_path / "m")


def test_low_temperature_is_greedy_and_bad_settings_refused() -> None:
    torch.manual_seed(0)
    model = SmilesGenerator(Vocab.build(SMILES), TINY)
    cold = model.sample(5, temperature=1e-4, seed=1)
    assert len(set(cold)) == 1                                        # argmax decoding: one string
    with pytest.raises(ConfigError, match="temperature"):
        model.sample(2, temperature=0)
    with pytest.raises(ConfigError, match="minutes, epochs or max_steps"):
        train_generator(SMILES, Path("unused"), minutes=None)


def test_load_refuses_a_damaged_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing config.json"):
        SmilesGenerator.load(tmp_path)
    model = SmilesGenerator(Vocab.build(SMILES), TINY)
    model.save(tmp_path)
    SmilesGenerator(Vocab.build(["CCO"]), TINY).vocab.save(tmp_path / "vocab.json")  # smaller vocabulary
    with pytest.raises(DataError, match="weights.safetensors: does not fit"):
        SmilesGenerator.load(tmp_path)


def test_read_smiles_file_header_and_blank_line(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("SMILES\nCCO\nc1ccccc1\n")
    assert read_smiles_file(tmp_path / "a.csv") == (["CCO", "c1ccccc1"], [2, 3])
    (tmp_path / "b.smi").write_text("CCO mol1\nCCN mol2\n")
    assert read_smiles_file(tmp_path / "b.smi") == (["CCO", "CCN"], [1, 2])
    (tmp_path / "c.csv").write_text("SMILES\nCCO\n\nCCN\n")
    with pytest.raises(ParseError, match=r"c.csv, line 3: no SMILES"):
        read_smiles_file(tmp_path / "c.csv")


def test_read_smiles_file_ignores_blank_lines_that_end_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("SMILES\nCCO\nc1ccccc1\n\n  \n")
    assert read_smiles_file(tmp_path / "a.csv") == (["CCO", "c1ccccc1"], [2, 3])
    (tmp_path / "b.smi").write_text("CCO\nCCN\n\n")
    assert read_smiles_file(tmp_path / "b.smi") == (["CCO", "CCN"], [1, 2])
    (tmp_path / "e.smi").write_text("\n\n")
    with pytest.raises(DataError, match="empty file"):
        read_smiles_file(tmp_path / "e.smi")


def test_training_leaves_out_and_names_smiles_rdkit_rejects_or_too_long(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    long = "C" * 31                                                # 31 tokens; TINY samples at most 30
    data = SMILES[:10] + ["C(C)(C)(C)(C)C", long, "C1CC", "C!C"]
    res = train_generator(data, tmp_path / "m", config=TINY, minutes=None, max_steps=1, batch_size=8, n_val=1,
                          file="t.smi", lines=list(range(2, 2 + len(data))))
    assert [(i.line, i.text) for i in res.issues] == [(12, "C(C)(C)(C)(C)C"), (13, long), (14, "C1CC"), (15, "C!C")]
    assert str(res.issues[0]).startswith("t.smi, line 12: RDKit rejects the SMILES C(C)(C)(C)(C)C: Explicit valence")
    assert "31 tokens, longer than the model's max_length of 30: not trained on" in res.issues[1].reason
    assert "unclosed ring" in res.issues[2].reason and "cannot be tokenised" in res.issues[3].reason
    assert res.n_train + res.n_val == 10                           # only the good ones trained on
    assert SmilesGenerator.load(tmp_path / "m").info["n_skipped"] == 4


def test_read_smiles_file_keeps_blank_lines_as_empty_draws(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("SMILES\nCCO\n\nc1ccccc1\n\n")  # sample_to_file: an empty draw is a blank line
    assert read_smiles_file(tmp_path / "s.csv", blank_lines="keep") == (["CCO", "", "c1ccccc1", ""], [2, 3, 4, 5])
    with pytest.raises(ValueError, match="blank_lines"):
        read_smiles_file(tmp_path / "s.csv", blank_lines="skip")


def test_evaluate_file_counts_an_empty_draw_as_invalid(tmp_path: Path) -> None:
    from serendip.chem.generate import evaluate_file

    (tmp_path / "s.csv").write_text("SMILES\nCCO\n\nc1ccccc1\nC1CC\n")
    ev = evaluate_file(tmp_path / "s.csv")
    assert (ev.counts["n"], ev.counts["n_valid"]) == (4, 2)
    assert ev.metrics["valid"] == 0.5


@pytest.mark.parametrize("header", ["SMILES\n", ""])
def test_read_smiles_file_takes_a_200k_character_line_as_one_line(tmp_path: Path, header: str) -> None:
    # csv's 131,072-character field limit raised for the whole file before; now the line is one record
    huge = "C" * 200_000
    f = tmp_path / "h.csv"
    f.write_text(header + f"CCO\n{huge}\nCCN\n")
    first = 2 if header else 1
    smiles, lines = read_smiles_file(f, blank_lines="keep")
    assert [len(s) for s in smiles] == [3, 200_000, 3] and lines == [first, first + 1, first + 2]
    with pytest.raises(ParseError, match=rf"h.csv, line {first + 1}: a SMILES of 200,000 characters, longer "
                                         r"than 10,000"):
        read_smiles_file(f)                                          # a reference file: refused, line named


def test_read_smiles_file_refuses_a_file_of_only_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "b.smi").write_text("\n\n  \n")
    with pytest.raises(DataError, match=r"b.smi: only blank lines \(3\), no SMILES"):
        read_smiles_file(tmp_path / "b.smi", blank_lines="keep")
    with pytest.raises(DataError, match="b.smi: empty file"):
        read_smiles_file(tmp_path / "b.smi")


def test_training_names_a_200k_character_line_without_its_text(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data = SMILES[:10] + ["C" * 200_000]
    res = train_generator(data, tmp_path / "m", config=TINY, minutes=None, max_steps=1, batch_size=8, n_val=1,
                          file="t.smi", lines=list(range(1, 12)))
    assert [str(i) for i in res.issues] == ["t.smi, line 11: a SMILES of 200,000 characters, longer than 10,000: "
                                            "not parsed"]
    assert len(res.issues[0].text) == 53 and res.n_train + res.n_val == 10


def test_kekule_form_trains_on_kekule_smiles_of_the_same_molecules(tmp_path: Path) -> None:
    from rdkit import Chem

    from serendip.chem.generate.train import check_smiles

    data = ["c1ccccc1", "c1cc[nH]c1", "Cc1ncc(Cl)c(C(=O)N(C)CCOCc2ccccc2)n1", "c1cccc1C", "CCO"]
    kept, lines, issues = check_smiles(data, max_tokens=60, file="k.smi", kekule=True)
    assert kept[:2] == ["C1=CC=CC=C1", "C1=CNC=C1"] and lines == [1, 2, 3, 5] and kept[3] == "CCO"
    assert not any(ch in "cnos" for s in kept for ch in s if ch.islower() and ch != "l")  # no aromatic atom
    for given, k in zip([data[i - 1] for i in lines], kept):  # the same molecule, nothing repaired
        assert Chem.MolToSmiles(Chem.MolFromSmiles(k)) == Chem.MolToSmiles(Chem.MolFromSmiles(given))
    assert [(i.file, i.line, i.text) for i in issues] == [("k.smi", 4, "c1cccc1C")]  # cannot be kekulised
    assert "RDKit rejects the SMILES c1cccc1C" in issues[0].reason
    # the token limit applies to the Kekulé form: benzene is 8 tokens as given, 11 written out
    kept, _, issues = check_smiles(["c1ccccc1"], max_tokens=8, kekule=True)
    assert kept == [] and "11 tokens (Kekulé form), longer than the model's max_length of 8" in issues[0].reason
    assert check_smiles(["c1ccccc1"], max_tokens=8)[0] == ["c1ccccc1"]

    torch.set_num_threads(1)
    cfg = TINY.model_copy(update={"smiles_form": "kekule"})
    res = train_generator(SMILES, tmp_path / "m", config=cfg, minutes=None, max_steps=1, batch_size=8, n_val=3)
    model = SmilesGenerator.load(tmp_path / "m")
    assert model.config.smiles_form == "kekule" and res.n_train + res.n_val == len(SMILES)
    assert not {"c", "n", "[nH]"} & set(model.vocab.tokens) and {"=", "N", "C"} <= set(model.vocab.tokens)
    res = train_generator(SMILES, tmp_path / "m", minutes=None, max_steps=1, batch_size=8, n_val=3,
                          init_from=tmp_path / "m")  # continuing keeps the form: no aromatic token to encode
    assert res.issues == [] and SmilesGenerator.load(tmp_path / "m").config.smiles_form == "kekule"


def test_too_few_usable_smiles_names_why_and_no_validation_set_is_none(tmp_path: Path) -> None:
    import json

    with pytest.raises(DataError, match=r"0 usable SMILES; at least 2 are needed \(3 left out: b.smi, line 1: .*"
                                        r"b.smi, line 2: .*; b.smi, line 3"):
        train_generator(["C!C", "aspirin", "C(C)(C)(C)(C)C"], tmp_path / "m", config=TINY, max_steps=1,
                        file="b.smi")
    torch.set_num_threads(1)
    res = train_generator(SMILES[:5], tmp_path / "m", config=TINY, minutes=None, max_steps=1, batch_size=8)
    assert res.n_val == 0 and res.val_loss is None and res.train_loss > 0  # under 10 molecules: none held out
    info = json.loads((tmp_path / "m" / "config.json").read_text(), parse_constant=pytest.fail)["info"]
    assert info["val_loss"] is None                                         # strict JSON: null, not NaN


def test_kekule_resume_names_an_unseen_token_with_the_line_as_given(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = TINY.model_copy(update={"smiles_form": "kekule"})
    train_generator(["CCO", "C1=CC=CC=C1", "CCN"] * 4, tmp_path / "m", config=cfg, minutes=None, max_steps=1)
    res = train_generator(["CCO", "c1ccsc1", "c1ccccc1"] * 4, tmp_path / "m", minutes=None, max_steps=1,
                          init_from=tmp_path / "m", file="r.smi")
    assert [(i.line, i.text) for i in res.issues] == [(2, "c1ccsc1"), (5, "c1ccsc1"), (8, "c1ccsc1"), (11, "c1ccsc1")]
    assert res.issues[0].reason.endswith("(Kekulé form)") and "C1=CSC=C1" in res.issues[0].reason
