"""``serendip kg show | neighbors | discover`` end to end: what each prints (entity counts, surface forms,
ranked neighbours with evidence PMIDs, predictions not linked yet with their paths), the JSON shapes,
the warning for records deleted since the build, and one-line errors with exit code 2 (an unknown
entity with its close matches; no graph yet: run `kg build`)."""
from __future__ import annotations

import json

import pytest
from kg_helpers import cli_workspace, flat, write_training
from sqlalchemy import delete
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()



@pytest.fixture
def ws(tmp_path):
    return cli_workspace(tmp_path)


@pytest.fixture
def built(ws, tmp_path):
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path))])
    assert r.exit_code == 0, r.output
    return ws


def _run(*args):
    return runner.invoke(app, ["kg", *args])


def test_show_prints_the_entity_its_forms_examples_and_edges(built):
    r = _run("show", "nausea", "-w", str(built))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "Nausea (D009325, Disease)",
        "  key Disease:D009325; 3 mentions in 3 records; edges: 8 cooccurrence",
        "surface forms (2): Nausea ×2, nausea ×1",
        "examples:",
        "  PMID 9001, sentence 2: Nausea was rare.",
        "  PMID 9002, sentence 2: Nausea occurred with levodopa.",
        "  PMID 9003, sentence 1: Morphine controlled pain but caused vomiting and nausea."]
    r = _run("show", "Chemical:D001241", "-w", str(built), "--json", "--examples", "1")
    got = json.loads(r.stdout)
    assert set(got) == {"entity", "forms", "n_forms", "examples", "edges", "deleted_records"}
    assert got["entity"]["name"] == "Aspirin" and got["entity"]["n_mentions"] == 3
    assert got["forms"] == [{"text": "Aspirin", "count": 2}, {"text": "aspirin", "count": 1}]
    assert [(x["pmid"], x["field"], x["text"]) for x in got["examples"]] == [("9001", 0, "Aspirin and headache in adults")]
    assert got["edges"] == {"cooccurrence": 3} and got["deleted_records"] == 0


def test_neighbors_ranked_with_counts_and_evidence(built):
    r = _run("neighbors", "aspirin", "-w", str(built), "--evidence", "1")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "Aspirin (D001241, Chemical): 3 neighbours (cooccurrence), by npmi",
        "  1. headache (D006261, Disease): 1 record, 2 sentences, NPMI 1.000",
        "       PMID 9001, title: Aspirin and headache in adults",
        "       (+1 more evidence rows)",
        "  2. Ibuprofen (D007052, Chemical): 1 record, 1 sentence, NPMI 1.000",
        "       PMID 9001, sentence 3: Ibuprofen was compared with aspirin.",
        "  3. Nausea (D009325, Disease): 1 record, 0 sentences, NPMI 0.000",
        "       PMID 9001 (same abstract, different sentences): Aspirin and headache in adults"]
    r = _run("neighbors", "nausea", "-w", str(built), "--type", "Chemical", "--by", "records", "-k", "2", "--json")
    got = json.loads(r.stdout)
    assert set(got) == {"entity", "edge_type", "by", "n_neighbours", "neighbours", "deleted_records"}
    assert got["n_neighbours"] == 4 and [n["name"] for n in got["neighbours"]] == ["levodopa", "Morphine"]
    edge = got["neighbours"][0]["edge"]
    assert (edge["abstract_count"], edge["sentence_count"], edge["n_evidence"]) == (1, 1, 1)
    assert edge["evidence"][0]["pmid"] == "9002" and edge["evidence"][0]["text"] == "Nausea occurred with levodopa."
    r = _run("neighbours", "nausea", "-w", str(built), "--min-records", "2")  # the British spelling too
    assert r.exit_code == 0 and r.output.splitlines() == ["Nausea (D009325, Disease): 0 neighbours (cooccurrence), by npmi"]


