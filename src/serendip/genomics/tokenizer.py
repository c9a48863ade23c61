"""The DNABERT-style overlapping k-mer tokenizer, registered as ``TOKENIZERS["kmer"]``.

Overlapping k-mers as in DNABERT (Ji et al., "DNABERT: pre-trained Bidirectional Encoder
Representations from Transformers model for DNA-language in genome", Bioinformatics 37:2112, 2021):
a sequence of length L gives its L - k + 1 overlapping k-mers (stride 1), each one token. The
vocabulary is the five BERT special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0-4, DNABERT's
order) followed by all 4**k ``ACGT`` k-mers in lexicographic order (``"AA..A"`` = id 5, i.e. id = 5 +
the k-mer's value in base 4 with A=0, C=1, G=2, T=3). Input is upper-cased first (soft-masked bases
count as their base); a k-mer holding any other character (N, IUPAC codes) is ``[UNK]``. Encoded as
``[CLS] k-mers [SEP]`` (pairs: ``[CLS] A [SEP] B [SEP]``, token type ids 0/1).

The Rust ``tokenizers`` library has no pre-tokenizer that yields *overlapping* pieces, so
:class:`KmerTokenizer` is a ``transformers`` fast-tokenizer subclass (a ``WordLevel`` model over the
k-mer vocabulary) that splits a raw sequence into its k-mers in Python and hands them to the Rust
backend as pre-tokenized words. ``word_ids()`` of an encoding is therefore the 0-based start (in
bases) of each k-mer. It saves its backend as ``kmer_tokenizer.json`` (not ``tokenizer.json``) with
``"tokenizer_class": "KmerTokenizer"`` in ``tokenizer_config.json``;
``AutoTokenizer.from_pretrained(folder)`` loads it once the class is registered with
``AutoTokenizer``: :func:`serendip.models.tokenizers.register_auto_classes` (called by the engine
before loading a model) and :func:`serendip.models.tokenizers.load_tokenizer` do it through the
factory's ``auto_tokenizer_class`` hook. Without the registration the load fails loudly (no
``tokenizer.json`` to fall back on) instead of silently encoding every sequence as one ``[UNK]``.

The class is built on first use (:func:`kmer_tokenizer_class`), so importing this module imports
neither ``transformers`` nor ``tokenizers``.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from serendip.errors import ConfigError
from serendip.genomics.kmers import kmer_vocabulary
from serendip.models.registries import TOKENIZERS
from serendip.models.tokenizers import (
    SPECIAL_TOKENS,
    bert_post_processor,
    word_level_tokenizer_class,
)

__all__ = ["KMER_FILE", "MAX_KMER", "kmer_token_ids", "kmer_tokenizer_class", "make_kmer_tokenizer"]

#: Largest k of the k-mer tokenizer (4**8 = 65,536 k-mers; DNABERT used k = 3..6).
MAX_KMER = 8
#: File name of the k-mer tokenizer's backend (deliberately not ``tokenizer.json``; see above).
KMER_FILE = "kmer_tokenizer.json"

_KMER_CLASS: Any = None


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_KMER:
        raise ConfigError(f"tokenizer.k must be an integer from 1 to {MAX_KMER}, got {k!r}")
    return k


def _kmer_vocab(k: int) -> dict[str, int]:
    """Special tokens (ids 0-4), then the 4**k ACGT k-mers in lexicographic order."""
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for i, kmer in enumerate(kmer_vocabulary(k)):
        vocab[kmer] = len(SPECIAL_TOKENS) + i
    return vocab


def kmer_token_ids(seq: str, k: int, *, cls_id: int, sep_id: int, unk_id: int,
                   fold_case: bool = True) -> Any:
    """``[CLS] k-mers [SEP]`` ids of ``seq`` in the standard vocabulary layout, computed with NumPy.

    Parameters
    ----------
    seq : str
        A DNA sequence of length L.
    k : int
        k-mer length.
    cls_id, sep_id, unk_id : int
        Ids of ``[CLS]``, ``[SEP]`` and ``[UNK]`` (a k-mer holding a non-ACGT character).
    fold_case : bool, default=True
        Lower-case ``acgt`` count as their base.

    Returns
    -------
    ndarray of shape (max(L - k + 1, 0) + 2,), dtype int32
    """
    import numpy as np

    code = np.full(256, 4, dtype=np.uint8)
    for i, base in enumerate(b"ACGT"):
        code[base] = i
        if fold_case:
            code[base + 32] = i
    c = code[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]
    n = len(c) - k + 1
    ids = np.empty(max(n, 0) + 2, dtype=np.int32)
    ids[0], ids[-1] = cls_id, sep_id
    if n > 0:
        index = np.zeros(n, dtype=np.int64)
        bad = np.zeros(n, dtype=bool)
        for m in range(k):
            window = c[m:m + n]
            bad |= window == 4
            index = index * 4 + np.minimum(window, 3)
        ids[1:-1] = np.where(bad, unk_id, index + len(SPECIAL_TOKENS))
    return ids


def _kmers_to_string(tokens: list[str], k: int, special: set[str]) -> str:
    """Overlapping k-mers joined back into the sequence (``ACG CGT`` -> ``ACGT``); special tokens and
    ``[UNK]`` stay as words separated by spaces."""
    parts: list[str] = []
    run = ""
    for tok in tokens:
        if tok in special or len(tok) != k:
            if run:
                parts.append(run)
                run = ""
            parts.append(tok)
        else:
            run = tok if not run else run + tok[-1]
    if run:
        parts.append(run)
    return " ".join(parts)


class _KmerMethods:
    """The methods of :class:`KmerTokenizer`; mixed in before ``PreTrainedTokenizerFast``.

    Parameters
    ----------
    vocab : dict of str to int, optional
        Token -> id; default: the special tokens then all 4**k ACGT k-mers.
    k : int, default=6
        k-mer length, 1..:data:`MAX_KMER`.
    do_upper_case : bool, default=True
        Upper-case sequences before splitting (soft-masked bases count as their base).

    Input given with ``is_split_into_words=True`` is taken as already split into k-mers.
    """

    def __init__(self, vocab: dict[str, int] | None = None, k: int = 6, do_upper_case: bool = True,
                 unk_token: str = "[UNK]", sep_token: str = "[SEP]", pad_token: str = "[PAD]",
                 cls_token: str = "[CLS]", mask_token: str = "[MASK]", **kwargs: Any):
        from tokenizers import Tokenizer, pre_tokenizers
        from tokenizers.models import WordLevel

        k = _check_k(k)
        self.k = k
        self.do_upper_case = do_upper_case
        if vocab is None:
            vocab = _kmer_vocab(k)
        kwargs.pop("post_processor", None)  # the one passed by from_pretrained is replaced below
        self._tokenizer = Tokenizer(WordLevel(dict(vocab), unk_token=str(unk_token)))
        self._tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        super().__init__(k=k, do_upper_case=do_upper_case, unk_token=unk_token, sep_token=sep_token,
                         pad_token=pad_token, cls_token=cls_token, mask_token=mask_token, **kwargs)
        self._tokenizer.post_processor = bert_post_processor(
            self.cls_token_id, self.sep_token_id, str(self.cls_token), str(self.sep_token))

    @property
    def mask_span(self) -> int:
        """Tokens per masked span in pre-training: k (a masked k-mer shares k - 1 bases with each
        neighbour, so DNABERT masks k contiguous k-mers)."""
        return self.k

    def split_kmers(self, seq: str) -> list[str]:
        """The overlapping k-mers of ``seq`` (upper-cased when ``do_upper_case``); [] if shorter than k."""
        if self.do_upper_case:
            seq = seq.upper()
        k = self.k
        return [seq[i:i + k] for i in range(len(seq) - k + 1)]

    def _split_input(self, text: Any) -> Any:
        if text is None:
            return None
        if isinstance(text, str):
            return self.split_kmers(text)
        if isinstance(text, (list, tuple)):
            return [self.split_kmers(t) if isinstance(t, str) else t for t in text]
        return text

    def _encode_plus(self, text: Any = None, text_pair: Any = None, *args: Any,
                     is_split_into_words: bool = False, **kwargs: Any) -> Any:
        if is_split_into_words or not kwargs.get("return_offsets_mapping"):
            if not is_split_into_words:
                text, text_pair = self._split_input(text), self._split_input(text_pair)
            return super()._encode_plus(text, text_pair, *args, is_split_into_words=True, **kwargs)
        # offsets: the backend sees each k-mer as a word, so its offsets are within the k-mer;
        # rewrite them as (start, start + k) in the input sequence (word id = start in bases)
        tensors = kwargs.pop("return_tensors", None)
        out = super()._encode_plus(self._split_input(text), self._split_input(text_pair), *args,
                                   is_split_into_words=True, return_tensors=None, **kwargs)
        fixed = [[(0, 0) if w is None else (w, w + self.k) for w in enc.word_ids]
                 for enc in out.encodings]
        batched = bool(out["input_ids"]) and isinstance(out["input_ids"][0], list)
        out["offset_mapping"] = fixed if batched else fixed[0]
        if tensors is not None:
            out.convert_to_tensors(tensors, prepend_batch_axis=not batched)
        return out

    def fast_ids(self, seqs: list[str]) -> list[Any] | None:
        """``[CLS] k-mers [SEP]`` ids of each sequence computed with NumPy (int32 arrays), the same
        ids as ``self(seqs)["input_ids"]`` (no truncation); None when the vocabulary is not the
        standard layout (special tokens, then k-mers in ACGT order). For genome-sized inputs."""
        if getattr(self, "_standard", None) is None:
            self._standard = self.get_vocab() == _kmer_vocab(self.k)
        if not self._standard:
            return None
        return [kmer_token_ids(seq, self.k, cls_id=self.cls_token_id, sep_id=self.sep_token_id,
                               unk_id=self.unk_token_id, fold_case=self.do_upper_case) for seq in seqs]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Overlapping k-mers joined back into the sequence (``ACG CGT`` -> ``ACGT``); special
        tokens and ``[UNK]`` stay as words separated by spaces."""
        return _kmers_to_string(tokens, self.k, {str(t) for t in self.all_special_tokens})

    def _decode(self, token_ids: Any, skip_special_tokens: bool = False, **kwargs: Any) -> str:
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        if isinstance(token_ids, dict):
            token_ids = token_ids["input_ids"]
        ids = [int(i) for i in token_ids]
        if skip_special_tokens:
            drop = set(self.all_special_ids) - {self.unk_token_id}
            ids = [i for i in ids if i not in drop]
        return self.convert_tokens_to_string(self.convert_ids_to_tokens(ids))

    def _save_pretrained(self, save_directory: Any, file_names: tuple[str, ...],
                         legacy_format: bool | None = None, filename_prefix: str | None = None
                         ) -> tuple[str, ...]:
        path = Path(save_directory) / ((filename_prefix + "-" if filename_prefix else "") + KMER_FILE)
        self.backend_tokenizer.save(str(path))
        return (*file_names, str(path))


