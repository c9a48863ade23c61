"""serendip.chem.generate.valence: atom capacities from RDKit's valence model, and a mask that allows
every step of real SMILES (aromatic and Kekulé) but no bond an atom has no room for."""
from __future__ import annotations

import pytest
import torch
from rdkit import Chem, RDLogger

from serendip.chem.generate import GeneratorConfig, SmilesGenerator
from serendip.chem.generate.valence import UNBOUNDED, ValenceMask, atom_capacity
from serendip.chem.tokenize import Vocab, tokenize_smiles

REAL = ["CCO", "c1ccccc1", "C1=CC=CC=C1", "CC(=O)Oc1ccccc1C(=O)O", "C[C@@H](N)C(=O)O", "c1cc[nH]c1",
        "O=[N+]([O-])c1ccccc1", "CC(C)(C)C", "N#CC#N", "C=1CC1", "C12CCC1CC2", "[NH4+].[Cl-]", "O=S(=O)(O)O",
        "CCC1(O)C(=O)OCc2c1cc1n(c2=O)Cc2cc3ccccc3nc2-1", "O=c1cccc[nH]1", "CP(=O)(O)O", "C#C", "FC(F)(F)F"]
VOCAB = Vocab.build(REAL + ["[NH3+]C", "[Na+]"])


def _feed(smiles: str) -> tuple[ValenceMask, list[bool]]:
    mask, seen = ValenceMask(VOCAB, 1), []
    for tok in tokenize_smiles(smiles):
        i = VOCAB.index[tok]
        seen.append(bool(mask.allowed()[0, i]))
        mask.step(torch.tensor([i]), torch.tensor([False]))
    return mask, seen


@pytest.mark.parametrize("token, capacity", [("C", 4), ("c", 4), ("N", 3), ("O", 2), ("F", 1), ("Cl", 1),
                                             ("[nH]", 2), ("[C@@H]", 3), ("[N+]", 4), ("[O-]", 1), ("[NH4+]", 0),
                                             ("[Na+]", 0), ("[NH3+]", 1), ("[2H]", 1), ("*", UNBOUNDED),
                                             ("[Fe+2]", UNBOUNDED)])
def test_atom_capacity(token: str, capacity: int) -> None:
    assert atom_capacity(token) == capacity


@pytest.mark.parametrize("smiles", REAL)
def test_every_step_of_a_real_smiles_is_allowed(smiles: str) -> None:
    mask, seen = _feed(smiles)
    assert all(seen) and bool(mask.allowed()[0, VOCAB.eos_id])


@pytest.mark.parametrize("prefix, token", [
    ("CC(C)(C)(C)", "("), ("CC(C)(C)(C)", "C"),  # a fifth bond on carbon
    ("CN", "#"), ("CO", "="), ("C=O", "C"),   # no room on N or O
    ("C", "[NH4+]"), ("C#", "O"), ("C=", "F"),  # the atom cannot take the bond that reaches it
    ("C1CC1(F)(F)", "("), ("C1CC1(F)(F)", "C"),  # chain, ring bond and two branches fill a carbon
])
def test_bonds_without_room_are_refused(prefix: str, token: str) -> None:
    mask, seen = _feed(prefix)
    assert all(seen)
    assert not bool(mask.allowed()[0, VOCAB.index[token]])


def test_a_row_the_valence_rule_leaves_nothing_falls_back_to_the_grammar() -> None:
    mask, seen = _feed("C1C(C)(C)C")  # the ring on atom 0 can close only on the last carbon, which has room
    assert all(seen) and bool(mask.allowed()[0, VOCAB.index["1"]])
    mask, _ = _feed("[NH4+]")  # nothing can bond to it; the string may still end
    assert bool(mask.allowed().any())


def test_an_untrained_model_never_overfills_an_atom() -> None:
    RDLogger.DisableLog("rdApp.*")
    torch.manual_seed(0)
    model = SmilesGenerator(VOCAB, GeneratorConfig(embedding_dim=8, hidden_size=16, num_layers=1, max_length=40))
    ended = [s for s in model.sample(300, seed=0, batch_size=150, mask="valence") if len(tokenize_smiles(s)) < 40]
    parsed = [Chem.MolFromSmiles(s, sanitize=False) for s in ended]
    assert len(ended) > 20 and all(m is not None for m in parsed)
    for m in parsed:
        m.UpdatePropertyCache(strict=False)
    over = [s for s, m in zip(ended, parsed) if any(a.GetExplicitValence() > atom_capacity(a.GetSymbol())
                                                    for a in m.GetAtoms() if not a.GetIsAromatic()
                                                    and a.GetFormalCharge() == 0 and not a.GetNumExplicitHs())]
    assert over == []


@pytest.mark.parametrize("prefix, token", [
    ("CC1CC=C1", "2"),       # ring 2 would fill the last carbon and stay open: no way on
    ("C1CC", "F"),           # a fluorine ends the chain with ring 1 open and no branch to go back to
    ("C1CC(C)(C)(", "F"),    # nor inside a branch whose branch point is full
])
def test_a_step_that_leaves_a_ring_no_way_to_close_is_refused(prefix: str, token: str) -> None:
    mask, seen = _feed(prefix)
    assert all(seen)
    assert not bool(mask.allowed()[0, VOCAB.index[token]])


@pytest.mark.parametrize("prefix, token", [("CC1CC=C", "1"), ("C1CC(", "F"), ("C1CC(C)(C)(", "C"), ("CC", "F")])
def test_the_same_steps_with_a_way_on_are_allowed(prefix: str, token: str) -> None:
    mask, seen = _feed(prefix)
    assert all(seen) and bool(mask.allowed()[0, VOCAB.index[token]])
