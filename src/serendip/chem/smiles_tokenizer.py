"""The atom-level SMILES tokenizer of the engine, ``TOKENIZERS["smiles"]``, and the ``smiles`` corpus kind.

Tokens are those of :func:`serendip.chem.tokenize.tokenize_smiles` (the regular expression of
Schwaller et al. 2019, "Molecular Transformer", ACS Cent. Sci. 5:1572): a bracket atom (``[nH]``,
``[C@@H]``), ``Br``, ``Cl`` and a ring closure ``%10`` are one token each, every other character its
own token. The vocabulary is the five BERT special tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0-4,
as the other engine tokenizers) followed by every token of the training SMILES, by falling frequency
(ties by token). Encoded as ``[CLS] tokens [SEP]`` (pairs ``[CLS] A [SEP] B [SEP]``).

Two kinds of unknown input are told apart:

* a character the expression does not cover (``!``, an unclosed ``[``, a space) is refused with
  :class:`~serendip.errors.ParseError` naming the SMILES and the position: it is not SMILES and
  must never be encoded silently;
* a valid token absent from the training vocabulary (a bracket atom such as ``[Se]`` that the
  pre-training set never holds) becomes ``[UNK]``, as in any BERT vocabulary, so a fine-tuning set
  with a rarer element still encodes.

:class:`SmilesTokenizer` is a ``transformers`` fast tokenizer (a ``WordLevel`` model over the
vocabulary, the regular expression as its ``Split`` pre-tokenizer, ``Fuse`` decoder) whose encoding
entry point checks every SMILES first. It saves its backend as ``smiles_tokenizer.json`` (not
``tokenizer.json``) with ``"tokenizer_class": "SmilesTokenizer"``, so a folder loads with
:func:`serendip.models.tokenizers.load_tokenizer` (the class is registered with ``AutoTokenizer``
through the factory's ``auto_tokenizer_class`` hook) and never falls back to an unchecked tokenizer.

The ``smiles`` pre-training corpus kind (:class:`SmilesCorpus`) reads one SMILES per document (a
``.txt`` line or a table's ``data.text_column``), holds out a seeded ``data.heldout`` sample of
molecules, and encodes each molecule as its own sequence (not packed into blocks, so pre-training
sees what fine-tuning sees).

The class is built on first use, so importing this module imports neither ``transformers`` nor
``tokenizers``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serendip.chem.tokenize import SMILES_REGEX, tokenize_smiles
from serendip.errors import DataError
from serendip.models.pretrain.corpus import CorpusSplit, TextCorpus, encode_sequences
from serendip.models.registries import PRETRAIN_CORPORA, TOKENIZERS
from serendip.models.tokenizers import (
    SPECIAL_TOKENS,
    bert_post_processor,
    word_level_tokenizer_class,
)

if TYPE_CHECKING:
    from serendip.models.pretrain.config import PretrainConfig

__all__ = ["SMILES_FILE", "SmilesCorpus", "make_smiles_tokenizer", "smiles_tokenizer_class", "smiles_vocab"]

#: File name of the tokenizer's backend (deliberately not ``tokenizer.json``; see the module docstring).
SMILES_FILE = "smiles_tokenizer.json"

_SMILES_CLASS: Any = None


def smiles_vocab(texts: Iterable[str]) -> dict[str, int]:
    """Token -> id: the special tokens (0-4), then every token of ``texts`` by falling count, ties by token.

    Raises
    ------
    ParseError
        A text that is not SMILES (named with its 0-based number and the first bad character).
    DataError
        ``texts`` is empty.
    """
    counts: Counter[str] = Counter()
    n = 0
    for i, smi in enumerate(texts):
        counts.update(tokenize_smiles(smi, where=f"#{i}"))
        n += 1
    if n == 0:
        raise DataError("no training SMILES for the smiles tokenizer")
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for tok in sorted(counts, key=lambda t: (-counts[t], t)):
        vocab.setdefault(tok, len(vocab))
    return vocab


def _check(text: Any) -> None:
    """Raise ParseError for any str in ``text`` (a str or a list of them) that is not SMILES."""
    if isinstance(text, str):
        tokenize_smiles(text)
    elif isinstance(text, (list, tuple)):
        for t in text:
            if isinstance(t, str):
                tokenize_smiles(t)


class _SmilesMethods:
    """The methods of :class:`SmilesTokenizer`; mixed in before ``PreTrainedTokenizerFast``.

    Parameters
    ----------
    vocab : dict of str to int
        Token -> id, the special tokens first (:func:`smiles_vocab`).
    smiles_tokens : list of str, optional
        The tokens in id order (how the vocabulary is stored in ``tokenizer_config.json`` and read
        back by ``from_pretrained``); used when ``vocab`` is not given.

    Encoding raises :class:`~serendip.errors.ParseError` for a text that is not SMILES (a character
    outside the Schwaller et al. 2019 expression); a valid token outside the vocabulary is ``[UNK]``.
    """

    def __init__(self, vocab: dict[str, int] | None = None, unk_token: str = "[UNK]",
                 sep_token: str = "[SEP]", pad_token: str = "[PAD]", cls_token: str = "[CLS]",
                 mask_token: str = "[MASK]", smiles_tokens: list[str] | None = None, **kwargs: Any):
        from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers
        from tokenizers.models import WordLevel

        if vocab is None and smiles_tokens is not None:  # from_pretrained: tokenizer_config.json
            vocab = {tok: i for i, tok in enumerate(smiles_tokens)}
        if vocab is None:
            vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
        kwargs.pop("post_processor", None)  # replaced below
        self._tokenizer = Tokenizer(WordLevel(dict(vocab), unk_token=str(unk_token)))
        self._tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(SMILES_REGEX.pattern), behavior="isolated")
        self._tokenizer.decoder = decoders.Fuse()
        tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        super().__init__(unk_token=unk_token, sep_token=sep_token, pad_token=pad_token, cls_token=cls_token,
                         mask_token=mask_token, smiles_tokens=tokens, **kwargs)
        self._tokenizer.post_processor = bert_post_processor(
            self.cls_token_id, self.sep_token_id, str(self.cls_token), str(self.sep_token))

    def _encode_plus(self, text: Any = None, text_pair: Any = None, *args: Any,
                     is_split_into_words: bool = False, **kwargs: Any) -> Any:
        if not is_split_into_words:
            _check(text)
            _check(text_pair)
        return super()._encode_plus(text, text_pair, *args, is_split_into_words=is_split_into_words, **kwargs)

    def _save_pretrained(self, save_directory: Any, file_names: tuple[str, ...],
                         legacy_format: bool | None = None, filename_prefix: str | None = None
                         ) -> tuple[str, ...]:
        path = Path(save_directory) / ((filename_prefix + "-" if filename_prefix else "") + SMILES_FILE)
        self.backend_tokenizer.save(str(path))
        return (*file_names, str(path))


def smiles_tokenizer_class() -> type:
    """The ``SmilesTokenizer`` class, built on first use and registered with ``AutoTokenizer``."""
    global _SMILES_CLASS
    if _SMILES_CLASS is not None:
        return _SMILES_CLASS

    _SMILES_CLASS = word_level_tokenizer_class("smiles", "SmilesTokenizer", _SmilesMethods, __name__, SMILES_FILE)
    return _SMILES_CLASS


def __getattr__(name: str) -> Any:
    if name == "SmilesTokenizer":
        return smiles_tokenizer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@TOKENIZERS.register("smiles")
def make_smiles_tokenizer(texts: Iterable[str], **_unused: Any) -> Any:
    """A ``SmilesTokenizer`` whose vocabulary is every token of ``texts`` (the ``smiles`` factory).

    Parameters
    ----------
    texts : iterable of str
        Training SMILES, read once. ``vocab_size`` and ``min_frequency`` are ignored: every token
        seen is kept (an atom-level SMILES vocabulary has tens of tokens).

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        ``[PAD] [UNK] [CLS] [SEP] [MASK]`` as ids 0-4, then the SMILES tokens.

    Raises
    ------
    ParseError
        A training text that is not SMILES (its 0-based number and the first bad character).
    DataError
        No training text.
    """
    return smiles_tokenizer_class()(vocab=smiles_vocab(texts))


make_smiles_tokenizer.corpus_kinds = ("smiles", "text")  # type: ignore[attr-defined]
make_smiles_tokenizer.auto_tokenizer_class = smiles_tokenizer_class  # type: ignore[attr-defined]


class SmilesCorpus(TextCorpus):
    """One SMILES a document; a seeded ``data.heldout`` sample of molecules held out; each molecule
    encoded as its own ``[CLS] tokens [SEP]`` sequence (cut to the model's positions, counted)."""

    name = "smiles"
    default_tokenizer = "smiles"

    def encode(self, tokenizer: Any, corpus: CorpusSplit, cfg: PretrainConfig, max_tokens: int, *,
               continued: bool, say: Callable[[str], None]) -> tuple[list[Any], list[Any]]:
        train, cut = encode_sequences(tokenizer, corpus.train, max_tokens)
        held, cut_held = encode_sequences(tokenizer, corpus.heldout, max_tokens) if corpus.heldout else ([], 0)
        corpus.stats["molecules_truncated"] = cut + cut_held
        if cut + cut_held:
            say(f"{cut + cut_held:,} SMILES longer than {max_tokens} tokens were cut")
        return train, held

    def describe(self, cfg: PretrainConfig, stats: dict[str, Any]) -> str:
        return super().describe(cfg, stats).replace("documents", "molecules")


PRETRAIN_CORPORA.add("smiles", SmilesCorpus())
