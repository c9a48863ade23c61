"""A self-contained HTML report a chemist can read: designed candidates beside the model that scored them.

    >>> from serendip.chem.report import make_report
    >>> html = make_report("esol-model", ["CC(O)C(=O)Nc1ccccc1"], oracle=oracle)   # doctest: +SKIP

One HTML file, no external URL: molecule images are PNGs drawn with RDKit's ``MolDraw2DCairo``
(Landrum et al., RDKit) and the parity plot a matplotlib PNG, all inline as base64 ``data:`` URIs; the
style sheet is inline; every text that comes from data (SMILES, names, alerts, settings) goes through
:func:`html.escape`. Sections:

1. the model (target, split kind and seed, test metrics) and the objective (goal, constraints,
   applicability-domain threshold and penalty, the trusted prediction range:
   :class:`~serendip.chem.design.property.PropertyOracle`);
2. the best training molecule on the same objective (feasible, every training molecule is in its own
   domain) and how many candidates beat it;
3. a molecule grid of the candidates, best first, with score, prediction, AD and alerts;
4. the score table (one row per candidate);
5. the parity plot of the model's test-split predictions against measured values
   (``test_predictions.csv`` of the model folder), with RMSE and R²;
6. for each candidate its nearest training molecules with their Tanimoto similarity (Morgan radius 2,
   2,048 bits, the applicability domain's fingerprint);
7. (when given ``excluded``) molecules the run kept out of the ranking, each with its prediction and
   why it is outside the domain or infeasible.

A candidate outside the domain says why in the grid and the score table (e.g. "AD 0.312 < 0.4" or
"prediction 3.912 above the training maximum 1.58 + 0.667 (out-of-fold RMSE on training)").
"""
from __future__ import annotations

import base64
import csv
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from serendip.chem.design.property import Evaluation, PropertyOracle, best
from serendip.errors import DataError

__all__ = ["make_report", "molecule_png", "nearest_neighbours", "parity_png", "read_test_predictions",
           "write_report"]

