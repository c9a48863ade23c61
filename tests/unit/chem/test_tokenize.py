"""serendip.chem.tokenize: the Schwaller et al. 2019 regex tokenizer and its vocabulary."""
from __future__ import annotations

from pathlib import Path

import pytest

from serendip.chem.tokenize import Vocab, tokenize_smiles
from serendip.errors import DataError, ParseError

TRICKY = ["ClCCBr", "c1cc[nH]c1", "C[C@@H](N)C(=O)O", "C[C@H]1CC[NH+](C)CC1", "[O-][N+](=O)c1ccccc1",
          "C%10CCCCC%10", "C1CC2CC3CC4CC5CC6CC7CC8CC9CC%10CC%11CC1C2C3C4C5C6C7C8C9%10%11", "F/C=C/F",
          "F\\C=C\\Cl", "CC.[Na+].[Cl-]", "c1ccc2c(c1)oc1ccccc12", "[2H]C([2H])([2H])I", "C#N", "S(=O)(=O)(O)O"]


def test_tokens_of_tricky_smiles() -> None:
    assert tokenize_smiles("ClCCBr") == ["Cl", "C", "C", "Br"]
    assert tokenize_smiles("c1cc[nH]c1") == ["c", "1", "c", "c", "[nH]", "c", "1"]
    assert tokenize_smiles("C[C@@H](N)C") == ["C", "[C@@H]", "(", "N", ")", "C"]
    assert tokenize_smiles("C%10CCCCC%10") == ["C", "%10", "C", "C", "C", "C", "C", "%10"]
    assert tokenize_smiles("CBr") == ["C", "Br"] and tokenize_smiles("Cb") == ["C", "b"]


def test_round_trip_and_save_load(tmp_path: Path) -> None:
    vocab = Vocab.build(TRICKY)
    assert vocab.tokens[:3] == ["<pad>", "<bos>", "<eos>"]
    for smi in TRICKY:
        assert "".join(tokenize_smiles(smi)) == smi
        ids = vocab.encode(smi)
        assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
        assert vocab.decode(ids) == smi
        assert vocab.decode(ids + [0, 0]) == smi  # stops at <eos>, padding ignored
    vocab.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json") == vocab


def test_unknown_token_and_bad_smiles_are_named() -> None:
    vocab = Vocab.build(["CCO"])
    with pytest.raises(ParseError, match=r"SMILES CCCl has the token Cl, which is not in the vocabulary"):
        vocab.encode("CCCl", where="gen.smi line 3")
    with pytest.raises(ParseError, match=r"gen.smi line 3"):
        vocab.encode("CCCl", where="gen.smi line 3")
    with pytest.raises(ParseError, match=r"SMILES CC!O cannot be tokenised: the character ! at position 2"):
        tokenize_smiles("CC!O")
    with pytest.raises(ParseError, match=r"SMILES C\[NH cannot .* \[ at position 1"):
        tokenize_smiles("C[NH")
    with pytest.raises(ParseError, match="empty"):
        tokenize_smiles("")
    with pytest.raises(DataError, match="id 99"):
        vocab.decode([1, 99])
    with pytest.raises(ParseError):
        Vocab.build(["CC", "C!C"])
    assert "!" not in Vocab.build(["CC", "C!C"], skip_errors=True).tokens


def test_damaged_vocab_file(tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text('{"tokens": [1, 2]}')
    with pytest.raises(DataError, match="v.json: not a SMILES vocabulary"):
        Vocab.load(tmp_path / "v.json")
