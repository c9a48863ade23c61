"""Screening sessions over a workspace (SQLite and PostgreSQL): the migration, active learning from the
priors, save -> reopen -> the same next record, determinism, relabels kept in the history, maybe
labels left out of training, exports, and bad input as clear errors."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from screening_helpers import make_workspace
from sqlalchemy import create_engine, inspect

from serendip.errors import ConfigError, DataError
from serendip.screening import models as screening_models
from serendip.screening.export import export_labels
from serendip.screening.session import list_sessions, open_session, start_session
from serendip.screening.store import SCREEN_TABLES
from serendip.workbench import Workspace
from serendip.workspace.database import (
    MIGRATIONS,
    current_revision,
    head_revision,
    upgrade,
)


def _oracle(inc):
    return lambda rid: "include" if rid in inc else "exclude"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return request.getfixturevalue("fresh_pg_database")()


def test_migration_0008_matches_the_tables_and_downgrades(db_url):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext

    from serendip.workspace.schema import metadata

    for url in (db_url,):
        engine = create_engine(url)
        upgrade(engine)
        assert current_revision(engine) == head_revision()  # 0008 or a later revision
        names = {t.name for t in SCREEN_TABLES}
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if any(n in str(d) for n in names)] == []
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007")
        assert not names & set(inspect(engine).get_table_names())
        engine.dispose()


def test_active_learning_shows_the_includes_first(sws):
    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], [exc[0]])
    shown = []
    for _ in range(len(inc) - 1):
        rec = s.next()
        assert rec.title and rec.abstract and rec.pmid == str(1999 + rec.record_id)
        assert set(rec.estimates) == {"consecutive-excludes", "hypergeometric"}
        shown.append(rec.record_id)
        s.label(rec.record_id, _oracle(inc)(rec.record_id))
    assert sorted(shown) == sorted(inc[1:])          # the 5 other includes before any exclude
    st = s.status()
    assert st.counts == {"include": 6, "exclude": 1, "maybe": 0, "unlabelled": 17, "deleted": 0}
    assert st.stop_rule == "hypergeometric" and 0 < st.estimates["hypergeometric"].recall_estimate <= 1


def test_save_reopen_gives_the_same_next_record(sws, tmp_path):
    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], exc[:2], strategy="mixed", seed=3)
    for _ in range(4):
        rec = s.next()
        s.label(rec.record_id, _oracle(inc)(rec.record_id))
    before = s.next()
    path = ws.path
    ws.close()
    with Workspace.open(path) as again:          # a new engine: nothing kept in memory
        after = open_session(again, "review").next()
    assert (after.record_id, after.score, after.screened) == (before.record_id, before.score, before.screened)


def test_same_seed_same_order_and_two_sessions_are_apart(sws):
    ws, inc, exc = sws
    orders = []
    for name in ("a", "b"):
        s = start_session(ws, name, [inc[1]], [exc[2]], strategy="mixed", seed=7)
        order = []
        for _ in range(8):
            rec = s.next()
            order.append(rec.record_id)
            s.label(rec.record_id, _oracle(inc)(rec.record_id))
        orders.append(order)
    assert orders[0] == orders[1]
    assert list_sessions(ws) == ["a", "b"]
    assert open_session(ws, "a").status().history == open_session(ws, "b").status().history == 10


def test_relabel_keeps_the_last_and_both_in_the_history(sws, tmp_path):
    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], [exc[0]])
    s.label(exc[1], "include", note="first reading")
    s.label(exc[1], "exclude", note="wrong population")
    assert s.labels()[exc[1]]["label"] == "exclude" and s.labels()[exc[1]]["note"] == "wrong population"
    assert [(h["label"], h["note"]) for h in s.history() if h["record_id"] == exc[1]] == [
        ("include", "first reading"), ("exclude", "wrong population")]
    assert s.status().counts["exclude"] == 2
    out = tmp_path / "history.csv"
    assert export_labels(s, out, history=True) == 4
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["label"] for r in rows if r["record_id"] == str(exc[1])] == ["include", "exclude"]
    assert all(r["n_labels"] == "2" for r in rows if r["record_id"] == str(exc[1]))


def test_maybe_is_neither_include_nor_exclude(sws, monkeypatch):
    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], [exc[0]])
    s.label(inc[1], "maybe", note="unsure: abstract only")
    fitted = []
    real_fit = screening_models.Learner.fit

    def spy(self, rows, y, weight):
        fitted.append((list(rows), list(y)))
        return real_fit(self, rows, y, weight)

    monkeypatch.setattr(screening_models.Learner, "fit", spy)
    rec = s.next()
    assert rec.record_id != inc[1]                       # never shown again
    pos = s.record_ids.index(inc[1])
    assert pos not in fitted[-1][0] and sorted(fitted[-1][1]) == [0, 1]
    st = s.status()
    assert st.counts["maybe"] == 1 and st.counts["include"] == 1
    # the stopping rules count it as unscreened: the same estimate as without it
    fresh = start_session(ws, "plain", [inc[0]], [exc[0]])
    assert st.estimates["hypergeometric"] == fresh.status().estimates["hypergeometric"]


def test_session_over_a_search_and_a_record_outside_it(sws):
    ws, inc, exc = sws
    ws.index(dense=False)
    s = start_session(ws, "q", [inc[0]], [exc[0]], query="aspirin heart trial", top=5, mode="bm25")
    assert s.row["scope"] == {"kind": "query", "query": "aspirin heart trial", "top": 5, "mode": "bm25"}
    assert set(s.record_ids) >= {inc[0], exc[0]} and len(s.record_ids) <= 7
    outside = next(r for r in inc + exc if r not in s.record_ids)
    with pytest.raises(DataError, match=f"record {outside} is a record of the workspace but not one of"):
        s.label(outside, "include")
    with pytest.raises(ConfigError, match="give query"):
        start_session(ws, "bad", [inc[0]], [exc[0]], top=5)


def test_bad_input_is_a_clear_error_and_nothing_is_lost(sws, tmp_path):
    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], [exc[0]])
    with pytest.raises(DataError, match="record 9999 is not a record of workspace"):
        s.label(9999, "include")
    with pytest.raises(ConfigError, match="label must be one of include, exclude, maybe"):
        s.label(inc[1], "relevant")
    with pytest.raises(ConfigError, match="named 'review' already exists"):
        start_session(ws, "review", [inc[0]], [exc[0]])
    with pytest.raises(DataError, match="at least one prior exclude"):
        start_session(ws, "other", [inc[0]], [])
    with pytest.raises(DataError, match="at least one prior include"):
        start_session(ws, "other", [], [exc[0]])
    with pytest.raises(DataError, match=r"record id\(s\) 4242 are not records"):
        start_session(ws, "other", [4242], [exc[0]])
    with pytest.raises(DataError, match="both a prior include and a prior exclude"):
        start_session(ws, "other", [inc[0]], [inc[0]])
    with pytest.raises(DataError, match="no screening session named 'nope'.*sessions: review"):
        open_session(ws, "nope")
    with pytest.raises(DataError, match="cannot write the export to .*missing"):
        export_labels(s, tmp_path / "missing" / "labels.csv")
    with pytest.raises(DataError, match="cannot write the export to"):
        export_labels(s, tmp_path, "csv")                     # a folder
    with pytest.raises(ConfigError, match=r"labels.txt: suffix '\.txt' is not an export format; supported "
                       r"formats: csv \(\.csv\), ris \(\.ris\)"):
        export_labels(s, tmp_path / "labels.txt")
    with pytest.raises(ConfigError, match=r"labels: no suffix to tell the format; supported formats: csv"):
        export_labels(s, tmp_path / "labels")
    with pytest.raises(ConfigError, match=r"l.csv: unknown export format 'xlsx'; supported formats: csv \(\.csv\)"):
        export_labels(s, tmp_path / "l.csv", "xlsx")
    assert not list(tmp_path.glob("label*")) and not (tmp_path / "l.csv").exists()
    assert list_sessions(ws) == ["review"] and len(s.history()) == 2
    s.label(exc[0], "include")                                # the only exclude relabelled
    with pytest.raises(DataError, match="no record labelled exclude now"):
        s.next()


def test_export_csv_and_ris(sws, tmp_path):
    import rispy

    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], [exc[0]])
    s.label(inc[1], "include", note="RCT, adults")
    s.label(exc[1], "maybe")
    assert export_labels(s, tmp_path / "l.csv") == 4
    rows = list(csv.DictReader((tmp_path / "l.csv").open(encoding="utf-8")))
    assert [(r["record_id"], r["label"], r["prior"]) for r in rows] == [
        (str(inc[0]), "include", "True"), (str(exc[0]), "exclude", "True"), (str(inc[1]), "include", "False"),
        (str(exc[1]), "maybe", "False")]
    assert rows[2]["note"] == "RCT, adults" and rows[2]["pmid"] == str(1999 + inc[1])
    assert rows[0]["labelled_at"].endswith("+00:00")
    assert export_labels(s, tmp_path / "l.ris") == 4
    entries = rispy.load(tmp_path / "l.ris")
    assert [e["keywords"] for e in entries] == [["screening:include"], ["screening:exclude"], ["screening:include"],
                                                ["screening:maybe"]]
    assert entries[2]["notes"] == ["RCT, adults"] and entries[2]["accession_number"] == str(1999 + inc[1])
    assert entries[2]["title"].startswith(("aspirin", "trial", "heart", "infarction", "randomised"))
    assert not (tmp_path / "l.ris").read_text(encoding="utf-8").startswith("1.")


def test_next_is_none_when_everything_is_labelled(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "small", n_inc=2, n_exc=2)
    with ws:
        s = start_session(ws, "all", [inc[0]], [exc[0]])
        for rid in (inc[1], exc[1]):
            s.label(rid, _oracle(inc)(rid))
        assert s.next() is None
        st = s.status()
        assert st.counts["unlabelled"] == 0 and st.stop and np.isclose(st.estimates["hypergeometric"].recall_estimate, 1)


def test_a_record_deleted_after_start_is_never_shown(tmp_path):
    from sqlalchemy import delete

    from serendip.workspace.schema import records

    ws, inc, exc = make_workspace(tmp_path / "small", n_inc=2, n_exc=2)
    with ws:
        s = start_session(ws, "all", [inc[0]], [exc[0]])
        first = s.next().record_id
        before = s.status()
        with ws.engine.begin() as conn:
            conn.execute(delete(records).where(records.c.id == first))
        again = open_session(ws, "all")
        st = again.status()   # the deleted record can never be screened: neither left nor in the total
        assert st.counts["deleted"] == 1 and st.total == before.total - 1
        assert st.counts["unlabelled"] == before.counts["unlabelled"] - 1 and again.deleted_records() == {first}
        rest = again.next()
        assert rest.record_id != first and rest.total == st.total
        again.label(rest.record_id, "exclude")
        assert again.next() is None
        with pytest.raises(DataError, match=f"record {first} of session 'all' was deleted"):
            again.label(first, "exclude")  # never labelled, never exported as an empty row
        assert first not in again.labels()
