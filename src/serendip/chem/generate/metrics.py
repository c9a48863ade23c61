"""The MOSES metrics of a set of generated SMILES, implemented from their published definitions.

Source: Polykovskiy et al. 2020, "Molecular Sets (MOSES): A Benchmarking Platform for Molecular
Generation Models", Front. Pharmacol. 11:565644, and its code (github.com/molecularsets/moses,
``moses/metrics/metrics.py`` and ``moses/metrics/utils.py``, read for the exact definitions):

- **valid**: share of the strings RDKit parses (``Chem.MolFromSmiles`` with sanitisation; "" invalid).
- **unique@k**: share of distinct canonical SMILES among the first k valid strings (all of them, with
  ``k_used`` < k recorded, when fewer than k are valid; MOSES warns then).
- **novelty**: share of the distinct valid canonical SMILES not in the training set. MOSES compares
  with its 1.58M-molecule train split as stored; here the training SMILES are canonicalised with the
  same RDKit as the samples, so a spelling difference between RDKit versions is not counted novel.
- **IntDiv1 / IntDiv2**: ``1 - mean_i (mean_j T_ij^p)^(1/p)`` over all ordered pairs (i, j) of the
  valid samples, self-pairs included, with p = 1 / 2 and T the Tanimoto similarity of Morgan
  fingerprints (radius 2, 1024 bits). Computed exactly, as MOSES does, on all pairs, blockwise on the
  CPU (:func:`average_agg_tanimoto`, float32 matrix products of 0/1 fingerprints, 2,048-row blocks).
- **SNN**: mean over the valid samples of the largest Tanimoto similarity to a reference molecule.
- **Frag / Scaf**: cosine similarity of the count vectors of BRICS fragments / of Bemis-Murcko
  scaffolds with at least 2 rings (``compute_scaffold(min_rings=2)``) in samples and reference.
- **FCD**: Fréchet ChemNet Distance (Preuer et al. 2018, J. Chem. Inf. Model. 58:1736) with
  ``fcd_torch`` (ChemNet weights shipped in the wheel), valid samples against the reference.
- **scaffold novelty** (not a MOSES metric; issue 18 asks for it): share of the distinct Bemis-Murcko
  scaffolds (any ring count, acyclic molecules left out) of the valid samples that no training
  molecule has.

Duplicates count as MOSES counts them: valid samples enter IntDiv, SNN, Frag, Scaf and FCD with their
repeats.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from serendip.errors import DataError

MORGAN_RADIUS, MORGAN_BITS = 2, 1024


def _mol(smiles: str):
    from rdkit import Chem

    from serendip.chem.standardize import MAX_SMILES_CHARS

    # a damaged, megabyte-long line is an invalid sample, not minutes of RDKit
    return Chem.MolFromSmiles(smiles) if smiles and len(smiles) <= MAX_SMILES_CHARS else None


def _quiet():
    from rdkit import rdBase

    return rdBase.BlockLogs()


def parse_all(smiles: Sequence[str]) -> list:
    """RDKit molecules of ``smiles`` (None for an invalid string), RDKit's log silenced."""
    with _quiet():
        return [_mol(s) for s in smiles]


def canonical(mols: Sequence) -> list[str | None]:
    """Canonical SMILES of each molecule (None stays None)."""
    from rdkit import Chem

    return [None if m is None else Chem.MolToSmiles(m) for m in mols]


def fraction_valid(mols: Sequence) -> float:
    """valid: share of non-None in ``mols`` (from :func:`parse_all`). Raises DataError when empty."""
    if not len(mols):
        raise DataError("no generated SMILES to evaluate")
    return 1.0 - sum(m is None for m in mols) / len(mols)


def fraction_unique(valid_canonical: Sequence[str], k: int | None = None) -> tuple[float, int]:
    """(unique@k, k_used): distinct share of the first ``k`` canonical SMILES of the valid samples."""
    head = list(valid_canonical[:k] if k else valid_canonical)
    if not head:
        return 0.0, 0
    return len(set(head)) / len(head), len(head)


def novelty(valid_canonical: Sequence[str], train_canonical: set[str]) -> float:
    """Share of the distinct generated canonical SMILES not in ``train_canonical``."""
    gen = set(valid_canonical)
    return len(gen - train_canonical) / len(gen) if gen else 0.0