def test_discover_open_and_closed(built):
    r = _run("discover", "aspirin", "-w", str(built), "--json", "-k", "2", "--paths", "1")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert set(got) == {"source", "scorer", "n_candidates", "predictions", "scope", "deleted_records"}
    assert got["scorer"] == "resource-allocation" and got["n_candidates"] == 5 and got["scope"] == "local"
    linked = {n["key"] for n in json.loads(_run("neighbors", "aspirin", "-w", str(built), "--json").stdout)["neighbours"]}
    assert [p["name"] for p in got["predictions"]] == ["levodopa", "Morphine"]
    assert not linked & {p["key"] for p in got["predictions"]}
    first = got["predictions"][0]
    assert first["score"] == 0.125 and [n["name"] for n in first["paths"][0]["nodes"]] == ["Aspirin", "Nausea", "levodopa"]
    assert first["paths"][0]["edges"][1]["evidence"][0]["pmid"] == "9002"
    r = _run("discover", "aspirin", "-w", str(built), "-k", "1", "--evidence", "1")
    assert r.output.splitlines() == [
        "Aspirin (D001241, Chemical): 5 entities two hops away and not linked to it; the best 1 by resource-allocation",
        "  1. levodopa (D007980, Chemical): score 0.125",
        "       via Nausea (weakest NPMI 0.000): Aspirin – Nausea – levodopa",
        "         Aspirin – Nausea: 1 record, 0 sentences, NPMI 0.000",
        "           PMID 9001 (same abstract, different sentences): Aspirin and headache in adults",
        "         Nausea – levodopa: 1 record, 1 sentence, NPMI 0.000",
        "           PMID 9002, sentence 2: Nausea occurred with levodopa."]
    r = _run("discover", "aspirin", "--to", "levodopa", "-w", str(built))
    assert r.exit_code == 0 and r.output == _run("paths", "aspirin", "levodopa", "-w", str(built)).output
    assert "direct: none" in r.output and "path 1 (weakest NPMI 0.000): Aspirin – Nausea – levodopa" in r.output
    r = _run("discover", "aspirin", "--to", "headache", "-w", str(built), "--json")
    assert json.loads(r.stdout)["linked"] is True


def test_deleted_record_is_left_out_with_a_warning(built):
    from serendip.workbench import Workspace
    from serendip.workspace.schema import records

    ws = Workspace.open(built)
    try:
        with ws.engine.begin() as conn:
            conn.execute(delete(records).where(records.c.pmid == "9002"))
    finally:
        ws.close()
    for args in (["show", "nausea"], ["neighbors", "nausea"], ["discover", "aspirin"]):
        r = _run(*args, "-w", str(built))
        assert r.exit_code == 0 and "9002" not in r.stdout, r.output
        assert "warning: 1 record was deleted from the workspace since the last `serendip kg build`" in flat(r.output)
    got = json.loads(_run("neighbors", "nausea", "-w", str(built), "--json").stdout)
    assert got["deleted_records"] == 1 and got["n_neighbours"] == 6


def test_errors_are_one_line_with_exit_code_2(ws, tmp_path):
    r = _run("show", "aspirin", "-w", str(ws))
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: this workspace holds no knowledge graph yet: run `serendip kg build` (or `serendip kg import FILE`) first"]
    assert _run("build", "-w", str(ws), "--training", str(write_training(tmp_path))).exit_code == 0
    r = _run("neighbors", "asprin", "-w", str(ws))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert flat(r.output) == ("error: entity 'asprin' is not in the knowledge graph (9 entities): give a MeSH id (e.g. "
                               "D001241), Type:MeSH id, or a name as the records write it; close: Aspirin (D001241, Chemical)")
    r = _run("discover", "warfarin", "-w", str(ws))
    assert r.exit_code == 2 and flat(r.output).endswith("or a name as the records write it")
    for args, message in [(["neighbors", "nausea", "--by", "pmi"], "error: kg neighbours ranks by one of npmi, records, score; got 'pmi'"),
                          (["neighbors", "nausea", "--edge-type", "cid"], "error: edge type 'cid' is not in the knowledge "
                           "graph: expected one of cooccurrence"),
                          (["discover", "aspirin", "--scorer", "learned"], "error: link scorer 'learned' needs a fitted "
                           "model, which kg discover does not take: expected one of common-neighbours, jaccard, "
                           "adamic-adar, resource-allocation, preferential-attachment, random")]:
        r = _run(*args, "-w", str(ws))
        assert r.exit_code == 2 and flat(r.output) == message, r.output


