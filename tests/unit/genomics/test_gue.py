"""GUE tasks from the mirror: official splits, header check, duplicates reported (not dropped)."""
from __future__ import annotations

import gzip

import pytest

from serendip.errors import DataError, ParseError
from serendip.genomics.gue import load_gue, read_gue_csv, split_report
from serendip.models.example import Example


def test_read_gue_csv_checks_header_and_rows(tmp_path):
    p = tmp_path / "train.csv.gz"
    p.write_bytes(gzip.compress(b"sequence,label\nACGT,1\nGGNN,0\n"))
    exs = read_gue_csv(p)
    assert [(e.text, e.label, e.id) for e in exs] == [("ACGT", "1", "train:1"), ("GGNN", "0", "train:2")]
    assert exs[1].source == f"{p} line 3"
    bad = tmp_path / "dev.csv"
    bad.write_text("seq,label\nACGT,1\n")
    with pytest.raises(DataError, match="header"):
        read_gue_csv(bad)
    bad.write_text("sequence,label\nACGT,1\nACXT,0\n")
    with pytest.raises(ParseError, match="line 3.*'X'"):
        read_gue_csv(bad)
    bad.write_text("sequence,label\nACGT,yes\n")
    with pytest.raises(ParseError, match="not an integer"):
        read_gue_csv(bad)


def test_split_report_counts():
    ex = lambda s, y: Example(s, label=y)
    rep = split_report({"train": [ex("AA", "1"), ex("AA", "0"), ex("CC", "1")],
                        "test": [ex("AA", "1"), ex("GG", "0")]})
    assert rep.duplicates == {"train": 1, "test": 0}
    assert rep.conflicting == {"train": 1, "test": 0}
    assert rep.shared == {"train/test": 1} and rep.shared_conflicting == {"train/test": 1}


@pytest.mark.data
def test_prom_core_all_official_splits(mirror):
    d = load_gue("prom_core_all")
    assert {k: len(v) for k, v in d.items()} == {"train": 47356, "dev": 5920, "test": 5920}
    assert d.task == "prom_core_all"
    assert all(len(e.text) == 70 and e.label in ("0", "1") for e in d["test"])
    assert sum(e.label == "1" for e in d["train"]) == 23651
    r = d.report
    # gue/SOURCE.md: 148 duplicates in train, 42 train/test, 54 train/dev, 8 dev/test
    assert r.duplicates["train"] == 148
    assert r.shared == {"train/dev": 54, "train/test": 42, "dev/test": 8}
    in_train = {e.text for e in d["test"] if "train" in e.meta.get("also_in", [])}
    assert len(in_train) == 42  # reported and marked, still in the official test set


@pytest.mark.data
def test_tf0_aliases(mirror):
    d = load_gue("tf/0")
    assert d.task == "tf0" and {k: len(v) for k, v in d.items()} == {"train": 32378, "dev": 1000, "test": 1000}
    assert all(len(e.text) == 101 for e in d["dev"])
    assert d.report.duplicates["train"] == 8 and d.report.shared["train/dev"] == 1
