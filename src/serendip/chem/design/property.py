"""Property-model objectives: a trained model folder as a design oracle, with constraints and an
applicability-domain penalty.

    >>> from serendip.chem.design.property import PropertyOracle
    >>> oracle = PropertyOracle("esol-model", goal="maximize", qed_min=0.6,      # doctest: +SKIP
    ...                         constraints=("no_pains",), ad_min=0.4)
    >>> oracle("CC(O)C(=O)Nc1ccccc1")                                             # doctest: +SKIP

How a SMILES is scored (every step recorded in :class:`Evaluation`):

1. **Validity.** A SMILES RDKit cannot parse scores 0.0 (as every oracle here, after PMO's TDC oracles).
2. **Constraints** (:data:`CONSTRAINTS`): ``qed_min`` (QED, Bickerton et al. 2012, at or above a
   threshold), ``no_pains`` (no PAINS alert, Baell & Holloway 2010), ``no_brenk`` (no Brenk alert,
   Brenk et al. 2008), ``lipinski`` (at most one rule-of-five violation, Lipinski et al. 1997), from
   :mod:`serendip.chem.filters`. A molecule failing any is infeasible and scores 0.0, the worst score,
   so the optimiser never prefers it to a feasible one (a hard constraint, as REINVENT's "custom
   alerts" component that zeroes the total score; Blaschke et al. 2020, J. Chem. Inf. Model. 60:5918).
3. **Objective.** ``objective = prediction`` (``goal="maximize"``) or ``-prediction`` (``"minimize"``),
   in the target's units, from :meth:`serendip.chem.api.LoadedModel.predict` (the ensemble mean).
4. **Desirability.** The objective mapped to (0, 1) by a logistic curve (REINVENT's ``sigmoid`` score
   transformation, Blaschke et al. 2020): ``d = 1 / (1 + exp(-(objective - centre) / scale))`` with
   ``centre`` and ``scale`` the median and standard deviation of the training targets (sign-adjusted),
   read from ``model.json`` (``target_stats``). Monotone, so molecules rank as by the objective, and
   it keeps the registry's [0, 1] contract that the graph GA's score-proportional mating needs.
5. **Applicability-domain penalty** (:data:`AD_PENALTIES`), on ``ad`` = the largest Tanimoto
   similarity (Morgan radius 2, 2,048 bits) to a training molecule (Sheridan et al. 2004): inside the
   domain (``ad >= ad_min``) the score is ``d``; outside, ``"zero"`` (default) scores 0.0, like an
   infeasible molecule (a prediction there is not trusted at all), and ``"linear"`` scores
   ``d * ad / ad_min`` (trust fading with distance). The default ``ad_min = 0.4`` is about the 15th
   percentile of the ESOL random-split (seed 0) test molecules' ``ad`` (median 0.57).
6. **Prediction range** (``range_margin``): a prediction beyond the training targets' range, ``[min -
   m, max + m]`` (``target_stats`` of ``model.json``), is an extrapolation the model cannot back, and
   the molecule is outside the domain and scores 0.0 under every penalty (the AD penalties scale by
   similarity, which says nothing about a prediction's size). ``m`` is ``"rmse"`` (default: the
   model's 5-fold out-of-fold RMSE on its training set, ``metrics.train_oof``, else its validation
   RMSE; the source is recorded), a number in target units, or None (no range check, the behaviour
   before). Why: an optimiser maximising a model's prediction finds the molecules the model
   over-predicts (Renz et al. 2019, "On failure modes in molecule generation and optimization", Drug
   Discov. Today Technol. 32:55), and a nearest-neighbour AD bounds the structure, not the prediction:
   a Chemprop ESOL model (random split, seed 2) predicted logS 3.7-4.1 for designs with Tanimoto >= 0.41
   to training (measured ESOL tops out at 1.58). On the ESOL training sets (random split, seeds 0-2),
   no out-of-fold Chemprop prediction of the 892 molecules lies beyond the training maximum by more than
   the out-of-fold RMSE (largest overshoot 0.46 logS, seed 2, RMSE 0.67), so a real molecule predicted
   as the model predicts unseen molecules stays inside ``[min - m, max + m]``; the error grows only
   gently with distance (out-of-fold RMSE 0.70-0.77 at Tanimoto 0.3-0.5 to the nearest other training
   molecule against 0.54-0.65 at 0.5-0.7), so a stricter Tanimoto threshold would not stop the
   over-prediction. A one-member model's conformal interval has one width everywhere, so a lower
   confidence bound would not re-rank its candidates either.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from rdkit import Chem
from rdkit.Chem import QED

from serendip.chem import filters
from serendip.chem.design.oracles import parse
from serendip.errors import ConfigError, DataError
from serendip.registry import Registry

__all__ = ["AD_PENALTIES", "CONSTRAINTS", "TRAINING_VALUES", "Evaluation", "PropertyOracle", "PredictionRange"]

#: what may stand as a training molecule's prediction in :meth:`PropertyOracle.score_training_set`
TRAINING_VALUES = ("model", "out_of_fold", "measured")

#: a constraint: ``check(mol, evaluation, oracle) -> None`` when met, else the reason (a short string)
Constraint = Callable[[Chem.Mol, "Evaluation", "PropertyOracle"], "str | None"]
CONSTRAINTS: Registry[Constraint] = Registry("design constraint")


@CONSTRAINTS.register("qed_min")
def _qed_min(mol, ev: Evaluation, oracle: PropertyOracle) -> str | None:
    """QED (RDKit ``QED.qed``) at or above ``oracle.qed_min``."""
    return None if ev.qed >= oracle.qed_min else f"QED {ev.qed:.3f} < {oracle.qed_min:g}"


@CONSTRAINTS.register("no_pains")
def _no_pains(mol, ev: Evaluation, oracle: PropertyOracle) -> str | None:
    """No PAINS alert."""
    return None if not ev.pains else "PAINS: " + "; ".join(ev.pains)


@CONSTRAINTS.register("no_brenk")
def _no_brenk(mol, ev: Evaluation, oracle: PropertyOracle) -> str | None:
    """No Brenk alert."""
    return None if not ev.brenk else "Brenk: " + "; ".join(ev.brenk)


@CONSTRAINTS.register("lipinski")
def _lipinski(mol, ev: Evaluation, oracle: PropertyOracle) -> str | None:
    """At most one rule-of-five violation."""
    return None if len(ev.lipinski) <= 1 else "rule of five: " + "; ".join(ev.lipinski)


#: an AD penalty: ``penalty(desirability, ad, ad_min) -> score`` for a molecule outside the domain
AD_PENALTIES: Registry[Callable[[float, float, float], float]] = Registry("applicability-domain penalty")
AD_PENALTIES.add("zero", lambda d, ad, ad_min: 0.0)
AD_PENALTIES.add("linear", lambda d, ad, ad_min: d * ad / ad_min)


@dataclass(frozen=True)
class PredictionRange:
    """The predictions a model is trusted with: ``low`` to ``high`` (target units) = the training
    targets' ``train_min`` / ``train_max`` widened by ``margin``, whose origin ``source`` names."""

    low: float
    high: float
    train_min: float
    train_max: float
    margin: float
    source: str

    def check(self, prediction: float) -> str | None:
        """None when ``prediction`` lies in [low, high]; else why not (a short sentence)."""
        if prediction > self.high:
            return (f"prediction {prediction:.3f} above the training maximum {self.train_max:g} + {self.margin:.3f} "
                    f"({self.source})")
        if prediction < self.low:
            return (f"prediction {prediction:.3f} below the training minimum {self.train_min:g} - {self.margin:.3f} "
                    f"({self.source})")
        return None

    @classmethod
    def from_meta(cls, meta: dict, margin: float | str, where: str = "the model") -> PredictionRange:
        """The range of a model's ``model.json`` (``target_stats`` min and max; ``margin`` a number >= 0 in
        target units or ``"rmse"``: ``metrics.train_oof.rmse``, else ``metrics.val.rmse``).

        Raises
        ------
        ConfigError
            ``margin`` neither ``"rmse"`` nor a finite number >= 0.
        DataError
            No ``target_stats`` min/max, or (``"rmse"``) no out-of-fold or validation RMSE.
        """
        stats = meta.get("target_stats") or {}
        if "min" not in stats or "max" not in stats:
            raise DataError(f"{where}: model.json has no target_stats min/max; train the model again")
        if margin == "rmse":
            metrics = meta.get("metrics", {})
            for part, words in (("train_oof", "out-of-fold RMSE on training"), ("val", "validation RMSE")):
                rmse = (metrics.get(part) or {}).get("rmse")
                if rmse is not None and math.isfinite(rmse):
                    margin, source = float(rmse), words
                    break
            else:
                raise DataError(f"{where}: model.json has neither an out-of-fold nor a validation RMSE for the "
                                f"prediction range; give range_margin as a number or None")
        elif isinstance(margin, str) or not (isinstance(margin, (int, float)) and math.isfinite(margin)
                                              and margin >= 0):
            raise ConfigError(f"range_margin must be 'rmse', a number >= 0 (target units) or None; got: {margin!r}")
        else:
            margin, source = float(margin), "given margin"
        lo, hi = float(stats["min"]), float(stats["max"])
        return cls(lo - margin, hi + margin, lo, hi, margin, source)