def test_help_lists_the_commands_and_scorers():
    r = runner.invoke(app, ["kg", "--help"])
    assert r.exit_code == 0 and all(f" {c} " in r.output for c in ("show", "neighbors", "discover"))
    assert " neighbours " not in r.output
    r = runner.invoke(app, ["kg", "discover", "--help"])
    assert "kg discover [OPTIONS] A" in r.output and "resource-allocation" in flat(r.output)


def _add_cid_edge(folder, chemical: str, disease: str, score: float) -> None:
    """A ``cid`` edge (NPMI NULL, as ``kg build --relations`` stores it) between two entities, with one
    evidence row copied from their co-occurrence edge."""
    from sqlalchemy import insert, select

    from serendip.kg.store import kg_edges, kg_entities, kg_evidence
    from serendip.workbench import Workspace

    ws = Workspace.open(folder)
    try:
        with ws.engine.begin() as conn:
            ids = dict(conn.execute(select(kg_entities.c.key, kg_entities.c.id)).all())
            a, b = sorted((ids[chemical], ids[disease]))
            co = conn.execute(select(kg_edges.c.id).where(kg_edges.c.source_id == a, kg_edges.c.target_id == b,
                                                          kg_edges.c.type == "cooccurrence")).scalar_one()
            eid = conn.execute(insert(kg_edges).values(source_id=a, target_id=b, type="cid", sentence_count=1,
                                                       abstract_count=1, score=score).returning(kg_edges.c.id)).scalar_one()
            ev = conn.execute(select(kg_evidence).where(kg_evidence.c.edge_id == co)
                              .order_by(kg_evidence.c.sentence.desc())).first()._asdict()
            conn.execute(insert(kg_evidence).values({**{k: v for k, v in ev.items() if k != "id"}, "edge_id": eid,
                                                     "score": score}))
    finally:
        ws.close()


def test_cid_edges_have_no_npmi(built):
    _add_cid_edge(built, "Chemical:D001241", "Disease:D006261", 0.875)
    _add_cid_edge(built, "Chemical:D001241", "Disease:D009325", 0.25)
    r = _run("neighbors", "aspirin", "--edge-type", "cid", "-w", str(built), "--evidence", "0")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "Aspirin (D001241, Chemical): 2 neighbours (cid), by score",
        "  1. headache (D006261, Disease): 1 record, 1 sentence, NPMI -, score 0.875",
        "       (+1 more evidence rows)",
        "  2. Nausea (D009325, Disease): 1 record, 1 sentence, NPMI -, score 0.250",
        "       (+1 more evidence rows)"]
    got = json.loads(_run("neighbors", "aspirin", "--edge-type", "cid", "--by", "records", "--json",
                          "-w", str(built)).stdout)
    assert [(n["name"], n["edge"]["npmi"], n["edge"]["score"]) for n in got["neighbours"]] == [
        ("headache", None, 0.875), ("Nausea", None, 0.25)]
    r = _run("neighbors", "aspirin", "--edge-type", "cid", "--by", "npmi", "-w", str(built))
    assert r.exit_code == 2 and flat(r.output) == ("error: cid edges have no NPMI (only cooccurrence edges do): rank "
                                                   "them by score or records")
    r = _run("show", "aspirin", "-w", str(built))
    assert "edges: 2 cid, 3 cooccurrence" in r.output


