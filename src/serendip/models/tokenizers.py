"""Tokenizers for pre-training, registered in :data:`~serendip.models.registries.TOKENIZERS`.

* ``"kmer"`` - overlapping k-mers as in DNABERT (Ji et al., "DNABERT: pre-trained Bidirectional
  Encoder Representations from Transformers model for DNA-language in genome", Bioinformatics
  37:2112, 2021): a sequence of length L gives its L - k + 1 overlapping k-mers (stride 1), each one
  token. The vocabulary is the five BERT special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0-4,
  DNABERT's order) followed by all 4**k ``ACGT`` k-mers in lexicographic order (``"AA..A"`` = id 5,
  i.e. id = 5 + the k-mer's value in base 4 with A=0, C=1, G=2, T=3). Input is upper-cased first
  (soft-masked bases count as their base); a k-mer holding any other character (N, IUPAC codes) is
  ``[UNK]``. Encoded as ``[CLS] k-mers [SEP]`` (pairs: ``[CLS] A [SEP] B [SEP]``, token type ids 0/1).
* ``"bpe"`` - byte-pair encoding (Sennrich et al., ACL 2016) trained with the Hugging Face
  ``tokenizers`` library on the training texts: byte-level (as GPT-2/RoBERTa) for ``kind="text"``;
  for ``kind="dna"`` the whole upper-cased sequence is one "word" with no pre-tokenization, as in
  DNABERT-2 (Zhou et al., ICLR 2024), over the alphabet ``ACGTN`` plus ``[UNK]``.

Both are Hugging Face fast tokenizers with the BERT special tokens and post-processor, so a model
pre-trained with them fine-tunes like any BERT checkpoint.

The Rust ``tokenizers`` library has no pre-tokenizer that yields *overlapping* pieces, so the k-mer
tokenizer is :class:`KmerTokenizer`, a ``transformers`` fast-tokenizer subclass (a ``WordLevel``
model over the k-mer vocabulary) that splits a raw sequence into its k-mers in Python and hands them
to the Rust backend as pre-tokenized words. ``word_ids()`` of an encoding is therefore the 0-based
start (in bases) of each k-mer. It saves its backend as ``kmer_tokenizer.json`` (not
``tokenizer.json``) with ``"tokenizer_class": "KmerTokenizer"`` in ``tokenizer_config.json``;
``AutoTokenizer.from_pretrained(folder)`` loads it once the class is registered with
``AutoTokenizer``, which importing ``transformers`` through this module does - call
:func:`load_tokenizer` (or :func:`register_auto_classes` before ``AutoTokenizer``). Without the
registration the load fails loudly (no ``tokenizer.json`` to fall back on) instead of silently
encoding every sequence as one ``[UNK]``.

Factories in the registry share one call form::

    TOKENIZERS.get(name)(texts, *, kind="dna" | "text", k=6, vocab_size=4096, min_frequency=2)

``texts`` is an iterable of training strings (ignored by ``kmer``, whose vocabulary is fixed by k);
options a tokenizer does not use are ignored. ``transformers`` and ``tokenizers`` are imported
inside the functions only.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from serendip.errors import ConfigError, DataError
from serendip.models.registries import TOKENIZERS

__all__ = [
    "KMER_FILE",
    "MAX_KMER",
    "SPECIAL_TOKENS",
    "kmer_tokenizer_class",
    "load_tokenizer",
    "make_kmer_tokenizer",
    "register_auto_classes",
    "train_bpe_tokenizer",
]

#: BERT special tokens, in DNABERT's id order (``[PAD]`` = 0 ... ``[MASK]`` = 4).
SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
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
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for i, letters in enumerate(itertools.product("ACGT", repeat=k)):
        vocab["".join(letters)] = len(SPECIAL_TOKENS) + i
    return vocab


def _bert_post_processor(cls_id: int, sep_id: int, cls: str = "[CLS]", sep: str = "[SEP]") -> Any:
    from tokenizers import processors

    return processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, cls_id), (sep, sep_id)],
    )


def kmer_tokenizer_class() -> type:
    """The :class:`KmerTokenizer` class, built on first use and registered with ``AutoTokenizer``.

    Built lazily so that importing this module does not import ``transformers``; also reachable as
    ``serendip.models.tokenizers.KmerTokenizer``.
    """
    global _KMER_CLASS
    if _KMER_CLASS is not None:
        return _KMER_CLASS

    import transformers
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    if int(transformers.__version__.split(".")[0]) < 5:
        # the k-mer splitting hooks transformers 5's single encoding entry point (_encode_plus)
        raise ConfigError(f"the kmer tokenizer needs transformers>=5 (installed: {transformers.__version__})")

    class KmerTokenizer(PreTrainedTokenizerFast):
        """DNABERT-style overlapping k-mer tokenizer (see the module docstring).

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

        vocab_files_names = {"tokenizer_file": KMER_FILE}  # noqa: RUF012 (transformers' class attributes)
        model_input_names = ["input_ids", "token_type_ids", "attention_mask"]  # noqa: RUF012
        model = WordLevel

        def __init__(self, vocab: dict[str, int] | None = None, k: int = 6, do_upper_case: bool = True,
                     unk_token: str = "[UNK]", sep_token: str = "[SEP]", pad_token: str = "[PAD]",
                     cls_token: str = "[CLS]", mask_token: str = "[MASK]", **kwargs: Any):
            k = _check_k(k)
            self.k = k
            self.do_upper_case = do_upper_case
            if vocab is None:
                vocab = _kmer_vocab(k)
            # the post-processor passed by from_pretrained is replaced below
            kwargs.pop("post_processor", None)
            self._tokenizer = Tokenizer(WordLevel(dict(vocab), unk_token=str(unk_token)))
            self._tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
            super().__init__(k=k, do_upper_case=do_upper_case, unk_token=unk_token, sep_token=sep_token,
                             pad_token=pad_token, cls_token=cls_token, mask_token=mask_token, **kwargs)
            self._tokenizer.post_processor = _bert_post_processor(
                self.cls_token_id, self.sep_token_id, str(self.cls_token), str(self.sep_token))

        # -- splitting --------------------------------------------------------------------------
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
            import numpy as np

            k = self.k
            if getattr(self, "_standard", None) is None:
                self._standard = self.get_vocab() == _kmer_vocab(k)
            if not self._standard:
                return None
            code = np.full(256, 4, dtype=np.uint8)
            for i, base in enumerate(b"ACGT"):
                code[base] = i
                if self.do_upper_case:
                    code[base + 32] = i
            first = len(SPECIAL_TOKENS)
            cls_id, sep_id, unk_id = self.cls_token_id, self.sep_token_id, self.unk_token_id
            out = []
            for seq in seqs:
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
                    ids[1:-1] = np.where(bad, unk_id, index + first)
                out.append(ids)
            return out

        # -- decoding ---------------------------------------------------------------------------
        def convert_tokens_to_string(self, tokens: list[str]) -> str:
            """Overlapping k-mers joined back into the sequence (``ACG CGT`` -> ``ACGT``); special
            tokens and ``[UNK]`` stay as words separated by spaces."""
            special = {str(t) for t in self.all_special_tokens}
            parts: list[str] = []
            run = ""
            for tok in tokens:
                if tok in special or len(tok) != self.k:
                    if run:
                        parts.append(run)
                        run = ""
                    parts.append(tok)
                else:
                    run = tok if not run else run + tok[-1]
            if run:
                parts.append(run)
            return " ".join(parts)

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

    KmerTokenizer.__module__ = __name__
    KmerTokenizer.__qualname__ = "KmerTokenizer"
    _KMER_CLASS = KmerTokenizer
    register_auto_classes()
    return KmerTokenizer


