"""``serendip chem train | predict | optimize | report | screen | generate``: property models on molecule
files (wraps :mod:`serendip.chem.api`), goal-directed design (wraps :func:`serendip.chem.design.optimize`,
with :class:`serendip.chem.design.property.PropertyOracle` for ``--model``), the HTML report (wraps
:func:`serendip.chem.report.write_report`), library screening (:mod:`serendip.cli.chem_screen_cmd`, wraps
:func:`serendip.chem.screen.screen_library`) and generation (``generate``: :mod:`serendip.cli.chem_generate_cmd`).

Needs the ``chem`` extra (RDKit, chemprop, LightGBM); the package is imported inside the commands, so
``serendip --help`` works without it."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Optional

import typer

from serendip.cli.chem_report import as_json, finite, say_read, write_report
from serendip.cli.common import (
    REGISTRY_CHOICES,
    RegistryHelpCommand,
    SerendipTyper,
    console,
    err_console,
    handle_errors,
    labelled,
)
from serendip.cli.display import count, visible

app = SerendipTyper(no_args_is_help=True, help="Molecular property models: train on a SMILES/SDF file (split, "
                    "uncertainty, applicability domain), predict or screen a library, design molecules.")


def _names(module: str, attr: str) -> str:
    import importlib

    try:
        return ", ".join(getattr(importlib.import_module(module), attr).keys())
    except ImportError as exc:  # the chem extra is missing
        return f"(unavailable: {exc}; pip install 'serendip[chem]')"


REGISTRY_CHOICES.setdefault("chem_model", lambda: _names("serendip.chem.models", "PROPERTY_MODELS"))
REGISTRY_CHOICES.setdefault("chem_split", lambda: _names("serendip.chem.splits", "SPLITTERS"))


def _say(text: str) -> None:
    console.print(visible(text), markup=False, highlight=False, soft_wrap=True)


def _issues(issues) -> None:
    for issue in issues:
        err_console.print(labelled("[yellow]skipped:[/]", issue), highlight=False, soft_wrap=True)


def _check_writable(path: Path, folder: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written: its parent folder missing or
    read-only, or (``folder``) an existing file where a folder goes, or a folder where a file goes."""
    import os

    from serendip.errors import DataError

    parent = path.parent if str(path.parent) else Path(".")
    if path.exists() and folder != path.is_dir():
        raise DataError(f"cannot write {path}: it is {'a file' if folder else 'a folder'}")
    if not parent.is_dir():
        raise DataError(f"cannot write {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise DataError(f"cannot write {path}: permission denied")


def _import_chem():
    from serendip.errors import ConfigError

    try:
        from serendip.chem import api
    except ImportError as exc:
        raise ConfigError(f"serendip chem needs the chem extra ({exc}); pip install 'serendip[chem]'") from None
    return api


@app.command("train", cls=RegistryHelpCommand)
def train_cmd(files: list[Path] = typer.Argument(..., help="SMILES CSV/TSV/.smi or SDF files with the target "
                                                 "(gzip-compressed too)."),
              target: str = typer.Option(..., "--target", "-t", help="The value column (header name or SD field)."),
              chem_model: str = typer.Option("serendip", "--model", help="Property model."),
              chem_split: str = typer.Option("random", "--split", help="Split (80/10/10)."),
              seed: int = typer.Option(0, "--seed", min=0, help="Seed of the split and the model."),
              task: Optional[str] = typer.Option(None, "--task", help="regression or classification (default: "
                                                 "classification when every value is 0 or 1)."),
              smiles_column: Optional[str] = typer.Option(None, "--smiles-column", help="Header of the SMILES column."),
              out: Path = typer.Option(..., "--out", "-o", help="Folder to save the model in (new or empty)."),
              force: bool = typer.Option(False, "--force", help="Replace the model already in --out."),
              oof_folds: int = typer.Option(0, "--oof-folds", min=0, help="Also predict each training molecule "
                                            "out of fold (k folds, k more fits): the fair bar for `chem report "
                                            "--bar out_of_fold`. 0: not."),
              report: Optional[Path] = typer.Option(None, "--report", help="CSV listing every record skipped, "
                                                    "changed by standardisation or merged as a duplicate."),
              json_out: bool = typer.Option(False, "--json", help="Print the result as JSON (metrics, notes, "
                                            "records skipped, standardisation changes, duplicates).")) -> None:
    """Read and standardise the molecules (bad records are listed and skipped, salts stripped and charges
    neutralised are reported, duplicates merged), split them, fit the model, calibrate conformal intervals
    on the validation split, print validation and test metrics beside the split kind and seed (a figure
    undefined on its split is named, not given a number), and save the model folder."""
    with handle_errors():
        api = _import_chem()
        api.check_task(task)
        if report is not None:
            _check_writable(report)
        opts = {"smiles_column": smiles_column} if smiles_column else {}
        res = api.train(files, target, model=chem_model, split=chem_split, seed=seed, task=task, out=out,
                        force=force, oof_folds=oof_folds, **opts)
        if report is not None:
            write_report(report, res.read)
        say_read(res.read, merged=True, more=_more(report, json_out))
        for note in res.notes:
            err_console.print(labelled("[yellow]warning:[/]", note), highlight=False, soft_wrap=True)
        if json_out:
            print(json.dumps(finite({"model": res.model, "task": res.task, "target": res.target,
                                     "split": res.split.kind, "seed": res.split.seed, "n_molecules": res.n_molecules,
                                     "metrics": res.metrics, "undefined": res.undefined, "notes": res.notes,
                                     "folder": str(res.folder), **as_json(res.read)})))
            return
        sp = res.split
        _say(f"{count(res.n_molecules, 'molecule')} ({count(len(res.issues), 'record')} skipped, {res.n_duplicates} duplicate "
             f"groups merged); split {sp.kind} seed {sp.seed}: {len(sp.train)}/{len(sp.val)}/{len(sp.test)}")
        for part in [p for p in ("train_oof", "val", "test") if p in res.metrics]:
            why = res.undefined.get(part, {})
            figures = ", ".join(f"{k} undefined ({why.get(k, 'not computed')})" if v is None else f"{k} {v:.4f}"
                                for k, v in res.metrics[part].items())
            _say(f"{chem_model} {part} ({sp.kind} split, seed {sp.seed}): {figures}")
        _say(f"saved to {res.folder} in {res.wall_s:.0f} s" + (f"; report in {report}" if report else ""))


def _more(report: Optional[Path], json_out: bool) -> str:
    where = [f"--report {report}" if report else "--report FILE", "--json"]
    return " or ".join(where[:1] if report else where) if not json_out else "the JSON on stdout"


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4f}"
    return str(v)


