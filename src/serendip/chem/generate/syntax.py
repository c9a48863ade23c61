"""SMILES syntax masks for sampling: at each step, the tokens that cannot continue a well-formed SMILES
are given probability zero, and the rest renormalised.

The rules are the SMILES grammar's (OpenSMILES specification, Daylight SMILES theory manual, section 3)
on the token classes of :mod:`serendip.chem.tokenize`:

- a string starts with an atom, and so does what follows ``(`` (or a bond), a bond or ``.``;
- a bond is followed by an atom or a ring-closure digit, never by ``(``, ``)``, another bond or the end;
- a ring-closure digit follows an atom, another digit or a bond after one of them (``C=1``, but not
  ``C(=1)`` or ``C(C)=1``); a digit
  that is open closes its ring, except where that would bond two atoms already bonded: the atom that
  opened it (``C11``), the atom's parent in the chain (``C1C1``, ``C1(C1)``) or an atom a ring already
  closed on this atom reaches (``C12CC12``), which RDKit refuses as a duplicate bond;
- ``)`` needs an open ``(`` and never directly follows ``(`` (no empty branch) or a bond;
- ``(`` follows an atom, a digit or ``)``;
- the string may end only after an atom, a digit or ``)``, with every ``(`` and every ring closed;
- ``.`` only outside branches, after an atom, a digit or ``)``; any other token outside brackets
  (``+``, ``@``, ``?``, ``>``) is never drawn.

This removes the unclosed rings and branches that most invalid samples of a SMILES language model come
from (Arús-Pous et al. 2019, J. Cheminform. 11:71, "Randomized SMILES strings improve the quality of
molecular generative models", on the errors of RNN samples), in the spirit of grammar- and
syntax-directed decoding (Kusner et al. 2017, "Grammar Variational Autoencoder", ICML; Dai et al. 2018,
"Syntax-Directed Variational Autoencoder", ICLR). It does not check valences or aromaticity (RDKit
still refuses ``C(C)(C)(C)(C)C`` or an odd aromatic ring), so validity is still measured with RDKit.
Near the length limit, only tokens after which the string can still close what is open in time are
drawn (:meth:`SyntaxMask.finish_in_time`; best effort: rings opened on one atom can still run out of
room), so few strings are cut open.
"""
from __future__ import annotations

import torch

from serendip.chem.tokenize import Vocab

#: token classes; START is the state before the first token
START, ATOM, BOND, OPEN, CLOSE, RING, DOT, END, OTHER, BRANCH_BOND = range(10)
_BONDS = {"-", "=", "#", "$", ":", "/", "\\", "~"}
_ORGANIC = {"B", "C", "N", "O", "P", "S", "F", "Cl", "Br", "I", "b", "c", "n", "o", "s", "p", "*"}
#: class of the previous token -> classes that may follow it (before the counts are looked at)
_FOLLOWS = {
    START: {ATOM},
    ATOM: {ATOM, BOND, OPEN, CLOSE, RING, DOT, END},
    RING: {ATOM, BOND, OPEN, CLOSE, RING, DOT, END},
    CLOSE: {ATOM, BOND, OPEN, CLOSE, DOT, END},
    BOND: {ATOM, RING},
    OPEN: {ATOM, BOND},
    DOT: {ATOM},
    BRANCH_BOND: {ATOM},  # a bond right after "(" or ")": a branch holds an atom; ring digits follow atoms
    END: {END},  # a finished row draws padding the caller discards
}


def token_class(token: str) -> int:
    """The grammar class of one vocabulary token (:data:`ATOM`, :data:`BOND`, ...; :data:`OTHER` for a
    token that cannot stand outside brackets)."""
    if token == "<eos>":
        return END
    if token in _ORGANIC or (token.startswith("[") and token.endswith("]")):
        return ATOM
    if token in _BONDS:
        return BOND
    if token.isdigit() or (token.startswith("%") and token[1:].isdigit()):
        return RING
    return {"(": OPEN, ")": CLOSE, ".": DOT}.get(token, OTHER)


