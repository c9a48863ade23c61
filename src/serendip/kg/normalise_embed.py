"""Embedding match for mentions the lexicon and the fuzzy match leave unresolved (normalisation step 4).

A mention whose normal form is not in the lexicon and is not close to a lexicon form in characters may
still name a concept the lexicon holds under other words: "hepatic injury" for "liver injury",
"nonfatal myocardial infarction" for "myocardial infarction". :class:`EmbeddingMatcher` encodes every
lexicon form of a type and each such mention with a sentence encoder (the bundled all-MiniLM-L6-v2 by
default, :func:`serendip.retrieval.embedding_model.load_model`; vectors L2-normalised) and takes the
lexicon form of the highest cosine similarity when it reaches the type's threshold. This is the
"embedding match with a threshold chosen on dev" of issue 16, the dense-retrieval normalisation of
Sung et al. ("Biomedical Entity Representations with Synonym Marginalization", BioSyn, ACL 2020)
without its training: the encoder is used as it is, the threshold is chosen on development data by
``benchmarks/kg_normalise.py``.

It cannot resolve a concept the lexicon lacks (a drug never annotated in the training abstracts): the
lexicon is the limit, as it is for the fuzzy match.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["EmbeddingMatcher"]


class EmbeddingMatcher:
    """Nearest lexicon form of a type by cosine similarity of sentence embeddings.

    Parameters
    ----------
    thresholds : dict
        ``{type: lowest cosine similarity accepted}`` in [-1, 1]; a type missing from it is not matched.
    model : str, default "sentence-transformers/all-MiniLM-L6-v2"
        A local sentence-transformers folder or the bundled model's name (no hub download).
    batch_size : int, default 256

    Raises
    ------
    ValueError
        A threshold outside [-1, 1].
    """

    def __init__(self, thresholds: dict[str, float], model: str = "sentence-transformers/all-MiniLM-L6-v2",
                 batch_size: int = 256):
        if any(not -1.0 <= float(v) <= 1.0 for v in thresholds.values()):
            raise ValueError(f"an embedding threshold must be within [-1, 1], got {thresholds!r}")
        self.thresholds = {t: float(v) for t, v in thresholds.items()}
        self.model, self.batch_size = model, batch_size
        self._index: dict[str, tuple[tuple[str, ...], Any]] = {}

    def _encode(self, texts: Sequence[str]) -> Any:
        from serendip.retrieval.embedding_model import load_model

        return load_model(self.model).encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)

    def _forms(self, forms: Sequence[str], type: str) -> tuple[tuple[str, ...], Any]:
        """The encoded forms of ``type``, encoded again when the lexicon's forms changed."""
        key = tuple(forms)
        cached = self._index.get(type)
        if cached is None or cached[0] != key:
            cached = (key, self._encode(key))
            self._index[type] = cached
        return cached

    def best(self, texts: Sequence[str], forms: Sequence[str], type: str) -> list[tuple[str, float] | None]:
        """For each of ``texts``: ``(nearest form of forms, cosine similarity)``, None when ``forms`` is
        empty; threshold not applied (see :meth:`accepts`). Cosines are floats in [-1, 1]."""
        if not texts:
            return []
        if not forms:
            return [None] * len(texts)
        keys, vectors = self._forms(forms, type)
        sims = self._encode(texts) @ vectors.T  # (len(texts), len(forms))
        best = sims.argmax(axis=1)
        return [(keys[int(j)], float(sims[i, j])) for i, j in enumerate(best)]

    def accepts(self, type: str, cosine: float) -> bool:
        """Whether a match of ``cosine`` similarity is taken for ``type`` (its threshold reached)."""
        threshold = self.thresholds.get(type)
        return threshold is not None and cosine >= threshold
