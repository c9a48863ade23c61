"""The CLI wraps the API: exit codes, one-line errors, JSON output, no heavy imports for --help."""
from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()


def test_help_imports_no_heavy_library():
    code = ("import sys; from serendip.cli.app import app; "
            "from typer.testing import CliRunner; r = CliRunner().invoke(app, ['--help']); "
            "assert r.exit_code == 0, r.output; "
            "heavy = [m for m in ('torch', 'transformers', 'faiss', 'sentence_transformers', 'rdkit') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_search_imports_no_literature_reader(tmp_path):
    """The readers (bibtexparser, lxml, ...) are imported for ``ingest`` only, not by a search's start."""
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    code = ("import sys; from serendip.cli.app import app; "
            "from typer.testing import CliRunner; "
            f"r = CliRunner().invoke(app, ['search', 'aspirin', '--mode', 'bm25', '--json', '-w', {str(ws)!r}]); "
            "assert r.exit_code == 2 and 'serendip index' in r.output, r.output; "
            "print(sorted(m for m in ('bibtexparser', 'lxml', 'serendip.literature.readers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    r = runner.invoke(app, ["ingest", "--help"])  # the formats are still listed, when help is shown
    flat = " ".join(r.output.replace("│", " ").split())
    assert r.exit_code == 0 and "pubmed/pubmed-xml (PubMed/MEDLINE XML)" in flat and "auto (sniff each file)" in flat


def test_init_ingest_index_search_json(tmp_path):
    ws = tmp_path / "ws"
    docs = tmp_path / "d.jsonl"
    docs.write_text("\n".join(json.dumps(d) for d in [
        {"id": "1", "title": "Aspirin and colorectal cancer", "abstract": "Aspirin lowered adenoma recurrence."},
        {"id": "2", "title": "Statins and muscle pain", "abstract": "Myalgia was as common on placebo."},
    ]) + "\n")
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["ingest", str(docs), "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout[r.stdout.index("{"):])["ingested"] == 2
    r = runner.invoke(app, ["index", "-w", str(ws), "--no-dense"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["search", "aspirin adenoma", "--mode", "bm25", "-k", "1", "--json", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    assert len(hits) == 1 and hits[0]["title"] == "Aspirin and colorectal cancer"


def test_errors_exit_2_without_traceback(tmp_path):
    r = runner.invoke(app, ["search", "x", "-w", str(tmp_path / "none")])
    assert r.exit_code == 2
    assert "Traceback" not in r.output and "not a Serendip workspace" in r.output
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    r = runner.invoke(app, ["ingest", str(tmp_path / "missing.ris"), "-w", str(ws)])
    assert r.exit_code == 2 and "missing.ris" in r.output
    r = runner.invoke(app, ["ingest", str(tmp_path), "--format", "docx", "-w", str(ws)])
    assert r.exit_code == 2 and "unknown format 'docx'" in r.output


def test_csv_column_mapping_from_cli(tmp_path):
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    table = tmp_path / "t.csv"
    table.write_text("Headline,Summary,Published\nZinc and the common cold,Zinc lozenges shortened colds.,2011\n")
    r = runner.invoke(app, ["ingest", str(table), "-w", str(ws), "--map", "title=Headline",
                            "--map", "abstract=Summary", "--map", "year=Published", "--json"])
    assert r.exit_code == 0, r.output
    from serendip.workbench import Workspace
    recs = [rec for _, rec in Workspace.open(ws).records()]
    assert [(x.title, x.abstract, x.year) for x in recs] == [
        ("Zinc and the common cold", "Zinc lozenges shortened colds.", 2011)]
    r = runner.invoke(app, ["ingest", str(table), "-w", str(ws), "--map", "colour=Headline"])
    assert r.exit_code == 2 and "colour" in r.output
    r = runner.invoke(app, ["ingest", str(table), "-w", str(ws), "--map", "title"])
    assert r.exit_code == 2 and "FIELD=COLUMN" in r.output


def test_big_file_is_parsed_in_a_child_process(tmp_path, monkeypatch):
    """Files over PREFETCH_BYTES go through the child-process reader: same records, same errors."""
    import json as _json

    import serendip.literature.ingest as ingest_mod
    from serendip.workbench import Workspace

    monkeypatch.setattr(ingest_mod, "PREFETCH_BYTES", 10)
    f = tmp_path / "d.jsonl"
    lines = [_json.dumps({"id": str(i), "title": f"Title {i}", "abstract": "x"}) for i in range(1200)]
    lines.insert(700, "{broken")
    f.write_text("\n".join(lines) + "\n")
    ws = Workspace.init(tmp_path / "ws")
    rep = ws.ingest([f])
    assert (rep.ingested, rep.failed) == (1200, 1)
    assert "line 701" in rep.errors[0]
    assert [r.title for _, r in ws.records()][:3] == ["Title 0", "Title 1", "Title 2"]
    bad = tmp_path / "bomb.xml"
    bad.write_text('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
                   "<PubmedArticleSet>&lol2;</PubmedArticleSet>\n" + " " * 100)
    rep = ws.ingest([bad])
    assert rep.failed == 1 and "bomb.xml" in rep.errors[0] and "entit" in rep.errors[0].lower()


def test_bad_workspace_paths_and_datasets_exit_2(tmp_path, monkeypatch):
    afile = tmp_path / "regular_file"
    afile.write_text("x")
    r = runner.invoke(app, ["init", str(afile / "sub")])
    assert r.exit_code == 2 and "cannot create workspace folder" in r.output
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    for name, needle in (("medline-sample", "not a BEIR retrieval benchmark"), ("nonexistent", "unknown dataset")):
        r = runner.invoke(app, ["eval", "retrieval", "--dataset", name])
        assert r.exit_code == 2 and needle in r.output, r.output
    assert not (tmp_path / "cache").exists()  # nothing created for a rejected dataset
    r = runner.invoke(app, ["eval", "retrieval", "--dataset", "scifact", "--split", "dev"])
    assert r.exit_code == 2 and "no qrels for split 'dev'" in r.output


def test_queries_without_terms_and_default_mode(tmp_path):
    ws = tmp_path / "ws"
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"id": "1", "title": "Aspirin and colorectal cancer"}) + "\n")
    runner.invoke(app, ["init", str(ws)])
    runner.invoke(app, ["ingest", str(docs), "-w", str(ws)])
    runner.invoke(app, ["index", "-w", str(ws), "--no-dense"])
    for q in ("", "?!.,;:"):
        r = runner.invoke(app, ["search", q, "-w", str(ws)])
        assert r.exit_code == 2 and "no searchable terms" in r.output
    cfg = ws / "serendip.toml"
    cfg.write_text(cfg.read_text().replace('default_mode = "hybrid"', 'default_mode = "bm25"'))
    r = runner.invoke(app, ["search", "aspirin", "-w", str(ws), "--json"])  # no dense index: bm25 works
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["title"] == "Aspirin and colorectal cancer"
    cfg.write_text(cfg.read_text().replace('default_mode = "bm25"', 'default_mode = "fuzzy"'))
    r = runner.invoke(app, ["search", "aspirin", "-w", str(ws)])
    assert r.exit_code == 2 and "default_mode" in r.output


def test_a_query_with_no_indexed_term_prints_no_results(tmp_path):
    """Stopwords only ("the of and"): BM25 finds nothing; the CLI says so instead of an empty table,
    and --json gives an empty list and nothing else on stdout."""
    ws = tmp_path / "ws"
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"id": "1", "title": "Aspirin and the colon", "abstract": "One of many."}) + "\n")
    runner.invoke(app, ["init", str(ws)])
    runner.invoke(app, ["ingest", str(docs), "-w", str(ws)])
    runner.invoke(app, ["index", "-w", str(ws), "--no-dense"])
    r = runner.invoke(app, ["search", "the of and", "--mode", "bm25", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == ["no results (bm25: the of and)"]
    r = runner.invoke(app, ["search", "the of and", "--mode", "bm25", "--json", "-w", str(ws)])
    assert r.exit_code == 0 and r.stdout == "[]\n"


def _tiny_beir(tmp_path, monkeypatch):
    """A four-abstract BEIR dataset standing in for SciFact (``beir_files`` patched to return it)."""
    import serendip.datasets as datasets

    folder = tmp_path / "tiny-beir"
    (folder / "qrels").mkdir(parents=True)
    docs = [("d1", "Vitamin D and fractures", "Vitamin D did not reduce fractures in older adults."),
            ("d2", "TNF-α in rheumatoid arthritis", "Anti-TNF therapy lowered joint inflammation."),
            ("d3", "CRISPR off-target edits", "Sequencing found rare off-target edits in human cells."),
            ("d4", "Gut microbiota and obesity", "Germ-free mice colonised with obese donors gained fat.")]
    (folder / "corpus.jsonl").write_text("\n".join(
        json.dumps({"_id": i, "title": t, "text": a}) for i, t, a in docs) + "\n")
    (folder / "queries.jsonl").write_text("\n".join(
        json.dumps({"_id": q, "text": text}) for q, text in
        [("q1", "vitamin D fracture risk"), ("q2", "genome editing errors")]) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    files = (folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv")
    monkeypatch.setattr(datasets, "beir_files", lambda name, split="test": files)


def test_demo_run_report_and_cli(tmp_path, monkeypatch):
    """`serendip demo` prints what serendip.demo.run returns: steps, one table row per mode, examples."""
    from serendip.demo import EXAMPLE_QUERIES, EXAMPLE_QUESTION, DemoReport, run
    from serendip.retrieval.modes import mode_names

    _tiny_beir(tmp_path, monkeypatch)
    # no Cohen collection here: the screening step says why it was skipped (its figures: test_demo_step.py)
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(tmp_path / "no-mirror"))
    (tmp_path / "no-mirror").mkdir()
    stages: dict[str, int] = {}
    events: list[tuple[str, str, int]] = []

    def progress(stage: str, n: int) -> None:
        stages[stage] = stages.get(stage, 0) + n
        events.append(("progress", stage, n))

    report = run(tmp_path / "demo", "tiny", progress=progress,
                 on_total=lambda stage, n: events.append(("total", stage, n)))
    assert isinstance(report, DemoReport)
    assert (report.ingested, report.records, report.bm25_docs, report.dense_total) == (4, 4, 4, 4)
    assert stages == {"ingest": 4, "embed": 4}
    # the ingest's total is told when it ends, before the embedding starts (its bar finished first)
    assert events.index(("total", "ingest", 4)) < min(i for i, e in enumerate(events) if e[1] == "embed")
    assert [r["mode"] for r in report.rows] == mode_names()
    assert all(r["ndcg@10"] == 1.0 for r in report.rows)  # each query's one relevant abstract ranks first
    assert [q for q, _ in report.examples] == EXAMPLE_QUERIES
    assert report.examples[0][1][0].title == "Vitamin D and fractures"
    assert report.queries == 2
    assert set(report.timings) == {"ingest", "index", "evaluate", "examples", "screening", "total"}
    assert report.screening.results == [] and "cohen-2006" in report.screening.skipped
    r = runner.invoke(app, ["demo", "-w", str(tmp_path / "demo"), "--dataset", "tiny"])
    assert r.exit_code == 0, r.output
    assert "ingested 0, duplicates 4" in r.output and "evaluation on the 2 tiny test claims" in r.output
    # output redirected: the ingest's plain progress line ends with the ingest, before the embedding's
    assert r.output.index("ingest: 4 records done") < r.output.index("embed: ") < r.output.index("1/4 dataset")
    for mode in mode_names():
        assert f"│ {mode} " in r.output
    assert "hybrid: vitamin D supplementation" in r.output and "demo done" in r.output
    assert "simulated screening skipped: dataset 'cohen-2006'" in " ".join(r.output.split())
    # the cited answer: every sentence cites a supplied passage; the vitamin D abstract is cited
    answer = report.answer
    assert answer.question == EXAMPLE_QUESTION and answer.status == "answered"
    numbers = {p.number: p for p in answer.passages}
    assert all(s.cites and set(s.cites) <= set(numbers) for s in answer.sentences)
    assert "ask Does vitamin D supplementation" in r.output and "Sources" in r.output


def test_eval_unknown_mode_exits_2_before_any_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    r = runner.invoke(app, ["eval", "retrieval", "--mode", "fuzzy"])
    assert r.exit_code == 2 and "unknown retrieval mode 'fuzzy'; expected one of: bm25, dense, hybrid" in r.output
    assert not (tmp_path / "cache").exists()