def kmer_tokenizer_class() -> type:
    """The ``KmerTokenizer`` class, built on first use and registered with ``AutoTokenizer``.

    Built lazily so that importing this module does not import ``transformers``; also reachable as
    ``serendip.genomics.tokenizer.KmerTokenizer``.

    Raises
    ------
    ConfigError
        ``transformers`` older than 5 (the k-mer splitting hooks its single encoding entry point).
    """
    global _KMER_CLASS
    if _KMER_CLASS is not None:
        return _KMER_CLASS

    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        raise ConfigError(f"the kmer tokenizer needs transformers>=5 (installed: {transformers.__version__})")
    _KMER_CLASS = word_level_tokenizer_class("kmer", "KmerTokenizer", _KmerMethods, __name__, KMER_FILE)
    return _KMER_CLASS


def __getattr__(name: str) -> Any:
    if name == "KmerTokenizer":
        return kmer_tokenizer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@TOKENIZERS.register("kmer")
def make_kmer_tokenizer(texts: Iterable[str] | None = None, *, k: int = 6, kind: str = "dna",
                        **_unused: Any) -> Any:
    """A ``KmerTokenizer`` for k-mers of length ``k`` (the ``kmer`` factory).

    Parameters
    ----------
    texts : iterable of str, optional
        Ignored (the vocabulary is fixed by ``k``).
    k : int, default=6
        1..:data:`MAX_KMER`; vocabulary size 4**k + 5.
    kind : str, default="dna"
        Must be ``"dna"``.

    Raises
    ------
    ConfigError
        ``k`` out of range, or ``kind`` is not ``"dna"``.
    """
    if kind != "dna":
        raise ConfigError(f"the kmer tokenizer is for DNA (kind='dna'), not kind={kind!r}; use 'bpe' for text")
    return kmer_tokenizer_class()(k=_check_k(k))


make_kmer_tokenizer.corpus_kinds = ("dna",)  # type: ignore[attr-defined]
make_kmer_tokenizer.auto_tokenizer_class = kmer_tokenizer_class  # type: ignore[attr-defined]
