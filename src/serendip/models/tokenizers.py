"""Tokenizers for pre-training, registered in :data:`~serendip.models.registries.TOKENIZERS`.

* ``"bpe"`` (here) - byte-pair encoding (Sennrich et al., ACL 2016) trained with the Hugging Face
  ``tokenizers`` library on the training texts: byte-level (as GPT-2/RoBERTa) by default; over a
  closed symbol ``alphabet`` that a corpus kind declares (``CorpusKind.bpe_alphabet``, e.g.
  ``ACGTN`` for DNA) the whole upper-cased sequence is one "word" with no pre-tokenization, as in
  DNABERT-2 (Zhou et al., ICLR 2024), and other characters become ``[UNK]``.
* Domains register their own: ``"kmer"`` (DNABERT-style overlapping k-mers) comes from
  :mod:`serendip.genomics.tokenizer` once :func:`serendip.models.plugins.load_domains` has run.

Every tokenizer is a Hugging Face fast tokenizer with the BERT special tokens
(:data:`SPECIAL_TOKENS`) and post-processor (:func:`bert_post_processor`), so a model pre-trained with
it fine-tunes like any BERT checkpoint.

Factories in the registry share one call form::

    TOKENIZERS.get(name)(texts, *, kind="text", alphabet=None, k=6, vocab_size=4096, min_frequency=2)

``texts`` is an iterable of training strings; options a tokenizer does not use are ignored. A
factory may carry two attributes the engine reads:

* ``corpus_kinds`` - tuple of the corpus kinds it serves (a config pairing it with another kind is
  refused when validated);
* ``auto_tokenizer_class`` - a no-argument callable returning a ``PreTrainedTokenizerFast``
  subclass that ``AutoTokenizer`` cannot find by itself (a tokenizer class written by a domain);
  :func:`register_auto_classes` registers each, so a saved model folder naming that class loads
  with ``AutoTokenizer.from_pretrained`` (fine-tuning, ``serendip predict``).

``transformers`` and ``tokenizers`` are imported inside the functions only.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from serendip.errors import ConfigError, DataError
from serendip.models.registries import TOKENIZERS

__all__ = [
    "SPECIAL_TOKENS",
    "bert_post_processor",
    "word_level_tokenizer_class",
    "load_tokenizer",
    "register_auto_classes",
    "register_auto_tokenizer",
    "train_bpe_tokenizer",
]

#: BERT special tokens, in DNABERT's id order (``[PAD]`` = 0 ... ``[MASK]`` = 4).
SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

#: tokenizer name -> the private config class its tokenizer class is registered under.
_AUTO_CONFIGS: dict[str, Any] = {}


def bert_post_processor(cls_id: int, sep_id: int, cls: str = "[CLS]", sep: str = "[SEP]") -> Any:
    """BERT's template: ``[CLS] A [SEP]`` (type ids 0) and ``[CLS] A [SEP] B [SEP]`` (B: type id 1).

    Returns
    -------
    tokenizers.processors.TemplateProcessing
    """
    from tokenizers import processors

    return processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, cls_id), (sep, sep_id)],
    )


def register_auto_tokenizer(name: str, tokenizer_class: type) -> None:
    """Register ``tokenizer_class`` with ``transformers.AutoTokenizer`` (idempotent).

    ``AutoTokenizer.from_pretrained(folder)`` finds a tokenizer class named in
    ``tokenizer_config.json`` among registered classes; the registration is keyed by a private
    config class (``model_type`` ``"serendip-<name>"``), so BERT's own mapping is untouched.

    Parameters
    ----------
    name : str
        The tokenizer's registry name (``"kmer"``).
    tokenizer_class : type
        A ``PreTrainedTokenizerFast`` subclass.
    """
    from transformers import AutoTokenizer, PretrainedConfig
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING

    config = _AUTO_CONFIGS.get(name)
    if config is None:
        config = type(f"Serendip{name.title()}Config", (PretrainedConfig,),
                      {"model_type": f"serendip-{name}"})
        _AUTO_CONFIGS[name] = config
    if config not in TOKENIZER_MAPPING._extra_content:
        AutoTokenizer.register(config, tokenizer_class=tokenizer_class, exist_ok=True)


def word_level_tokenizer_class(name: str, class_name: str, methods: type, module: str, file_name: str) -> type:
    """A ``PreTrainedTokenizerFast`` subclass over a ``WordLevel`` model, with the domain's ``methods``
    mixed in first, saved as ``file_name``, and registered with ``AutoTokenizer`` under ``name``
    (:func:`register_auto_tokenizer`). Domain tokenizers (``kmer``, ``smiles``) build their class with it
    on first use, so importing them does not import ``transformers``."""
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    namespace = {
        "__module__": module, "__qualname__": class_name, "__doc__": methods.__doc__,
        "vocab_files_names": {"tokenizer_file": file_name},
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        "model": WordLevel,
    }
    cls = type(class_name, (methods, PreTrainedTokenizerFast), namespace)
    register_auto_tokenizer(name, cls)
    return cls


def register_auto_classes() -> None:
    """Register the tokenizer classes of every :data:`TOKENIZERS` entry with ``AutoTokenizer``.

    Imports the installed domains first (:func:`serendip.models.plugins.load_domains`), then calls
    each factory's ``auto_tokenizer_class`` (when it has one) and registers the class it returns
    (:func:`register_auto_tokenizer`). Called before loading a saved backbone or run, so a model
    folder written with a domain's tokenizer (the k-mer tokenizer of ``serendip pretrain``) loads.
    """
    from serendip.models.plugins import load_domains

    load_domains()
    for name, factory in TOKENIZERS.items():
        hook = getattr(factory, "auto_tokenizer_class", None)
        if hook is not None:
            register_auto_tokenizer(name, hook())


def load_tokenizer(path: str | Path) -> Any:
    """Load a tokenizer saved in a local folder (k-mer, BPE, or any Hugging Face tokenizer).

    Registers the domains' tokenizer classes first (:func:`register_auto_classes`), then calls ``AutoTokenizer.from_pretrained(path)``
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