def morgan_fingerprints(mols: Sequence) -> np.ndarray:
    """uint8 array of shape (n, 1024): Morgan bits, radius 2 (MOSES's ``fingerprint(fp_type='morgan')``)."""
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)
    out = np.zeros((len(mols), MORGAN_BITS), dtype=np.uint8)
    for i, m in enumerate(mols):
        out[i] = gen.GetFingerprintAsNumPy(m)
    return out


def average_agg_tanimoto(ref: np.ndarray, gen: np.ndarray, *, agg: str = "max", p: float = 1.0,
                         block: int = 2048) -> float:
    """Mean over the rows of ``gen`` of the max (``agg="max"``) or power mean ``(mean_j T^p)^(1/p)``
    (``agg="mean"``) of their Tanimoto similarities to every row of ``ref``; both 0/1 arrays of shape
    (n, bits). Exact, over all pairs, in blocks of ``block`` rows (memory ``block**2`` float32). Two
    empty fingerprints have similarity 1 (MOSES sets 0/0 to 1). Source: MOSES
    ``metrics/utils.py::average_agg_tanimoto``."""
    if agg not in ("max", "mean"):
        raise ValueError(f"agg must be 'max' or 'mean', got {agg!r}")
    if not len(gen) or not len(ref):
        raise DataError("Tanimoto aggregate of an empty set")
    acc = np.zeros(len(gen), dtype=np.float64)
    gen_f = gen.astype(np.float32)
    gen_n = gen_f.sum(1)
    for j in range(0, len(ref), block):
        r = ref[j:j + block].astype(np.float32)
        r_n = r.sum(1)
        for i in range(0, len(gen_f), block):
            tp = r @ gen_f[i:i + block].T  # (ref block, gen block)
            denom = r_n[:, None] + gen_n[None, i:i + block] - tp
            jac = np.where(denom > 0, tp / np.maximum(denom, 1e-9), np.float32(1.0))
            if agg == "max":
                np.maximum(acc[i:i + block], jac.max(0), out=acc[i:i + block])
            else:
                acc[i:i + block] += (jac ** p if p != 1 else jac).sum(0, dtype=np.float64)
    if agg == "mean":
        acc /= len(ref)
        if p != 1:
            acc **= 1.0 / p
    return float(acc.mean())


def internal_diversity(fps: np.ndarray, p: float = 1.0) -> float:
    """IntDiv_p = 1 - power-mean Tanimoto over all ordered pairs of ``fps`` (self-pairs included)."""
    return 1.0 - average_agg_tanimoto(fps, fps, agg="mean", p=p)


def internal_diversities(fps: np.ndarray, block: int = 2048) -> tuple[float, float]:
    """(IntDiv1, IntDiv2) of ``fps`` in one blockwise pass over all ordered pairs (the same values as
    :func:`internal_diversity` with p = 1 and p = 2, at half the cost)."""
    if not len(fps):
        raise DataError("internal diversity of an empty set")
    f = fps.astype(np.float32)
    cnt = f.sum(1)
    s1 = np.zeros(len(f), dtype=np.float64)
    s2 = np.zeros(len(f), dtype=np.float64)
    for j in range(0, len(f), block):
        for i in range(0, len(f), block):
            tp = f[j:j + block] @ f[i:i + block].T
            denom = cnt[j:j + block, None] + cnt[None, i:i + block] - tp
            jac = np.where(denom > 0, tp / np.maximum(denom, 1e-9), np.float32(1.0))
            s1[i:i + block] += jac.sum(0, dtype=np.float64)
            s2[i:i + block] += (jac * jac).sum(0, dtype=np.float64)
    n = len(f)
    return 1.0 - float((s1 / n).mean()), 1.0 - float(np.sqrt(s2 / n).mean())


