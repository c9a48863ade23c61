"""``kg build --relations RUN_DIR`` (SQLite and PostgreSQL): a tiny CID classifier trained once through the
engine; each candidate of the built records gets the probability the classifier gives the same record
read back from ``kg export --format pubtator``; edges at or above the threshold are stored with the
evidence sentence the classifier names and their highest probability as score, the rest are absent; a
second build adds nothing, a record added later adds its evidence (score: the highest), a deleted one
loses it; another run, threshold or none needs ``--rebuild``; the threshold saved with the run is the
default; the CLI prints the cid edge count; the PubTator export carries CID lines."""
from __future__ import annotations

import json
import shutil

import pytest
from kg_helpers import RECORDS, graph_state, write_records
from kg_relation_helpers import make_doc
from sqlalchemy import select

from serendip.errors import ConfigError, DataError
from serendip.kg.build import build
from serendip.kg.build_relations import CID, RelationStep
from serendip.kg.export_formats import export
from serendip.kg.pubtator import read_pubtator, write_pubtator
from serendip.kg.store import kg_builds, kg_edges, kg_entities, kg_evidence
from serendip.workspace.schema import records

#: A fourth record: aspirin and headache again, in one abstract sentence (the title holds neither together)
R4 = {"id": "r4", "pmid": "9004", "title": "A case report", "abstract": "Aspirin caused a headache in one patient."}


@pytest.fixture(scope="module")
def cid_run(tmp_path_factory):
    """A CID classifier run: a 2-layer BERT of width 32 fine-tuned for one epoch on 6 hand-made documents."""
    import torch
    from transformers import BertConfig, BertModel

    from serendip.models.backbone import load_tokenizer, resolve_backbone
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    folder = tmp_path_factory.mktemp("cid")
    tokenizer = load_tokenizer(resolve_backbone("sentence-transformers/all-MiniLM-L6-v2"))
    backbone = folder / "backbone"
    tokenizer.save_pretrained(str(backbone))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(str(backbone))
    train = write_pubtator([make_doc(str(i)) for i in range(1, 7)], folder / "train.PubTator.txt")
    cfg = FineTuneConfig.model_validate({
        "task": {"name": "binary", "params": {"positive_label": "CID"}}, "backbone": str(backbone),
        "data": {"train": str(train), "format": "pubtator-cid", "split": {"dev": 0.0, "test": 0.0},
                 "options": {"backbone": str(backbone), "max_length": 64}},
        "training": {"epochs": 1, "batch_size": 4, "lr": 1e-3, "max_length": 64,
                     "early_stopping": {"metric": "loss", "patience": None}},
        "output": {"run_dir": str(folder / "runs"), "plots": False}})
    return finetune(cfg).run_dir


def _ingest(ws, path, recs):
    assert ws.ingest([write_records(path, recs)], fmt="jsonl").ingested == len(recs)


def _cid_state(engine) -> dict:
    """``{(chemical MeSH, disease MeSH): (score, sentence_count, abstract_count, [evidence rows])}``, each
    evidence row ``(pmid, sentence, field, char_start, char_end, text, score)`` in PMID order."""
    a, b, e, ev = kg_entities.alias("a"), kg_entities.alias("b"), kg_edges.c, kg_evidence.c
    out = {}
    with engine.connect() as conn:
        for eid, ta, ma, mb, score, ns, nr in conn.execute(
                select(e.id, a.c.type, a.c.mesh_id, b.c.mesh_id, e.score, e.sentence_count, e.abstract_count)
                .join(a, a.c.id == e.source_id).join(b, b.c.id == e.target_id).where(e.type == CID)):
            rows = conn.execute(select(ev.pmid, ev.sentence, ev.field, ev.char_start, ev.char_end, ev.text, ev.score)
                                .where(ev.edge_id == eid).order_by(ev.pmid)).all()
            pair = (ma, mb) if ta == "Chemical" else (mb, ma)
            out[pair] = (score, ns, nr, [tuple(r) for r in rows])
    return out


def _classifier_view(ws, run, path):
    """``{(pmid, chemical, disease): (probability, evidence sentence)}`` from CidClassifier.predict over
    the records as ``kg export --format pubtator`` writes them (their stored mentions)."""
    from serendip.kg.relations import CidClassifier

    export(ws.engine, path, "pubtator")
    return {(p.pmid, p.chemical, p.disease): (p.probability, p.evidence)
            for p in CidClassifier(run).predict(read_pubtator(path), all_candidates=True)}


