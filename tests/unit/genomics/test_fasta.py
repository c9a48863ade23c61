"""FASTA/FASTQ reading: CRLF, blank lines, no final newline, gzip, alphabets, soft-masking, line numbers,
the ``fasta`` data reader; the public sample files (``data`` marker) against their SOURCE.md counts."""
from __future__ import annotations

import gzip
import warnings

import pytest

from serendip.errors import ConfigError, DataError, ParseError
from serendip.genomics.fasta import (
    Issue,
    iter_sequences,
    read_sequences,
    sniff_format,
)
from serendip.genomics.fasta_reader import read_fasta_examples
from serendip.models.example import Example
from serendip.models.registries import DATA_READERS


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_crlf_blank_lines_and_no_final_newline(tmp_path):
    p = _write(tmp_path, "a.fa", b">r1 first one\r\nACGT\r\nacgt\r\n\r\n\r\n>r2\r\nGG\r\nCC")
    recs, issues = read_sequences(p)
    assert issues == []
    assert [(r.id, r.description, r.seq, r.line) for r in recs] == [
        ("r1", "first one", "ACGTacgt", 1), ("r2", "", "GGCC", 6)]
    assert recs[0].softmasked_fraction == 0.5
    assert all("\r" not in r.seq + r.id + r.description for r in recs)
    assert len(recs[0]) == 8 and recs[0].quality is None


def test_lone_cr_line_ends(tmp_path):
    p = _write(tmp_path, "mac.fa", b">r1\rACGT\rAC\r>r2\rTT\r")
    recs, issues = read_sequences(p)
    assert [(r.id, r.seq, r.line) for r in recs] == [("r1", "ACGTAC", 1), ("r2", "TT", 4)] and not issues


def test_gzip_detected_by_magic_bytes_not_name(tmp_path):
    p = _write(tmp_path, "plain_name.txt", gzip.compress(b">x\nACGT\n>y\nNNNN\n"))
    recs, issues = read_sequences(p)
    assert [r.seq for r in recs] == ["ACGT", "NNNN"] and not issues
    assert sniff_format(p) == "fasta"


def test_bad_character_skips_record_with_location(tmp_path):
    p = _write(tmp_path, "bad.fa", b">ok\nACGT\n>bad desc\nACGT\nAC-GT\n>ok2\nTTTT\n")
    recs, issues = read_sequences(p)
    assert [r.id for r in recs] == ["ok", "ok2"]
    assert len(issues) == 1
    i = issues[0]
    assert (i.file, i.record, i.line, i.column, i.char) == (str(p), "bad", 5, 3, "-")
    assert "'-'" in i.reason
    assert str(i).startswith(f"{p}, line 5, record bad: invalid character")
    err = i.to_error()
    assert isinstance(err, ParseError) and err.line == 5 and err.record == "bad"


def test_internal_space_is_reported_not_silently_removed(tmp_path):
    p = _write(tmp_path, "sp.fa", b">s\nAC GT\n>t\nACGT   \n")
    recs, issues = read_sequences(p)
    assert [r.id for r in recs] == ["t"]  # trailing whitespace is not sequence
    assert issues[0].char == " " and issues[0].line == 2 and issues[0].column == 3


def test_alphabets(tmp_path):
    p = _write(tmp_path, "iu.fa", b">a\nACGTRYSWKMBDHVNU\n>b\nacgtn\n>c\nACGTE\n")
    recs, issues = read_sequences(p)
    assert [r.id for r in recs] == ["a", "b"] and issues[0].char == "E"
    recs, issues = read_sequences(p, alphabet="ACGTN")
    assert [r.id for r in recs] == ["b"]
    assert [(i.record, i.char) for i in issues] == [("a", "R"), ("c", "E")]
    recs, issues = read_sequences(p, alphabet="protein")
    assert len(recs) == 3 and not issues
    with pytest.raises(ConfigError, match="alphabet"):
        read_sequences(p, alphabet="dna5")


def test_softmask_fold(tmp_path):
    p = _write(tmp_path, "sm.fa", b">a\nacgtACGT\n")
    (rec,), _ = read_sequences(p, softmask="fold")
    assert rec.seq == "ACGTACGT" and rec.softmasked_fraction == 0.5
    (rec,), _ = read_sequences(p)
    assert rec.seq == "acgtACGT"
    with pytest.raises(ConfigError):
        read_sequences(p, softmask="drop")


def test_text_before_first_record_and_empty_records(tmp_path):
    p = _write(tmp_path, "lead.fa", b"\n\n; a comment\nnotes\n>a\n>b\nAC\n>\nGG\n")
    recs, issues = read_sequences(p)
    assert [(r.id, r.seq, r.line) for r in recs] == [("a", "", 5), ("b", "AC", 6)]
    assert recs[0].softmasked_fraction == 0.0
    assert issues[0].line == 3 and "2 line(s)" in issues[0].reason
    assert issues[1].line == 8 and "no record id" in issues[1].reason