def test_small_fixes_forms_type_case_and_scorer_list(built, tmp_path):
    r = _run("show", "nausea", "--forms", "0", "--examples", "0", "-w", str(built))
    assert r.exit_code == 0 and r.output.splitlines()[2] == "surface forms (2): +2 more"
    r = _run("show", "nausea", "--forms", "1", "--examples", "0", "-w", str(built))
    assert r.output.splitlines()[2] == "surface forms (2): Nausea ×2, +1 more"
    lower = json.loads(_run("neighbors", "nausea", "--type", "chemical", "--json", "-w", str(built)).stdout)
    upper = json.loads(_run("neighbors", "nausea", "--type", "Chemical", "--json", "-w", str(built)).stdout)
    assert lower == upper and lower["n_neighbours"] == 4 and {n["type"] for n in lower["neighbours"]} == {"Chemical"}
    r = _run("neighbors", "nausea", "--type", "gene", "-w", str(built))
    assert r.exit_code == 2 and flat(r.output) == ("error: entity type 'gene' is not in the knowledge graph: expected "
                                                   "one of Chemical, Disease")
    r = _run("discover", "aspirin", "--scorer", "bogus", "-w", str(built))
    assert r.exit_code == 2 and flat(r.output) == (
        "error: unknown link scorer 'bogus'; expected one of: common-neighbours, jaccard, adamic-adar, "
        "resource-allocation, preferential-attachment, random")
    export = tmp_path / "g.jsonl"
    assert _run("export", str(export), "-w", str(built)).exit_code == 0
    other = cli_workspace(tmp_path / "o")
    assert _run("import", str(export), "-w", str(other)).exit_code == 0
    r = _run("show", "nausea", "-w", str(other))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1:3] == ["  key Disease:D009325; 3 mentions in 3 records; edges: 8 cooccurrence",
                                          "surface forms (0): none (an imported graph has no mentions)"]


#: A record whose title and abstract hold a bidi override, BEL, ESC and CSI sequences (ingest keeps them)
HOSTILE_RECORD = {"id": "r4", "pmid": "9004", "title": "Levodopa and myocardial infarction\u202e noitcerid",
                  "abstract": "Levodopa\x07 caused pain\x1b[2J\x9b31m. Pain\u2067 followed."}
LEVODOPA = "Levo\\u202eapod\\u202c\\x1b[31m"  # the entity name below as printed
TITLE = "Levodopa and myocardial infarction\\u202e noitcerid"


