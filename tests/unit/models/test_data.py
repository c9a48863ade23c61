"""Training-data readers, splits, duplicate and imbalance reports."""
from __future__ import annotations

import json
import warnings
from collections import Counter

import pytest

from serendip.errors import ConfigError, DataError, ParseError
from serendip.models.data import (
    ClassImbalanceWarning,
    find_duplicates,
    format_of_path,
    load_splits,
    read_csv,
    read_examples,
    read_jsonl,
    split_examples,
)
from serendip.models.example import Example
from serendip.models.registries import DATA_READERS


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def balanced_csv(path, n_per_class=20, classes=("a", "b")):
    rows = ["text,label"] + [f"{c} sample {i},{c}" for c in classes for i in range(n_per_class)]
    return write(path, "\n".join(rows) + "\n")


def test_csv_mapping_issues_and_lines(tmp_path):
    f = write(tmp_path / "t.csv", 'Sentence,y,key\nhello,pos,r1\n,neg,r2\nbad day,,r3\n'
                                  '"two\nlines",neg,\nx,y,z,w\n')
    issues = []
    exs = read_csv(f, text="sentence", label="y", id="key", issues=issues)
    assert [e.text for e in exs] == ["hello", "two\nlines"]
    assert exs[0].id == "r1" and exs[0].label == "pos"
    assert exs[1].id == "t.csv:5" and exs[1].source == f"{f}, line 5"  # no id: file:line
    assert [(i.line, i.record) for i in issues] == [(3, "r2"), (4, "r3"), (7, None)]
    assert "empty text (column 'sentence')" in str(issues[0]) and str(f) in str(issues[0])
    assert "empty label (column 'y')" in issues[1].reason
    assert "4 fields" in issues[2].reason


def test_missing_column_names_file_and_column(tmp_path):
    f = write(tmp_path / "t.csv", "text,class\na,b\n")
    with pytest.raises(DataError) as info:
        read_examples(f)
    assert str(f) in str(info.value) and "'label'" in str(info.value) and "'class'" in str(info.value)


def test_tsv_and_unlabelled(tmp_path):
    f = write(tmp_path / "t.tsv", "text\tlabel\na, b\tx\n")
    exs = read_examples(f)
    assert exs[0].text == "a, b"
    exs = read_examples(f, columns={"label": None})
    assert exs[0].label is None


def test_jsonl_issues_and_missing_key(tmp_path):
    f = write(tmp_path / "t.jsonl", '{"text": "a", "label": ["x", "y"]}\nnot json\n[1]\n\n'
                                    '{"text": "b"}\n{"text": "", "label": "x"}\n')
    issues = []
    exs = read_jsonl(f, issues=issues)
    assert len(exs) == 1 and exs[0].label == ["x", "y"]
    assert [i.line for i in issues] == [2, 3, 5, 6]
    assert "invalid JSON" in issues[0].reason and "no key 'label'" in issues[2].reason
    with pytest.raises(DataError, match="no record has the key 'lbl'"):
        read_jsonl(f, label="lbl")


