"""Domain plugins: the packages that register readers, augmentations, tokenizers and tasks.

The engine knows no domain (see DESIGN.md): ``serendip.genomics`` registers the ``fasta`` reader and
the DNA augmentations when it is imported, ``serendip.evidence`` its reranker (into retrieval's
registry), ``serendip.kg`` its NER reader, ``serendip.screening`` its models, query strategies and
stopping rules (its own registries), ``serendip.chem`` its ``smiles`` reader, tokenizer and corpus kind and
the ``randomized_smiles`` augmentation.
:func:`load_domains` imports every known domain package that is installed, once, so a config naming
``format = "fasta"`` or ``reverse_complement`` finds its entry without the engine naming genomics in
its logic. Third-party domains register through the entry-point group ``serendip.domains`` (each
entry point names a module to import).

A domain that is present but fails to import (a missing optional dependency) is recorded in
:data:`DOMAIN_ERRORS`, not raised: only a run that needs that domain fails, with the registry's
"unknown ... expected one of" message, which then names the domain and why it failed to import
(:func:`serendip.registry.add_failure_source`).
"""
from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping

from serendip.registry import add_failure_source

__all__ = ["DOMAIN_ERRORS", "KNOWN_DOMAINS", "domain_errors", "load_domains"]

#: Domain packages imported by :func:`load_domains` when installed (a list of names, not code paths).
KNOWN_DOMAINS: tuple[str, ...] = ("serendip.genomics", "serendip.chem", "serendip.kg", "serendip.evidence",
                                   "serendip.screening")
#: Entry-point group of third-party domain modules.
ENTRY_POINT_GROUP = "serendip.domains"
#: Module name -> why it could not be imported (``"ImportError: No module named 'rdkit'"``).
DOMAIN_ERRORS: dict[str, str] = {}

_loaded: list[str] | None = None


def domain_errors() -> Mapping[str, str]:
    """The current :data:`DOMAIN_ERRORS` (read by every registry's unknown-name message)."""
    return DOMAIN_ERRORS


add_failure_source(domain_errors)


def _candidates() -> list[str]:
    names = list(KNOWN_DOMAINS)
    try:
        from importlib.metadata import entry_points

        names += [ep.value.split(":", 1)[0] for ep in entry_points(group=ENTRY_POINT_GROUP)]
    except Exception as exc:  # pragma: no cover - broken metadata must not stop training
        DOMAIN_ERRORS[f"entry points {ENTRY_POINT_GROUP!r}"] = f"{type(exc).__name__}: {exc}"
    return list(dict.fromkeys(names))


def load_domains(*, reload: bool = False) -> list[str]:
    """Import the installed domain packages (once per process) so their registrations happen.

    Parameters
    ----------
    reload : bool, default False
        Try again (e.g. after installing a package); modules already imported are not re-executed.

    Returns
    -------
    list of str
        The domain modules that are imported. Failures are in :data:`DOMAIN_ERRORS`.
    """
    global _loaded
    if _loaded is not None and not reload:
        return list(_loaded)
    loaded: list[str] = []
    for name in _candidates():
        try:
            if importlib.util.find_spec(name) is None:
                continue
        except (ImportError, ValueError):
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # a domain with a missing dependency must not break the others
            DOMAIN_ERRORS[name] = f"{type(exc).__name__}: {exc}"
            continue
        DOMAIN_ERRORS.pop(name, None)
        loaded.append(name)
    _loaded = loaded
    return list(loaded)
