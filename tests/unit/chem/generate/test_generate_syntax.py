"""serendip.chem.generate.syntax: the SMILES grammar mask allows every step of real SMILES, refuses the
steps that leave a ring or a branch open or bond two atoms twice, and makes sampled strings parse."""
from __future__ import annotations

import pytest
import torch
from rdkit import Chem, RDLogger

from serendip.chem.generate import GeneratorConfig, SmilesGenerator
from serendip.chem.generate.syntax import (
    ATOM,
    BOND,
    CLOSE,
    DOT,
    END,
    OPEN,
    OTHER,
    RING,
    SyntaxMask,
    token_class,
)
from serendip.chem.tokenize import Vocab, tokenize_smiles

REAL = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "C[C@@H](N)C(=O)O", "c1cc[nH]c1", "O=[N+]([O-])c1ccccc1",
        "CCC1(O)C(=O)OCc2c1cc1n(c2=O)Cc2cc3ccccc3nc2-1", "Cc1ccccc1-n1c2nc(=O)n(C)c(=O)c-2cc2ccccc21",
        "C1CC12CC2", "C=1CC1", "C%10CCCCC%10", "F/C=C/F", "F/C=C\\Cl", "[Na+].[Cl-]", "C1.C1", "C12CCC1CC2",
        "CC(C)(C)c1ccc2c(c1)C1(CCN(C(=O)C3CC3)CC1)OC2", "N#Cc1ccc(cc1)C(C#N)(Cc1ccccc1)N1CCOCC1"]
VOCAB = Vocab.build(REAL + ["C+C@?"])  # + @ ? as tokens that cannot stand outside brackets


def _feed(smiles: str) -> tuple[SyntaxMask, list[bool]]:
    """Walk the tokens of ``smiles`` through a one-row mask: whether each token was allowed."""
    mask, seen = SyntaxMask(VOCAB, 1), []
    for tok in tokenize_smiles(smiles) if smiles else []:
        i = VOCAB.index[tok]
        seen.append(bool(mask.allowed()[0, i]))
        mask.step(torch.tensor([i]), torch.tensor([False]))
    return mask, seen


def _allows(prefix: str, token: str) -> bool:
    mask, seen = _feed(prefix)
    assert all(seen), f"{prefix} itself should be allowed"
    return bool(mask.allowed()[0, VOCAB.index[token]])


def test_token_classes() -> None:
    assert [token_class(t) for t in ("C", "Cl", "c", "[nH]", "[C@@H]", "*", "=", "#", "/", "\\", "(", ")", "1",
                                     "%10", ".", "<eos>", "+", "@")] == \
        [ATOM] * 6 + [BOND] * 4 + [OPEN, CLOSE, RING, RING, DOT, END, OTHER, OTHER]


@pytest.mark.parametrize("smiles", REAL)
def test_every_step_of_a_real_smiles_is_allowed_and_it_may_end(smiles: str) -> None:
    mask, seen = _feed(smiles)
    assert all(seen)
    assert bool(mask.allowed()[0, VOCAB.eos_id])


@pytest.mark.parametrize("prefix, token", [
    ("", "("), ("", "1"), ("", "="), ("", "<eos>"),        # a SMILES starts with an atom
    ("C1", "<eos>"), ("C1CC", "<eos>"), ("C(C", "<eos>"),  # an open ring or branch cannot end
    ("C=", "<eos>"), ("C=", "("), ("C=", "="),             # nor a dangling bond
    ("C(", ")"), ("C", ")"), ("C(", "1"), ("C(=", "1"),    # no empty branch, no branch of a lone ring bond
    ("C1", "1"), ("C1C", "1"), ("C1(C", "1"), ("C12CC1", "2"),  # no bond between atoms already bonded
    ("C(C", "."), ("C", "+"), ("C", "@"),  # dots outside branches; no charge or chirality outside brackets
    ("CC(C)", "1"), ("CC(C)-", "1"),       # ring digits follow atoms
])
def test_steps_that_break_the_grammar_are_refused(prefix: str, token: str) -> None:
    assert not _allows(prefix, token)


@pytest.mark.parametrize("prefix, token", [("C1CC", "1"), ("C1C(C", "1"), ("C(C)", "<eos>"), ("C=", "1"),
                                           ("C1CC1", "1"), ("C(C)", "C"), ("C(", "=")])
def test_steps_the_grammar_allows(prefix: str, token: str) -> None:
    assert _allows(prefix, token)


