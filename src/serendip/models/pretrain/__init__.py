"""Masked-language-model pre-training of a BERT encoder from scratch (DNA or text).

Modules: :mod:`.config` (the schema, files, options), :mod:`.corpus` (inputs, corpus kinds, the
``text`` kind), :mod:`.masking` (span masking, batches, the MLM loss), :mod:`.loop` (model and
training loop), :mod:`.evaluation` (held-out metrics, unigram baseline), :mod:`.report` (result and
``pretrain_report.json``), :mod:`.run` (:func:`pretrain`). The ``dna`` corpus kind and the ``kmer``
tokenizer are registered by :mod:`serendip.genomics` (:mod:`serendip.genomics.corpus`,
:mod:`serendip.genomics.tokenizer`).

A minimal config (TOML)::

    kind = "dna"                          # or "text"

    [data]
    inputs = ["ecoli.fna.gz"]             # FASTA/FASTQ (dna); .txt (one document a line), .jsonl,
                                          # .csv, .tsv with data.text_column (text, or dna sequences)
    # dataset = "genomes"                 # or a registered dataset, resolved from the mirror/cache
    # dataset_files = "*ecoli*"

    [windows]                             # dna: genomes are cut into windows
    length = 512                          # bp
    stride = 512                          # bp (default: length, i.e. no overlap)
    reverse_complement = true             # add the reverse-complement strand of every window

    [tokenizer]
    kind = "kmer"                         # a TOKENIZERS name: kmer (dna) | bpe (dna or text)
    k = 6

    [model]
    size = "tiny"                         # tiny | small | base, or explicit dims

    [training]
    max_steps = 500
    batch_size = 16                       # lr: by model size unless set (LEARNING_RATES)

    [output]
    dir = "pretrained/dna-tiny"

:func:`pretrain` trains ``transformers.BertForMaskedLM`` from randomly initialised weights (or
continues from a local model folder, ``model.init_from``) with the masking of
``transformers.DataCollatorForLanguageModeling`` (Devlin et al., NAACL 2019: 15 % of tokens chosen,
of which 80 % become ``[MASK]``, 10 % a random token, 10 % stay) in a plain PyTorch loop (AdamW,
linear warm-up then linear decay, gradient clipping at 1.0), seeded throughout so that the same config
gives the same losses on the same machine and library versions.

With the overlapping k-mer tokenizer a single masked k-mer can be read off its neighbours (they share
k - 1 bases), so masks are contiguous spans of k tokens as in DNABERT (Ji et al., Bioinformatics
37:2112, 2021): span starts are drawn with probability ``mlm_probability / k`` and each start masks
the k tokens from it, which masks about ``mlm_probability`` of the tokens and hides one base per
masked k-mer (``training.mask_span``; default k for the k-mer tokenizer, 1 otherwise).

Held-out data: for DNA the last ``data.heldout`` fraction of every record (both strands; windows never
cross the cut), or whole short records (shorter than two windows) drawn with that probability; for
text a seeded sample of documents. Held-out masked-token accuracy and perplexity (exp of the mean
cross-entropy over masked tokens) are measured on fixed masks, beside a unigram baseline (every masked
token predicted from the training token frequencies).

The output folder is a Hugging Face model folder: ``config.json``, ``model.safetensors``, the
tokenizer files and ``pretrain_report.json`` (config, input sha256s, data counts, loss curve, held-out
metrics, baseline, throughput). ``AutoModelForSequenceClassification.from_pretrained(folder)`` loads
it (a domain's tokenizer, such as the k-mer one, loads with :func:`serendip.models.tokenizers.load_tokenizer`).
"""
from __future__ import annotations

from serendip.models.pretrain.config import (
    LEARNING_RATES,
    SIZES,
    DataSection,
    ModelSection,
    OutputSection,
    PretrainConfig,
    TokenizerSection,
    TrainingSection,
    apply_pretrain_overrides,
    corpus_kind,
    load_pretrain_config,
    pretrain_config_from_options,
)
from serendip.models.pretrain.corpus import CorpusKind, CorpusSplit, check_inputs
from serendip.models.pretrain.report import PretrainResult
from serendip.models.pretrain.run import pretrain

__all__ = [
    "LEARNING_RATES",
    "SIZES",
    "CorpusKind",
    "CorpusSplit",
    "DataSection",
    "ModelSection",
    "OutputSection",
    "PretrainConfig",
    "PretrainResult",
    "TokenizerSection",
    "TrainingSection",
    "apply_pretrain_overrides",
    "check_inputs",
    "corpus_kind",
    "load_pretrain_config",
    "pretrain",
    "pretrain_config_from_options",
]
