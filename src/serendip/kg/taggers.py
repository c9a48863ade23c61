"""Entity taggers for ``kg build``, looked up by name in :data:`TAGGERS`, and the annotated documents
and normaliser they are fitted on.

A tagger (:class:`Tagger`) turns texts into entity spans ``(start, end, type)`` (character offsets into
each text, disjoint, in order). Entries of :data:`TAGGERS` are factories
``factory(training, run_dir=None, **options) -> Tagger``:

* ``dictionary``: the longest-match lexicon of the training mentions
  (:class:`~serendip.kg.ner_eval.DictionaryTagger`, the NER baseline of ``benchmarks/kg_bc5cdr.py``);
* ``model``: a fine-tuned ``token`` run of the engine (``run_dir``), tagging sliding windows of words as
  ``benchmarks/kg_bc5cdr.py`` does (:func:`tag_documents`), each window narrowed until its word pieces
  fit the run's ``max_length`` so no word is cut off (:func:`fitted_window`);
* ``model+dictionary`` / ``dictionary+model``: both of them, the first named leading (:class:`UnionTagger`:
  its spans, then each span of the other that overlaps none of them, :func:`union_spans`).

Both taggers then give each short form a text defines the type of its tagged long form
(:func:`~serendip.kg.abbreviations.propagate_short_forms`: "nitric oxide (NO)" tagged Chemical makes
each later "NO" Chemical); ``short_forms=False`` leaves the spans as tagged. ``tag_records`` does so
over a record's title and abstract together (a short form defined in the title applies in the abstract
too; :func:`~serendip.kg.abbreviations.propagate_record_short_forms`), as ``kg build`` tags records.

Training documents (:func:`training_documents`): by default the BC5CDR training and development
PubTator files of the ``bc5cdr`` dataset (:func:`serendip.datasets.resolve`: the data mirror, then the
cache); never the test file. The normaliser (:func:`load_normaliser`) is fitted on the same documents
and cached as plain JSON in the workspace (``models/kg/normaliser-<key>.json``, the key a digest of the
training files' bytes).
"""
from __future__ import annotations

import bisect
import contextlib
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from serendip.errors import ConfigError, WorkspaceError
from serendip.kg.abbreviations import propagate_record_short_forms
from serendip.kg.ner_data import (
    DEFAULT_OVERLAP,
    DEFAULT_WINDOW,
    document_examples,
    merge_window_tags,
    tokenize,
    window_bounds,
)
from serendip.kg.normalise import Normaliser
from serendip.kg.pubtator import Document, read_pubtator
from serendip.registry import Registry

__all__ = ["BC5CDR_TRAINING", "TAGGERS", "DictionaryTextTagger", "ModelTagger", "Tagger", "fitted_window",
           "UnionTagger", "load_normaliser", "make_tagger", "tag_documents", "training_documents", "union_spans"]

#: The BC5CDR files the default lexicon and normaliser are fitted on (train + dev; never test)
BC5CDR_TRAINING = ("bc5cdr/CDR_TrainingSet.PubTator.txt.gz", "bc5cdr/CDR_DevelopmentSet.PubTator.txt.gz")
#: ``factory(training, run_dir=None, **options) -> Tagger``
TAGGERS: Registry[Callable[..., Any]] = Registry("kg tagger")

#: A character span with its entity type: (start, end, type), end exclusive
Span = tuple[int, int, str]


class Tagger(Protocol):
    """What ``kg build`` needs of a tagger: ``name`` (recorded with the build: ``"dictionary"`` or
    ``"model:<run folder>"``), ``tag(texts)`` -> one list of disjoint, ordered spans per text, and
    ``tag_records(records)`` -> the same per part of each record (its title and abstract), short forms
    defined in one part applied to all parts of that record."""

    name: str

    def tag(self, texts: Sequence[str]) -> list[list[Span]]: ...

    def tag_records(self, records: Sequence[Sequence[str]]) -> list[list[list[Span]]]: ...


class _ShortFormTagger:
    """What both taggers share: spans of :meth:`_spans` (the tagger's own), then (``short_forms``) each
    short form defined in a text, or in any part of a record, given its tagged long form's type."""

    short_forms: bool

    def _spans(self, texts: Sequence[str]) -> list[list[Span]]:
        raise NotImplementedError

    def tag(self, texts: Sequence[str]) -> list[list[Span]]:
        """Per text, its disjoint spans ``(start, end, type)`` in order (character offsets into it)."""
        return [parts[0] for parts in self.tag_records([[t] for t in texts])]

    def tag_records(self, records: Sequence[Sequence[str]]) -> list[list[list[Span]]]:
        """Per record (a sequence of parts, e.g. ``(title, abstract)``), per part its spans as :meth:`tag`
        gives them, offsets into that part; a short form defined in one part of a record is given its long
        form's type in every part of it (:func:`~serendip.kg.abbreviations.propagate_record_short_forms`)."""
        flat = self._spans([t for parts in records for t in parts])
        out, i = [], 0
        for parts in records:
            spans, i = flat[i:i + len(parts)], i + len(parts)
            out.append(propagate_record_short_forms(parts, spans) if self.short_forms else spans)
        return out