class SyntaxMask:
    """The state of a batch of partial SMILES and the mask of allowed next tokens.

    ``allowed()`` returns a bool tensor of shape (batch, vocab); ``step(ids)`` takes the int64 tensor of
    shape (batch,) of the tokens drawn and updates the state (branch depth, open ring labels and the
    atom each was opened on, the class of the last token). Rows whose string has ended are left as they
    are. Every row always has at least one allowed token (an atom is allowed wherever nothing else is).
    """

    def __init__(self, vocab: Vocab, batch: int, max_depth: int = 100):
        classes = torch.tensor([token_class(t) for t in vocab.tokens], dtype=torch.long)
        self.classes = classes
        self.follows = torch.stack([torch.isin(classes, torch.tensor(sorted(_FOLLOWS.get(c, set())), dtype=torch.long))
                                    for c in range(BRANCH_BOND + 1)])  # (n_classes, vocab)
        self.ring_ids = torch.nonzero(classes == RING).squeeze(1)  # vocab ids of ring labels
        self.close_ids = torch.nonzero(classes == CLOSE).squeeze(1)
        self.dot_ids = torch.nonzero(classes == DOT).squeeze(1)
        self.eos_id = vocab.eos_id
        n_rings = len(self.ring_ids)
        self.prev = torch.full((batch,), START, dtype=torch.long)
        self.depth = torch.zeros(batch, dtype=torch.long)
        self.atoms = torch.zeros(batch, dtype=torch.long)  # atoms so far; the current atom is atoms - 1
        self.parent = torch.full((batch,), -1, dtype=torch.long)  # the current atom's chain parent
        self.attach = torch.full((batch,), -1, dtype=torch.long)  # where the next chain atom bonds
        self.stack = torch.full((batch, max_depth + 1), -1, dtype=torch.long)  # attach points at each "("
        self.ring_open = torch.zeros(batch, n_rings, dtype=torch.bool)
        self.ring_atom = torch.full((batch, n_rings), -1, dtype=torch.long)  # the atom each open label is on
        self.partners = torch.full((batch, n_rings), -2, dtype=torch.long)  # atoms rings closed here reach
        self._ring_col = torch.full((len(classes),), -1, dtype=torch.long)
        self._ring_col[self.ring_ids] = torch.arange(n_rings)

    def allowed(self) -> torch.Tensor:
        ok = self.follows[self.prev].clone()
        inside = self.depth > 0
        ok[:, self.close_ids] &= inside.unsqueeze(1)
        ok[:, self.dot_ids] &= (~inside).unsqueeze(1)
        ok[:, self.eos_id] &= (~inside) & ~self.ring_open.any(1)
        cur = (self.atoms - 1).unsqueeze(1)
        bonded = ((self.ring_atom == cur) | (self.ring_atom == self.parent.unsqueeze(1))
                  | (self.ring_atom.unsqueeze(2) == self.partners.unsqueeze(1)).any(2))
        ok[:, self.ring_ids] &= ~(self.ring_open & bonded)
        return ok

    def restrict(self, logits: torch.Tensor, temperature: float = 1.0, steps_left: int | None = None
                 ) -> torch.Tensor:
        """Sampling weights, float of shape (batch, vocab), from next-token ``logits`` of that shape:
        ``softmax(logits / temperature)`` kept on the allowed tokens, and the probability of ``<eos>``
        where the grammar forbids ending moved to the allowed tokens that close an open ring or branch
        (in proportion to their own probability; evenly when it is 0), so that "end here" becomes
        "close what is open" rather than whatever else the model ranks next. A row whose weights
        underflow to 0 gets ``softmax`` over its allowed tokens alone. ``steps_left`` (tokens that may
        still be drawn, ``<eos>`` included): a row with no more room than it needs to finish draws only
        the tokens that bring it closer (:meth:`finish_in_time`)."""
        ok = self.allowed()
        if steps_left is not None:
            ok = self.finish_in_time(ok, steps_left)
        probs = torch.softmax(logits / temperature, dim=-1)
        moved = probs[:, self.eos_id] * ~ok[:, self.eos_id]
        closers = ok & self._closing()
        own = probs * closers
        total = own.sum(1, keepdim=True)
        even = closers / closers.sum(1, keepdim=True).clamp(min=1)
        share = torch.where(total > 0, own / total.clamp(min=1e-30), even)
        weights = probs * ok + share * moved.unsqueeze(1)
        empty = weights.sum(1) <= 0
        if bool(empty.any()):
            weights[empty] = torch.softmax(logits[empty].masked_fill(~ok[empty], float("-inf")) / temperature, -1)
        return weights

    def finish_in_time(self, ok: torch.Tensor, steps_left: int) -> torch.Tensor:
        """``ok`` (bool (batch, vocab)) without the tokens after which the string could no longer finish
        within ``steps_left`` tokens (``<eos>`` included). What a state needs to finish is counted as one
        ``)`` per open branch, a digit and an atom per open ring (rings opened on one atom cannot close
        on one atom: ``C12CC12`` bonds the same pair twice), an atom where one must come next (also after
        ``)`` while a ring is open: a digit follows an atom) and, while a
        ring is open, the atoms still needed before the ring opened last may close (two after the atom
        that opened it: a ring cannot close on that atom or its neighbour); then ``<eos>``. So a string
        nearing the length cap closes what is open instead of being cut; a row this would leave no
        token keeps ``ok``."""
        cls = self.classes
        n_rings = self.ring_open.sum(1)
        needs_atom = ((self.prev == START) | (self.prev == BOND) | (self.prev == BRANCH_BOND) | (self.prev == OPEN)
                      | (self.prev == DOT) | ((self.prev == CLOSE) & (n_rings > 0))).long()  # no digit after ")"
        if self.ring_open.shape[1]:  # a vocabulary without ring digits has no ring to wait for
            gap = self.atoms - 1 - torch.where(self.ring_open, self.ring_atom, -1).max(1).values
        else:
            gap = torch.zeros_like(n_rings)
        wait = torch.where(n_rings > 0, (2 - gap).clamp(min=0), 0)
        # one token adds at most 4 to what is needed (a ring opened: its digit, an atom, two atoms' wait)
        if not bool((self.depth + 2 * n_rings + needs_atom + wait + 6 >= steps_left).any()):
            return ok
        b, v = ok.shape
        depth = self.depth.unsqueeze(1).expand(b, v).clone()
        rings = n_rings.unsqueeze(1).expand(b, v).clone()
        wait_after = wait.unsqueeze(1).expand(b, v).clone()
        atom = torch.zeros(b, v, dtype=torch.long)
        atom[:, (cls == BOND) | (cls == OPEN) | (cls == DOT)] = 1
        depth[:, cls == OPEN] += 1
        depth[:, cls == CLOSE] -= 1
        wait_after[:, cls == ATOM] = (wait - 1).clamp(min=0).unsqueeze(1)
        rings[:, self.ring_ids] += torch.where(self.ring_open, -1, 1)
        wait_after[:, self.ring_ids] = torch.where(self.ring_open, wait.unsqueeze(1), 2)
        wait_after = torch.where(rings > 0, wait_after, 0)
        atom[:, cls == CLOSE] = (n_rings > 0).long().unsqueeze(1)
        fits = depth + 2 * rings + atom + wait_after <= steps_left - 2
        fits[:, self.eos_id] = True
        narrowed = ok & fits
        return torch.where(narrowed.any(1, keepdim=True), narrowed, ok)

    def _closing(self) -> torch.Tensor:
        """Bool (batch, vocab): the tokens that close something open (an open ring label, ``)``
        inside a branch), before the grammar's other checks."""
        out = torch.zeros(len(self.prev), len(self.classes), dtype=torch.bool)
        out[:, self.ring_ids] = self.ring_open
        out[:, self.close_ids] = (self.depth > 0).unsqueeze(1)
        return out

    def step(self, ids: torch.Tensor, done: torch.Tensor) -> None:
        """Advance the rows that are not ``done`` (bool, shape (batch,)) by the tokens ``ids``."""
        live = ~done
        cls = self.classes[ids]
        rows = torch.arange(len(ids))
        atom = live & (cls == ATOM)
        self.parent = torch.where(atom, self.attach, self.parent)
        self.attach = torch.where(atom, self.atoms, self.attach)
        self.partners[atom] = -2
        self.atoms += atom.long()
        opening = live & (cls == OPEN)
        self.stack[rows[opening], self.depth[opening]] = self.attach[opening]
        self.depth += opening.long()
        closing = live & (cls == CLOSE)
        self.depth -= closing.long()
        self.attach = torch.where(closing, self.stack[rows, self.depth.clamp(min=0)], self.attach)
        self.attach = torch.where(live & (cls == DOT), torch.full_like(self.attach, -1), self.attach)
        ring = live & (cls == RING)
        if bool(ring.any()):
            r, j = rows[ring], self._ring_col[ids[ring]]
            was_open = self.ring_open[r, j]
            self.partners[r[was_open], j[was_open]] = self.ring_atom[r[was_open], j[was_open]]
            self.ring_atom[r, j] = torch.where(was_open, torch.full_like(j, -1), self.atoms[r] - 1)
            self.ring_open[r, j] = ~was_open
        after_branch = (cls == BOND) & ((self.prev == OPEN) | (self.prev == CLOSE))
        new_prev = torch.where(after_branch, torch.full_like(cls, BRANCH_BOND), cls)
        self.prev = torch.where(live, new_prev, self.prev)