@dataclass
class Evaluation:
    """One molecule scored by a :class:`PropertyOracle`: ``smiles`` (canonical when valid), ``valid``,
    the model's ``prediction``, ``sd`` (member spread), conformal ``lower`` / ``upper`` (target units;
    NaN where the model has none), ``ad`` (max Tanimoto to training) and ``nearest`` (its training
    index, -1 when invalid), ``qed``, the ``pains`` / ``brenk`` alert names, ``lipinski`` violations,
    ``violations`` (failed constraints), ``outside`` (why it is outside the domain: AD below the
    threshold, prediction beyond the trusted range; empty inside), ``in_domain``, ``feasible``,
    ``objective`` (signed prediction), ``desirability`` and the final ``score`` in [0, 1]."""

    smiles: str
    valid: bool = False
    prediction: float = math.nan
    sd: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    ad: float = 0.0
    nearest: int = -1
    qed: float = math.nan
    pains: list[str] = field(default_factory=list)
    brenk: list[str] = field(default_factory=list)
    lipinski: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    in_domain: bool = False
    objective: float = math.nan
    desirability: float = 0.0
    score: float = 0.0

    @property
    def feasible(self) -> bool:
        """Valid and meeting every constraint."""
        return self.valid and not self.violations

    def to_dict(self) -> dict:
        return {**asdict(self), "feasible": self.feasible}