def test_not_utf8_is_parse_error(tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes(b"text,label\n\xff\xfe,a\n")
    with pytest.raises(ParseError, match="not UTF-8"):
        read_csv(f)


def test_empty_dataset(tmp_path):
    with pytest.raises(DataError, match="no usable examples"):
        load_splits(write(tmp_path / "h.csv", "text,label\n"))
    with pytest.raises(DataError, match=r"2 row\(s\) skipped.*line 2"):
        load_splits(write(tmp_path / "bad.csv", "text,label\n,a\nb,\n"))
    with pytest.raises(DataError, match="empty"):
        read_csv(write(tmp_path / "e.csv", ""))


def test_unknown_format(tmp_path):
    with pytest.raises(ConfigError, match="cannot tell the data format"):
        read_examples(write(tmp_path / "t.xyz", "x"))
    with pytest.raises(ConfigError, match="unknown data format 'xml'"):
        read_examples(write(tmp_path / "t.csv", "text,label\na,b\n"), "xml")
    with pytest.raises(ConfigError, match="takes no option 'sheet'"):
        read_examples(tmp_path / "t.csv", sheet=1)


def test_domain_reader_gets_only_accepted_options(tmp_path, monkeypatch):
    calls = {}

    def read_fake(path, *, alphabet="ACGT"):
        calls["alphabet"] = alphabet
        return [Example(text="ACGT", label="x")]

    monkeypatch.setitem(DATA_READERS._items, "fake", read_fake)
    issues = []
    assert read_examples(write(tmp_path / "s.fake", ">x\n"), issues=issues, alphabet="ACGTN")
    assert calls["alphabet"] == "ACGTN" and issues == []


def test_stratified_split_is_seeded_and_keeps_proportions(tmp_path):
    f = balanced_csv(tmp_path / "t.csv", n_per_class=30, classes=("a", "b", "c"))
    s1 = load_splits(f, task="multiclass", seed=3)
    s2 = load_splits(f, task="multiclass", seed=3)
    s3 = load_splits(f, task="multiclass", seed=4)
    assert [e.id for e in s1.test] == [e.id for e in s2.test]
    assert [e.id for e in s1.test] != [e.id for e in s3.test]
    r = s1.report
    assert r.sizes == {"train": 72, "dev": 9, "test": 9}
    assert r.label_counts["test"] == {"a": 3, "b": 3, "c": 3}
    assert r.stratified and "stratified" in r.origin["dev"]
    ids = [e.id for part in (s1.train, s1.dev, s1.test) for e in part]
    assert len(ids) == len(set(ids)) == 90
    json.dumps(r.to_dict(), default=str)


def test_split_with_given_files_and_zero_fractions(tmp_path):
    tr = balanced_csv(tmp_path / "train.csv")
    te = write(tmp_path / "test.csv", "text,label\nnew one,a\nnew two,b\n")
    s = load_splits(tr, test=te, task="binary", dev_fraction=0.25)
    assert len(s.test) == 2 and s.report.origin["test"] == f"file {te}"
    assert len(s.dev) == 10 and len(s.train) == 30
    s = load_splits(tr, test=te, task="binary", dev_fraction=0.0)
    assert s.dev == [] and s.report.origin["dev"] == "none" and len(s.train) == 40


def test_impossible_stratified_split_names_class():
    exs = [Example(text=f"t{i}", label="a") for i in range(10)] + [Example(text="u", label="b")]
    with pytest.raises(DataError, match="class 'b' has 1 example"):
        split_examples(exs, seed=0)
    train, dev, test = split_examples(exs, seed=0, stratify=False)
    assert len(train) + len(dev) + len(test) == 11


def test_duplicates_across_splits_are_reported_not_dropped(tmp_path):
    tr = write(tmp_path / "train.csv", "text,pair,label\nsame,p1,a\nsame,p2,b\nonly train,p,a\n"
                                       "x,y,a\nz,w,b\n")
    dv = write(tmp_path / "dev.csv", "text,pair,label\nsame,p1,a\nother,q,b\n")
    te = write(tmp_path / "test.csv", "text,pair,label\nother,q,a\nfresh,r,b\n")
    s = load_splits(tr, dv, te, task="pair", columns={"text_pair": "pair"})
    assert len(s.train) == 5 and len(s.dev) == 2  # nothing dropped
    dups = {(d.kind, d.splits, d.text, d.text_pair): d for d in s.report.duplicates}
    text_dup = dups[("text", ("train", "dev"), "same", None)]
    assert len(text_dup.ids[0]) == 2 and text_dup.labels_agree is False
    assert dups[("text+pair", ("train", "dev"), "same", "p1")].labels_agree is True
    conflict = dups[("text+pair", ("dev", "test"), "other", "q")]
    assert conflict.labels_agree is False
    assert ("text+pair", ("train", "dev"), "same", "p2") not in dups
    assert s.report.duplicates_within["train"] == 1


def test_find_duplicates_without_pairs_checks_text_only():
    dups = find_duplicates({"train": [Example("a", "x")], "test": [Example("a", "x")]})
    assert [(d.kind, d.splits) for d in dups] == [("text", ("train", "test"))]


def test_class_imbalance_warning(tmp_path):
    rows = ["text,label"] + [f"m{i},major" for i in range(97)] + [f"r{i},rare" for i in range(3)]
    f = write(tmp_path / "t.csv", "\n".join(rows) + "\n")
    with pytest.warns(ClassImbalanceWarning, match="'rare': 3 of 100"):
        s = load_splits(f, task="binary", dev_fraction=0, test_fraction=0)
    assert s.report.rare_classes == [{"class": "rare", "count": 3, "fraction": 0.03}]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClassImbalanceWarning)
        load_splits(balanced_csv(tmp_path / "b.csv"), task="binary")


def test_task_parsing_skips_bad_rows_with_line(tmp_path):
    f = write(tmp_path / "r.csv", "text,label\na,1.5\nb,oops\nc,2\nd,3\ne,4\nf,5\ng,6\nh,7\ni,8\nj,9\n")
    s = load_splits(f, task="regression", seed=0)
    assert s.report.skipped == 1
    issue = s.report.issues[0]
    assert issue.line == 3 and "'oops' is not a number" in issue.reason
    assert not s.report.stratified
    assert min(e.label for e in s.train + s.dev + s.test) == 1.5
    assert Counter(type(e.label) for e in s.train) == {float: len(s.train)}


def test_load_splits_from_config(tmp_path):
    from serendip.models.config import load_config
    from serendip.models.data import load_splits_from_config

    balanced_csv(tmp_path / "train.csv", n_per_class=10)
    cfg = load_config(write(tmp_path / "ft.toml", 'task = "binary"\n[data]\ntrain = "train.csv"\n'
                                                   'split = {dev = 0.2, test = 0.2, seed = 1}\n'))
    s = load_splits_from_config(cfg.data, "binary")
    assert s.report.sizes == {"train": 12, "dev": 4, "test": 4} and s.report.seed == 1


@pytest.mark.parametrize("name, fmt", [
    ("a.csv", "csv"), ("a.TSV", "tsv"), ("a.tab", "tsv"), ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"),
    ("a.fasta", "fasta"),  # any other suffix is looked up as a reader name (a domain registers it)
    ("a.csv.gz", "gz"), ("README", ""),
])
def test_format_of_path(name, fmt):
    assert format_of_path(name) == fmt