def test_controls_and_bidi_characters_in_names_and_sentences_print_as_escapes(tmp_path):
    """Entity names and evidence sentences are shown with their controls and bidi formatting characters
    as visible escapes (display only: the stored text and the JSON value are unchanged)."""
    from kg_helpers import RECORDS, write_records
    from sqlalchemy import update

    from serendip.cli.display import needs_escape
    from serendip.kg.store import kg_entities
    from serendip.workbench import Workspace

    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    recs = write_records(tmp_path / "r.jsonl", [*RECORDS, HOSTILE_RECORD])
    assert runner.invoke(app, ["ingest", str(recs), "-w", str(ws)]).exit_code == 0
    assert _run("build", "-w", str(ws), "--training", str(write_training(tmp_path))).exit_code == 0
    opened = Workspace.open(ws)
    try:  # a name as an imported graph may hold it
        with opened.engine.begin() as conn:
            conn.execute(update(kg_entities).where(kg_entities.c.key == "Chemical:D007980")
                         .values(name="Levo\u202eapod\u202c\x1b[31m"))
    finally:
        opened.close()
    want = {
        ("show", "D007980", "--forms", "0"): [
            f"{LEVODOPA} (D007980, Chemical)", "  key Chemical:D007980; 5 mentions in 2 records; edges: 4 cooccurrence",
            "surface forms (2): +2 more", "examples:", "  PMID 9002, title: Levodopa for Parkinson's disease",
            f"  PMID 9004, title: {TITLE}"],
        ("neighbors", "myocardial infarction", "--evidence", "1"): [
            "myocardial infarction (D009203, Disease): 2 neighbours (cooccurrence), by npmi",
            f"  1. {LEVODOPA} (D007980, Chemical): 1 record, 1 sentence, NPMI 0.500", f"       PMID 9004, title: {TITLE}",
            "  2. pain (D010146, Disease): 1 record, 0 sentences, NPMI 0.500",
            f"       PMID 9004 (same abstract, different sentences): {TITLE}"],
        ("paths", "myocardial infarction", "pain", "--evidence", "1", "-k", "1"): [
            "myocardial infarction (D009203, Disease) — pain (D010146, Disease)", "direct:",
            "  myocardial infarction – pain: 1 record, 0 sentences, NPMI 0.500",
            f"    PMID 9004 (same abstract, different sentences): {TITLE}",
            f"path 1 (weakest NPMI 0.000): myocardial infarction – {LEVODOPA} – pain",
            f"  myocardial infarction – {LEVODOPA}: 1 record, 1 sentence, NPMI 0.500", f"    PMID 9004, title: {TITLE}",
            f"  {LEVODOPA} – pain: 1 record, 1 sentence, NPMI 0.000",
            "    PMID 9004, sentence 1: Levodopa\\x07 caused pain\\x1b[2J\\x9b31m."],
        ("discover", "myocardial infarction", "-k", "1", "--paths", "1", "--evidence", "1"): [
            "myocardial infarction (D009203, Disease): 4 entities two hops away and not linked to it; the best 1 by "
            "resource-allocation", "  1. Nausea (D009325, Disease): score 0.45",
            f"       via {LEVODOPA} (weakest NPMI -0.292): myocardial infarction – {LEVODOPA} – Nausea",
            f"         myocardial infarction – {LEVODOPA}: 1 record, 1 sentence, NPMI 0.500",
            f"           PMID 9004, title: {TITLE}", f"         {LEVODOPA} – Nausea: 1 record, 1 sentence, NPMI -0.292",
            "           PMID 9002, sentence 2: Nausea occurred with levodopa."]}
    for args, lines in want.items():
        r = _run(*args, "-w", str(ws))
        assert r.exit_code == 0, r.output
        assert r.output.splitlines() == lines
        assert not any(needs_escape(c) for c in r.output.replace("\n", ""))
    r = _run("paths", "myocardial infarction", "pain", "-w", str(ws), "--json", "--evidence", "1", "-k", "1")
    assert "\\u202e" in r.stdout and not any(needs_escape(c) for c in r.stdout.replace("\n", ""))
    got = json.loads(r.stdout)  # the JSON value as stored
    assert got["paths"][0]["nodes"][1]["name"] == "Levo\u202eapod\u202c\x1b[31m"
    assert got["paths"][0]["edges"][1]["evidence"][0]["text"] == "Levodopa\x07 caused pain\x1b[2J\x9b31m."


def test_records_not_read_yet_are_warned_of_before_the_query_even_when_it_fails(ws, tmp_path):
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--limit", "1", "--training",
                            str(write_training(tmp_path))])
    assert r.exit_code == 0 and "2 records left unread (--limit)" in flat(r.output), r.output
    shown = _run("show", "nausea", "-w", str(ws))
    assert shown.exit_code == 0
    assert "warning: 2 records are not in the graph yet" in flat(shown.output)
    missing = _run("neighbors", "levodopa", "-w", str(ws))  # its record is one of the two left
    assert missing.exit_code == 2 and "is not in the knowledge graph" in flat(missing.output)
    assert "warning: 2 records are not in the graph yet" in flat(missing.output)
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path))])
    assert r.exit_code == 0, r.output
    assert "not in the graph yet" not in flat(_run("show", "nausea", "-w", str(ws)).output)