def test_blank_leading_lines_only(tmp_path):
    p = _write(tmp_path, "blank.fa", b"\n\n>a\nAC\n")
    recs, issues = read_sequences(p)
    assert [(r.id, r.line) for r in recs] == [("a", 3)] and not issues


def test_empty_file_and_unknown_format(tmp_path):
    assert read_sequences(_write(tmp_path, "e.fa", b"")) == ([], [])
    with pytest.raises(ParseError, match="not FASTA or FASTQ"):
        read_sequences(_write(tmp_path, "x.txt", b"hello\n"))
    with pytest.raises(ParseError, match="cannot read"):
        read_sequences(tmp_path / "missing.fa")


def test_fastq_wrapped_crlf_and_zero_length(tmp_path):
    data = (b"@r1 d\r\nACGT\r\nAC\r\n+\r\nIIII\r\nII\r\n@r2\r\n\r\n+\r\n\r\n"
            b"@r3\r\nacgt\r\n+r3\r\n@@@@\r\n")
    recs, issues = read_sequences(_write(tmp_path, "r.fq", data))
    assert not issues
    assert [(r.id, r.seq, r.quality, r.line) for r in recs] == [
        ("r1", "ACGTAC", "IIIIII", 1), ("r2", "", "", 7), ("r3", "acgt", "@@@@", 11)]
    assert recs[2].softmasked_fraction == 1.0


def test_fastq_bad_base_and_bad_quality(tmp_path):
    data = b"@a\nACGT\nAXGT\n+\nIIIIIIII\n@b\nACGT\n+\nII\x7fI\n@c\nAC\n+\nII\n"
    recs, issues = read_sequences(_write(tmp_path, "b.fq", data))
    assert [r.id for r in recs] == ["c"]
    assert [(i.record, i.line, i.column, i.char) for i in issues] == [("a", 3, 2, "X"), ("b", 9, 3, "\x7f")]


def test_fastq_structural_error_stops_with_location(tmp_path):
    data = b"@a\nACGT\n+\nIIII\n@b\nACGT\n+\nIII\n"
    recs, issues = read_sequences(_write(tmp_path, "s.fq", data))
    assert [r.id for r in recs] == ["a"]
    assert len(issues) == 1 and issues[0].record == "b" and "reading stopped" in issues[0].reason
    assert issues[0].line == 8


def test_iter_sequences_streams_in_file_order(tmp_path):
    p = _write(tmp_path, "o.fa", b">a\nAC\n>b\nA#\n>c\nGG\n")
    kinds = [type(x).__name__ for x in iter_sequences(p)]
    assert kinds == ["Sequence", "Issue", "Sequence"]


# ------------------------------------------------------------------------------ the data reader


def test_reader_registered():
    for name in ("fasta", "fastq", "fa", "fna", "fq"):
        assert DATA_READERS.get(name) is read_fasta_examples


def test_reader_custom_header_key(tmp_path):
    p = _write(tmp_path, "k.fa", b">s1 class=1 label=x\nACGT\n>s2 klass=0\nAC\n")
    issues: list[Issue] = []
    exs = read_fasta_examples(p, label="class", issues=issues)
    assert [(e.id, e.label) for e in exs] == [("s1", "1")]
    assert issues[0].record == "s2" and "no class=VALUE" in issues[0].reason


def test_reader_labels_from_header_key(tmp_path):
    p = _write(tmp_path, "l.fa", b">s1 label=promoter x\nACGT\n>s2 no label\nAC\n>s3 label=other\nGGN\n")
    issues: list[Issue] = []
    exs = read_fasta_examples(p, issues=issues)
    assert [(e.id, e.text, e.label) for e in exs] == [("s1", "ACGT", "promoter"), ("s3", "GGN", "other")]
    assert exs[0].source == f"{p} line 1" and exs[0].meta["description"] == "label=promoter x"
    assert [(i.record, i.line) for i in issues] == [("s2", 3)] and "no label" in issues[0].reason


def test_reader_labels_from_regex(tmp_path):
    p = _write(tmp_path, "r.fa", b">s1|class_A\nACGT\n>s2|class_B\nAC\n>s3\nGG\n")
    issues: list[Issue] = []
    exs = read_fasta_examples(p, label_from_header=r"\|class_(?P<label>\w+)", issues=issues)
    assert [e.label for e in exs] == ["A", "B"] and issues[0].record == "s3"
    exs = read_fasta_examples(p, label_from_header=r"class_(\w)", issues=[])
    assert [e.label for e in exs] == ["A", "B"]
    with pytest.raises(ConfigError):
        read_fasta_examples(p, label_from_header="(")