def register_auto_classes() -> None:
    """Register :class:`KmerTokenizer` with ``transformers.AutoTokenizer`` (idempotent).

    ``AutoTokenizer.from_pretrained(folder)`` finds a tokenizer class named in
    ``tokenizer_config.json`` among registered classes; the registration is keyed by a private
    config class (``model_type`` ``"serendip-kmer"``), so BERT's own mapping is untouched.
    """
    cls = kmer_tokenizer_class()
    from transformers import AutoTokenizer, PretrainedConfig
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING

    global _KMER_CONFIG
    if _KMER_CONFIG is None:
        class SerendipKmerConfig(PretrainedConfig):
            model_type = "serendip-kmer"

        _KMER_CONFIG = SerendipKmerConfig
    if _KMER_CONFIG not in TOKENIZER_MAPPING._extra_content:
        AutoTokenizer.register(_KMER_CONFIG, tokenizer_class=cls, exist_ok=True)


_KMER_CONFIG: Any = None


def __getattr__(name: str) -> Any:
    if name == "KmerTokenizer":
        return kmer_tokenizer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_tokenizer(path: str | Path) -> Any:
    """Load a tokenizer saved in a local folder (k-mer, BPE, or any Hugging Face tokenizer).

    Registers :class:`KmerTokenizer` first, then calls ``AutoTokenizer.from_pretrained(path)``
    (offline: a local folder only).

    Raises
    ------
    ConfigError
        ``path`` is not a folder, or it holds no loadable tokenizer.
    """
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: not a folder; give a folder written by save_pretrained "
                          f"(e.g. the output of `serendip pretrain`)")
    register_auto_classes()
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot load a tokenizer: {exc}") from None


