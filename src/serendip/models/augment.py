"""Data augmentation of the training split, with a leakage filter and counts.

An augmentation is a class registered in :data:`~serendip.models.registries.AUGMENTATIONS`; it is
built with its parameters and called on the *original* training examples::

    @AUGMENTATIONS.register("reverse_complement")
    class ReverseComplement:
        name = "reverse_complement"
        def __init__(self, p: float = 1.0): ...
        def apply(self, examples: list[Example], rng: numpy.random.Generator) -> list[Example]:
            ...  # NEW examples only; the originals are kept by the caller

An augmentation that also defines a deterministic ``view(text: str) -> str`` (reverse complement does;
random substitution does not) can be used for test-time averaging: :func:`build_views` turns the
config entries marked ``test_time`` into those functions, and
:func:`serendip.models.train.model_outputs` averages the outputs over the original and each view.

Each augmentation gets its own ``numpy.random.Generator``, spawned from ``seed`` with
:class:`numpy.random.SeedSequence` in list order, so results are reproducible and adding an
augmentation at the end of the list does not change what the earlier ones produce. Augmentations
all see the original examples (they are not chained).

The engine registers no augmentation: the useful ones are domain-specific (reverse complement for
DNA, ``randomized_smiles`` for molecules) and live in those packages (:mod:`serendip.genomics.augment`,
:mod:`serendip.chem.augment`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from serendip.errors import ConfigError
from serendip.models.example import Example
from serendip.models.registries import AUGMENTATIONS

__all__ = ["AugmentCount", "AugmentReport", "apply_augmentations", "as_generator", "build_augmentation",
           "build_views", "test_time_specs", "view_failures"]


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` itself, or a new ``numpy.random.default_rng(rng)`` for an int seed or None: what an
    augmentation's ``apply(examples, rng)`` accepts when called outside the engine. Raises ConfigError
    for anything else."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise ConfigError(f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}")


@dataclass
class AugmentCount:
    """What one augmentation did: examples ``generated``, ``kept``, and dropped because the text
    equals a dev/test text (``dropped_eval_duplicate``) or is empty (``dropped_empty``); ``details``:
    the augmentation's own counts (its ``last_counts`` dict after ``apply``, e.g. variants that failed
    a check inside the augmentation), empty when it keeps none."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    generated: int = 0
    kept: int = 0
    dropped_eval_duplicate: int = 0
    dropped_empty: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class AugmentReport:
    """Per-augmentation counts; ``n_original`` and ``n_after`` training examples; ``seed``."""

    seed: int
    n_original: int
    n_after: int = 0
    augmentations: list[AugmentCount] = field(default_factory=list)

    @property
    def added(self) -> int:
        return self.n_after - self.n_original

    @property
    def dropped_eval_duplicate(self) -> int:
        return sum(a.dropped_eval_duplicate for a in self.augmentations)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["added"] = self.added
        return data


def _spec(entry: Mapping[str, Any] | str, position: int) -> tuple[str, dict[str, Any]]:
    """``(name, params)`` from ``"name"``, ``{"name": ..., "params": {...}}`` or a pydantic model."""
    if isinstance(entry, str):
        return entry, {}
    if hasattr(entry, "model_dump"):
        entry = entry.model_dump()
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise ConfigError(f"augmentations[{position}]: expected {{name, params}}; got {entry!r}")
    extra = set(entry) - {"name", "params", "train", "test_time"}
    if extra:
        raise ConfigError(f"augmentations[{position}]: unknown key {min(extra)!r} "
                          f"(put options under 'params')")
    params = entry.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"augmentations[{position}].params must be a table; got {params!r}")
    return str(entry["name"]), dict(params)


def build_augmentation(name: str, params: Mapping[str, Any] | None = None) -> Any:
    """An augmentation instance from its registered name and parameters.

    Raises
    ------
    ConfigError
        Unknown name (lists the registered ones) or a parameter the augmentation does not take.
    """
    cls = AUGMENTATIONS.get(name)
    try:
        aug = cls(**dict(params or {}))
    except TypeError as exc:
        raise ConfigError(f"augmentation {name!r}: {exc}") from None
    if not callable(getattr(aug, "apply", None)):
        raise ConfigError(f"augmentation {name!r} has no apply(examples, rng) method")
    return aug