_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}h1{font-size:1.5em}h2{margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#eee}.grid{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ccc;padding:6px;
width:260px;font-size:.8em}.card img{display:block}.smi{font-family:monospace;word-break:break-all}
.bad{color:#a00}.good{color:#070}.nn{display:flex;gap:8px;align-items:flex-start}.nn div{font-size:.75em;width:150px}"""


def _e(value) -> str:
    """``value`` as escaped HTML text (floats to 3 decimals, NaN as an empty cell)."""
    if isinstance(value, float):
        value = "" if not math.isfinite(value) else f"{value:.3f}"
    return html.escape(str(value), quote=True)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def molecule_png(smiles: str, size: int = 250) -> bytes:
    """A ``size`` x ``size`` PNG of ``smiles`` drawn by RDKit (``MolDraw2DCairo``).

    Raises
    ------
    DataError
        A SMILES RDKit cannot parse (named).
    """
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise DataError(f"cannot draw the SMILES {smiles!r}: RDKit cannot parse it")
    drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def read_test_predictions(folder: str | Path) -> dict[str, np.ndarray] | None:
    """The model folder's ``test_predictions.csv`` as columns (``smiles`` list; ``measured``,
    ``prediction``, ``sd``, ``lower``, ``upper`` float64 of shape (n,), NaN for empty cells), or None
    when the folder has none (trained before it was written).

    Raises
    ------
    DataError
        A row that is not a number where one is expected (file and line named).
    """
    path = Path(folder) / "test_predictions.csv"
    if not path.is_file():
        return None
    keys = ("measured", "prediction", "sd", "lower", "upper")
    cols: dict = {"smiles": [], **{k: [] for k in keys}}
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                cols["smiles"].append(row["smiles"])
                for k in keys:
                    cols[k].append(float(row[k]) if row[k] else math.nan)
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{path}, line {line}: not a test-prediction row ({exc})") from None
    return {k: (v if k == "smiles" else np.asarray(v, np.float64)) for k, v in cols.items()}


def parity_png(measured: np.ndarray, predicted: np.ndarray, *, lower: np.ndarray | None = None,
               upper: np.ndarray | None = None, target: str = "value", title: str = "") -> bytes:
    """A parity plot (predicted against measured, shape (n,) each; optional conformal interval bars)
    as PNG bytes, with the y = x line and RMSE and R² in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, p = np.asarray(measured, np.float64), np.asarray(predicted, np.float64)
    rmse = float(np.sqrt(np.mean((y - p) ** 2)))
    r2 = float(1 - np.sum((y - p) ** 2) / max(np.sum((y - y.mean()) ** 2), 1e-300))
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if lower is not None and upper is not None and np.isfinite(lower).all() and np.isfinite(upper).all():
        ax.errorbar(y, p, yerr=np.vstack([p - lower, upper - p]), fmt="none", ecolor="#bbb", lw=0.6, zorder=1)
    ax.scatter(y, p, s=12, zorder=2, label=f"test, n={len(y)}: RMSE {rmse:.3f}, R² {r2:.3f}")
    lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="y = x")
    ax.set_xlabel(f"measured {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def nearest_neighbours(oracle: PropertyOracle, smiles: Sequence[str], k: int = 3) -> list[list[tuple[int, float]]]:
    """For each SMILES, its ``k`` most similar training molecules as (training index, Tanimoto), best
    first, on the applicability domain's fingerprints (an unparsable SMILES gets an empty list)."""
    from rdkit import Chem, DataStructs

    ad = oracle.model.ad
    out = []
    for smi in smiles:
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            out.append([])
            continue
        sims = np.asarray(DataStructs.BulkTanimotoSimilarity(ad._gen.GetFingerprint(mol), ad.train_))
        order = np.argsort(-sims, kind="stable")[:k]
        out.append([(int(i), float(sims[i])) for i in order])
    return out


def _alerts(ev: Evaluation) -> str:
    parts = [f"PAINS: {'; '.join(ev.pains)}" if ev.pains else "", f"Brenk: {'; '.join(ev.brenk)}" if ev.brenk else "",
             f"Ro5: {'; '.join(ev.lipinski)}" if ev.lipinski else ""]
    return " | ".join(p for p in parts if p) or "none"


def _kv_table(rows: Mapping[str, object]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows.items())
    return f"<table>{body}</table>"


#: how each kind of training-molecule value is named in the report
_BAR_WORDS = {"model": "predicted (in-sample, by the model trained on it)",
              "out_of_fold": "predicted out of fold (by models trained without it, as the candidates are)",
              "measured": "measured"}


def _range_words(r: Mapping | None) -> str:
    if r is None:
        return "not checked (any prediction is trusted)"
    return (f"predictions in [{r['low']:.3f}, {r['high']:.3f}] are trusted: the training targets' "
            f"{r['train_min']:g} to {r['train_max']:g} widened by {r['margin']:.3f} ({r['source']}); a "
            f"prediction beyond it is an extrapolation: outside the domain, score 0")


def _why_not(ev: Evaluation) -> str:
    """Failed constraints and reasons for being outside the domain, ``; ``-joined (empty when neither)."""
    return "; ".join(ev.violations + [f"outside the domain: {r}" for r in ev.outside])


def _summary(oracle: PropertyOracle, bar: Evaluation | None, evs: Sequence[Evaluation], run: Mapping,
             bar_value: str = "model") -> str:
    meta = oracle.model.meta
    sp = meta.get("split", {})
    test = meta.get("metrics", {}).get("test", {})
    model_rows = {"model": meta.get("model"), "target": oracle.target,
                  "split": f"{sp.get('kind')} (seed {sp.get('seed')}), train/val/test "
                           f"{sp.get('n_train')}/{sp.get('n_val')}/{sp.get('n_test')}",
                  "test metrics": ", ".join(f"{k} {v:.4f}" for k, v in test.items())}
    s = oracle.settings()
    objective = {"goal": f"{s['goal']} predicted {s['target']}", "constraints": ", ".join(
                     ("QED >= " + f"{s['qed_min']:g}") if c == "qed_min" else c for c in s["constraints"]) or "none",
                 "applicability domain": f"max Tanimoto to training >= {s['ad_min']:g}; outside: "
                                         f"{s['ad_penalty']} penalty",
                 "prediction range": _range_words(s["prediction_range"]),
                 "score": f"logistic desirability of the objective, centre {s['desirability']['centre']:.3f}, "
                          f"scale {s['desirability']['scale']:.3f}; 0 when infeasible"}
    beat = sum(1 for e in evs if bar is not None and e.feasible and e.in_domain and e.objective > bar.objective)
    if bar is None:
        bar_html = "<p>No training molecule meets the constraints.</p>"
    else:
        bar_html = (f"<p>Best training molecule on the objective (of those meeting the constraints): "
                    f"<span class='smi'>{_e(bar.smiles)}</span>, {_e(_BAR_WORDS[bar_value])} {_e(oracle.target)} "
                    f"{_e(bar.prediction)}, score {_e(bar.score)}, QED {_e(bar.qed)}.</p>"
                    f"<p id='beat'>{beat} of {len(evs)} candidates beat it while feasible and inside the "
                    f"domain (applicability domain{' and prediction range' if oracle.range else ''}).</p>")
    run_html = f"<h2>Run</h2>{_kv_table(run)}" if run else ""
    return (f"<h2>Model</h2>{_kv_table(model_rows)}<h2>Objective</h2>{_kv_table(objective)}{run_html}"
            f"<h2>Best training molecule</h2>{bar_html}")


def _grid(evs: Sequence[Evaluation], names: Sequence[str], target: str) -> str:
    cards = []
    for rank, (ev, name) in enumerate(zip(evs, names), 1):
        img = (f"<img alt='{_e(name)}' width='250' height='250' src='{_data_uri(molecule_png(ev.smiles))}'>"
               if ev.valid else "<p class='bad'>invalid SMILES</p>")
        cards.append(f"<div class='card'>{img}<b>#{rank} {_e(name)}</b><br>score {_e(ev.score)}; "
                     f"{_e(target)} {_e(ev.prediction)} [{_e(ev.lower)}, {_e(ev.upper)}]<br>AD {_e(ev.ad)}, "
                     f"QED {_e(ev.qed)}<br>alerts: {_e(_alerts(ev))}"
                     + (f"<br><span class='bad'>{_e(_why_not(ev))}</span>" if _why_not(ev) else "")
                     + f"<div class='smi'>{_e(ev.smiles)}</div></div>")
    return f"<h2>Candidates</h2><div class='grid' id='grid'>{''.join(cards)}</div>"


_COLUMNS = ("rank", "name", "SMILES", "score", "prediction", "sd", "lower", "upper", "AD", "QED", "alerts",
            "constraints failed / outside the domain", "beats best training")


def _table(evs: Sequence[Evaluation], names: Sequence[str], bar: Evaluation | None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in _COLUMNS)
    rows = []
    for rank, (ev, name) in enumerate(zip(evs, names), 1):
        beats = bar is not None and ev.feasible and ev.in_domain and ev.objective > bar.objective
        cells = (rank, name, ev.smiles, ev.score, ev.prediction, ev.sd, ev.lower, ev.upper, ev.ad, ev.qed,
                 _alerts(ev), _why_not(ev), "yes" if beats else "no")
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return f"<h2>Scores</h2><table id='scores'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _parity(oracle: PropertyOracle) -> str:
    cols = read_test_predictions(oracle.folder) if oracle.folder else None
    if cols is None or not len(cols["measured"]):
        return "<h2>Parity plot</h2><p>This model folder holds no test predictions (train it again to add them).</p>"
    meta = oracle.model.meta
    sp = meta.get("split", {})
    png = parity_png(cols["measured"], cols["prediction"], lower=cols["lower"], upper=cols["upper"],
                     target=oracle.target, title=f"{meta.get('model')} on the {sp.get('kind')} split "
                                                 f"(seed {sp.get('seed')}), test molecules")
    return (f"<h2>Parity plot</h2><img id='parity' alt='parity plot' width='500' height='500' "
            f"src='{_data_uri(png)}'><p>Grey bars: conformal intervals where the model has them.</p>")


def _neighbours(oracle: PropertyOracle, evs: Sequence[Evaluation], names: Sequence[str], k: int) -> str:
    train = oracle.model.train_smiles
    blocks = []
    for ev, name, nn in zip(evs, names, nearest_neighbours(oracle, [e.smiles for e in evs], k)):
        items = "".join(f"<div><img alt='training molecule {i}' width='150' height='150' "
                        f"src='{_data_uri(molecule_png(train[i], 150))}'>Tanimoto {_e(sim)}"
                        f"<span class='smi'> {_e(train[i])}</span></div>" for i, sim in nn)
        blocks.append(f"<tr><td>{_e(name)}<div class='smi'>{_e(ev.smiles)}</div></td><td><div class='nn'>"
                      f"{items}</div></td></tr>")
    return (f"<h2>Nearest training molecules</h2><table id='neighbours'><thead><tr><th>candidate</th>"
            f"<th>{k} nearest training molecules</th></tr></thead><tbody>{''.join(blocks)}</tbody></table>")


def _excluded(evs: Sequence[Evaluation], target: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in ("SMILES", target, "AD", "QED", "why excluded"))
    rows = "".join(f"<tr><td class='smi'>{_e(e.smiles)}</td><td>{_e(e.prediction)}</td><td>{_e(e.ad)}</td>"
                   f"<td>{_e(e.qed)}</td><td>{_e(_why_not(e) or 'not excluded')}</td></tr>" for e in evs)
    return (f"<h2>Excluded by the run</h2><p>Molecules the run scored but kept out of the ranking (score 0): "
            f"infeasible, or outside the domain where the model's prediction is not trusted.</p>"
            f"<table id='excluded'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def make_report(oracle: PropertyOracle | str | Path, candidates: Sequence[str], *, names: Sequence[str] | None = None,
                top: int | None = None, neighbours: int = 3, title: str = "Serendip design report",
                run: Mapping[str, object] | None = None, bar_value: str = "model",
                excluded: Sequence[str] = ()) -> str:
    """The report as one HTML string.

    Parameters
    ----------
    oracle : PropertyOracle or model folder
        The objective that scores the candidates (a folder: maximise its prediction, no constraints).
    candidates : sequence of str
        Candidate SMILES (n of them); ranked in the report by score, then objective, best first.
    names : sequence of str, optional
        One name per candidate (default ``candidate <i>``).
    top : int, optional
        Keep the best ``top`` candidates (default all).
    neighbours : int, default 3
        Nearest training molecules shown per candidate.
    title : str
    run : mapping, optional
        Facts of the run shown as a table (method, budget, seed, calls ...).
    bar_value : {"model", "out_of_fold", "measured"}, default "model"
        The training molecules' value the candidates are compared with
        (:meth:`~serendip.chem.design.property.PropertyOracle.score_training_set`).
    excluded : sequence of str, default ()
        SMILES the run kept out of the ranking, shown with why (e.g. its most promising predictions
        outside the domain); none: no such section.

    Raises
    ------
    ConfigError
        Unknown ``bar_value``.
    DataError
        No candidate; an unreadable model folder or test-prediction file; ``bar_value`` values the
        model folder does not hold.
    """
    if not len(candidates):
        raise DataError("the report needs at least one candidate molecule")
    oracle = oracle if isinstance(oracle, PropertyOracle) else PropertyOracle(oracle)
    names = list(names) if names is not None else [f"candidate {i + 1}" for i in range(len(candidates))]
    if len(names) != len(candidates):
        raise DataError(f"{len(names)} names for {len(candidates)} candidates")
    evs = oracle.evaluate(list(candidates))
    order = sorted(range(len(evs)), key=lambda i: (-evs[i].score, -np.nan_to_num(evs[i].objective, nan=-np.inf)))
    order = order[:top] if top else order
    evs, names = [evs[i] for i in order], [names[i] for i in order]
    bar = best(oracle.score_training_set(bar_value))
    body = (_summary(oracle, bar, evs, run or {}, bar_value) + _grid(evs, names, oracle.target) + _table(evs, names, bar)
            + _parity(oracle) + _neighbours(oracle, evs, names, neighbours)
            + (_excluded(oracle.evaluate(list(excluded)), oracle.target) if len(excluded) else ""))
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>{body}</body></html>\n")


def write_report(path: str | Path, oracle: PropertyOracle | str | Path, candidates: Sequence[str],
                 **options) -> Path:
    """:func:`make_report` written to ``path`` (UTF-8); returns the path.

    Raises
    ------
    DataError
        As :func:`make_report`, or ``path`` cannot be written.
    """
    text = make_report(oracle, candidates, **options)
    path = Path(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