@TOKENIZERS.register("kmer")
def make_kmer_tokenizer(texts: Iterable[str] | None = None, *, k: int = 6, kind: str = "dna",
                        **_unused: Any) -> Any:
    """A :class:`KmerTokenizer` for k-mers of length ``k`` (the ``kmer`` factory).

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


@TOKENIZERS.register("bpe")
def train_bpe_tokenizer(texts: Iterable[str], *, vocab_size: int = 4096, min_frequency: int = 2,
                        kind: str = "text", **_unused: Any) -> Any:
    """Train a BPE tokenizer on ``texts`` (the ``bpe`` factory).

    Parameters
    ----------
    texts : iterable of str
        Training strings (documents or DNA windows); read once.
    vocab_size : int, default=4096
        Target vocabulary size including the five special tokens (and, for text, the 256 byte
        symbols); the trained vocabulary may be smaller when the data has fewer merges to offer.
    min_frequency : int, default=2
        A pair is merged only if it occurs at least this often.
    kind : {"text", "dna"}
        ``text``: byte-level BPE (no ``[UNK]`` ever needed). ``dna``: no pre-tokenization, input
        upper-cased, initial alphabet ``ACGTN``; other characters become ``[UNK]``.

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        With ``[PAD] [UNK] [CLS] [SEP] [MASK]`` as ids 0-4 and BERT's ``[CLS] A [SEP]`` template;
        saves as ``tokenizer.json`` and loads with plain ``AutoTokenizer.from_pretrained``.

    Raises
    ------
    ConfigError
        ``kind`` unknown or ``vocab_size`` too small.
    DataError
        ``texts`` is empty.
    """
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    if kind not in ("text", "dna"):
        raise ConfigError(f"kind must be 'text' or 'dna', got {kind!r}")
    floor = len(SPECIAL_TOKENS) + (256 if kind == "text" else 5)
    if vocab_size <= floor:
        raise ConfigError(f"tokenizer.vocab_size must exceed {floor} for {kind} BPE, got {vocab_size}")
    n_seen = 0

    def counted(items: Iterable[str]) -> Iterable[str]:
        nonlocal n_seen
        for item in items:
            n_seen += 1
            yield item

    if kind == "text":
        tok = Tokenizer(BPE(unk_token=None))
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=list(SPECIAL_TOKENS),
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
    else:
        tok = Tokenizer(BPE(unk_token="[UNK]", fuse_unk=True))
        tok.normalizer = normalizers.Sequence(
            [normalizers.Replace(Regex(r"\s+"), "")]
            + [normalizers.Replace(c, c.upper()) for c in "acgtn"])
        tok.decoder = None
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=list(SPECIAL_TOKENS), initial_alphabet=list("ACGTN"),
                                      limit_alphabet=5, show_progress=False)
    tok.train_from_iterator(counted(texts), trainer=trainer)
    if n_seen == 0:
        raise DataError("no training texts for the BPE tokenizer")
    tok.post_processor = _bert_post_processor(tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])