def brics_fragments(mols: Sequence) -> Counter:
    """Counts of BRICS fragments (canonical SMILES with dummy atoms) over ``mols`` (MOSES ``fragmenter``:
    ``FragmentOnBRICSBonds``)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    counts: Counter = Counter()
    for m in mols:
        counts.update(Chem.MolToSmiles(AllChem.FragmentOnBRICSBonds(m)).split("."))
    return counts


def scaffold_of(mol, min_rings: int = 0) -> str | None:
    """Bemis-Murcko scaffold SMILES of ``mol``; None when empty or with fewer than ``min_rings`` rings."""
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    try:
        scaf = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    smi = Chem.MolToSmiles(scaf)
    if not smi or scaf.GetRingInfo().NumRings() < min_rings:
        return None
    return smi


def scaffold_counts(mols: Sequence, min_rings: int = 2) -> Counter:
    """Counts of scaffolds with at least ``min_rings`` rings (MOSES ``compute_scaffolds``)."""
    return Counter(s for s in (scaffold_of(m, min_rings) for m in mols) if s is not None)


def cos_similarity(ref: Counter, gen: Counter) -> float:
    """Cosine similarity of two count dictionaries (absent keys are 0); NaN when either is empty."""
    if not ref or not gen:
        return float("nan")
    keys = list(set(ref) | set(gen))
    a = np.array([ref.get(k, 0) for k in keys], dtype=np.float64)
    b = np.array([gen.get(k, 0) for k in keys], dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _chemnet_activations(smiles: Sequence[str], batch_size: int = 512) -> np.ndarray:
    try:
        import torch
        from fcd_torch import FCD
        from fcd_torch.utils import SmilesDataset
    except ImportError:
        raise DataError("FCD needs fcd_torch (pip install 'serendip[chem]', or pip install fcd_torch)") from None
    model = FCD(device="cpu", n_jobs=1, batch_size=batch_size).model  # ChemNet, weights in the wheel
    loader = torch.utils.data.DataLoader(SmilesDataset(list(smiles), canonize=True), batch_size=batch_size)
    out = []
    with torch.no_grad():
        for batch in loader:
            # a copy: the output is a view of a per-batch intermediate, which .numpy() would keep alive
            # (about 85 kB per molecule: 30 GB for the 176k MOSES test set)
            out.append(model(batch.transpose(1, 2).float()).numpy().copy())
    return np.vstack(out)


def fcd_statistics(smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(mu (512,), sigma (512, 512)) of ChemNet's penultimate activations (``fcd_torch``'s model and
    ``SmilesDataset``, whose ``canonize`` step re-spells each SMILES canonically, as its ``FCD`` class
    does). Raises DataError for fewer than 2 molecules."""
    if len(smiles) < 2:
        raise DataError(f"FCD needs at least 2 molecules, got {len(smiles)}")
    with _quiet():
        act = _chemnet_activations(smiles)
    return act.mean(0), np.cov(act.T)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance of two Gaussians, ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (Preuer et al.
    2018, eq. 1; computed as ``fcd_torch.utils.calculate_frechet_distance``: a 1e-6 ridge when the
    square root is not finite, its imaginary part dropped)."""
    from scipy import linalg

    diff = np.asarray(mu1) - np.asarray(mu2)
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        eye = np.eye(sigma1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((sigma1 + eye) @ (sigma2 + eye))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


@dataclass
class ReferenceStats:
    """What the metrics need of a reference set (MOSES test or test-scaffolds): FCD mean and
    covariance, Morgan fingerprints (SNN), BRICS fragment and scaffold counts (Frag, Scaf)."""
    n: int
    mu: np.ndarray
    sigma: np.ndarray
    fps: np.ndarray
    frag: Counter
    scaf: Counter
    n_invalid: int = 0

    @classmethod
    def compute(cls, smiles: Sequence[str], on_stage: Callable[[str], None] | None = None) -> "ReferenceStats":
        """The statistics of ``smiles``; an invalid reference SMILES is left out and counted in
        ``n_invalid``. Raises DataError when fewer than 2 are valid."""
        say = on_stage or (lambda s: None)
        say("parsing")
        mols = parse_all(smiles)
        keep = [(s, m) for s, m in zip(smiles, mols) if m is not None]
        if len(keep) < 2:
            raise DataError(f"reference set: {len(keep)} valid molecules, at least 2 needed")
        ok_smiles, ok_mols = [s for s, _ in keep], [m for _, m in keep]
        say("FCD activations")
        mu, sigma = fcd_statistics(ok_smiles)
        say("fingerprints, fragments, scaffolds")
        return cls(len(ok_mols), mu, sigma, np.packbits(morgan_fingerprints(ok_mols), axis=1),
                   brics_fragments(ok_mols), scaffold_counts(ok_mols), len(smiles) - len(ok_mols))

    def save(self, folder: Path) -> None:
        """``stats.npz`` (mu, sigma, packed fingerprints) and ``counts.json`` (n, fragments, scaffolds)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "stats.npz", mu=self.mu, sigma=self.sigma, fps=self.fps)
        (folder / "counts.json").write_text(json.dumps({"n": self.n, "n_invalid": self.n_invalid,
                                                        "frag": self.frag, "scaf": self.scaf}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "ReferenceStats":
        """Read :meth:`save`'s files. Raises DataError naming the folder when they are missing or damaged."""
        folder = Path(folder)
        try:
            with np.load(folder / "stats.npz", allow_pickle=False) as z:
                mu, sigma, fps = z["mu"], z["sigma"], z["fps"]
            c = json.loads((folder / "counts.json").read_text(encoding="utf-8"))
            return cls(int(c["n"]), mu, sigma, fps, Counter(c["frag"]), Counter(c["scaf"]), int(c["n_invalid"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{folder}: not reference statistics ({type(exc).__name__}: {exc})") from None


@dataclass
class Evaluation:
    """The metrics (name -> value) and counts behind them."""
    metrics: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def evaluate(gen: Sequence[str], *, train_canonical: set[str] | None = None,
             train_scaffolds: set[str] | None = None, refs: dict[str, ReferenceStats] | None = None,
             ks: Sequence[int] = (1000, 10000), on_stage: Callable[[str], None] | None = None) -> Evaluation:
    """The MOSES metrics of the strings ``gen`` (see the module docstring). ``train_canonical`` (canonical
    training SMILES) enables novelty; ``train_scaffolds`` (their :func:`scaffold_of` with min_rings 0)
    scaffold novelty; ``refs`` maps a name (``"Test"``, ``"TestSF"``) to :class:`ReferenceStats` for
    FCD/, SNN/, Frag/ and Scaf/ that name. ``counts``: ``n`` strings, ``n_valid``, ``n_unique`` (valid,
    canonical), ``n_empty`` (empty strings: empty draws, counted invalid). Raises DataError when ``gen`` is
    empty."""
    say = on_stage or (lambda s: None)
    say("parsing")
    mols = parse_all(gen)
    ev = Evaluation()
    ev.metrics["valid"] = fraction_valid(mols)
    valid = [m for m in mols if m is not None]
    canon = canonical(valid)
    ev.counts.update(n=len(gen), n_valid=len(valid), n_unique=len(set(canon)),
                     n_empty=sum(1 for s in gen if not s.strip()))
    for k in ks:
        ev.metrics[f"unique@{k // 1000}k" if k % 1000 == 0 else f"unique@{k}"], used = fraction_unique(canon, k)
        ev.counts[f"k_used@{k}"] = used
    if len(valid) < 2:
        return ev
    if train_canonical is not None:
        ev.metrics["novelty"] = novelty(canon, train_canonical)
    say("fingerprints")
    fps = morgan_fingerprints(valid)
    say("IntDiv (all pairs)")
    ev.metrics["IntDiv1"], ev.metrics["IntDiv2"] = internal_diversities(fps)
    if train_scaffolds is not None:
        scafs = {s for s in (scaffold_of(m) for m in valid) if s is not None}
        ev.metrics["scaffold_novelty"] = len(scafs - train_scaffolds) / len(scafs) if scafs else 0.0
    if refs:
        say("FCD activations")
        mu, sigma = fcd_statistics([s for s, m in zip(gen, mols) if m is not None])
        frag, scaf = brics_fragments(valid), scaffold_counts(valid)
        for name, ref in refs.items():
            say(f"FCD, SNN, Frag, Scaf vs {name}")
            ev.metrics[f"FCD/{name}"] = frechet_distance(ref.mu, ref.sigma, mu, sigma)
            ev.metrics[f"SNN/{name}"] = average_agg_tanimoto(np.unpackbits(ref.fps, axis=1)[:, :MORGAN_BITS], fps)
            ev.metrics[f"Frag/{name}"] = cos_similarity(ref.frag, frag)
            ev.metrics[f"Scaf/{name}"] = cos_similarity(ref.scaf, scaf)
    return ev
