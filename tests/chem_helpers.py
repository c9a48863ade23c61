"""Small molecule sets for the serendip.chem tests."""
from __future__ import annotations


def small_set() -> list[str]:
    """192 small molecules (benzenes, pyridines, cyclohexanes with one or two substituents)."""
    subs = ["C", "O", "N", "Cl", "F", "C(=O)O", "OC", "C#N"]
    cores = [("c1ccccc1{}", "c1ccc({})cc1{}"), ("c1ccncc1{}", "c1cnc({})cc1{}"), ("C1CCCCC1{}", "C1CCC({})CC1{}")]
    out = []
    for one, two in cores:
        out += [one.format(s) for s in subs]
        out += [two.format(a, b) for a in subs for b in subs if a != b]
    return out


def tiny_model_folder(folder, n: int = 120, oof_folds: int = 0):
    """Train and save a small regression model (Crippen logP of :func:`small_set`, a 30-tree forest on
    Morgan counts + a 60-round LightGBM on MACCS) into ``folder`` in a few seconds (``oof_folds``: with
    out-of-fold training predictions); returns the folder."""
    from rdkit import Chem
    from rdkit.Chem import Crippen

    from serendip.chem.api import train
    from serendip.chem.models import PROPERTY_MODELS, EnsembleModel, FeatureModel

    def tiny(task: str, seed: int) -> EnsembleModel:
        return EnsembleModel([FeatureModel("rf", "morgan-counts", task, seed, {"n_estimators": 30}),
                              FeatureModel("gbm", "maccs", task, seed, {"n_estimators": 60})], task)

    smi = small_set()[:n]
    data = folder.parent / f"{folder.name}-train.csv"
    data.write_text("name,smiles,logp\n" + "".join(f"m{i},{s},{Crippen.MolLogP(Chem.MolFromSmiles(s)):.4f}\n"
                                                   for i, s in enumerate(smi)))
    PROPERTY_MODELS._items["tiny-ensemble"] = tiny
    try:
        train(data, "logp", model="tiny-ensemble", split="random", seed=0, out=folder, oof_folds=oof_folds)
    finally:
        PROPERTY_MODELS._items.pop("tiny-ensemble", None)
    return folder


def mw_model_folder(folder):
    """A random forest on Morgan bits predicting molecular weight (Da), trained on :func:`small_set`'s 192
    molecules and saved in ``folder / "m"``; returns that folder."""
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    from serendip.chem.api import train

    data = folder / "train.csv"
    data.write_text("smiles,mw\n" + "".join(f"{s},{Descriptors.MolWt(Chem.MolFromSmiles(s)):.3f}\n"
                                            for s in small_set()))
    train(data, "mw", model="rf-morgan", out=folder / "m")
    return folder / "m"
