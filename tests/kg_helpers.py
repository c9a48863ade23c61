"""Shared by the knowledge-graph build tests: a tiny annotated PubTator training file (the lexicon and
normaliser are fitted on it, never on the whole mirror) and small workspaces of records.

Importable from any test module (``tests/conftest.py`` puts this folder on ``sys.path``).
"""
from __future__ import annotations

import json
from pathlib import Path

#: (PMID, title, abstract, [(surface, type, MeSH id)]): every occurrence of each surface is annotated
TRAINING = [
    ("101", "Aspirin-induced headache.",
     "Aspirin caused headache and nausea in two patients. Ibuprofen did not cause headache.",
     [("Aspirin", "Chemical", "D001241"), ("headache", "Disease", "D006261"), ("nausea", "Disease", "D009325"),
      ("Ibuprofen", "Chemical", "D007052")]),
    ("102", "Levodopa in Parkinson's disease (PD).",
     "Levodopa improved PD symptoms; myocardial infarction occurred in one patient given aspirin.",
     [("Levodopa", "Chemical", "D007980"), ("Parkinson's disease", "Disease", "D010300"),
      ("PD", "Disease", "D010300"), ("myocardial infarction", "Disease", "D009203"),
      ("aspirin", "Chemical", "D001241")]),
    ("103", "Morphine and nausea.", "Morphine given for pain caused nausea and vomiting.",
     [("Morphine", "Chemical", "D009020"), ("nausea", "Disease", "D009325"), ("pain", "Disease", "D010146"),
      ("vomiting", "Disease", "D014839")]),
]


def pubtator_text(docs=TRAINING) -> str:
    """PubTator text of ``docs``: every occurrence of each listed surface form (case-sensitive, on word
    boundaries of the joined ``title + " " + abstract``) annotated with its type and id."""
    import re

    blocks = []
    for pmid, title, abstract, entities in docs:
        text = f"{title} {abstract}"
        lines = [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
        spans = []
        for surface, typ, mesh in entities:
            for m in re.finditer(rf"(?<!\w){re.escape(surface)}(?!\w)", text):
                spans.append((m.start(), m.end(), surface, typ, mesh))
        for s, e, surface, typ, mesh in sorted(spans):
            lines.append(f"{pmid}\t{s}\t{e}\t{surface}\t{typ}\t{mesh}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks) + "\n"


def write_training(folder: Path) -> Path:
    """The training PubTator file in ``folder``."""
    path = folder / "train.PubTator.txt"
    path.write_text(pubtator_text(), encoding="utf-8")
    return path


#: Records of a small workspace (JSON Lines for the ``jsonl`` reader)
RECORDS = [
    {"id": "r1", "pmid": "9001", "title": "Aspirin and headache in adults",
     "abstract": "Aspirin relieved headache. Nausea was rare. Ibuprofen was compared with aspirin."},
    {"id": "r2", "pmid": "9002", "title": "Levodopa for Parkinson's disease",
     "abstract": "In Parkinson's disease (PD), levodopa reduced tremor. Nausea occurred with levodopa."},
    {"id": "r3", "pmid": "9003", "title": "Morphine after surgery",
     "abstract": "Morphine controlled pain but caused vomiting and nausea."},
]


def write_records(path: Path, recs=RECORDS) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return path


def graph_state(engine, *, mentions: bool = True) -> dict:
    """The stored graph in terms that do not depend on row ids: entities by key with their counts,
    edges by their (sorted) entity keys with counts and NPMI, evidence and mention rows; each a sorted
    list, so two graphs built differently compare equal when they hold the same thing."""
    from sqlalchemy import select

    from serendip.kg.store import kg_edges, kg_entities, kg_evidence, kg_mentions

    with engine.connect() as conn:
        ents = {r.id: r for r in conn.execute(select(kg_entities))}
        edges = {r.id: (*sorted((ents[r.source_id].key, ents[r.target_id].key)), r.type, r.sentence_count,
                        r.abstract_count, None if r.npmi is None else round(r.npmi, 9),
                        None if r.score is None else round(r.score, 9))
                 for r in conn.execute(select(kg_edges))}
        evidence = [(edges[r.edge_id][:2], r.pmid, r.sentence, r.field, r.char_start, r.char_end, r.text)
                    for r in conn.execute(select(kg_evidence))]
        out = {"entities": sorted((e.key, e.type, e.mesh_id, e.name, e.n_mentions, e.n_records) for e in ents.values()),
               "edges": sorted(edges.values(), key=repr), "evidence": sorted(evidence, key=repr)}
        if mentions:
            out["mentions"] = sorted(((ents[r.entity_id].key, r.pmid, r.sentence, r.field, r.char_start, r.char_end,
                                       r.text, r.method) for r in conn.execute(select(kg_mentions))), key=repr)
    return out


def flat(output: str) -> str:
    """A command's output on one line, runs of white space as one space (Rich wraps long lines)."""
    return " ".join(output.split())


def cli_workspace(tmp_path: Path, *, build: bool = False) -> Path:
    """A workspace made by ``serendip init`` holding :data:`RECORDS` (``serendip ingest``), its graph
    built on :func:`write_training`'s lexicon when ``build``."""
    from typer.testing import CliRunner

    from serendip.cli.app import app

    runner, folder = CliRunner(), tmp_path / "ws"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    r = runner.invoke(app, ["ingest", str(write_records(tmp_path / "r.jsonl")), "-w", str(folder)])
    assert r.exit_code == 0, r.output
    if build:
        r = runner.invoke(app, ["kg", "build", "-w", str(folder), "--training", str(write_training(tmp_path))])
        assert r.exit_code == 0, r.output
    return folder
