"""C15 - FASTA with CRLF line ends, a blank line, soft-masking, IUPAC codes, one corrupt record, no
final newline.

Right values: ``shared/cases/C15_fasta-crlf-softmask-iupac/CASE.md``.
"""
from __future__ import annotations

import pytest

from serendip.genomics.fasta import read_sequences
from serendip.genomics.fasta_reader import read_fasta_examples


@pytest.fixture()
def path(cases_dir):
    return cases_dir / "C15_fasta-crlf-softmask-iupac" / "windows_softmasked.fasta"


@pytest.fixture()
def result(path):
    return read_sequences(path)


@pytest.fixture()
def by_id(result):
    return {r.id: r for r in result[0]}


def test_input_is_as_described(path):
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    assert all(line.endswith(b"\r") for line in lines[:-1]) and not raw.endswith(b"\n")
    assert lines[3] == b"\r"  # blank line after seq1


def test_four_valid_records_and_no_cr(result):
    recs, _ = result
    assert [r.id for r in recs] == ["seq1", "seq2", "seq3", "seq5"]
    for r in recs:
        assert "\r" not in r.id and "\r" not in r.description and "\r" not in r.seq


def test_seq1_case_preserved_and_lines_joined(by_id):
    r = by_id["seq1"]
    assert r.description == "invented contig with soft-masked repeat"
    assert r.seq == "ACGTACGTNNacgtacgtRYKMGGCCTTAA" and len(r.seq) == 30


def test_seq2_softmasked_fraction(by_id):
    r = by_id["seq2"]
    assert r.seq == "ttttGGGGccccAAAA" and len(r.seq) == 16
    assert r.softmasked_fraction == 0.5


def test_seq3_all_iupac_codes_accepted(by_id):
    r = by_id["seq3"]
    assert r.seq == "ACGTRYSWKMBDHVN" and len(r.seq) == 15


def test_seq4_skipped_with_one_located_error(path, result):
    recs, issues = result
    assert "seq4" not in {r.id for r in recs}
    assert len(issues) == 1
    i = issues[0]
    assert i.file == str(path) and i.record == "seq4" and i.line == 10 and i.char == "#"
    assert "'#'" in i.reason and "not an IUPAC nucleotide code" in i.reason
    msg = str(i)
    assert str(path) in msg and "seq4" in msg and "line 10" in msg and "#" in msg


def test_seq5_last_line_without_newline(by_id):
    r = by_id["seq5"]
    assert r.seq == "GATTACA" and len(r.seq) == 7


def test_header_lines(by_id):
    assert {k: r.line for k, r in by_id.items()} == {"seq1": 1, "seq2": 5, "seq3": 7, "seq5": 11}


def test_softmask_fold_only_on_request(path):
    recs, _ = read_sequences(path, softmask="fold")
    seq2 = next(r for r in recs if r.id == "seq2")
    assert seq2.seq == "TTTTGGGGCCCCAAAA" and seq2.softmasked_fraction == 0.5


def test_through_the_data_reader(path):
    issues = []
    exs = read_fasta_examples(path, label=None, issues=issues)
    assert [(e.id, len(e.text)) for e in exs] == [("seq1", 30), ("seq2", 16), ("seq3", 15), ("seq5", 7)]
    assert [(i.record, i.line, i.char) for i in issues] == [("seq4", 10, "#")]