def training_documents(paths: Sequence[str | Path] | None = None) -> tuple[list[Document], list[Path]]:
    """The annotated documents taggers and the normaliser are fitted on, and their files.

    ``paths``: PubTator files (``.gz`` read compressed); None: :data:`BC5CDR_TRAINING` of the ``bc5cdr``
    dataset. Raises ParseError (a bad line, with file and line), DatasetNotFound or DataError (a dataset
    file missing or changed) and ConfigError (no file given, or a given one missing or a folder).
    """
    if paths is None:
        from serendip import datasets

        files = datasets.resolve("bc5cdr")
        paths = [files[rel] for rel in BC5CDR_TRAINING]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ConfigError("no training PubTator file given for the kg tagger and normaliser")
    for p in paths:
        if not p.is_file():
            raise ConfigError(f"training PubTator file {p} " + ("is a folder" if p.is_dir() else "does not exist")
                              + ": give a PubTator file (--training) or leave it out for BC5CDR train + dev")
    return [doc for p in paths for doc in read_pubtator(p)], paths


def load_normaliser(folder: str | Path, docs: Sequence[Document], paths: Sequence[Path]) -> tuple[Normaliser, str]:
    """The :class:`~serendip.kg.normalise.Normaliser` (its tuned defaults) fitted on ``docs``, read from
    ``folder/normaliser-<key>.json`` when saved there before, else fitted and saved there; and the file
    name. ``key``: the first 16 hex digits of SHA-256 over the bytes of ``paths`` (the files ``docs``
    came from) and the normaliser's settings. Raises WorkspaceError (naming the file) when it cannot be
    written there."""
    from serendip.core.files import sha256_file

    norm = Normaliser()
    digest = hashlib.sha256()
    for p in paths:
        digest.update(sha256_file(p).encode())
    digest.update(repr(sorted(norm.to_dict()["settings"].items())).encode())
    folder = Path(folder)
    path = folder / f"normaliser-{digest.hexdigest()[:16]}.json"
    if path.is_file():
        return Normaliser.load(path), path.name
    norm.fit(docs)
    tmp = path.with_name(path.name + ".tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        norm.save(tmp)
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"cannot write the fitted normaliser to {path}: {(exc.strerror or str(exc)).lower()}"
                             f" (is the workspace folder writable?)") from None
    return norm, path.name


class DictionaryTextTagger(_ShortFormTagger):
    """The ``dictionary`` tagger: :class:`~serendip.kg.ner_eval.DictionaryTagger` over each text, then
    (``short_forms``, the default) each short form defined in the text given its tagged long form's type
    (:func:`~serendip.kg.abbreviations.propagate_short_forms`)."""

    name = "dictionary"

    def __init__(self, training: Sequence[Document], *, short_forms: bool = True):
        from serendip.kg.ner_eval import DictionaryTagger

        self.lexicon = DictionaryTagger(training)
        self.short_forms = short_forms

    def _spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return [self.lexicon.tag(t) for t in texts]


@TAGGERS.register("dictionary")
def _dictionary(training: Sequence[Document], run_dir: str | Path | None = None, **_options) -> DictionaryTextTagger:
    """longest match on the lexicon of the training mentions (BC5CDR train + dev by default)"""
    return DictionaryTextTagger(training)


