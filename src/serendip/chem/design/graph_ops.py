"""Crossover and mutation on molecular graphs with RDKit reaction SMARTS (Jensen's graph GA).

Jensen 2019, "A graph-based genetic algorithm and generative model/Monte Carlo tree search for the
exploration of chemical space", Chem. Sci. 10:3567-3572, doi:10.1039/C8SC05372C; the operators,
their SMARTS and probabilities follow the version in PMO's ``mol_opt/main/graph_ga/crossover.py`` and
``mutate.py`` (itself from ``jensengroup/GB-GA``), re-written here around an explicit
``random.Random`` so that a run is reproducible from its seed.
"""
from __future__ import annotations

import random
from functools import lru_cache

from rdkit import Chem
from rdkit.Chem import AllChem

#: Molecule size limits of the GA (heavy atoms): more than 5, fewer than Normal(39.15, 3.50)
AVERAGE_SIZE, SIZE_SD = 39.15, 3.50


@lru_cache(maxsize=None)
def _smarts(text: str) -> Chem.Mol:
    return Chem.MolFromSmarts(text)


@lru_cache(maxsize=None)
def _rxn(text: str):
    return AllChem.ReactionFromSmarts(text)


def mol_ok(mol: Chem.Mol, rng: random.Random) -> bool:
    """Sanitisable, more than 5 heavy atoms and fewer than a size drawn from N(39.15, 3.50)."""
    try:
        Chem.SanitizeMol(mol)
    except (ValueError, RuntimeError):
        return False
    return 5 < mol.GetNumAtoms() < rng.gauss(AVERAGE_SIZE, SIZE_SD)


def ring_ok(mol: Chem.Mol) -> bool:
    """No ring allene, no ring larger than 6, no double bond in a 3- or 4-ring."""
    if not mol.HasSubstructMatch(_smarts("[R]")):
        return True
    if mol.HasSubstructMatch(_smarts("[R]=[R]=[R]")) or mol.HasSubstructMatch(_smarts("[r3,r4]=[r3,r4]")):
        return False
    return max(len(r) for r in mol.GetRingInfo().AtomRings()) <= 6


def _fragments(mol: Chem.Mol, bonds: list[int]) -> tuple | None:
    frag = Chem.FragmentOnBonds(mol, bonds, addDummies=True, dummyLabels=[(1, 1)] * len(bonds))
    try:
        return Chem.GetMolFrags(frag, asMols=True, sanitizeFrags=True)
    except (ValueError, RuntimeError):
        return None


def cut(mol: Chem.Mol, rng: random.Random) -> tuple | None:
    """Two fragments from cutting one random acyclic single bond (dummy atoms ``[1*]`` at the cut)."""
    matches = mol.GetSubstructMatches(_smarts("[*]-;!@[*]"))
    if not matches:
        return None
    a, b = rng.choice(matches)
    return _fragments(mol, [mol.GetBondBetweenAtoms(a, b).GetIdx()])


def cut_ring(mol: Chem.Mol, rng: random.Random) -> tuple | None:
    """Two fragments from cutting two bonds of a ring (up to 10 tries)."""
    for _ in range(10):
        if rng.random() < 0.5:
            matches = mol.GetSubstructMatches(_smarts("[R]@[R]@[R]@[R]"))
            if not matches:
                return None
            m = rng.choice(matches)
            pairs = ((m[0], m[1]), (m[2], m[3]))
        else:
            matches = mol.GetSubstructMatches(_smarts("[R]@[R;!D2]@[R]"))
            if not matches:
                return None
            m = rng.choice(matches)
            pairs = ((m[0], m[1]), (m[1], m[2]))
        frags = _fragments(mol, [mol.GetBondBetweenAtoms(x, y).GetIdx() for x, y in pairs])
        if frags is None:
            return None
        if len(frags) == 2:
            return frags
    return None