class PropertyOracle:
    """A trained property model as a design objective (see the module docstring for the score).

    Parameters
    ----------
    model : path or LoadedModel
        A folder written by :func:`serendip.chem.api.train` (``out=``), or one loaded.
    goal : {"maximize", "minimize"}, default "maximize"
    qed_min : float, optional
        Adds the ``qed_min`` constraint with this threshold (QED is in [0, 1]).
    constraints : sequence of str, default ()
        :data:`CONSTRAINTS` names (``no_pains``, ``no_brenk``, ``lipinski``).
    ad_min : float, default 0.4
        The applicability-domain threshold on max Tanimoto to the training set, in [0, 1].
    ad_penalty : str, default "zero"
        An :data:`AD_PENALTIES` name.
    range_margin : "rmse", float or None, default "rmse"
        How far beyond the training targets' range a prediction is trusted (:class:`PredictionRange`;
        module docstring, step 6); None: no range check.

    Raises
    ------
    ConfigError
        Unknown goal, constraint or penalty; ``qed_min`` or ``ad_min`` outside [0, 1]; a
        classification model folder (the objective is a regression target); a bad ``range_margin``.
    DataError
        An unreadable model folder; a model.json without what ``range_margin`` needs.
    """

    def __init__(self, model, *, goal: str = "maximize", qed_min: float | None = None,
                 constraints: Sequence[str] = (), ad_min: float = 0.4, ad_penalty: str = "zero",
                 range_margin: float | str | None = "rmse"):
        from serendip.chem.api import LoadedModel, load_model

        if goal not in ("maximize", "minimize"):
            raise ConfigError(f"goal must be one of: maximize, minimize; got: {goal!r}")
        for name, value in (("qed_min", qed_min), ("ad_min", ad_min)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1]; got: {value}")
        self.model = model if isinstance(model, LoadedModel) else load_model(model)
        self.folder = None if isinstance(model, LoadedModel) else str(model)
        if self.model.meta.get("task") != "regression":
            raise ConfigError(f"a property objective needs a regression model; {self.folder or 'this model'} "
                              f"is {self.model.meta.get('task')!r}")
        names = list(dict.fromkeys((["qed_min"] if qed_min is not None else []) + list(constraints)))
        if "qed_min" in names and qed_min is None:
            raise ConfigError("the qed_min constraint needs a threshold: give qed_min=")
        self.checks = [(n, CONSTRAINTS.get(n)) for n in names]
        self.goal, self.qed_min, self.ad_min = goal, qed_min, ad_min
        self.penalty_name, self.penalty = ad_penalty, AD_PENALTIES.get(ad_penalty)
        self.sign = 1.0 if goal == "maximize" else -1.0
        self.centre, self.scale = self._calibration()
        self.range = (None if range_margin is None else
                      PredictionRange.from_meta(self.model.meta, range_margin, self.folder or "the model"))
        self.target = self.model.meta.get("target", "property")
        self.name = f"{goal}_{self.target}"

    def _calibration(self) -> tuple[float, float]:
        """(centre, scale) of the logistic desirability from ``model.json``'s ``target_stats``."""
        stats = self.model.meta.get("target_stats")
        if not stats:
            raise DataError(f"{self.folder or 'the model'}: model.json has no target_stats (written by `serendip "
                            f"chem train` since the design objectives); train the model again")
        return self.sign * float(stats["median"]), max(float(stats["sd"]), 1e-6)

    def settings(self) -> dict:
        """The objective's definition (goal, constraints, thresholds, penalty, prediction range (None when
        off), calibration) as JSON."""
        return {"model": self.folder, "target": self.target, "goal": self.goal, "qed_min": self.qed_min,
                "constraints": [n for n, _ in self.checks], "ad_min": self.ad_min, "ad_penalty": self.penalty_name,
                "prediction_range": asdict(self.range) if self.range is not None else None,
                "desirability": {"kind": "logistic", "centre": self.centre, "scale": self.scale}}

    def evaluate(self, smiles: Sequence[str], values: Sequence[float] | None = None) -> list[Evaluation]:
        """Score each SMILES with every intermediate value (one model call for the batch).

        ``values`` (shape (n,), target units), when given, replace the model's prediction of each molecule
        (e.g. its measured or out-of-fold value; ``sd`` and the interval stay the model's).

        Returns
        -------
        list of Evaluation, one per input in order; an unparsable SMILES gives ``valid=False``, score 0.
        """
        out = [Evaluation(s) for s in smiles]
        mols = [parse(s) for s in smiles]
        ok = [i for i, m in enumerate(mols) if m is not None]
        if not ok:
            return out
        canon = [Chem.MolToSmiles(mols[i]) for i in ok]
        cols = self.model.predict(canon)
        if values is not None:
            if len(values) != len(smiles):
                raise ConfigError(f"{len(values)} values for {len(smiles)} molecules")
            cols["prediction"] = np.asarray([values[i] for i in ok], dtype=np.float64)
        for k, i in enumerate(ok):
            ev, mol = out[i], mols[i]
            ev.smiles, ev.valid = canon[k], True
            for key in ("prediction", "sd", "lower", "upper"):
                setattr(ev, key, float(cols[key][k]))
            ev.ad, ev.nearest = float(cols["ad_max_tanimoto"][k]), int(cols["nearest_train"][k])
            self._score(mol, ev)
        return out

    def _score(self, mol: Chem.Mol, ev: Evaluation) -> None:
        ev.qed = float(QED.qed(mol))
        ev.pains, ev.brenk = filters.alerts(mol, "PAINS"), filters.alerts(mol, "Brenk")
        ev.lipinski = filters.lipinski_violations(mol)
        ev.violations = [r for _, check in self.checks if (r := check(mol, ev, self)) is not None]
        if ev.ad < self.ad_min:
            ev.outside.append(f"AD {ev.ad:.3f} < {self.ad_min:g}")
        beyond = self.range.check(ev.prediction) if self.range is not None and math.isfinite(ev.prediction) else None
        if beyond:
            ev.outside.append(beyond)
        ev.in_domain = not ev.outside
        ev.objective = self.sign * ev.prediction
        if not math.isfinite(ev.objective):
            ev.violations.append("no finite prediction")
        z = (ev.objective - self.centre) / self.scale if math.isfinite(ev.objective) else -math.inf
        ev.desirability = float(1.0 / (1.0 + math.exp(-z))) if z > -700 else 0.0
        if not ev.feasible:
            ev.score = 0.0
        elif ev.in_domain:
            ev.score = ev.desirability
        elif beyond:                                 # an untrusted prediction: no penalty lifts it
            ev.score = 0.0
        else:
            ev.score = float(min(1.0, max(0.0, self.penalty(ev.desirability, ev.ad, self.ad_min))))

    def __call__(self, smiles: str) -> float:
        """The score of one SMILES in [0, 1] (0.0: invalid, infeasible, a prediction beyond the trusted range,
        or below the AD threshold under ``zero``)."""
        return self.evaluate([smiles])[0].score

    def score_training_set(self, value: str = "model") -> list[Evaluation]:
        """:meth:`evaluate` of every training molecule (their ``ad`` is 1.0): the bar a design must beat.

        ``value`` says what stands as each training molecule's prediction: ``"model"`` (the model's own,
        in-sample: near the measured value for a forest, so a high bar), ``"out_of_fold"`` (predicted by
        models fitted without it, as a design is: the like-for-like bar; :mod:`serendip.chem.crossval`)
        or ``"measured"`` (the measured value).

        Raises
        ------
        ConfigError
            Another ``value``.
        DataError
            ``out_of_fold`` or ``measured`` from a model folder without them (``out_of_fold``: trained
            without ``oof_folds``).
        """
        if value not in TRAINING_VALUES:
            raise ConfigError(f"value must be one of: {', '.join(TRAINING_VALUES)}; got: {value!r}")
        if value == "model":
            return self.evaluate(self.model.train_smiles)
        values = self.model.train_values()[value]
        if np.isnan(values).all():
            raise DataError(f"{self.folder or 'the model'}: no {value.replace('_', '-')} values of the training "
                            f"molecules (train with `--oof-folds 5`)")
        return self.evaluate(self.model.train_smiles, values)


def best(evaluations: Sequence[Evaluation]) -> Evaluation | None:
    """The feasible, in-domain evaluation of highest objective (None when there is none)."""
    ok = [e for e in evaluations if e.feasible and e.in_domain]
    return max(ok, key=lambda e: e.objective) if ok else None


def as_array(evaluations: Sequence[Evaluation], key: str) -> np.ndarray:
    """``key`` of each evaluation, shape (n,), float64."""
    return np.array([getattr(e, key) for e in evaluations], dtype=np.float64)
