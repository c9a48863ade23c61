"""Ingest + search through the Workspace API, on SQLite and on a real PostgreSQL server."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from serendip.errors import ConfigError, IndexNotBuilt, WorkspaceError
from serendip.workbench import Workspace
from serendip.workspace.database import current_revision

DOCS = [
    {"id": "a1", "title": "Vitamin D supplementation and fracture risk in older adults",
     "abstract": "Daily vitamin D did not reduce hip fractures in a randomised trial of 2,000 adults.",
     "year": 2019, "doi": "10.5555/vitd.2019.1", "authors": ["Rossi, Anna"]},
    {"id": "a2", "title": "TNF-α blockade in rheumatoid arthritis",
     "abstract": "Anti-TNF therapy lowered joint inflammation scores after 24 weeks.", "year": 2015},
    {"id": "a3", "title": "Off-target effects of CRISPR-Cas9 in human cells",
     "abstract": "Whole-genome sequencing found rare off-target edits near guide-like sites.", "year": 2018},
    {"id": "a4", "title": "Gut microbiota and obesity",
     "abstract": "Germ-free mice colonised with obese donors' microbiota gained more fat.", "year": 2013},
]


def write_jsonl(path: Path, docs, bad_line_at: int | None = None) -> Path:
    lines = [json.dumps(d, ensure_ascii=False) for d in docs]
    if bad_line_at is not None:
        lines.insert(bad_line_at, '{"id": "broken", "title": "unterminated')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_init_creates_layout_and_migrates(workspace):
    for sub in ("indexes", "models", "runs", "reports"):
        assert (workspace.path / sub).is_dir()
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from serendip.workspace.database import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert current_revision(workspace.engine) == ScriptDirectory.from_config(cfg).get_current_head()
    assert workspace.count() == 0
    # reopening an existing workspace keeps its config and data
    again = Workspace.open(workspace.path)
    assert again.config.database == workspace.config.database
    again.close()


def test_open_missing_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(WorkspaceError, match="not a Serendip workspace"):
        Workspace.open(tmp_path / "nowhere")


def test_ingest_twice_adds_nothing(workspace, tmp_path):
    f = write_jsonl(tmp_path / "docs.jsonl", DOCS)
    rep = workspace.ingest([f])
    assert (rep.ingested, rep.duplicates, rep.failed) == (4, 0, 0)
    rep2 = workspace.ingest([f])
    assert (rep2.ingested, rep2.duplicates, rep2.failed) == (0, 4, 0)
    assert workspace.count() == 4
    stored = workspace.reports()
    assert [r["ingested"] for r in stored] == [4, 0]
    assert all(r["status"] == "done" for r in stored)
    assert json.loads((workspace.path / "reports" / f"ingest-{rep.id}.json").read_text())["ingested"] == 4


def test_one_path_given_alone_is_one_file_not_its_characters(workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "b.jsonl", DOCS[:2])
    (tmp_path / "b").write_text("not a reference file\n")  # would be read if "b.jsonl" were iterated
    for path in ("b.jsonl", Path("b.jsonl")):
        report = workspace.ingest(path)
        assert report.failed == 0 and report.ingested + report.duplicates == 2


def test_bad_record_in_middle_is_reported_and_the_rest_kept(workspace, tmp_path):
    f = write_jsonl(tmp_path / "mixed.jsonl", DOCS, bad_line_at=2)
    rep = workspace.ingest([f])
    assert rep.ingested == 4 and rep.failed == 1
    assert len(rep.errors) == 1
    assert "mixed.jsonl" in rep.errors[0] and "line 3" in rep.errors[0]
    assert workspace.reports()[-1]["errors"] == rep.errors
    titles = sorted(r.title for _, r in workspace.records())
    assert titles == sorted(d["title"] for d in DOCS)


def test_dedupe_by_doi_and_by_title_year_across_files(workspace, tmp_path):
    workspace.ingest([write_jsonl(tmp_path / "one.jsonl", DOCS[:2])])
    other = [
        # same DOI, other id and casing, the title without its last words: a duplicate
        {"id": "x1", "title": "VITAMIN D SUPPLEMENTATION AND FRACTURE RISK",
         "doi": "https://doi.org/10.5555/VITD.2019.1"},
        # same DOI, a clearly different title (a chapter under a book's DOI): another work
        {"id": "x2", "title": "Something else", "doi": "https://doi.org/10.5555/VITD.2019.1"},
        # same title (other punctuation/case) and year, no identifiers: a duplicate
        {"title": "tnf-α Blockade in Rheumatoid Arthritis.", "year": 2015},
        # same title, other year: a different work
        {"title": "TNF-α blockade in rheumatoid arthritis", "year": 2016},
    ]
    rep = workspace.ingest([write_jsonl(tmp_path / "two.jsonl", other)])
    assert (rep.ingested, rep.duplicates) == (2, 2)


def test_same_title_different_ids_are_kept(workspace, tmp_path):
    # BEIR SciFact has several abstracts titled e.g. "Summary": an id-keyed source keeps them apart
    docs = [{"_id": "1", "title": "Summary", "text": "First abstract."},
            {"_id": "2", "title": "Summary", "text": "Second abstract."}]
    folder = tmp_path / "beir"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    rep = workspace.ingest([folder], fmt="beir")
    assert rep.ingested == 2
    assert workspace.ingest([folder], fmt="beir").ingested == 0


def test_bm25_search(workspace, tmp_path):
    workspace.ingest([write_jsonl(tmp_path / "docs.jsonl", DOCS)])
    with pytest.raises(IndexNotBuilt):
        workspace.search("vitamin D", mode="bm25")
    rep = workspace.index(dense=False)
    assert rep.bm25_docs == 4
    hits = workspace.search("vitamin D fractures", mode="bm25", k=2)
    assert hits[0].title == DOCS[0]["title"] and hits[0].rank == 1
    assert hits[0].doi == "10.5555/vitd.2019.1" and hits[0].year == 2019
    assert workspace.search("TNF-α", mode="bm25", k=1)[0].title == DOCS[1]["title"]
    with pytest.raises(IndexNotBuilt):
        workspace.search("vitamin D", mode="dense")
    with pytest.raises(ConfigError):
        workspace.search("x", mode="fuzzy")
    with pytest.raises(ConfigError):
        workspace.search("x", mode="bm25", k=0)


def test_dense_and_hybrid_search_and_incremental_index(workspace, tmp_path):
    workspace.ingest([write_jsonl(tmp_path / "docs.jsonl", DOCS[:3])])
    first = workspace.index()
    assert first.dense_added == 3 and first.dense_total == 3
    workspace.ingest([write_jsonl(tmp_path / "more.jsonl", DOCS[3:])])
    second = workspace.index()
    assert second.dense_added == 1 and second.dense_total == 4  # old records not re-embedded
    for mode in ("dense", "hybrid"):
        hits = workspace.search("bacteria in the intestine and weight gain", mode=mode, k=3)
        assert hits[0].title == DOCS[3]["title"], mode
        hits = workspace.search("genome editing mistakes", mode=mode, k=3)
        assert hits[0].title == DOCS[2]["title"], mode