def _crossover_ring(a: Chem.Mol, b: Chem.Mol, rng: random.Random) -> Chem.Mol | None:
    ring = _smarts("[R]")
    if not a.HasSubstructMatch(ring) and not b.HasSubstructMatch(ring):
        return None
    join1 = ["[*:1]~[1*].[1*]~[*:2]>>[*:1]-[*:2]", "[*:1]~[1*].[1*]~[*:2]>>[*:1]=[*:2]"]
    join2 = ["([*:1]~[1*].[1*]~[*:2])>>[*:1]-[*:2]", "([*:1]~[1*].[1*]~[*:2])>>[*:1]=[*:2]"]
    for _ in range(10):
        fa, fb = cut_ring(a, rng), cut_ring(b, rng)
        if fa is None or fb is None:
            return None
        # as the reference code: only the last join1 reaction's products are carried on
        trial = [_rxn(join1[-1]).RunReactants((x, y))[0] for x in fa for y in fb]
        joined = [p[0] for rs in join2 for m in trial if mol_ok(m[0], rng)
                  for p in _rxn(rs).RunReactants((m[0],))]
        kept = [m for m in joined if mol_ok(m, rng) and ring_ok(m)]
        if kept:
            return rng.choice(kept)
    return None


def _crossover_non_ring(a: Chem.Mol, b: Chem.Mol, rng: random.Random) -> Chem.Mol | None:
    rxn = _rxn("[*:1]-[1*].[1*]-[*:2]>>[*:1]-[*:2]")
    for _ in range(10):
        fa, fb = cut(a, rng), cut(b, rng)
        if fa is None or fb is None:
            return None
        kept = [m for x in fa for y in fb if mol_ok(m := rxn.RunReactants((x, y))[0][0], rng)]
        if kept:
            return rng.choice(kept)
    return None


def crossover(a: Chem.Mol, b: Chem.Mol, rng: random.Random) -> Chem.Mol | None:
    """A child of parents ``a`` and ``b`` (ring or non-ring cut-and-join, each with probability 1/2,
    up to 10 tries) that differs from both, or None. The parents are kekulised in place."""
    parents = {Chem.MolToSmiles(a), Chem.MolToSmiles(b)}
    for parent in (a, b):
        try:
            Chem.Kekulize(parent, clearAromaticFlags=True)
        except (ValueError, RuntimeError):
            pass
    for _ in range(10):
        op = _crossover_non_ring if rng.random() <= 0.5 else _crossover_ring
        child = op(a, b, rng)
        if child is not None and Chem.MolToSmiles(child) not in parents:
            return child
    return None


def _pick(rng: random.Random, choices: list, p: list[float]):
    return rng.choices(choices, weights=p, k=1)[0]


def _insert_atom(rng: random.Random) -> str:
    kind = _pick(rng, ["single", "double", "triple"], [0.60, 0.35, 0.05])
    if kind == "single":
        return f"[*:1]~[*:2]>>[*:1]{rng.choice(['C', 'N', 'O', 'S'])}[*:2]"
    if kind == "double":
        return f"[*;!H0:1]~[*:2]>>[*:1]={rng.choice(['C', 'N'])}-[*:2]"
    return "[*;!R;!H1;!H0:1]~[*:2]>>[*:1]#C-[*:2]"


def _append_atom(rng: random.Random) -> str:
    kind = _pick(rng, ["single", "double", "triple"], [0.60, 0.35, 0.05])
    if kind == "single":
        return f"[*;!H0:1]>>[*:1]-{rng.choice(['C', 'N', 'O', 'F', 'S', 'Cl', 'Br'])}"
    if kind == "double":
        return f"[*;!H0;!H1:1]>>[*:1]={rng.choice(['C', 'N', 'O'])}"
    return f"[*;H3:1]>>[*:1]#{rng.choice(['C', 'N'])}"


