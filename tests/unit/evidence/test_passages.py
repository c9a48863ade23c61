"""Passages: sentence offsets into the stored title and abstract (text[start:end] == sentence), and the
workspace's passage index, brought up to date incrementally."""
from __future__ import annotations

import json

import numpy as np
import pytest

from serendip.errors import DataError, IndexDamaged, IndexNotBuilt
from serendip.evidence import passages as pmod
from serendip.evidence.passage_index import FOLDER, PassageIndex, update_passages
from serendip.evidence.passages import ABSTRACT, TITLE, split_record, split_sentences
from serendip.workbench import Workspace


def _sentences(text: str) -> list[str]:
    spans = split_sentences(text)
    for start, end in spans:  # the offsets are into the text as given
        assert text[start:end] == text[start:end].strip() and text[start:end]
    return [text[s:e] for s, e in spans]


def test_abbreviations_figures_and_decimals_do_not_end_a_sentence():
    text = ("Mice were dosed, e.g. with 2.5 mg/kg i.v. daily. See Fig. 2 and Table 1 for details. "
            "Smith et al. found no effect (P < .001).")
    assert _sentences(text) == ["Mice were dosed, e.g. with 2.5 mg/kg i.v. daily.",
                                "See Fig. 2 and Table 1 for details.",
                                "Smith et al. found no effect (P < .001)."]


def test_offsets_count_code_points_in_unicode_text():
    text = "Naïve T cells (≥ 5 µm) grew. 🧬 CRISPR–Cas9 edited 細胞 twice.  Résumé: done."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Naïve T cells (≥ 5 µm) grew.", "🧬 CRISPR–Cas9 edited 細胞 twice.",
                                             "Résumé: done."]
    assert spans[1][0] == text.index("🧬")  # a code point index, not a UTF-8 byte offset


def test_empty_and_blank_texts_have_no_sentence():
    assert split_sentences("") == [] and split_sentences("  \n ") == []


def test_the_title_is_passage_zero_and_the_abstract_sentences_follow():
    title, abstract = "  Aspirin and cancer. ", "Aspirin helps.\nIt was safe (Fig. 1)."
    found = split_record(title, abstract, record="7")
    assert [(p.number, p.field, p.text) for p in found] == [
        (0, TITLE, "Aspirin and cancer."), (1, ABSTRACT, "Aspirin helps."), (2, ABSTRACT, "It was safe (Fig. 1).")]
    for p in found:
        assert (title, abstract)[p.field][p.start:p.end] == p.text
    assert [p.field for p in split_record(None, "One. Two.")] == [ABSTRACT, ABSTRACT]
    assert [p.text for p in split_record("Only a title", "")] == ["Only a title"]
    assert split_record(None, None) == [] and split_record("   ", " ") == []


def test_a_splitter_that_changes_the_text_is_an_error_naming_the_record(monkeypatch):
    class Cleaning:
        def segment(self, text):
            return [text.replace("  ", " ")]

    monkeypatch.setattr(pmod, "_segmenter", lambda: Cleaning())
    with pytest.raises(DataError, match="record 9 abstract: the sentence splitter returned"):
        split_record("t", "two  spaces.", record="9")


DOCS = [{"id": "p1", "title": "Aspirin and colorectal cancer", "abstract": "Aspirin lowered recurrence. It was safe."},
        {"id": "p2", "title": "Statins", "abstract": ""},
        {"id": "p3", "title": "Zinc and colds", "abstract": "Zinc shortened colds, e.g. by 2 days. See Fig. 2."}]


def _ingest(ws: Workspace, tmp_path, docs, name: str) -> None:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    ws.ingest([path])


def test_the_passage_index_is_built_then_extended_with_new_records_only(tmp_path, monkeypatch):
    with Workspace.init(tmp_path / "ws") as ws:
        _ingest(ws, tmp_path, DOCS[:2], "a.jsonl")
        with pytest.raises(IndexNotBuilt, match="serendip index --passages"):
            PassageIndex.load(ws.index_dir / FOLDER)
        rep = ws.index(dense=False, passages=True).passages
        assert (rep.records, rep.passages, rep.split, rep.kept, rep.failed) == (2, 4, 2, 0, [])
        _ingest(ws, tmp_path, DOCS[2:], "b.jsonl")
        calls = []
        real = pmod.split_record
        monkeypatch.setattr("serendip.evidence.passage_index.split_record",
                            lambda *a, **kw: calls.append(kw["record"]) or real(*a, **kw))
        rep = update_passages(ws)
        assert (rep.records, rep.passages, rep.split, rep.kept) == (3, 7, 1, 2) and len(calls) == 1
        index = PassageIndex.load(ws.index_dir / FOLDER)
        assert isinstance(index.spans, np.memmap) and len(index) == 7
        for rid, rec in ws.records():
            got = index.passages(rid, rec.title, rec.abstract)
            assert got == split_record(rec.title, rec.abstract)
            texts = (rec.title, rec.abstract)
            assert all(texts[p.field][p.start:p.end] == p.text for p in got)
        rid3 = max(index.record_ids)
        assert [p.text for p in index.passages(rid3, DOCS[2]["title"], DOCS[2]["abstract"])] == [
            "Zinc and colds", "Zinc shortened colds, e.g. by 2 days.", "See Fig. 2."]
        with pytest.raises(DataError, match="changed since it was added"):
            index.passages(rid3, "another title", DOCS[2]["abstract"])
        with pytest.raises(DataError, match="record 999 is not in the passage index"):
            index.spans_of(999)


def test_a_record_the_splitter_fails_on_is_skipped_and_reported(tmp_path, monkeypatch):
    def fail_on_zinc(title, abstract, *, record):
        if "Zinc" in (title or ""):
            raise DataError(f"record {record} abstract: bad")
        return pmod.split_record(title, abstract, record=record)

    monkeypatch.setattr("serendip.evidence.passage_index.split_record", fail_on_zinc)
    with Workspace.init(tmp_path / "ws") as ws:
        _ingest(ws, tmp_path, DOCS, "a.jsonl")
        rep = update_passages(ws)
        assert rep.records == 2 and len(rep.failed) == 1 and rep.failed[0].endswith("abstract: bad")


def test_a_damaged_part_is_named(tmp_path):
    with Workspace.init(tmp_path / "ws") as ws:
        _ingest(ws, tmp_path, DOCS, "a.jsonl")
        update_passages(ws)
        spans = ws.index_dir / FOLDER / "spans.npy"
        spans.write_bytes(spans.read_bytes()[:-8])
        with pytest.raises(IndexDamaged, match=r"spans.npy is damaged .*; run `serendip index --passages --rebuild`"):
            PassageIndex.load(ws.index_dir / FOLDER)
        with pytest.raises(IndexDamaged, match="spans.npy"):
            update_passages(ws)
        assert update_passages(ws, rebuild=True).passages == 7


def test_cli_index_passages_reports_the_update(tmp_path):
    from typer.testing import CliRunner

    from serendip.cli.app import app

    with Workspace.init(tmp_path / "ws") as ws:
        _ingest(ws, tmp_path, DOCS, "a.jsonl")
    runner = CliRunner()
    args = ["index", "--no-dense", "--passages", "-w", str(tmp_path / "ws")]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "passages: 7 from 3 records (3 split now, 0 kept, 0 removed" in out.output
    out = runner.invoke(app, args)
    assert "passages: 7 from 3 records (0 split now, 3 kept, 0 removed" in out.output
    out = runner.invoke(app, ["index", "--verify", "--passages", "-w", str(tmp_path / "ws")])
    assert out.exit_code == 2 and "--verify builds nothing" in out.output
