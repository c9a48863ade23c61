"""Molecule generation (issue 18, item 6): a SMILES language model trained under a wall-clock budget,
sampling with temperature, and the MOSES metrics.

Modules: :mod:`~serendip.chem.generate.model` (the LSTM, sampling, the model folder),
:mod:`~serendip.chem.generate.train` (reading SMILES files, the budgeted training loop),
:mod:`~serendip.chem.generate.metrics` (validity, unique@k, novelty, IntDiv1/2, scaffold novelty, SNN,
Frag, Scaf, FCD). The functions below are what ``serendip chem generate train|sample|evaluate`` wrap.
Tokenisation: :mod:`serendip.chem.tokenize`; the masks used while sampling:
:mod:`~serendip.chem.generate.syntax` (grammar) and :mod:`~serendip.chem.generate.valence`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from serendip.chem.generate.metrics import (
    Evaluation,
    ReferenceStats,
    evaluate,
    parse_all,
    scaffold_of,
)
from serendip.chem.generate.model import GeneratorConfig, SmilesGenerator
from serendip.chem.generate.train import (
    SmilesIssue,
    TrainResult,
    read_smiles_file,
    train_generator,
)
from serendip.errors import DataError

__all__ = ["Evaluation", "GeneratorConfig", "ReferenceStats", "SmilesGenerator", "SmilesIssue", "TrainResult",
           "evaluate", "evaluate_file", "read_smiles_file", "reference_stats", "sample_to_file", "train_file",
           "train_reference"]


def train_file(path: Path, out: Path, *, config: GeneratorConfig | None = None, **kwargs) -> TrainResult:
    """Read the SMILES of ``path`` (:func:`read_smiles_file`) and train a generator into the folder
    ``out`` (:func:`train_generator`, whose keyword arguments pass through; SMILES it cannot train on
    are left out and listed in ``issues`` with file, line and reason; a blank line among them too)."""
    smiles, lines = read_smiles_file(path, blank_lines="keep-rows")
    return train_generator(smiles, out, config=config, file=str(path), lines=lines, **kwargs)


def sample_to_file(model_dir: Path, n: int, out: Path | None, *, temperature: float = 1.0, seed: int = 0,
                   batch_size: int = 1000, max_length: int | None = None, mask: str = "syntax",
                   on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Draw ``n`` SMILES from the model folder ``model_dir`` (:meth:`SmilesGenerator.sample`) and, when
    ``out`` is given, write them one a line under a ``SMILES`` header (an empty line for an empty draw).
    Returns the strings."""
    model = SmilesGenerator.load(model_dir)
    smiles = model.sample(n, temperature=temperature, seed=seed, batch_size=batch_size, max_length=max_length,
                          mask=mask, on_batch=on_batch)
    if out is not None:
        Path(out).write_text("SMILES\n" + "".join(s + "\n" for s in smiles), encoding="utf-8")
    return smiles


def train_reference(train_smiles: Sequence[str]) -> tuple[set[str], set[str]]:
    """(canonical SMILES, Bemis-Murcko scaffolds) of the training molecules, for novelty and scaffold
    novelty; invalid training SMILES add nothing (:func:`evaluate_file` counts them)."""
    return _train_reference(train_smiles)[:2]


def _train_reference(train_smiles: Sequence[str]) -> tuple[set[str], set[str], int]:
    from serendip.chem.generate.metrics import canonical

    parsed = parse_all(train_smiles)
    mols = [m for m in parsed if m is not None]
    scaffolds = {s for s in (scaffold_of(m) for m in mols) if s is not None}
    return set(canonical(mols)), scaffolds, len(parsed) - len(mols)


def reference_stats(smiles_file: Path, cache: Path | None = None,
                    on_stage: Callable[[str], None] | None = None) -> ReferenceStats:
    """:class:`ReferenceStats` of a SMILES file, read from ``cache`` when it holds them (the folder is
    trusted: delete it when the file changes) and written there otherwise."""
    if cache is not None and (Path(cache) / "stats.npz").is_file():
        return ReferenceStats.load(cache)
    smiles, _ = read_smiles_file(smiles_file)
    stats = ReferenceStats.compute(smiles, on_stage=on_stage)
    if cache is not None:
        stats.save(cache)
    return stats


def evaluate_file(gen_file: Path, *, train_file: Path | None = None, test_file: Path | None = None,
                  test_sf_file: Path | None = None, cache: Path | None = None,
                  on_stage: Callable[[str], None] | None = None) -> Evaluation:
    """The MOSES metrics (:func:`evaluate`) of the SMILES in ``gen_file`` against the training file
    (novelty, scaffold novelty), the test file (``/Test`` metrics) and the scaffold-test file
    (``/TestSF``); reference statistics are cached under ``cache/<file name>``. Every line of
    ``gen_file`` is a draw: an empty line (an empty draw, as :func:`sample_to_file` writes it) is an
    invalid sample. ``train_file`` is read as :func:`train_file` reads it (``blank_lines="keep-rows"``), so
    a file training accepted is accepted here: ``counts["n_train_blank"]`` is the number of its rows with
    no SMILES, ``counts["n_train_too_long"]`` that of its SMILES longer than
    :data:`~serendip.chem.standardize.MAX_SMILES_CHARS` characters (not parsed) and
    ``counts["n_train_rejected"]`` that of the others RDKit rejects, all left out of the
    novelty reference. Raises DataError when ``train_file`` has no SMILES at all (novelty would be 1.0
    against nothing)."""
    gen, _ = read_smiles_file(gen_file, blank_lines="keep")
    train_canon = train_scafs = None
    if train_file is not None:
        if on_stage:
            on_stage("training set (canonical SMILES, scaffolds)")
        train_smiles = read_smiles_file(train_file, blank_lines="keep-rows")[0]
        given = [s for s in train_smiles if s]
        if not given:
            rows = f"{len(train_smiles):,} rows, none with a SMILES" if train_smiles else "a header and no rows"
            raise DataError(f"{train_file}: no training SMILES to measure novelty against ({rows})")
        from serendip.chem.standardize import MAX_SMILES_CHARS

        n_long = sum(len(smi) > MAX_SMILES_CHARS for smi in given)  # never parsed: damaged lines, not chemistry
        train_canon, train_scafs, n_rejected = _train_reference(given)
    refs = {}
    for name, f in (("Test", test_file), ("TestSF", test_sf_file)):
        if f is not None:
            refs[name] = reference_stats(f, None if cache is None else Path(cache) / Path(f).name, on_stage)
    ev = evaluate(gen, train_canonical=train_canon, train_scaffolds=train_scafs, refs=refs, on_stage=on_stage)
    if train_file is not None:
        ev.counts["n_train_rejected"] = n_rejected - n_long
        ev.counts["n_train_too_long"] = n_long
        ev.counts["n_train_blank"] = len(train_smiles) - len(given)
    return ev