@app.command("predict")
def predict_cmd(model_dir: Path = typer.Argument(..., help="A folder written by `serendip chem train --out`."),
                files: list[Path] = typer.Argument(..., help="Molecule files to predict (gzip-compressed too)."),
                out: Optional[Path] = typer.Option(None, "--out", "-o", help="CSV file to write (default: print)."),
                smiles_column: Optional[str] = typer.Option(None, "--smiles-column", help="Header of the SMILES "
                                                            "column."),
                report: Optional[Path] = typer.Option(None, "--report", help="CSV listing every record skipped, "
                                                      "changed by standardisation or repeated."),
                json_out: bool = typer.Option(False, "--json", help="Print the predictions, the records skipped "
                                              "and the duplicates as JSON.")) -> None:
    """Predict each input record, in input order, with its uncertainty: the ensemble spread (sd), the
    conformal interval (lower, upper) and the applicability-domain score (max Tanimoto to the training
    set, with that nearest training molecule). A molecule given twice gets a row per line, the repeat
    flagged in duplicate_of; what standardisation changed is in changes. Records that cannot be read are
    listed and skipped; exit status 1 then."""
    with handle_errors():
        api = _import_chem()
        opts = {"smiles_column": smiles_column} if smiles_column else {}
        for path in (out, report):
            if path is not None:
                _check_writable(path)
        rows, ms = api.predict(model_dir, files, **opts)
        if report is not None:
            write_report(report, ms)
        say_read(ms, merged=False, more=_more(report, json_out))
        cols = list(rows[0])
        if json_out:
            print(json.dumps(finite({"model": str(model_dir), "predictions": rows, **as_json(ms)})))
        elif out is not None:
            try:
                with out.open("w", newline="", encoding="utf-8") as fh:
                    w = csv.DictWriter(fh, fieldnames=cols)
                    w.writeheader()
                    w.writerows({k: _fmt(v) for k, v in r.items()} for r in rows)
            except OSError as exc:
                raise _data_error(f"cannot write {out}: {exc.strerror or exc}") from None
            _say(f"{len(rows):,} predictions written to {out} ({count(len(ms.issues), 'record')} skipped)")
        else:
            print("\t".join(cols))
            for r in rows:
                print("\t".join(visible(_fmt(r[c])) for c in cols))  # a tab inside a value escaped
    if ms.issues:
        raise typer.Exit(1)