def test_reader_labels_from_side_table(tmp_path):
    p = _write(tmp_path, "t.fa", b">s1\nACGT\n>s2\nAC\n>s3\nGG\n>s4\nA!\n")
    table = _write(tmp_path, "labels.csv", b"\xef\xbb\xbfid,label\r\ns1,1\r\ns3,0\r\nzz,1\r\n")
    issues: list[Issue] = []
    exs = read_fasta_examples(p, labels=table, issues=issues)
    assert [(e.id, e.label) for e in exs] == [("s1", "1"), ("s3", "0")]
    assert [(i.record, "label" in i.reason) for i in issues] == [("s2", True), ("s4", False)]
    tsv = _write(tmp_path, "labels.tsv", b"name\tclass\ns2\tx\n")
    exs = read_fasta_examples(p, labels=tsv, id_column="name", label_column="class", issues=[])
    assert [(e.id, e.label) for e in exs] == [("s2", "x")]
    with pytest.raises(DataError, match="no column"):
        read_fasta_examples(p, labels=tsv, issues=[])
    with pytest.raises(ConfigError):
        read_fasta_examples(p, labels=table, label_from_header="x")
    clash = _write(tmp_path, "clash.csv", b"id,label\ns1,1\ns1,0\n")
    with pytest.raises(ParseError, match="two labels"):
        read_fasta_examples(p, labels=clash)


def test_reader_unlabelled_warns_without_issue_list_and_skips_empty(tmp_path):
    p = _write(tmp_path, "u.fa", b">a\nAC\n>b\n>c\nA%\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exs = read_fasta_examples(p, label=None)
    assert [(e.id, e.label) for e in exs] == [("a", None)]
    assert len(caught) == 2 and "record b" in str(caught[0].message) and "record c" in str(caught[1].message)
    assert all(isinstance(e, Example) for e in exs)


def test_reader_nothing_usable_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no usable records"):
        read_fasta_examples(_write(tmp_path, "n.fa", b">a\nAC\n"), issues=[])


# ------------------------------------------------------------------- public samples (data marker)

# file -> (records, min length, max length, total length) from fasta_samples/SOURCE.md
SAMPLES = {
    "softmasked__chr17.hg19.part.fa": (1, 40000, 40000, 40000),
    "blank_line_between_records__issue_83.fasta": (2, 60, 119, 179),
    "crlf_dna__lupine.nu": (1, 655, 655, 655),
    "crlf_protein__rosemary.pro": (1, 473, 473, 473),
    "protein__BGC0001425.faa": (22, 154, 4465, 18357),
    "iupac_nrun__athaliana_Chr2_excerpt.fa": (2, 2000, 2000, 4000),
    "crlf__example_dos.fastq": (3, 25, 25, 75),
    "empty_reads__zero_length.fastq": (5, 0, 127, 280),
    "multiline__longreads_original_sanger.fastq": (10, 145, 507, 3665),
    "tricky_at_plus_in_qual__tricky.fastq": (4, 36, 36, 144),
    "iupac_mixedcase__misc_dna_original_sanger.fastq": (4, 30, 41, 153),
}
PROTEIN = {"crlf_protein__rosemary.pro", "protein__BGC0001425.faa"}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_counts(mirror, name):
    path = mirror / "fasta_samples" / name
    recs, issues = read_sequences(path, alphabet="protein" if name in PROTEIN else "iupac")
    assert not issues
    lengths = [len(r) for r in recs]
    assert (len(recs), min(lengths), max(lengths), sum(lengths)) == SAMPLES[name]
    for r in recs:
        assert "\r" not in r.id + r.description + r.seq + (r.quality or "")
        if r.quality is not None:
            assert len(r.quality) == len(r.seq)


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(PROTEIN))
def test_protein_is_not_accepted_as_dna(mirror, name):
    recs, issues = read_sequences(mirror / "fasta_samples" / name)
    assert recs == [] and len(issues) == SAMPLES[name][0]
    assert all(i.char and i.line and i.record for i in issues)


@pytest.mark.data
def test_sample_details(mirror):
    d = mirror / "fasta_samples"
    (chr17,), _ = read_sequences(d / "softmasked__chr17.hg19.part.fa")
    assert chr17.id == "chr17" and chr17.softmasked_fraction == 17395 / 40000
    recs, _ = read_sequences(d / "blank_line_between_records__issue_83.fasta")
    assert recs[1].id == "GL000207.1"
    assert recs[1].description == "dna:supercontig supercontig::GL000207.1:1:4262:1"
    assert [r.line for r in recs] == [1, 5]
    recs, _ = read_sequences(d / "iupac_nrun__athaliana_Chr2_excerpt.fa", alphabet="ACGTN")
    assert [r.id for r in recs] == ["Chr2:1-2000"]  # record 2 holds Y, K, S
    assert recs[0].seq[:1000] == "N" * 1000
    recs, _ = read_sequences(d / "tricky_at_plus_in_qual__tricky.fastq")
    assert [r.line for r in recs] == [1, 5, 9, 13]
    assert recs[1].quality.startswith("@") and recs[3].seq == "TGGGAGGTTTTATGTGGAAAGCAGCAATGTACAAGA"
    recs, _ = read_sequences(d / "empty_reads__zero_length.fastq")
    empty = [r for r in recs if not r.seq]
    assert [r.id for r in empty] == ["EMWLCP001DHOHL"] and empty[0].quality == ""
    recs, _ = read_sequences(d / "iupac_mixedcase__misc_dna_original_sanger.fastq", softmask="fold")
    assert all(r.seq == r.seq.upper() for r in recs)
