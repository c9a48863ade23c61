"""Pre-training tokenizers of the engine: trained BPE (serendip.models.tokenizers); the k-mer one is
tested in tests/unit/genomics/test_tokenizer.py."""
from __future__ import annotations

import random

import pytest

from serendip.errors import ConfigError, DataError
from serendip.models import tokenizers as tk
from serendip.models.registries import TOKENIZERS


def test_registry_names():
    assert "bpe" in TOKENIZERS
    assert TOKENIZERS.get("bpe") is tk.train_bpe_tokenizer


def test_bpe_dna_trains_and_round_trips(tmp_path):
    from transformers import AutoTokenizer

    rng = random.Random(1)
    motifs = ["TATAAT", "TTGACA", "GGAGG"]
    seqs = ["".join(rng.choice(motifs) if rng.random() < 0.6 else rng.choice("ACGT") for _ in range(60))
            for _ in range(40)]
    tok = tk.train_bpe_tokenizer(seqs, vocab_size=80, alphabet="ACGTN")
    assert 5 + 5 < len(tok) <= 80
    assert [tok.convert_tokens_to_ids(t) for t in tk.SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    enc = tok(seqs[0])
    assert enc["input_ids"][0] == tok.cls_token_id and enc["input_ids"][-1] == tok.sep_token_id
    assert len(enc["input_ids"]) - 2 < len(seqs[0])  # merges compress
    assert "".join(tok.convert_ids_to_tokens(enc["input_ids"][1:-1])) == seqs[0]
    assert tok(seqs[0].lower())["input_ids"] == enc["input_ids"]
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded(seqs[:5])["input_ids"] == tok(seqs[:5])["input_ids"]


def test_bpe_text_trains_and_round_trips(tmp_path):
    from transformers import AutoTokenizer

    docs = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog met"] * 5
    tok = tk.TOKENIZERS.get("bpe")(docs, vocab_size=300, min_frequency=2)
    text = "the cat met the dog: naïve café"
    ids = tok(text)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text  # byte-level: no [UNK], exact
    assert tok.unk_token_id not in ids
    assert len(tok("the cat sat")["input_ids"]) < len("the cat sat") + 2
    tok.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)(text)["input_ids"] == ids


def test_bpe_errors():
    with pytest.raises(DataError):
        tk.train_bpe_tokenizer([], vocab_size=400)
    with pytest.raises(ConfigError, match="vocab_size"):
        tk.train_bpe_tokenizer(["abc"], vocab_size=100)
    with pytest.raises(ConfigError, match="vocab_size must exceed 10 for 'ACGTN'-alphabet"):
        tk.train_bpe_tokenizer(["ACGT"], vocab_size=10, alphabet="ACGTN")
    with pytest.raises(ConfigError, match="alphabet"):
        tk.train_bpe_tokenizer(["abc"], vocab_size=400, alphabet="acgt")
