"""Drug discovery and molecular design (issue 18): molecules in, property models beside Chemprop.

A domain package: it registers into the engine's registries and is never imported by the engine;
:func:`serendip.models.plugins.load_domains` imports it. Needs the ``chem`` extra
(``pip install 'serendip[chem]'``: RDKit, chemprop 2.3, LightGBM).

Registries: :data:`~serendip.chem.readers.MOLECULE_READERS` (``smiles``, ``sdf``),
:data:`~serendip.chem.featurizers.FEATURIZERS` (``morgan``, ``morgan-counts``, ``ecfp4``,
``ecfp6-counts``, ``rdkit2d``, ``maccs``), :data:`~serendip.chem.splits.SPLITTERS` (``random``,
``scaffold``, ``stratified``, ``kfold``) and :data:`~serendip.chem.models.PROPERTY_MODELS` (``rf``,
``rf-morgan``, ``rf-counts``, ``gbm``, ``chemprop``, ``serendip``, ``serendip+chemprop``). Importing it
also registers ``DATA_READERS["smiles"]`` into the engine (:mod:`serendip.chem.data_reader`): a
molecule file read as standardised SMILES examples, so ``serendip finetune`` trains on it;
``AUGMENTATIONS["randomized_smiles"]`` (SMILES enumeration, :mod:`serendip.chem.augment`); and
``TOKENIZERS["smiles"]`` with ``PRETRAIN_CORPORA["smiles"]`` (the atom-level SMILES tokenizer and a
corpus of one molecule a sequence, :mod:`serendip.chem.smiles_tokenizer`), so ``serendip pretrain``
pre-trains a SMILES BERT.

Modules: :mod:`~serendip.chem.standardize` (RDKit parsing with RDKit's reason, MolStandardize parent,
InChIKey), :mod:`~serendip.chem.readers` (files to located records), :mod:`~serendip.chem.molecules`
(checked, standardised, merged :class:`MoleculeSet`), :mod:`~serendip.chem.featurizers`,
:mod:`~serendip.chem.splits` (and Chemprop split files), :mod:`~serendip.chem.models`,
:mod:`~serendip.chem.chemprop_backend`, :mod:`~serendip.chem.uncertainty` (split conformal, applicability
domain), :mod:`~serendip.chem.scoring` (figures, an undefined one named with its reason),
:mod:`~serendip.chem.folders` (a model folder written whole, replaced only with ``force``) and
:mod:`~serendip.chem.api` (train / predict / save / load, wrapped by ``serendip chem``).
Goal-directed design (oracles, budgets, the graph GA, property-model objectives with constraints and an
applicability-domain penalty): :mod:`serendip.chem.design`; generation (a SMILES language model and the
MOSES metrics): :mod:`serendip.chem.generate`, with the atom-level SMILES tokenizer
:mod:`serendip.chem.tokenize`; library screening (streamed, resumable, filtered, MaxMin picks):
:func:`serendip.chem.screen.screen_library`; the self-contained HTML report of designed candidates:
:mod:`serendip.chem.report` (``serendip chem report``). None of them is imported here.
"""
from serendip.chem import augment as _augment  # noqa: F401  (registers AUGMENTATIONS["randomized_smiles"])
from serendip.chem import data_reader as _data_reader  # noqa: F401  (registers DATA_READERS["smiles"])
from serendip.chem import smiles_tokenizer as _smiles_tokenizer  # noqa: F401  (TOKENIZERS/PRETRAIN_CORPORA["smiles"])
from serendip.chem.featurizers import FEATURIZERS, featurize
from serendip.chem.models import PROPERTY_MODELS, make_model
from serendip.chem.molecules import (
           Duplicate,
           Molecule,
           MoleculeIssue,
           MoleculeSet,
           read_molecules,
)
from serendip.chem.readers import MOLECULE_READERS
from serendip.chem.splits import SPLITTERS, Split, make_split, write_chemprop_splits
from serendip.chem.standardize import Standardizer
from serendip.chem.uncertainty import ApplicabilityDomain, SplitConformal

__all__ = ["FEATURIZERS", "MOLECULE_READERS", "PROPERTY_MODELS", "SPLITTERS", "ApplicabilityDomain",
           "Duplicate", "Molecule", "MoleculeIssue", "MoleculeSet", "Split", "SplitConformal",
           "Standardizer", "featurize", "make_model", "make_split", "read_molecules", "write_chemprop_splits"]
