"""Parse and standardise one molecule with RDKit, reporting every change (no silent repair).

Standardisation follows RDKit's MolStandardize (Landrum et al., RDKit; after MolVS by M. Swain):
the largest organic fragment counted by heavy atoms (``LargestFragmentChooser`` with
``preferOrganic`` and ``largestFragmentChooserCountHeavyAtomsOnly``), then neutralisation
(``Uncharger``), then, optionally, the canonical tautomer (``TautomerEnumerator.Canonicalize``).
Identity is the standard InChIKey of the parent (IUPAC InChI, Heller et al. 2015).

A SMILES that RDKit cannot parse or sanitise (an unclosed ring, a neutral four-bonded nitrogen) is
*not* repaired: :func:`parse_smiles` returns the reason RDKit gives and the caller reports it.

Ctrl-C: RDKit's substructure search (used by ``Uncharger`` and the PAINS/Brenk catalogues) installs its
own SIGINT handler (``RDKit::ControlCHandler``, RDKit 2025.03 on) and, when such searches nest, leaves it
installed, so every later Ctrl-C only set an RDKit flag and Python never raised KeyboardInterrupt. :class:`Standardizer`
calls (and the screening loop, :mod:`serendip.chem.screen`) run inside :func:`python_sigint`, which puts
Python's handler back.
"""
from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from rdkit import Chem, rdBase
from rdkit.Chem.MolStandardize import rdMolStandardize

__all__ = ["Parent", "Standardizer", "parse_smiles", "python_sigint"]


@contextlib.contextmanager
def python_sigint() -> Iterator[None]:
    """Run RDKit code with Ctrl-C (SIGINT) kept for Python.

    RDKit's substructure search installs its own SIGINT handler (``RDKit::ControlCHandler``, which only
    sets a flag that stops the search) and, when searches nest (``Uncharger``), leaves it installed, so
    Ctrl-C never reached Python again. In the main thread this installs Python's handler on entry and
    again on leaving, and blocks SIGINT in this thread for the block: a Ctrl-C sent to it meanwhile
    stays pending and raises KeyboardInterrupt right after the block. One that the kernel hands to
    another thread of the process while RDKit's handler is installed is taken by RDKit (the search stops
    early); the next Ctrl-C reaches Python. In other threads (which cannot install handlers) it does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.getsignal(signal.SIGINT)
    if handler is not None:  # None: a handler not installed from Python; leave it
        signal.signal(signal.SIGINT, handler)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if handler is not None:
            signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _clean(message: str) -> str:
    """RDKit's log line without its ``[hh:mm:ss]`` stamp, on one line."""
    text = " ".join(message.split())
    if text.startswith("[") and "]" in text[:12]:
        text = text.split("]", 1)[1].strip()
    return text


def _parse_reason(messages: str, smiles: str) -> str:
    """RDKit's parse-error log as one line without the SMILES repeated: RDKit echoes the input (Python-
    quoted, "for input: 'C,C'", "while parsing: C,C"), draws a caret under it and ends with "Failed
    parsing SMILES 'C,C'"; the caller names the SMILES, so only the reasons are kept
    (``"SMILES Parse Error: syntax error; check for mistakes around position 2"``)."""
    reasons = []
    for line in messages.splitlines():
        text = _clean(line)
        if not text or text == smiles or set(text) <= set("~^ ") or "Failed parsing SMILES" in text:
            continue
        text = re.sub(r"\s*(for input: '.*'|while parsing: .*)$", "", text).rstrip(":")
        reasons.append(text.removeprefix("SMILES Parse Error:").strip())
    return "SMILES Parse Error: " + ("; ".join(dict.fromkeys(r for r in reasons if r)) or "cannot parse")


#: SMILES longer than this many characters are refused unparsed: the longest drug-like SMILES are a few
#: hundred characters, and RDKit takes minutes on a megabyte-long chain (a damaged line)
MAX_SMILES_CHARS = 10_000


