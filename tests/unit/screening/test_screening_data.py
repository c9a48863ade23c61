"""Records and labels read for a simulation: bad input is a one-line error naming the file and line,
a bad record line is skipped and reported, good records are kept."""
from __future__ import annotations

import gzip
import json

import pytest
from screening_helpers import tiny_set, write_files

from serendip.errors import DataError, ParseError
from serendip.screening.data import load_screening_set, read_labels, read_records

HEADER = "review\tpmid\tlabel_abstract_screening\tlabel_included\n"


def test_a_set_is_read_in_the_labels_files_order(tmp_path):
    ds = tiny_set()
    records, labels = write_files(ds, tmp_path)
    got = load_screening_set(records, labels, "Toy")
    assert got.ids == ds.ids and got.labels.tolist() == ds.labels.tolist()
    assert got.titles == ds.titles and got.texts()[0] == f"{ds.titles[0]} {ds.abstracts[0]}"
    labels.write_text(HEADER + "Toy\t1003\t1\t0\nToy\t1001\t0\t0\n")
    got = load_screening_set([records], labels, "Toy")
    assert got.ids == ["1003", "1001"] and got.labels.tolist() == [1, 0]
    with pytest.raises(DataError, match="no include"):  # final-inclusion labels: none here
        load_screening_set([records], labels, "Toy", label_column="label_included")


def test_a_label_for_an_unknown_pmid_names_the_labels_file_and_line(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    labels.write_text(HEADER + "Toy\t1000\t1\t1\nToy\t999\t0\t0\nToy\t1001\t0\t0\n")
    with pytest.raises(ParseError) as err:
        load_screening_set(records, labels, "Toy")
    msg = str(err.value)
    assert msg.startswith(f"{labels}, line 3: PMID 999 of review 'Toy' is in no records file") and "\n" not in msg


def test_a_labelled_pmid_whose_record_line_cannot_be_read_names_that_line(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    lines = records.read_text().splitlines()
    lines[1] = lines[1][:20]  # record 1001's line cut short: not JSON, so its PMID cannot be read
    records.write_text("\n".join(lines) + "\n")
    with pytest.raises(ParseError) as err:
        load_screening_set(records, labels, "Toy")
    msg = str(err.value)
    assert "PMID 1001 of review 'Toy' is in no records file" in msg and "\n" not in msg
    assert f"1 record line(s) could not be read, it may be one: {records}, line 2: not JSON" in msg


def test_a_review_with_no_include_or_no_exclude_is_refused(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    labels.write_text(HEADER + "Toy\t1000\t0\t0\nToy\t1001\t0\t0\n")
    with pytest.raises(DataError, match=r"labels.tsv \(label_abstract_screening\): review 'Toy' has no include"):
        load_screening_set(records, labels, "Toy")
    labels.write_text(HEADER + "Toy\t1000\t1\t1\n")
    with pytest.raises(DataError, match="has no exclude"):
        load_screening_set(records, labels, "Toy")


@pytest.mark.parametrize("body, line, match", [
    ("Toy\t1000\t1\t1\nToy\t1001\tyes\t0\n", 3, "label 'yes' in label_abstract_screening is not 0 or 1"),
    ("Toy\t1000\t1\t1\nToy\t1000\t0\t0\n", 3, r"PMID 1000 is labelled twice for review 'Toy' \(first at line 2\)"),
    ("Toy\t1000\n", 2, "2 fields, the header has 4"),
])
def test_bad_label_rows_name_their_line(tmp_path, body, line, match):
    labels = tmp_path / "labels.tsv"
    labels.write_text(HEADER + body)
    with pytest.raises(ParseError, match=match) as err:
        read_labels(labels, "Toy")
    assert err.value.line == line and err.value.file == str(labels)


def test_missing_columns_and_reviews(tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text("review\tpmid\n")
    with pytest.raises(ParseError, match="line 1: the header has no column 'label_abstract_screening'"):
        read_labels(labels, "Toy")
    labels.write_text(HEADER + "A\t1\t1\t1\nB\t2\t0\t0\n")
    with pytest.raises(DataError, match="no labels for review 'Toy'; reviews in the file: A, B"):
        read_labels(labels, "Toy")
    with pytest.raises(FileNotFoundError):
        read_labels(tmp_path / "none.tsv", "Toy")


def test_bad_record_lines_are_skipped_and_reported_the_rest_kept(tmp_path):
    path = tmp_path / "records.jsonl.gz"
    lines = [json.dumps({"pmid": "1", "title": "A", "abstract": "NA"}), "{not json", json.dumps([1, 2]),
             json.dumps({"title": "no id"}), json.dumps({"pmid": 2, "title": 5}),
             json.dumps({"pmid": "1", "title": "again"}), json.dumps({"id": "3", "title": None, "abstract": "x"})]
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    records, issues = read_records([path])
    assert sorted(records) == ["1", "3"]
    assert records["1"] == ("A", "", 1, ()) and records["3"] == ("", "x", 0, ())   # "NA" read as missing, counted
    assert [(i.line, i.reason.split(";")[0].split(" (")[0]) for i in issues] == [
        (2, "not JSON"), (3, "not a JSON object"), (4, "no 'pmid' or 'id'"),
        (5, "title or abstract is not a string"), (6, "id seen before")]
    assert str(issues[0]).startswith(f"{path}, line 2: not JSON")
    keep_na, _ = read_records([path], na_values=())
    assert keep_na["1"] == ("A", "NA", 0, ())


def test_a_broken_gzip_file_is_named(tmp_path):
    path = tmp_path / "records.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(ParseError, match="records.jsonl.gz: cannot read the records file"):
        read_records([path])