@TOKENIZERS.register("bpe")
def train_bpe_tokenizer(texts: Iterable[str], *, vocab_size: int = 4096, min_frequency: int = 2,
                        alphabet: str | None = None, **_unused: Any) -> Any:
    """Train a BPE tokenizer on ``texts`` (the ``bpe`` factory).

    Parameters
    ----------
    texts : iterable of str
        Training strings (documents or sequence windows); read once.
    vocab_size : int, default=4096
        Target vocabulary size including the five special tokens (and, for text, the 256 byte
        symbols); the trained vocabulary may be smaller when the data has fewer merges to offer.
    min_frequency : int, default=2
        A pair is merged only if it occurs at least this often.
    alphabet : str, optional
        None: byte-level BPE (no ``[UNK]`` ever needed). A string of upper-case symbols (``"ACGTN"``):
        no pre-tokenization, white space removed, input upper-cased, the symbols as the initial
        alphabet; any other character becomes ``[UNK]``.

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        With ``[PAD] [UNK] [CLS] [SEP] [MASK]`` as ids 0-4 and BERT's ``[CLS] A [SEP]`` template;
        saves as ``tokenizer.json`` and loads with plain ``AutoTokenizer.from_pretrained``.

    Raises
    ------
    ConfigError
        ``alphabet`` not upper-case letters, or ``vocab_size`` too small.
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

    if alphabet is not None and not (alphabet.isalpha() and alphabet.isupper()):
        raise ConfigError(f"a BPE alphabet is upper-case letters (e.g. 'ACGTN'), got {alphabet!r}")
    floor = len(SPECIAL_TOKENS) + (256 if alphabet is None else len(alphabet))
    if vocab_size <= floor:
        what = "byte-level" if alphabet is None else f"{alphabet!r}-alphabet"
        raise ConfigError(f"tokenizer.vocab_size must exceed {floor} for {what} BPE, got {vocab_size}")
    n_seen = 0

    def counted(items: Iterable[str]) -> Iterable[str]:
        nonlocal n_seen
        for item in items:
            n_seen += 1
            yield item

    if alphabet is None:
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
            + [normalizers.Replace(c, c.upper()) for c in alphabet.lower()])
        tok.decoder = None
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=list(SPECIAL_TOKENS), initial_alphabet=list(alphabet),
                                      limit_alphabet=len(alphabet), show_progress=False)
    tok.train_from_iterator(counted(texts), trainer=trainer)
    if n_seen == 0:
        raise DataError("no training texts for the BPE tokenizer")
    tok.post_processor = bert_post_processor(tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])