def apply_augmentations(train: Sequence[Example], names_with_params: Sequence[Mapping[str, Any] | str],
                        eval_sets: Sequence[Sequence[Example]] = (), seed: int = 0
                        ) -> tuple[list[Example], AugmentReport]:
    """Augment the training examples; never touches dev or test.

    Parameters
    ----------
    train : sequence of Example
        The training split (unchanged; the result is a new list).
    names_with_params : sequence of dict or str
        ``[{"name": "reverse_complement", "params": {"p": 0.5}}, ...]`` (or bare names), applied in
        order, each to the original training examples; entries with ``"train": False`` (test-time
        only) are skipped.
    eval_sets : sequence of sequences of Example
        Dev and test splits. An augmented example whose ``text`` equals the text of any of their
        examples is dropped (it would leak an evaluation input into training) and counted.
    seed : int
        Seeds one ``numpy.random.Generator`` per augmentation (``SeedSequence(seed).spawn``).

    Returns
    -------
    (augmented_train, report) : list of Example, AugmentReport
        The originals followed by the kept augmented examples. Each augmented example gets
        ``meta["augmentation"]`` (the name); an augmentation should set ``meta["augmented_from"]``
        to the original's id itself.

    Raises
    ------
    ConfigError
        Unknown augmentation or parameter; an augmentation that returns something other than a list
        of new :class:`Example` (returning an original object is refused).
    """
    originals = list(train)
    report = AugmentReport(seed=seed, n_original=len(originals))
    specs = [_spec(entry, i) for i, entry in enumerate(names_with_params)
             if isinstance(entry, str) or _entry(entry).get("train", True)]
    augs = [(name, params, build_augmentation(name, params)) for name, params in specs]
    eval_texts = {ex.text for exs in eval_sets for ex in exs}
    original_ids = {id(ex) for ex in originals}
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(augs))]
    added: list[Example] = []
    for (name, params, aug), rng in zip(augs, rngs):
        count = AugmentCount(name=name, params=params)
        produced = aug.apply(list(originals), rng)
        if not isinstance(produced, (list, tuple)):
            raise ConfigError(f"augmentation {name!r} returned {type(produced).__name__}, not a list "
                              f"of Example")
        for new in produced:
            if not isinstance(new, Example):
                raise ConfigError(f"augmentation {name!r} returned a {type(new).__name__}, not an "
                                  f"Example")
            if id(new) in original_ids:
                raise ConfigError(f"augmentation {name!r} returned an original example (id "
                                  f"{new.id!r}); it must return new examples only")
            count.generated += 1
            if not isinstance(new.text, str) or not new.text.strip():
                count.dropped_empty += 1
                continue
            if new.text in eval_texts:
                count.dropped_eval_duplicate += 1
                continue
            new.meta = {**(new.meta or {}), "augmentation": name}
            added.append(new)
            count.kept += 1
        own = getattr(aug, "last_counts", None)
        if isinstance(own, Mapping):
            count.details = dict(own)
        report.augmentations.append(count)
    result = originals + added
    report.n_after = len(result)
    return result, report


def _entry(entry: Any) -> dict[str, Any]:
    return entry.model_dump() if hasattr(entry, "model_dump") else dict(entry)


def test_time_specs(entries: Sequence[Any]) -> list[dict[str, Any]]:
    """``{name, params}`` of the config entries marked ``test_time``."""
    return [{"name": e["name"], "params": e.get("params") or {}}
            for e in map(_entry, entries) if e.get("test_time", False)]


def build_views(specs: Sequence[Mapping[str, Any]]) -> tuple[Callable[[str], str], ...]:
    """The test-time views (functions text -> text) of ``[{name, params}, ...]``.

    Raises
    ------
    ConfigError
        An unknown augmentation, or one without a deterministic ``view(text)`` method (a random
        augmentation cannot be averaged over reproducibly).
    """
    views = []
    for i, spec in enumerate(specs):
        name, params = _spec(spec, i)
        aug = build_augmentation(name, params)
        view = getattr(aug, "view", None)
        if not callable(view):
            raise ConfigError(f"augmentation {name!r} has no deterministic view(text) method, so it "
                              f"cannot be used with test_time = true")
        views.append(view)
    return tuple(views)


def view_failures(examples: Sequence[Example], views: Sequence[Callable[[str], str]]
                  ) -> list[tuple[int, str]]:
    """``(index, message)`` of every example whose ``text`` a view cannot transform (e.g. a character
    that has no reverse complement); the message names the example (id, else source). Empty when all
    pass or there are no views."""
    from serendip.errors import DataError
    from serendip.models.tasks import example_name

    failed = []
    for i, ex in enumerate(examples):
        for view in views:
            try:
                view(ex.text)
            except DataError as exc:
                failed.append((i, f"example {example_name(ex)}: {exc}"))
                break
    return failed