REGISTRY_CHOICES.setdefault("design_oracle", lambda: _names("serendip.chem.design.oracles", "ORACLES"))
REGISTRY_CHOICES.setdefault("design_method", lambda: _names("serendip.chem.design.methods", "METHODS"))


REGISTRY_CHOICES.setdefault("ad_penalty", lambda: _names("serendip.chem.design.property", "AD_PENALTIES"))

# the objective built from a property model (serendip.chem.design.property.PropertyOracle); shared by
# `chem optimize --model` and `chem report`
_GOAL = typer.Option("maximize", "--goal", help="maximize or minimize the model's prediction.")
_QED_MIN = typer.Option(None, "--qed-min", min=0.0, max=1.0, help="Constraint: QED at or above this.")
_NO_PAINS = typer.Option(False, "--no-pains", help="Constraint: no PAINS alert (Baell & Holloway 2010).")
_NO_BRENK = typer.Option(False, "--no-brenk", help="Constraint: no Brenk alert (Brenk et al. 2008).")
_LIPINSKI = typer.Option(False, "--lipinski", help="Constraint: at most one rule-of-five violation.")
_AD_MIN = typer.Option(0.4, "--ad-min", min=0.0, max=1.0, help="Applicability domain: max Tanimoto to the "
                       "training set at or above this.")
_AD_PENALTY = typer.Option("zero", "--ad-penalty", help="Score outside the domain (zero: 0; linear: scaled by "
                           "Tanimoto / ad-min).")

_RANGE_MARGIN = typer.Option("rmse", "--range-margin", help="Trusted predictions: the training targets' range "
                             "widened by this (rmse: the model's out-of-fold RMSE, else its validation RMSE; a "
                             "number in target units; none: no range check). A prediction beyond it is outside "
                             "the domain and scores 0.")


def _range_margin(text: str):
    """``--range-margin`` as PropertyOracle takes it: "rmse", None ("none") or a float."""
    import math

    t = text.strip().lower()
    if t in ("rmse", "none"):
        return None if t == "none" else t
    try:
        value = float(t)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise _config_error(f"--range-margin must be rmse, none or a number >= 0 (target units); got: {text!r}")
    return value


def _property_oracle(model_dir: Path, goal: str, qed_min, no_pains: bool, no_brenk: bool, lipinski: bool,
                     ad_min: float, ad_penalty: str, range_margin: str = "rmse"):
    from serendip.chem.design.property import PropertyOracle

    constraints = [name for name, on in (("no_pains", no_pains), ("no_brenk", no_brenk), ("lipinski", lipinski))
                   if on]
    return PropertyOracle(model_dir, goal=goal, qed_min=qed_min, constraints=constraints, ad_min=ad_min,
                          ad_penalty=ad_penalty, range_margin=_range_margin(range_margin))


