"""The k-mer tokenizer of serendip.genomics.tokenizer (DNABERT-style overlapping k-mers)."""
from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from serendip.errors import ConfigError
from serendip.genomics import tokenizer as gt
from serendip.models import tokenizers as tk
from serendip.models.registries import TOKENIZERS


def test_registered_as_kmer():
    assert TOKENIZERS.get("kmer") is gt.make_kmer_tokenizer
    assert gt.make_kmer_tokenizer.corpus_kinds == ("dna",)
    assert gt.kmer_tokenizer_class() is gt.KmerTokenizer
    assert gt.KmerTokenizer.__module__ == "serendip.genomics.tokenizer"


def _kmer_id(kmer: str) -> int:
    """5 special tokens, then k-mers in lexicographic ACGT order (base-4 value, A=0 ... T=3)."""
    value = 0
    for base in kmer:
        value = value * 4 + "ACGT".index(base)
    return 5 + value


@pytest.fixture(scope="module")
def kmer3():
    return gt.make_kmer_tokenizer(k=3)


def test_kmer_vocabulary(kmer3):
    assert len(kmer3) == 4 ** 3 + 5
    assert [kmer3.convert_tokens_to_ids(t) for t in tk.SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert (kmer3.pad_token_id, kmer3.unk_token_id, kmer3.cls_token_id, kmer3.sep_token_id,
            kmer3.mask_token_id) == (0, 1, 2, 3, 4)
    for letters in itertools.product("ACGT", repeat=3):
        kmer = "".join(letters)
        assert kmer3.convert_tokens_to_ids(kmer) == _kmer_id(kmer)


def test_kmer_exact_tokens_and_ids(kmer3):
    assert kmer3.tokenize("ACGTAC") == ["ACG", "CGT", "GTA", "TAC"]
    enc = kmer3("ACGTAC")
    assert kmer3.convert_ids_to_tokens(enc["input_ids"]) == ["[CLS]", "ACG", "CGT", "GTA", "TAC", "[SEP]"]
    assert enc["input_ids"] == [2, 11, 32, 49, 54, 3]
    assert enc["input_ids"][1:-1] == [_kmer_id(t) for t in ["ACG", "CGT", "GTA", "TAC"]]
    assert enc["attention_mask"] == [1] * 6
    # soft-masked (lower-case) bases count as their base; a k-mer with N is [UNK]
    assert kmer3("acgtac")["input_ids"] == enc["input_ids"]
    assert kmer3.tokenize("ACGNT") == ["ACG", "[UNK]", "[UNK]"]
    # shorter than k: no k-mers, only [CLS] [SEP]
    assert kmer3("AC")["input_ids"] == [2, 3]


def test_kmer_word_ids_offsets_and_pairs(kmer3):
    enc = kmer3("ACGTAC", return_offsets_mapping=True)
    assert enc.word_ids() == [None, 0, 1, 2, 3, None]
    assert enc["offset_mapping"] == [(0, 0), (0, 3), (1, 4), (2, 5), (3, 6), (0, 0)]
    pair = kmer3("ACGT", "TTTT")
    assert kmer3.convert_ids_to_tokens(pair["input_ids"]) == ["[CLS]", "ACG", "CGT", "[SEP]", "TTT", "TTT", "[SEP]"]
    assert pair["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]


def test_kmer_batch_padding_truncation(kmer3):
    batch = kmer3(["ACGTACGT", "ACG"], padding=True, truncation=True, max_length=5, return_tensors="pt")
    assert batch["input_ids"].tolist() == [[2, 11, 32, 49, 3], [2, 11, 3, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]


def test_kmer_ids_round_trip(kmer3):
    rng = random.Random(0)
    seq = "".join(rng.choice("ACGT") for _ in range(57))
    ids = kmer3(seq)["input_ids"]
    assert len(ids) == len(seq) - 3 + 1 + 2
    assert kmer3.decode(ids, skip_special_tokens=True) == seq
    assert kmer3.decode(ids) == f"[CLS] {seq} [SEP]"
    assert kmer3.decode(kmer3("acgtnacgt")["input_ids"], skip_special_tokens=True) == "ACGT [UNK] [UNK] [UNK] ACGT"


def test_kmer_save_load_round_trip(tmp_path, kmer3):
    from transformers import AutoTokenizer

    kmer3.save_pretrained(tmp_path)
    assert (tmp_path / gt.KMER_FILE).is_file()
    assert not (tmp_path / "tokenizer.json").exists()
    loaded = tk.load_tokenizer(tmp_path)
    assert type(loaded).__name__ == "KmerTokenizer" and loaded.k == 3
    seqs = ["ACGTACGGT", "ttagcN"]
    assert loaded(seqs)["input_ids"] == kmer3(seqs)["input_ids"]
    assert loaded.get_vocab() == kmer3.get_vocab()
    auto = AutoTokenizer.from_pretrained(tmp_path)  # the class is registered by now
    assert auto("ACGTAC")["input_ids"] == [2, 11, 32, 49, 54, 3]


def test_kmer_folder_without_registration_fails_loudly(tmp_path, kmer3, monkeypatch):
    """A plain AutoTokenizer must not silently fall back to whole-word [UNK] encoding."""
    from transformers import AutoTokenizer
    from transformers.models.auto import tokenization_auto as ta

    kmer3.save_pretrained(tmp_path)
    monkeypatch.delitem(ta.REGISTERED_TOKENIZER_CLASSES, "KmerTokenizer")
    monkeypatch.delitem(ta.TOKENIZER_MAPPING._extra_content, tk._AUTO_CONFIGS["kmer"])
    with pytest.raises(ValueError):
        AutoTokenizer.from_pretrained(tmp_path)


def test_kmer_bad_options():
    with pytest.raises(ConfigError, match="tokenizer.k"):
        gt.make_kmer_tokenizer(k=9)
    with pytest.raises(ConfigError, match="for DNA"):
        gt.make_kmer_tokenizer(k=3, kind="text")
    with pytest.raises(ConfigError, match="not a folder"):
        tk.load_tokenizer("/nonexistent/tokenizer")


def test_kmer_fast_ids_match_tokenizer(kmer3):
    rng = random.Random(2)
    seqs = ["".join(rng.choice("ACGTacgtN") for _ in range(rng.randint(0, 40))) for _ in range(30)]
    seqs += ["AC", "ACG", "ACGTé"]
    fast = kmer3.fast_ids(seqs)
    assert [a.tolist() for a in fast] == kmer3(seqs)["input_ids"]
    tok6 = gt.make_kmer_tokenizer(k=6)
    assert tok6.fast_ids(seqs)[0].tolist() == tok6(seqs[0])["input_ids"]


def test_saved_kmer_folder_loads_in_a_fresh_process(tmp_path, kmer3):
    """The engine's register_auto_classes (called before loading a backbone) finds the domain's class."""
    import os
    import subprocess
    import sys

    kmer3.save_pretrained(tmp_path)
    code = ("from serendip.models.tokenizers import register_auto_classes\n"
            "register_auto_classes()\n"
            "from transformers import AutoTokenizer\n"
            f"t = AutoTokenizer.from_pretrained({str(tmp_path)!r})\n"
            "print(type(t).__name__, t('ACGTAC')['input_ids'])\n")
    src = str(Path(gt.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "KmerTokenizer [2, 11, 32, 49, 54, 3]"