def fitted_window(piece_counts: Sequence[int], budget: int, window: int = DEFAULT_WINDOW,
                  overlap: int = DEFAULT_OVERLAP) -> tuple[int, int]:
    """The widest ``(window, overlap)`` (``window`` halved from the given one, ``overlap`` at most a
    quarter of it) whose windows (:func:`~serendip.kg.ner_data.window_bounds`) each hold at most
    ``budget`` word pieces; ``piece_counts[i]`` is word i's. Stops at one word per window (a single word
    longer than ``budget`` keeps its first pieces, which carry its tag)."""
    import itertools

    cumulative = [0, *itertools.accumulate(piece_counts)]
    w, ov = window, overlap
    while w > 1 and any(cumulative[b] - cumulative[a] > budget for a, b in window_bounds(len(piece_counts), w, ov)):
        w = max(1, w // 2)
        ov = min(ov, w // 4)
    return w, ov


def tag_documents(bundle: Any, docs: Sequence[Document], *, window: int = DEFAULT_WINDOW,
                  overlap: int = DEFAULT_OVERLAP, batch_size: int = 32, fit: bool = True) -> tuple[dict[str, list[Span]], int]:
    """Document spans ``{pmid: [(start, end, type)]}`` tagged by a loaded ``token`` run (``bundle``:
    :func:`serendip.models.predict.load_run_model`) over unlabelled windows of each document's words
    (:func:`~serendip.kg.ner_data.document_examples`), merged back to character spans
    (:func:`~serendip.kg.ner_data.merge_window_tags`); and the number of windows longer than the run's
    ``max_length`` word pieces (their last words lost to truncation; with ``fit`` the windows of such a
    document are narrowed by :func:`fitted_window` first, so this counts only single words longer than
    that). Documents without words get no entry."""
    from serendip.models.predict import predict_examples

    tok = bundle.tokenizer
    budget = bundle.max_length - tok.num_special_tokens_to_add(pair=False)
    examples = []
    for doc in docs:
        w, ov = window, overlap
        if fit:
            words = [t.text for t in tokenize(doc.text)]
            if words:
                ids = tok(words, is_split_into_words=True, add_special_tokens=False).word_ids()
                counts = [0] * len(words)
                for i in ids:
                    counts[i] += 1
                w, ov = fitted_window(counts, budget, window, overlap)
        examples.extend(document_examples(doc, window=w, overlap=ov, labelled=False, source="tagger")[0])
    if not examples:
        return {}, 0
    enc = tok([ex.meta["tokens"] for ex in examples], is_split_into_words=True)
    truncated = sum(len(ids) > bundle.max_length for ids in enc["input_ids"])
    preds = predict_examples(bundle, examples, batch_size=batch_size)
    return merge_window_tags(examples, preds.labels), truncated


class ModelTagger(_ShortFormTagger):
    """The ``model`` tagger: a fine-tuned ``token`` run (IOB2 tags) over windows of each text's words
    (:func:`tag_documents` with ``fit``), then (``short_forms``, the default) each short form defined in
    the text given its tagged long form's type (:func:`~serendip.kg.abbreviations.propagate_short_forms`).
    ``truncated`` counts the windows still over the run's ``max_length`` (single words longer than it)."""

    def __init__(self, run_dir: str | Path, *, window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP,
                 batch_size: int = 32, device: str | None = None, short_forms: bool = True):
        from serendip.models.predict import load_run_model

        self.run_dir = Path(run_dir).resolve()
        self.name = f"model:{self.run_dir}"
        self.bundle = load_run_model(self.run_dir, device=device)
        if self.bundle.task.name != "token":
            raise ConfigError(f"run {self.run_dir} is a {self.bundle.task.name!r} run; the kg model tagger needs "
                              f"a fine-tuned 'token' run (e.g. trained by benchmarks/kg_bc5cdr.py)")
        self.window, self.overlap, self.batch_size = window, overlap, batch_size
        self.short_forms = short_forms
        self.truncated = 0

    def _spans(self, texts: Sequence[str]) -> list[list[Span]]:
        from serendip.core.fold import fold

        folded = [fold(t) for t in texts]  # the model reads the NFKC view: ＰＤ as PD, ﬁ as fi
        docs = [Document(pmid=str(i), title=f.text) for i, f in enumerate(folded)]
        spans, truncated = tag_documents(self.bundle, docs, window=self.window, overlap=self.overlap,
                                         batch_size=self.batch_size)
        self.truncated += truncated
        return [[_unfolded(f, span) for span in spans.get(str(i), [])] for i, f in enumerate(folded)]


def _unfolded(folded: Any, span: Span) -> Span:
    """A span of the folded view as a span of the original text: the original characters (clusters)
    its first and last folded characters came from, so a span ending inside one cluster's folded form
    (``1`` of ``½``) takes the whole cluster rather than being lost."""
    start, end, kind = span
    if folded.identity:
        return span
    return folded.starts[start], folded.ends[end - 1], kind


@TAGGERS.register("model")
def _model(training: Sequence[Document], run_dir: str | Path | None = None, **options) -> ModelTagger:
    """a fine-tuned token run of the engine, given as its folder (--tagger RUN_DIR)"""
    if run_dir is None:
        raise ConfigError("the model tagger needs a fine-tuned token run folder: --tagger RUN_DIR")
    return ModelTagger(run_dir, **options)


def union_spans(first: Sequence[Span], second: Sequence[Span]) -> list[Span]:
    """``first``'s spans, then each span of ``second`` that overlaps none of them (a shared character is
    an overlap), in text order. Both inputs disjoint (as taggers give them); so is the result. Spans
    ``(start, end, type)``, character offsets, end exclusive."""
    kept = sorted(first)
    starts = [span[0] for span in kept]
    added = []
    for span in second:
        i = bisect.bisect_right(starts, span[0])
        if (i and kept[i - 1][1] > span[0]) or (i < len(kept) and kept[i][0] < span[1]):
            continue
        added.append(span)
    return sorted(kept + added)


class UnionTagger(_ShortFormTagger):
    """Two taggers as one: per text the spans of ``first``, then each span of ``second`` overlapping none of
    them (:func:`union_spans`), then (``short_forms``) each defined short form given its long form's type.
    The ``model+dictionary`` tagger (a fine-tuned run leading, the lexicon adding what it missed) and
    ``dictionary+model``; ``benchmarks/kg_bc5cdr.py`` chooses between them and each alone on the
    development abstracts."""

    def __init__(self, first: _ShortFormTagger, second: _ShortFormTagger, *, short_forms: bool = True):
        self.first, self.second, self.short_forms = first, second, short_forms
        runs = [str(t.run_dir) for t in (first, second) if isinstance(t, ModelTagger)]
        self.name = "+".join(t.name.split(":", 1)[0] for t in (first, second)) + "".join(f":{r}" for r in runs)

    @property
    def truncated(self) -> int:
        return sum(getattr(t, "truncated", 0) for t in (self.first, self.second))

    def _spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return [union_spans(a, b) for a, b in zip(self.first._spans(texts), self.second._spans(texts))]


@TAGGERS.register("model+dictionary")
def _model_dictionary(training: Sequence[Document], run_dir: str | Path | None = None, **options) -> UnionTagger:
    """a fine-tuned token run, then the lexicon's spans it overlaps none of (--tagger model+dictionary:RUN_DIR)"""
    if run_dir is None:
        raise ConfigError("the model+dictionary tagger needs a fine-tuned token run folder: "
                          "--tagger model+dictionary:RUN_DIR")
    return UnionTagger(ModelTagger(run_dir, **options), DictionaryTextTagger(training))


@TAGGERS.register("dictionary+model")
def _dictionary_model(training: Sequence[Document], run_dir: str | Path | None = None, **options) -> UnionTagger:
    """the lexicon, then a fine-tuned run's spans it overlaps none of (--tagger dictionary+model:RUN_DIR)"""
    if run_dir is None:
        raise ConfigError("the dictionary+model tagger needs a fine-tuned token run folder: "
                          "--tagger dictionary+model:RUN_DIR")
    return UnionTagger(DictionaryTextTagger(training), ModelTagger(run_dir, **options))


def make_tagger(spec: str, training: Sequence[Document], **options) -> Tagger:
    """The tagger ``spec`` names: ``"dictionary"``; a run folder (``"model:PATH"`` or a plain path to a
    folder) for the ``model`` tagger; or ``"model+dictionary:PATH"`` / ``"dictionary+model:PATH"`` for
    their union (:class:`UnionTagger`). ``options`` go to the model tagger (``window``, ``overlap``, ``batch_size``, ``device``).

    Raises
    ------
    ConfigError
        Neither a registered tagger nor a folder (the message lists the registered names).
    RunNotFound, DataError
        The folder is not a complete run (see :func:`serendip.models.predict.load_run_model`).
    """
    name, colon, run_dir = spec.partition(":")
    if colon and name in TAGGERS and name != "dictionary":
        if not run_dir.strip():
            raise ConfigError(f"kg tagger {spec!r}: no run folder after the colon (--tagger {name}:RUN_DIR)")
        return TAGGERS.get(name)(training, run_dir=Path(run_dir).expanduser(), **options)
    if not spec.strip():
        raise ConfigError("kg tagger '': give dictionary, a fine-tuned token run folder, or model+dictionary:RUN_DIR")
    if spec in TAGGERS:  # "model" alone: the model factory says a run folder is needed
        return TAGGERS.get(spec)(training)
    if Path(spec).is_dir():
        return TAGGERS.get("model")(training, run_dir=spec, **options)
    names = ", ".join(n for n in TAGGERS.keys() if n != "model")
    raise ConfigError(f"unknown kg tagger {spec!r}: give dictionary, a fine-tuned token run folder (or "
                      f"model:RUN_DIR), or a union of both as model+dictionary:RUN_DIR or dictionary+model:RUN_DIR "
                      f"(registered: {names})")