def _has_score_column(path: Path) -> bool:
    """True for a CSV whose header has a ``score`` column (``chem optimize --out``)."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as fh:
        return "score" in [c.strip().lower() for c in fh.readline().split(",")]


def _read_pool(path: Path, smiles_column, score: bool = False):
    from serendip.chem.molecules import read_molecules

    opts = {"smiles_column": smiles_column} if smiles_column else {}
    ms = read_molecules(path, **opts, **({"value_columns": ["score"]} if score else {}))
    _issues(ms.issues)
    if not ms.molecules:
        raise _data_error(f"{path}: no molecule could be read")
    return ms


@app.command("optimize", cls=RegistryHelpCommand)
def optimize_cmd(design_oracle: Optional[str] = typer.Argument(None, metavar="[ORACLE]", help="The score to "
                                                               "maximise (in [0, 1]); or give --model."),
                 model_dir: Optional[Path] = typer.Option(None, "--model", help="Optimise a property model "
                                                          "folder's prediction instead of a named oracle (starts "
                                                          "from its training molecules unless --start is given)."),
                 design_method: str = typer.Option("surrogate_ga", "--method", help="Design method."),
                 budget: int = typer.Option(1000, "--budget", min=1, help="Unique molecules the oracle may score "
                                            "(PMO's budget; repeats and invalid SMILES are free)."),
                 seed: int = typer.Option(0, "--seed", min=0, help="Seeds the method (same seed, same run)."),
                 start: Optional[Path] = typer.Option(None, "--start", help="Starting molecules (SMILES/SDF file, "
                                                      "read and standardised as `chem train` reads them; default: "
                                                      "the MOSES 250k train subset of the data mirror)."),
                 smiles_column: Optional[str] = typer.Option(None, "--smiles-column", help="Header of the SMILES "
                                                             "column of --start."),
                 top: int = typer.Option(10, "--top", min=1, help="Best molecules printed."),
                 out: Optional[Path] = typer.Option(None, "--out", "-o", help="CSV of every molecule scored, in "
                                                    "call order (call, smiles, score)."),
                 json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
                 goal: str = _GOAL, qed_min: Optional[float] = _QED_MIN, no_pains: bool = _NO_PAINS,
                 no_brenk: bool = _NO_BRENK, lipinski: bool = _LIPINSKI, ad_min: float = _AD_MIN,
                 ad_penalty: str = _AD_PENALTY, range_margin: str = _RANGE_MARGIN) -> None:
    """Goal-directed design: run the method on the oracle within the budget (scored as PMO does: AUC of
    the top-10 mean against calls) and print the best molecules found. With --model the oracle is the
    model's prediction under the constraints (--qed-min, --no-pains, --no-brenk, --lipinski), scored 0
    when a constraint fails, when the prediction lies beyond the trusted range (--range-margin) or
    (--ad-penalty zero) outside the applicability domain."""
    with handle_errors():
        _import_chem()
        from serendip.chem.design import optimize

        if (design_oracle is None) == (model_dir is None):
            raise _config_error("give either an ORACLE name or --model FOLDER (one of them)")
        _range_margin(range_margin)  # a bad value is refused even where no model range is checked
        if out is not None:
            _check_writable(out)
        oracle = design_oracle
        pool = None
        if model_dir is not None:
            oracle = _property_oracle(model_dir, goal, qed_min, no_pains, no_brenk, lipinski, ad_min, ad_penalty,
                                      range_margin)
            pool = oracle.model.train_smiles
        if start is not None:
            pool = _read_pool(start, smiles_column).smiles
        res = optimize(oracle, design_method, budget=budget, seed=seed, pool=pool)
        if out is not None:
            try:
                with out.open("w", newline="", encoding="utf-8") as fh:
                    w = csv.writer(fh)
                    w.writerow(["call", "smiles", "score"])
                    w.writerows((i, smi, f"{score:.6f}") for i, (smi, score) in enumerate(res.history, 1))
            except OSError as exc:
                raise _data_error(f"cannot write {out}: {exc.strerror or exc}") from None
        best = sorted(res.history, key=lambda t: -t[1])[:top]
        if json_out:
            print(json.dumps({"oracle": res.oracle, "method": res.method, "seed": res.seed, "budget": res.budget,
                              "calls": res.calls, "auc_top10": res.auc_top10, "wall_s": round(res.wall_s, 2),
                              "best": [{"smiles": smi, "score": score} for smi, score in best]}))
            return
        _say(f"{res.method} on {res.oracle}: {res.calls:,} of {res.budget:,} calls, AUC top-10 {res.auc_top10:.4f}, "
             f"best {best[0][1]:.4f} ({res.wall_s:.0f} s, seed {res.seed})" if best else
             f"{res.method} on {res.oracle}: no molecule scored")
        for n, (smi, score) in enumerate(best, 1):
            _say(f"{n:>3}  {score:.4f}  {smi}")
        if out is not None:
            _say(f"{res.calls:,} scored molecules written to {out}")


@app.command("report", cls=RegistryHelpCommand)
def report_cmd(candidates: Path = typer.Argument(..., help="Candidate molecules: the CSV of `chem optimize "
                                                 "--out` or any SMILES/SDF file."),
               model_dir: Path = typer.Option(..., "--model", help="The property model folder that scores them."),
               out: Path = typer.Option(..., "--out", "-o", help="HTML file to write."),
               top: int = typer.Option(10, "--top", min=1, help="Best candidates shown (by score)."),
               neighbours: int = typer.Option(3, "--neighbours", min=1, max=20, help="Nearest training molecules "
                                              "shown per candidate."),
               title: str = typer.Option("Serendip design report", "--title", help="Report title."),
               smiles_column: Optional[str] = typer.Option(None, "--smiles-column", help="Header of the SMILES "
                                                           "column of CANDIDATES."),
               goal: str = _GOAL, qed_min: Optional[float] = _QED_MIN, no_pains: bool = _NO_PAINS,
               no_brenk: bool = _NO_BRENK, lipinski: bool = _LIPINSKI, ad_min: float = _AD_MIN,
               ad_penalty: str = _AD_PENALTY, range_margin: str = _RANGE_MARGIN,
               bar: str = typer.Option("model", "--bar", help="The training molecules' value to beat: model "
                                       "(in-sample prediction), out_of_fold (needs `chem train --oof-folds`) or "
                                       "measured.")) -> None:
    """Write one self-contained HTML file: the candidates scored by the model under the objective (same
    options as `chem optimize --model`), a molecule grid, the score table, the model's test parity plot
    and each candidate's nearest training molecules; beside the best training molecule on the objective.
    Records that cannot be read are listed and skipped; exit status 1 then."""
    with handle_errors():
        _import_chem()
        from serendip.chem.report import write_report

        _check_writable(out)
        if bar not in ("model", "out_of_fold", "measured"):
            raise _config_error(f"--bar must be one of: model, out_of_fold, measured; got: {bar!r}")
        oracle = _property_oracle(model_dir, goal, qed_min, no_pains, no_brenk, lipinski, ad_min, ad_penalty,
                                  range_margin)
        ms = _read_pool(candidates, smiles_column, _has_score_column(candidates))
        mols = ms.molecules
        if mols and "score" in mols[0].values:  # `chem optimize --out`: the best by its score, then re-scored
            mols = sorted(mols, key=lambda m: -m.values["score"])[:top]
        write_report(out, oracle, [m.smiles for m in mols], names=[m.name for m in mols], top=top,
                     neighbours=neighbours, title=title, bar_value=bar)
        _say(f"report on {min(top, len(mols))} of {len(ms.molecules):,} candidates written to {out} "
             f"({count(len(ms.issues), 'record')} skipped)")
    if ms.issues:
        raise typer.Exit(1)


def _config_error(message: str):
    from serendip.errors import ConfigError

    return ConfigError(message)


def _data_error(message: str):
    from serendip.errors import DataError

    return DataError(message)


def _add_screen() -> None:
    from serendip.cli.chem_screen_cmd import register as add

    add(app)


_add_screen()


def register(root: typer.Typer) -> None:
    from serendip.cli.chem_generate_cmd import app as generate_app

    app.add_typer(generate_app, name="generate")
    root.add_typer(app, name="chem")
