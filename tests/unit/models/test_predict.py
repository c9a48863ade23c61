"""``serendip.models.predict`` input checks: the run's symbol alphabet (a DNA run refuses English text,
names the file and the first offending record; an odd bad record is skipped and reported) and a label
column predict does not need (ignored, with a note, never a refusal)."""
from __future__ import annotations

import csv
import random

import pytest
from models_helpers import config, dna, make_backbone, write_csv, write_rows

from serendip.errors import DataError
from serendip.models.example import Example

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dna_run(tmp_path_factory):
    """A tiny binary DNA run (character tokenizer over A C G T N), trained for one epoch."""
    from serendip.models.train import finetune

    root = tmp_path_factory.mktemp("predict")
    backbone = make_backbone(root / "backbone")
    train = write_csv(root / "train.csv", 40)
    result = finetune(config(train, backbone, root / "runs", training={"epochs": 1},
                             data={"columns": {"id": "id"}}))
    return result.run_dir


def _text_tokenizer(folder):
    """A WordPiece tokenizer over the printable ASCII characters: an open (text) vocabulary."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(33, 127)]
    vocab = {t: i for i, t in enumerate(specials + chars + ["##" + c for c in chars] + ["the", "##ing"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def test_run_alphabet_from_the_saved_tokenizer(tmp_path):
    from transformers import AutoTokenizer

    from serendip.models.alphabet import run_alphabet

    dna_tok = AutoTokenizer.from_pretrained(str(make_backbone(tmp_path / "b")), local_files_only=True)
    assert run_alphabet(dna_tok) == frozenset("ACGTN")
    assert run_alphabet(_text_tokenizer(tmp_path)) is None  # open vocabulary: no check
    assert run_alphabet(object()) is None


def test_run_alphabet_of_kmer_and_bpe_dna_tokenizers():
    from serendip.models.alphabet import run_alphabet
    from serendip.models.plugins import load_domains
    from serendip.models.registries import TOKENIZERS

    load_domains()
    seqs = ["ACGTACGTTTGACCA" * 4, "GGGACGTAAACCTTG" * 4]
    kmer = TOKENIZERS.get("kmer")(seqs, k=3)
    assert run_alphabet(kmer) <= frozenset("ACGTN") and {"A", "C", "G", "T"} <= run_alphabet(kmer)
    bpe = TOKENIZERS.get("bpe")(seqs, kind="dna", alphabet="ACGTN", vocab_size=40, min_frequency=1)
    assert run_alphabet(bpe) == frozenset("ACGTN")


def test_check_alphabet_skips_a_stray_record_and_refuses_a_foreign_file(tmp_path):
    from serendip.models.alphabet import check_alphabet

    abc = frozenset("ACGTN")
    dna_rows = [Example("ACGTacgtNN", id="s1"), Example("GATTACA\n", id="s2"),
                Example("ACGTXACG", id="odd"), Example("TTTT", id="s4")]
    skipped: list = []
    kept = check_alphabet(dna_rows, abc, tmp_path / "q.csv", skipped)
    assert [e.id for e in kept] == ["s1", "s2", "s4"]
    assert len(skipped) == 1 and "odd" in str(skipped[0]) and "'X' at position 5" in str(skipped[0])
    english = [Example("The quick brown fox.", id="r1", source="q.csv line 2"),
               Example("Jumps over the lazy dog.", id="r2"), Example("ACGT", id="r3")]
    with pytest.raises(DataError, match=r"q\.csv: 2 of 3 record.*alphabet ACGNT.*'r1' \(q\.csv line 2\).*"
                                        r"character 'h' at position 2"):
        check_alphabet(english, abc, tmp_path / "q.csv", [])
    assert check_alphabet(english, None, tmp_path / "q.csv", []) == english


def test_predict_refuses_english_text_for_a_dna_run(dna_run, tmp_path):
    from serendip.models.predict import predict

    essay = tmp_path / "essay.csv"
    write_rows(essay, [["e1", "Gene expression in the liver was measured twice."],
                       ["e2", "Results were consistent across sites."]], header=("id", "text"))
    with pytest.raises(DataError) as info:
        predict(dna_run, essay, tmp_path / "out.csv")
    msg = str(info.value)
    assert "essay.csv" in msg and "'e1'" in msg and "not scored" in msg
    assert not (tmp_path / "out.csv").exists()


def test_predict_ignores_a_label_column_it_does_not_need(dna_run, tmp_path):
    from serendip.models.predict import predict

    rng = random.Random(5)
    seqs = [dna(rng, bool(i % 2)) for i in range(4)]
    # labels from another labelling ("yes"/"no"): not the run's classes "0"/"1"
    other = write_rows(tmp_path / "other.csv", [[f"q{i}", s, "yes"] for i, s in enumerate(seqs)])
    report = predict(dna_run, other, tmp_path / "o.csv")
    assert report.n == 4 and not report.has_labels and "label" not in report.columns
    assert report.notes and "label column ignored" in report.notes[0] and "'yes'" in report.notes[0]
    # the run's own labels: echoed
    own = write_rows(tmp_path / "own.csv", [[f"q{i}", s, str(i % 2)] for i, s in enumerate(seqs)])
    report = predict(dna_run, own, tmp_path / "p.csv")
    assert report.has_labels and report.notes == []
    with open(tmp_path / "p.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["label"] for r in rows] == ["0", "1", "0", "1"]
    # some rows without a label: the column is ignored, every row predicted
    part = tmp_path / "part.csv"
    part.write_text(f"id,text,label\nq0,{seqs[0]},0\nq1,{seqs[1]},\n", encoding="utf-8")
    report = predict(dna_run, part, tmp_path / "q.csv")
    assert report.n == 2 and not report.has_labels
