"""Valence-aware sampling masks: the SMILES grammar mask (:mod:`serendip.chem.generate.syntax`) that
also refuses a bond an atom has no room for.

Each atom's capacity is the largest valence RDKit allows its element (``PeriodicTable.GetValenceList``;
a charged atom takes that of the isoelectronic element, e.g. ``[N+]`` as carbon, ``[O-]`` as fluorine,
as RDKit's valence model does), less the hydrogens a bracket atom states. Bond orders count 1 for
``-``, ``/``, ``\\``, ``:`` and an implicit bond, 2 for ``=``, 3 for ``#``, 4 for ``$``; a ring bond
counts on both atoms when it opens and when it closes. Then a bond token is allowed only where the
atom it leaves has room for its order, an atom only if its capacity holds the bond that reaches it,
``(`` only where a branch can still bond, and a ring digit only where both ends have room.

Aromatic atoms (``c``, ``n``, ``[nH]``...) are held to the same capacity, counting an aromatic bond
as 1: a loose bound (it lets through an aromatic carbon with three ring bonds and a substituent),
since whether a ring can be kekulised is decided only when it is complete; so aromaticity errors stay
possible and validity is still measured with RDKit. A model trained on Kekulé SMILES
(``GeneratorConfig(smiles_form="kekule")``) writes every bond order out, so nothing is left loose.

A step is also refused when, after it, a ring stays open but no atom the string can still grow from
has room: neither the atom it would continue from nor any branch point a ``)`` leads back to
(``CC1CC=C12``: ring 2 fills the last carbon and can never close). Such a string could only end
invalid. Where the rules leave a row no token at all, that row falls back to the grammar mask alone,
so sampling never stalls.
"""
from __future__ import annotations

import re
from functools import lru_cache

import torch

from serendip.chem.generate.syntax import (
    ATOM,
    BOND,
    BRANCH_BOND,
    DOT,
    OPEN,
    RING,
    START,
    SyntaxMask,
)
from serendip.chem.tokenize import Vocab

#: bond order of each bond token
BOND_ORDER = {"-": 1, "/": 1, "\\": 1, ":": 1, "~": 1, "=": 2, "#": 3, "$": 4}
#: a capacity that never binds (the dummy atom ``*``, metals RDKit gives any valence)
UNBOUNDED = 99
#: a bracket atom: isotope, element, chirality, hydrogens, charge, atom class
_BRACKET = re.compile(r"^\[(\d*)([A-Z][a-z]?|[a-z][a-z]?|\*)(@@|@(?:TH|AL|SQ|SP|TB|OH)\d+|@)?"
                      r"(H\d*)?([+-]+\d*)?(:\d+)?\]$")


@lru_cache(maxsize=None)
def _max_valence(symbol: str, charge: int = 0) -> int:
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    try:
        z = table.GetAtomicNumber(symbol.capitalize())
    except RuntimeError:
        return UNBOUNDED
    if not 0 < z - charge <= 118:
        return UNBOUNDED
    valences = list(table.GetValenceList(z - charge if charge else z))
    return UNBOUNDED if -1 in valences or not valences else max(valences)


def atom_capacity(token: str) -> int:
    """The bonds (in bond orders) the atom ``token`` can take: see the module docstring. Raises
    nothing: a token it cannot read gets :data:`UNBOUNDED`."""
    if token == "*":
        return UNBOUNDED
    if not token.startswith("["):
        return _max_valence(token)
    m = _BRACKET.match(token)
    if m is None:
        return UNBOUNDED
    symbol, hs, charge_text = m.group(2), m.group(4), m.group(5) or ""
    if symbol == "*":
        return UNBOUNDED
    if charge_text:
        sign = 1 if charge_text[0] == "+" else -1
        digits = charge_text.lstrip("+-")
        charge = sign * (int(digits) if digits else len(charge_text))
    else:
        charge = 0
    n_h = 0 if hs is None else (int(hs[1:]) if len(hs) > 1 else 1)
    return max(0, _max_valence(symbol, charge) - n_h)