def test_an_untrained_model_samples_strings_that_parse_with_the_mask_and_not_without() -> None:
    """Every string that ended before the length limit parses (RDKit without sanitising: the grammar,
    not the valences); without the mask most strings of an untrained model do not."""
    RDLogger.DisableLog("rdApp.*")
    torch.manual_seed(0)
    model = SmilesGenerator(VOCAB, GeneratorConfig(embedding_dim=8, hidden_size=16, num_layers=1, max_length=60))

    def parse_share(strings):
        return sum(Chem.MolFromSmiles(s, sanitize=False) is not None for s in strings) / len(strings)

    masked = model.sample(400, seed=0, batch_size=200)
    ended = [s for s in masked if len(tokenize_smiles(s)) < 60]
    assert len(ended) > 20 and parse_share(ended) == 1.0
    assert parse_share(masked) >= 0.99  # nearly all that reached the cap too (closing in time is best effort)
    assert parse_share(model.sample(400, seed=0, batch_size=200, mask="none")) < 0.5
    assert model.sample(50, seed=4, batch_size=20) == model.sample(50, seed=4, batch_size=20)  # seeded


def test_the_wish_to_end_inside_an_open_ring_becomes_its_closure() -> None:
    mask, seen = _feed("C1CC")
    assert all(seen)
    logits = torch.full((1, len(VOCAB)), -5.0)
    logits[0, VOCAB.eos_id] = 5.0  # the model wants to end here, but ring 1 is open
    weights = mask.restrict(logits)
    probs = torch.softmax(logits, -1)
    one = VOCAB.index["1"]
    assert weights[0, VOCAB.eos_id] == 0
    assert float(weights[0, one]) == pytest.approx(float(probs[0, one] + probs[0, VOCAB.eos_id]))
    assert float(weights[0, VOCAB.index["C"]]) == pytest.approx(float(probs[0, VOCAB.index["C"]]))
    assert float(weights[0, VOCAB.index[")"]]) == 0  # no branch is open
    cold = mask.restrict(logits, temperature=1e-6)  # everything but <eos> underflows: still a distribution
    assert float(cold.sum()) > 0 and bool(torch.isfinite(cold).all()) and int(cold.argmax()) == one
    ended, _ = _feed("CCO")
    assert float(ended.restrict(logits)[0, VOCAB.eos_id]) == pytest.approx(float(probs[0, VOCAB.eos_id]))


@pytest.mark.parametrize("cap", [4, 6, 10, 20])
def test_strings_reaching_the_length_cap_close_what_is_open(cap: int) -> None:
    RDLogger.DisableLog("rdApp.*")
    torch.manual_seed(0)
    model = SmilesGenerator(VOCAB, GeneratorConfig(embedding_dim=8, hidden_size=16, num_layers=1, max_length=40))
    drawn = model.sample(300, seed=1, batch_size=150, max_length=cap)
    assert all(len(tokenize_smiles(s)) <= cap for s in drawn)
    assert sum(len(tokenize_smiles(s)) >= cap - 1 for s in drawn) > 30      # many reach the cap
    unparsed = [s for s in drawn if Chem.MolFromSmiles(s, sanitize=False) is None]
    assert len(unparsed) <= 3, unparsed  # best effort: two rings opened on one atom can still run out of room


def test_near_the_cap_only_steps_that_can_still_finish_are_allowed() -> None:
    mask = SyntaxMask(VOCAB, 1)
    for tok in tokenize_smiles("CC1CC"):
        mask.step(torch.tensor([VOCAB.index[tok]]), torch.tensor([False]))
    free = mask.allowed()
    assert bool(free[0, VOCAB.index["("]]) and bool(free[0, VOCAB.index["C"]])
    tight = mask.finish_in_time(free, steps_left=2)  # room for one token and <eos>: close ring 1 now
    assert [VOCAB.tokens[i] for i in torch.nonzero(tight[0]).squeeze(1).tolist()] == ["1"]
    assert torch.equal(mask.finish_in_time(free, steps_left=50), free)     # far from the cap: unchanged


@pytest.mark.parametrize("mask", ["syntax", "valence"])
def test_a_vocabulary_without_ring_digits_samples_to_the_cap(mask: str) -> None:
    torch.manual_seed(0)
    vocab = Vocab.build(["CCO", "CC(C)N"])
    model = SmilesGenerator(vocab, GeneratorConfig(embedding_dim=4, hidden_size=8, num_layers=1, max_length=8))
    drawn = model.sample(40, seed=0, batch_size=20, mask=mask)
    assert len(drawn) == 40 and all(Chem.MolFromSmiles(s, sanitize=False) is not None for s in drawn)