_DELETE_ATOM = (["[*:1]~[D1:2]>>[*:1]", "[*:1]~[D2:2]~[*:3]>>[*:1]-[*:3]",
                 "[*:1]~[D3:2](~[*;!H0:3])~[*:4]>>[*:1]-[*:3]-[*:4]",
                 "[*:1]~[D4:2](~[*;!H0:3])(~[*;!H0:4])~[*:5]>>[*:1]-[*:3]-[*:4]-[*:5]",
                 "[*:1]~[D4:2](~[*;!H0;!H1:3])(~[*:4])~[*:5]>>[*:1]-[*:3](-[*:4])-[*:5]"],
                [0.25, 0.25, 0.25, 0.1875, 0.0625])
_BOND_ORDER = (["[*:1]!-[*:2]>>[*:1]-[*:2]", "[*;!H0:1]-[*;!H0:2]>>[*:1]=[*:2]",
                "[*:1]#[*:2]>>[*:1]=[*:2]", "[*;!R;!H1;!H0:1]~[*:2]>>[*:1]#[*:2]"], [0.45, 0.45, 0.05, 0.05])
_ADD_RING = (["[*;!r;!H0:1]~[*;!r:2]~[*;!r;!H0:3]>>[*:1]1~[*:2]~[*:3]1",
              "[*;!r;!H0:1]~[*!r:2]~[*!r:3]~[*;!r;!H0:4]>>[*:1]1~[*:2]~[*:3]~[*:4]1",
              "[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*;!r;!H0:5]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]1",
              "[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*!r:5]~[*;!r;!H0:6]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]~[*:6]1"],
             [0.05, 0.05, 0.45, 0.45])
_ELEMENTS = (["#6", "#7", "#8", "#9", "#16", "#17", "#35"], [0.15, 0.15, 0.14, 0.14, 0.14, 0.14, 0.14])


def _change_atom(mol: Chem.Mol, rng: random.Random) -> str:
    present = [x for x in _ELEMENTS[0] if mol.HasSubstructMatch(_smarts(f"[{x}]"))]
    weights = [w for x, w in zip(*_ELEMENTS) if x in present]
    old = _pick(rng, present, weights) if present else "#6"
    new = old
    while new == old:
        new = _pick(rng, *_ELEMENTS)
    return f"[{old}:1]>>[{new}:1]"


def mutate(mol: Chem.Mol, rate: float, rng: random.Random) -> Chem.Mol | None:
    """With probability ``rate``, one of Jensen's seven mutations (insert atom, change bond order,
    delete ring bond, add ring, delete atom, change atom, append atom; probabilities 0.15, 0.14 x 5,
    0.15) applied at a random site, up to 10 tries; ``mol`` itself otherwise, None when every try
    failed."""
    if rng.random() > rate:
        return mol
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
    except (ValueError, RuntimeError):
        return mol
    for _ in range(10):
        ops = [lambda: _insert_atom(rng), lambda: _pick(rng, *_BOND_ORDER),
               lambda: "[*:1]@[*:2]>>([*:1].[*:2])", lambda: _pick(rng, *_ADD_RING),
               lambda: _pick(rng, *_DELETE_ATOM), lambda: _change_atom(mol, rng), lambda: _append_atom(rng)]
        smarts = _pick(rng, ops, [0.15, 0.14, 0.14, 0.14, 0.14, 0.14, 0.15])()
        kept = [m[0] for m in _rxn(smarts).RunReactants((mol,)) if mol_ok(m[0], rng) and ring_ok(m[0])]
        if kept:
            return rng.choice(kept)
    return None


def reproduce(a: Chem.Mol, b: Chem.Mol, rate: float, rng: random.Random) -> Chem.Mol | None:
    """Crossover of copies of ``a`` and ``b``, then :func:`mutate` with ``rate``; None on failure."""
    child = crossover(Chem.Mol(a), Chem.Mol(b), rng)
    return None if child is None else mutate(child, rate, rng)