class ValenceMask(SyntaxMask):
    """:class:`SyntaxMask` plus each atom's capacity and the bond orders used so far (see the module
    docstring): ``allowed()`` -> bool (batch, vocab), ``step(ids, done)`` as the grammar mask's."""

    def __init__(self, vocab: Vocab, batch: int, max_depth: int = 100, max_atoms: int | None = None):
        super().__init__(vocab, batch, max_depth)
        n_atoms = (max_atoms or max_depth) + 1
        self.token_cap = torch.tensor([atom_capacity(t) if c == ATOM else 0
                                       for t, c in zip(vocab.tokens, self.classes.tolist())], dtype=torch.long)
        self.order = torch.tensor([BOND_ORDER.get(t, 1) if c == BOND else 0
                                   for t, c in zip(vocab.tokens, self.classes.tolist())], dtype=torch.long)
        self.atom_ids = torch.nonzero(self.classes == ATOM).squeeze(1)
        self.bond_ids = torch.nonzero(self.classes == BOND).squeeze(1)
        self.open_ids = torch.nonzero(self.classes == OPEN).squeeze(1)
        self.cap = torch.full((batch, n_atoms), UNBOUNDED, dtype=torch.long)
        self.used = torch.zeros(batch, n_atoms, dtype=torch.long)
        self.pending = torch.zeros(batch, dtype=torch.long)  # order of the bond token just drawn
        self.ring_order = torch.zeros(batch, len(self.ring_ids), dtype=torch.long)

    def _room(self, atom: torch.Tensor) -> torch.Tensor:
        """Free capacity of ``atom`` (long (batch,), -1 for none: unbounded)."""
        i = atom.clamp(min=0).unsqueeze(1)
        room = (self.cap.gather(1, i) - self.used.gather(1, i)).squeeze(1)
        return torch.where(atom >= 0, room, torch.full_like(room, UNBOUNDED))

    def allowed(self) -> torch.Tensor:
        grammar = super().allowed()
        ok = grammar.clone()
        room_at = self._room(self.attach)
        after_bond = (self.prev == BOND) | (self.prev == BRANCH_BOND)
        fresh = (self.prev == START) | (self.prev == DOT)
        incoming = torch.where(after_bond, self.pending, torch.where(fresh, 0, 1))  # bond reaching a new atom
        ok[:, self.bond_ids] &= room_at.unsqueeze(1) >= self.order[self.bond_ids].unsqueeze(0)
        atom_fits = self.token_cap[self.atom_ids].unsqueeze(0) >= incoming.unsqueeze(1)
        ok[:, self.atom_ids] &= atom_fits & (after_bond | fresh | (room_at >= 1)).unsqueeze(1)
        ok[:, self.open_ids] &= (room_at >= 1).unsqueeze(1)
        cur = self.atoms - 1
        ring_k = torch.where(after_bond.unsqueeze(1), self.pending.unsqueeze(1), self.ring_order)
        ring_k = torch.where(self.ring_open, ring_k, torch.where(after_bond, self.pending, 1).unsqueeze(1))
        opener_room = (self.cap.gather(1, self.ring_atom.clamp(min=0))
                       - self.used.gather(1, self.ring_atom.clamp(min=0)))
        fits = (self._room(cur).unsqueeze(1) >= torch.where(after_bond.unsqueeze(1), 0, ring_k))
        fits &= ~self.ring_open | (opener_room >= ring_k - self.ring_order)
        ok[:, self.ring_ids] &= fits
        self._keep_a_way_on(ok, incoming, ring_k)
        stuck = ~ok.any(1)
        ok[stuck] = grammar[stuck]
        return ok

    def _keep_a_way_on(self, ok: torch.Tensor, incoming: torch.Tensor, ring_k: torch.Tensor) -> None:
        """Refuse (in place, in ``ok``) a token after which a ring stays open but no atom the string can
        still grow from has room: the atom it would continue from (a new atom, or the current one after a
        ring digit) nor any atom a ``)`` leads back to. That string could only end invalid (``CC1CC=C12``
        fills the last carbon with ring 2 open); without the rule the row would fall back to the grammar."""
        n_open = self.ring_open.sum(1)
        depth_ok = torch.arange(self.stack.shape[1]).unsqueeze(0) < self.depth.unsqueeze(1)
        at = self.stack.clamp(min=0)
        stack_room = torch.where(self.stack >= 0, self.cap.gather(1, at) - self.used.gather(1, at), UNBOUNDED)
        back = (depth_ok & (stack_room >= 1)).any(1)  # a ")" leads to an atom with room
        # an atom bonding to a branch point on the stack takes its room there first
        takes = torch.where(self.stack == self.attach.unsqueeze(1), incoming.unsqueeze(1), 0)
        back_after_atom = (depth_ok & (stack_room - takes >= 1)).any(1)
        new_room = self.token_cap[self.atom_ids].unsqueeze(0) - incoming.unsqueeze(1)
        ok[:, self.atom_ids] &= ((n_open == 0) | back_after_atom).unsqueeze(1) | (new_room >= 1)
        opening = ~self.ring_open
        open_after = n_open.unsqueeze(1) + torch.where(opening, 1, -1)
        left = self._room(self.atoms - 1).unsqueeze(1) - ring_k  # the ring bond's order, wherever it was written
        ok[:, self.ring_ids] &= (open_after == 0) | back.unsqueeze(1) | (left >= 1)
        ok[:, self.close_ids] &= ((n_open == 0) | back).unsqueeze(1)
        max_cap = int(self.token_cap[self.atom_ids].max()) if len(self.atom_ids) else 0
        ok[:, self.bond_ids] &= ((n_open == 0) | back).unsqueeze(1) | (max_cap - self.order[self.bond_ids] >= 1)

    def step(self, ids: torch.Tensor, done: torch.Tensor) -> None:
        live, cls = ~done, self.classes[ids]
        rows = torch.arange(len(ids))
        after_bond = (self.prev == BOND) | (self.prev == BRANCH_BOND)
        fresh = (self.prev == START) | (self.prev == DOT)
        atom = live & (cls == ATOM)
        if bool(atom.any()):
            r, new = rows[atom], self.atoms[atom]
            b = torch.where(after_bond[atom], self.pending[atom], torch.where(fresh[atom], 0, 1))
            self.cap[r, new] = self.token_cap[ids[atom]]
            self.used[r, new] = b
            has = self.attach[atom] >= 0
            self.used[r[has], self.attach[atom][has]] += b[has]
        ring = live & (cls == RING)
        if bool(ring.any()):
            r, j = rows[ring], self._ring_col[ids[ring]]
            was_open, cur = self.ring_open[r, j], self.atoms[r] - 1
            k = torch.where(after_bond[ring], self.pending[ring], torch.where(was_open, self.ring_order[r, j], 1))
            self.used[r, cur] += k
            opener = self.ring_atom[r, j].clamp(min=0)
            self.used[r[was_open], opener[was_open]] += (k - self.ring_order[r, j])[was_open]
            self.ring_order[r, j] = torch.where(was_open, torch.zeros_like(k), k)
        self.pending = torch.where(live & (cls == BOND), self.order[ids], torch.where(live, 0, self.pending))
        super().step(ids, done)