def test_cid_edges_scores_evidence_and_incremental_builds(kg_ws, tmp_path, training, cid_run):
    _ingest(kg_ws, tmp_path / "r.jsonl", RECORDS)
    rep = build(kg_ws, training=training, relations=cid_run, relation_threshold=0.0)
    assert (rep.relations, rep.relation_threshold, rep.threshold_source) == (str(cid_run.resolve()), 0.0, "given")
    assert rep.candidates_scored == 9 and rep.cid_edges == 9  # 2x2 + 1x2 + 1x3 chemical-disease pairs
    view = _classifier_view(kg_ws, cid_run, tmp_path / "all.pubtator")
    assert len(view) == 9
    state = _cid_state(kg_ws.engine)
    for (pmid, chem, dis), (p, sentence) in view.items():  # the classifier's own probability and sentence
        score, ns, nr, rows = state[(chem, dis)]
        assert score == pytest.approx(p, abs=1e-6) and (ns, nr) == (1, 1)
        assert [(r[0], r[5]) for r in rows] == [(pmid, sentence)] and rows[0][6] == pytest.approx(p, abs=1e-6)
    p_ah = view[("9001", "D001241", "D006261")][0]
    assert [r[:6] for r in state[("D001241", "D006261")][3]] == [
        ("9001", 0, 0, 0, 30, "Aspirin and headache in adults")]
    assert state[("D009020", "D014839")][3][0][:6] == (
        "9003", 1, 1, 0, 56, "Morphine controlled pain but caused vomiting and nausea.")
    exported = (tmp_path / "all.pubtator").read_text(encoding="utf-8")
    assert "9001\tCID\tD001241\tD006261\n" in exported and exported.count("\tCID\t") == 9

    before = graph_state(kg_ws.engine)
    again = build(kg_ws, training=training, relations=cid_run, relation_threshold=0.0)
    assert (again.records_read, again.candidates_scored, again.cid_edges) == (0, 0, 9)
    assert graph_state(kg_ws.engine) == before and _cid_state(kg_ws.engine) == state

    # a record added later: aspirin-headache now in two records, its score the higher probability
    _ingest(kg_ws, tmp_path / "r4.jsonl", [R4])
    rep = build(kg_ws, training=training, relations=cid_run, relation_threshold=0.0)
    assert (rep.records_read, rep.candidates_scored, rep.cid_edges) == (1, 1, 9)
    p4 = _classifier_view(kg_ws, cid_run, tmp_path / "four.pubtator")[("9004", "D001241", "D006261")][0]
    score, ns, nr, rows = _cid_state(kg_ws.engine)[("D001241", "D006261")]
    assert score == pytest.approx(max(p_ah, p4), abs=1e-6) and (ns, nr) == (2, 2)
    assert [r[:6] for r in rows] == [("9001", 0, 0, 0, 30, "Aspirin and headache in adults"),
                                     ("9004", 1, 1, 0, 41, "Aspirin caused a headache in one patient.")]
    with kg_ws.engine.begin() as conn:  # r4 deleted: its evidence goes, the score is r1's again
        conn.execute(records.delete().where(records.c.pmid == "9004"))
    assert build(kg_ws, training=training, relations=cid_run, relation_threshold=0.0).records_removed == 1
    assert _cid_state(kg_ws.engine) == state

    # a threshold between the probabilities; another threshold needs --rebuild
    probs = sorted({round(p, 6) for p, _ in view.values()})
    assert len(probs) >= 2
    cut = (probs[len(probs) // 2 - 1] + probs[len(probs) // 2]) / 2
    with pytest.raises(ConfigError, match="at threshold 0.0, not with .*add --rebuild"):
        build(kg_ws, training=training, relations=cid_run, relation_threshold=cut)
    rep = build(kg_ws, training=training, relations=cid_run, relation_threshold=cut, rebuild=True)
    above = {(c, d) for (_, c, d), (p, _) in view.items() if p >= cut}
    got = _cid_state(kg_ws.engine)
    assert set(got) == above and rep.cid_edges == len(above) and 0 < len(above) < 9  # the rest are absent
    assert all(got[pair] == state[pair] for pair in above)
    with kg_ws.engine.connect() as conn:
        row = conn.execute(select(kg_builds.c.relations, kg_builds.c.relation_threshold)
                           .order_by(kg_builds.c.id.desc()).limit(1)).one()
    assert tuple(row) == (str(cid_run.resolve()), pytest.approx(cut))


def test_relations_mismatch_needs_rebuild_and_bad_thresholds(kg_ws, tmp_path, training, cid_run):
    _ingest(kg_ws, tmp_path / "r.jsonl", RECORDS)
    build(kg_ws, training=training)
    with pytest.raises(ConfigError, match="built without relations, not with relations run .* at threshold 0.5: "
                                          "add --rebuild"):
        build(kg_ws, training=training, relations=cid_run)
    build(kg_ws, training=training, relations=cid_run, rebuild=True)
    with pytest.raises(ConfigError, match="not without relations: give --relations .* --relation-threshold 0.5 "
                                          "to keep"):
        build(kg_ws, training=training)
    with pytest.raises(ConfigError, match="needs a relations run"):
        build(kg_ws, training=training, relation_threshold=0.3)
    with pytest.raises(ConfigError, match=r"must be in \[0, 1\], got 1.5"):
        build(kg_ws, training=training, relations=cid_run, relation_threshold=1.5)


def test_a_stacker_added_to_the_run_needs_rebuild_unless_left_out(kg_ws, tmp_path, training, cid_run):
    """The stacker's file is part of the relations a graph was built with: adding one (or changing it)
    asks for --rebuild; relation_stacker=False (``--no-relation-stacker``) keeps scoring as before."""
    from serendip.kg.cid_stack import CidPrior, CidStacker

    run = shutil.copytree(cid_run, tmp_path / "run")
    _ingest(kg_ws, tmp_path / "r.jsonl", RECORDS)
    build(kg_ws, training=training, relations=run)
    CidStacker([0.0] * 15, [1.0] * 15, [0.1] * 15, 0.0, 0.5, CidPrior({}, {}, {})).save(run)
    with pytest.raises(ConfigError, match=r"built with relations run .*run at threshold 0.5, not with relations run "
                                          r".*run \(stacker sha256 [0-9a-f]{12}\) at threshold 0.5"):
        build(kg_ws, training=training, relations=run)
    build(kg_ws, training=training, relations=run, relation_stacker=False)  # as before: no error
    rep = build(kg_ws, training=training, relations=run, rebuild=True)
    assert rep.threshold_source == "stacker" and "(stacker sha256 " in rep.relations
    with pytest.raises(ConfigError, match=r"give --relations \S*run --relation-threshold 0.5 to keep building it that "
                                          r"way \(with the stacker it had\)"):
        build(kg_ws, training=training, relations=run, relation_stacker=False)


def test_threshold_saved_with_the_run_is_the_default(tmp_path, cid_run):
    from serendip.kg.relations import CidClassifier

    run = shutil.copytree(cid_run, tmp_path / "run")
    step = RelationStep(run)
    assert (step.threshold, step.threshold_source, step.name) == (0.5, "default", str(run.resolve()))
    CidClassifier(run).save_threshold(0.25, "test")
    assert (RelationStep(run).threshold, RelationStep(run).threshold_source) == (0.25, "run")
    assert (RelationStep(run, 0.75).threshold, RelationStep(run, 0.75).threshold_source) == (0.75, "given")
    for damaged in ("not json", "{}", '{"threshold": "high"}', '{"threshold": 1.5}', "[0.5]"):
        (run / "cid_threshold.json").write_text(damaged)
        with pytest.raises(DataError, match=r"cid_threshold.json: not a saved CID threshold"):
            RelationStep(run)
    assert RelationStep(run, 0.75).threshold == 0.75  # a given threshold does not read the file


def test_a_stacker_saved_with_the_run_scores_and_sets_the_threshold(tmp_path, cid_run):
    """With ``cid_stacker.json`` in the run, CidClassifier's probabilities are the stacker's (from the
    classifier's own and the document's features), its threshold the default; ``stacked=False`` or a
    given threshold override them."""
    from serendip.kg.cid_stack import CidPrior, CidStacker, pair_features
    from serendip.kg.relations import CidClassifier, document_sentences

    run = shutil.copytree(cid_run, tmp_path / "run")
    docs = [make_doc("1"), make_doc("2")]
    raw = {(p.pmid, p.chemical, p.disease): p.probability for p in CidClassifier(run).predict(docs, all_candidates=True)}
    n = len(raw)
    stacker = CidStacker([0.0] * 15, [1.0] * 15, [0.5] + [0.3] * 14, -1.0, 0.35, CidPrior({("C1", "D1"): 1}, {}, {}))
    stacker.save(run)
    clf = CidClassifier(run)
    assert clf.threshold == 0.35 and (RelationStep(run).threshold, RelationStep(run).threshold_source) == (0.35, "stacker")
    got = clf.predict(docs, all_candidates=True)
    assert len(got) == n
    spans = document_sentences(docs[0])
    from serendip.kg.relations import document_candidates

    for cand in document_candidates(docs[0])[0]:
        p = next(g.probability for g in got if (g.pmid, g.chemical, g.disease) == cand.triple)
        assert p == pytest.approx(stacker.probability(pair_features(docs[0], cand, spans, raw[cand.triple],
                                                                    stacker.prior)))
    plain = CidClassifier(run, stacked=False)
    assert plain.threshold == 0.5 and {(p.pmid, p.chemical, p.disease): p.probability
                                       for p in plain.predict(docs, all_candidates=True)} == raw
    assert RelationStep(run, 0.75).threshold_source == "given"
    (run / "cid_stacker.json").write_text("{}")
    with pytest.raises(DataError, match=r"cid_stacker.json: not a saved CID stacker"):
        CidClassifier(run)


def test_cli_build_with_relations_prints_cid_edges(tmp_path, cid_run):
    from kg_helpers import cli_workspace, flat, write_training
    from typer.testing import CliRunner

    from serendip.cli.app import app

    runner, ws = CliRunner(), cli_workspace(tmp_path)
    args = ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path)), "--relations", str(cid_run)]
    r = runner.invoke(app, args + ["--relation-threshold", "0"])
    assert r.exit_code == 0, r.output
    assert (f"relations: 9 cid edges (9 candidates scored in this build, threshold 0 (--relation-threshold), run "
            f"{cid_run.resolve()})") in flat(r.output)
    r = runner.invoke(app, args + ["--relation-threshold", "0", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["cid_edges"] == 9
    r = runner.invoke(app, ["kg", "paths", "aspirin", "D006261", "-w", str(ws)])  # co-occurrence, as before
    assert r.exit_code == 0 and "Aspirin – headache: 1 record, 2 sentences, NPMI 1.000" in r.output
    r = runner.invoke(app, ["kg", "neighbors", "aspirin", "--edge-type", "cid", "--json", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert sorted(n["mesh_id"] for n in got["neighbours"]) == ["D006261", "D009325"]
    scores = [n["edge"]["score"] for n in got["neighbours"]]  # a cid edge has no NPMI: ranked by its score
    assert got["by"] == "score" and scores == sorted(scores, reverse=True) and all(0 <= x <= 1 for x in scores)
    r = runner.invoke(app, args)  # the default threshold (0.5) is another one
    assert r.exit_code == 2 and "--rebuild" in r.output


def test_cli_no_relation_stacker_scores_with_the_classifier_alone(tmp_path, cid_run):
    from kg_helpers import cli_workspace, flat, write_training
    from typer.testing import CliRunner

    from serendip.cli.app import app
    from serendip.kg.cid_stack import CidPrior, CidStacker

    run = shutil.copytree(cid_run, tmp_path / "run")
    CidStacker([0.0] * 15, [1.0] * 15, [0.0] * 15, -5.0, 0.5, CidPrior({}, {}, {})).save(run)  # P ~ 0.007: no edge
    runner, ws = CliRunner(), cli_workspace(tmp_path)
    args = ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path)), "--relations", str(run)]
    r = runner.invoke(app, args + ["--no-relation-stacker", "--relation-threshold", "0"])
    assert r.exit_code == 0 and "relations: 9 cid edges" in flat(r.output), r.output
    r = runner.invoke(app, args + ["--relation-threshold", "0", "--rebuild"])
    assert r.exit_code == 0 and "relations: 9 cid edges" in flat(r.output)  # threshold 0: every candidate
    r = runner.invoke(app, args + ["--rebuild"])  # the stacker's threshold, 0.5: none of P ~ 0.007
    assert r.exit_code == 0 and "relations: 0 cid edges" in flat(r.output) and "(the run's stacker)" in flat(r.output)
