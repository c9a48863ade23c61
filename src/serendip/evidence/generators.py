"""Answer generators for ``serendip ask``: a registry of backends that write an answer from passages.

Every backend gets the question and the **supplied passages** (numbered from 1, best first) and
returns a draft: either a list of :class:`Draft` sentences with the passage numbers each cites
(backends that build the answer themselves, such as ``extractive``), or reply text in which
citations are written ``[n]`` (generative backends: ``local``, ``openai``), which
:func:`serendip.evidence.citations.parse_reply` turns into drafts. No backend is trusted: the caller
(:func:`serendip.evidence.answer.ask`) checks every citation in code and every sentence against what it
cites.

A backend is registered as a :class:`GeneratorSpec` in :data:`GENERATORS`; its ``load(options)``
returns an object with ``generate(question, passages) -> list[Draft] | str``. A backend that needs an
optional package or a server raises :class:`~serendip.errors.ConfigError` (one line, naming what to
install or start) from ``load``, never at import.

``extractive`` (the default; no generative model): the first ``max_sentences`` supplied passages
(:func:`serendip.evidence.answer.ask` supplies them in maximal-marginal-relevance order: Carbonell &
Goldstein 1998, "The use of MMR, diversity-based reranking for reordering documents and producing
summaries", SIGIR), each quoted verbatim and citing itself.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from serendip.errors import ConfigError
from serendip.registry import Registry

#: what a generative backend is told to write when the passages do not answer the question
NO_EVIDENCE = "NO EVIDENCE"


@dataclass(frozen=True)
class SuppliedPassage:
    """A passage given to a generator.

    Attributes
    ----------
    number : int
        Its citation number, from 1 (written ``[number]``).
    record_id : int
        The workspace record it comes from; ``pmid`` its PMID (None when the record has none).
    field : str
        ``"title"`` or ``"abstract"``; ``start``/``end`` character offsets (code points) into that
        stored field, ``text`` the passage (``stored[start:end]``).
    relevance : float
        Cosine similarity of the question's and the passage's embeddings, in [-1, 1].
    """

    number: int
    record_id: int
    pmid: str | None
    field: str
    start: int
    end: int
    text: str
    relevance: float

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "record_id": self.record_id, "pmid": self.pmid, "field": self.field,
                "start": self.start, "end": self.end, "text": self.text, "relevance": round(self.relevance, 4)}


@dataclass
class Draft:
    """One sentence of a draft answer: its text and the passage numbers it cites (as written:
    numbers that were not supplied are kept here, to be caught by the check)."""

    text: str
    cites: list[int] = field(default_factory=list)


class Generator(Protocol):
    def generate(self, question: str, passages: Sequence[SuppliedPassage]) -> list[Draft] | str: ...


@dataclass(frozen=True)
class GeneratorSpec:
    """A registered backend.

    Attributes
    ----------
    name : str
    load : callable
        ``load(options: Mapping[str, Any]) -> Generator``; raises :class:`ConfigError` when an
        option is unknown or what the backend needs is missing.
    description : str
        One line for ``--help``.
    options : tuple of str
        The option names ``load`` accepts (``--option NAME=VALUE`` on the command line).
    """

    name: str
    load: Callable[[Mapping[str, Any]], Generator]
    description: str = ""
    options: tuple[str, ...] = ()


#: name -> :class:`GeneratorSpec`
GENERATORS: Registry[GeneratorSpec] = Registry("answer backend")


def check_options(spec: GeneratorSpec, options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming an option ``spec`` does not take, and the ones it does."""
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        takes = ", ".join(spec.options) or "none"
        raise ConfigError(f"answer backend {spec.name!r} takes no option {', '.join(unknown)} (it takes: {takes})")


def load_generator(name: str, options: Mapping[str, Any] | None = None) -> Generator:
    """The backend ``name`` loaded with ``options``; :class:`ConfigError` for an unknown name (listing
    the registered ones) or option."""
    spec = GENERATORS.get(name)
    check_options(spec, options or {})
    return spec.load(dict(options or {}))


class ExtractiveGenerator:
    """Quote the first ``max_sentences`` supplied passages, each citing itself.

    Parameters
    ----------
    max_sentences : int, default 5
        At most this many sentences (>= 1).
    """

    def __init__(self, max_sentences: int = 5):
        if int(max_sentences) < 1:
            raise ConfigError(f"max_sentences must be at least 1, got {max_sentences}")
        self.max_sentences = int(max_sentences)

    def generate(self, question: str, passages: Sequence[SuppliedPassage]) -> list[Draft]:
        return [Draft(p.text, [p.number]) for p in list(passages)[:self.max_sentences]]


def _load_extractive(options: Mapping[str, Any]) -> ExtractiveGenerator:
    raw = options.get("max_sentences", 5)
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"max_sentences must be a whole number, got {raw!r}") from None
    return ExtractiveGenerator(value)


GENERATORS.register("extractive")(GeneratorSpec(
    "extractive", _load_extractive, "evidence sentences quoted verbatim, chosen by relevance with MMR "
    "(no generative model)", ("max_sentences",)))