def parse_smiles(smiles: str) -> tuple[Chem.Mol | None, str | None]:
    """Parse and sanitise ``smiles`` with RDKit (refused unparsed when longer than
    :data:`MAX_SMILES_CHARS` characters).

    Parameters
    ----------
    smiles : str
        One SMILES string (surrounding whitespace is the caller's business).

    Returns
    -------
    (Mol or None, str or None)
        The sanitised molecule and ``None``, or ``None`` and RDKit's reason
        (``"SMILES Parse Error: unclosed ring"``,
        ``"Explicit valence for atom # 1 N, 4, is greater than permitted"``).
    """
    if not smiles:
        return None, "empty SMILES"
    if len(smiles) > MAX_SMILES_CHARS:
        return None, f"a SMILES of {len(smiles):,} characters, longer than {MAX_SMILES_CHARS:,}: not parsed"
    with rdBase.CaptureErrorLog() as capture:
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        return None, _parse_reason(capture.messages, smiles)
    if mol.GetNumAtoms() == 0:
        return None, "no atoms"
    try:
        with rdBase.BlockLogs():
            Chem.SanitizeMol(mol)
    except Exception as exc:  # AtomValenceException, KekulizeException, ...
        return None, _clean(str(exc)) or type(exc).__name__
    return mol, None


@dataclass
class Parent:
    """A standardised molecule and what standardisation did to it.

    Attributes
    ----------
    mol : rdkit.Chem.Mol
        The parent molecule (largest organic fragment, neutralised, tautomer if asked).
    smiles : str
        Its canonical SMILES (RDKit, isomeric).
    inchikey : str
        Its standard InChIKey (27 characters), the molecule's identity.
    n_fragments : int
        Fragments in the input (``"CC(=O)[O-].[Na+]"``: 2).
    largest_fragment : str
        Canonical SMILES of the kept fragment before neutralisation (``"CC(=O)[O-]"``).
    changes : list of str
        One line per change (``"kept the largest of 2 fragments, removed [Na+]"``, ``"neutralised"``,
        ``"canonical tautomer"``); empty when the input already was its parent.
    """

    mol: Chem.Mol
    smiles: str
    inchikey: str
    n_fragments: int
    largest_fragment: str
    changes: list[str] = field(default_factory=list)


class Standardizer:
    """RDKit MolStandardize as a callable: ``Standardizer()(mol) -> Parent``.

    Parameters
    ----------
    tautomer : bool, default False
        Also replace the molecule by RDKit's canonical tautomer (slow: about 1 ms a molecule, and
        it may move stereocentres; off by default).
    """

    def __init__(self, tautomer: bool = False):
        self.tautomer = tautomer
        params = rdMolStandardize.CleanupParameters()
        params.preferOrganic = True
        params.largestFragmentChooserCountHeavyAtomsOnly = True
        self._chooser = rdMolStandardize.LargestFragmentChooser(params)
        self._uncharger = rdMolStandardize.Uncharger()
        self._tautomers = rdMolStandardize.TautomerEnumerator() if tautomer else None

    def __call__(self, mol: Chem.Mol) -> Parent:
        """Standardise a sanitised molecule.

        Raises
        ------
        ValueError
            RDKit failed on the molecule (the message is RDKit's) or no InChIKey could be made.
        KeyboardInterrupt
            Ctrl-C during the call, raised when RDKit returns (:func:`python_sigint`).
        """
        with python_sigint(), rdBase.BlockLogs():
            changes: list[str] = []
            frags = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
            with python_sigint():  # each RDKit call that may leave RDKit's SIGINT handler: Python's back at once
                kept = self._chooser.choose(mol) if len(frags) > 1 else Chem.Mol(mol)
            largest = Chem.MolToSmiles(kept)
            if len(frags) > 1:
                removed = sorted(Chem.MolToSmiles(f) for f in frags)
                if largest in removed:
                    removed.remove(largest)
                changes.append(f"kept the largest of {len(frags)} fragments ({largest}), "
                               f"removed {'.'.join(removed)}")
            with python_sigint():
                neutral = self._uncharger.uncharge(kept)
            smiles = Chem.MolToSmiles(neutral)
            if smiles != largest:
                changes.append(f"neutralised {largest} -> {smiles}")
            if self._tautomers is not None:
                with python_sigint():
                    taut = self._tautomers.Canonicalize(neutral)
                taut_smiles = Chem.MolToSmiles(taut)
                if taut_smiles != smiles:
                    changes.append(f"canonical tautomer {smiles} -> {taut_smiles}")
                neutral, smiles = taut, taut_smiles
            key = Chem.MolToInchiKey(neutral)
        if not key:
            raise ValueError(f"no InChIKey for {smiles}")
        return Parent(neutral, smiles, key, len(frags), largest, changes)
