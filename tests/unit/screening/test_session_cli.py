"""``serendip screen start | next | label | status | export`` and ``serendip recommend`` on a small
workspace: the printed record, counts and estimates, exports, and bad input as one error line, exit 2."""
from __future__ import annotations

import json

import pytest
from screening_helpers import make_workspace
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()


@pytest.fixture
def wsdir(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    ws.close()
    return tmp_path / "ws", inc, exc


def _run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_a_session_from_start_to_export(wsdir, tmp_path):
    ws, inc, exc = wsdir
    r = _run("screen", "start", "rev", "--include", inc[0], "--exclude", f"{exc[0]},{exc[1]}", "-w", ws)
    assert r.exit_code == 0, r.output
    assert "session 'rev' started: 24 records, 1 prior include(s), 2 prior exclude(s)" in r.output
    r = _run("screen", "next", "-w", ws, "--json")
    assert r.exit_code == 0, r.output
    nxt = json.loads(r.stdout)
    assert nxt["done"] is False and nxt["record_id"] in inc and nxt["pmid"] == str(1999 + nxt["record_id"])
    assert nxt["screened"] == 3
    assert set(nxt["estimates"]) == {"consecutive-excludes", "hypergeometric"}
    r = _run("screen", "next", "-w", ws)
    assert f"record {nxt['record_id']}  PMID {nxt['pmid']}" in r.output and "title: " in r.output
    assert "hypergeometric: recall ≥" in r.output
    r = _run("screen", "label", nxt["record_id"], "include", "--note", "adult RCT", "-w", ws)
    assert r.exit_code == 0 and "2 include, 2 exclude, 0 maybe, 20 left" in r.output
    r = _run("screen", "status", "-w", ws, "--json")
    st = json.loads(r.stdout)
    assert st["counts"] == {"include": 2, "exclude": 2, "maybe": 0, "unlabelled": 20, "deleted": 0} and st["stop"] is False
    said = _run("screen", "status", "-w", ws).output
    assert "stop: no (hypergeometric)" in said and "hypergeometric: recall ≥" in said  # a bound, as next says
    assert "consecutive-excludes: recall ≈" in said
    out = tmp_path / "labels.ris"
    r = _run("screen", "export", out, "-w", ws)
    assert r.exit_code == 0 and "4 labelled record(s)" in r.output and "N1  - adult RCT" in out.read_text()
    # a labelled and an unlabelled record deleted from the workspace: counts and the export say so
    from sqlalchemy import delete

    from serendip.workbench import Workspace
    from serendip.workspace.schema import records

    unlabelled = next(i for i in [*inc, *exc] if i not in (inc[0], exc[0], exc[1], nxt["record_id"]))
    with Workspace.open(ws) as w, w.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.id.in_([exc[1], unlabelled])))
    r = _run("screen", "status", "-w", ws)
    assert ("23 records: 2 include, 2 exclude, 0 maybe, 19 unlabelled (4 labels given; 1 deleted from the "
            "workspace before they were labelled, not counted)") in " ".join(r.output.split())
    r = _run("screen", "export", tmp_path / "labels.csv", "-w", ws)
    assert r.exit_code == 0 and (f"warning: 1 labelled record(s) were deleted from the workspace after they were "
                                 f"labelled (record {exc[1]})") in " ".join(r.output.split())


def test_next_says_done_once_every_record_is_labelled(wsdir):
    ws, inc, exc = wsdir
    assert _run("screen", "start", "rev", "--include", inc[0], "--exclude", exc[0], "-w", ws).exit_code == 0
    for rid in [*inc[1:], *exc[1:]]:
        assert _run("screen", "label", rid, "maybe" if rid == exc[1] else "exclude", "-w", ws).exit_code == 0
    r = _run("screen", "next", "-w", ws, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"done": True, "session": "rev", "total": 24,
                                    "counts": {"include": 1, "exclude": 22, "maybe": 1, "unlabelled": 0, "deleted": 0}}
    said = " ".join(_run("screen", "next", "-w", ws).output.split())
    assert "session 'rev': every record is labelled; 1 maybe: label them include or exclude" in said


def test_errors_are_one_line_with_exit_2(wsdir, tmp_path):
    ws, inc, exc = wsdir
    assert _run("screen", "next", "-w", ws).output.startswith("error: no screening session in this workspace")
    _run("screen", "start", "a", "--include", inc[0], "--exclude", exc[0], "-w", ws)
    cases = [
        (("screen", "start", "a", "--include", inc[0], "--exclude", exc[0]), "named 'a' already exists"),
        (("screen", "start", "b", "--include", inc[0]), "at least one prior exclude"),
        (("screen", "start", "b", "--include", 999999), "record id(s) 999999 are not records"),  # before the exclude
        (("screen", "start", "b", "--include", inc[0], "--exclude", exc[0], "--query", "aspirin"),
         "a session over a search (--query) needs --top N: how many of its hits to screen"),
        (("screen", "start", "b", "--include", "x1", "--exclude", exc[0]), "--include takes record ids"),
        (("screen", "label", 999, "include"), "record 999 is not a record of workspace"),
        (("screen", "label", inc[1], "yes"), "label must be one of include, exclude, maybe"),
        (("screen", "export", tmp_path / "no" / "x.csv"), "cannot write the export to"),
        (("screen", "export", tmp_path / "out.xlsx"), f"cannot export to {tmp_path / 'out.xlsx'}: suffix '.xlsx' "
         "is not an export format; supported formats: csv (.csv), ris (.ris)"),
        (("screen", "export", tmp_path / "out.csv", "--format", "xlsx"), "unknown export format 'xlsx'"),
        (("screen", "next", "--session", "zz"), "no screening session named 'zz'"),
        (("recommend", "--from", 555), "record id(s) 555 are not records"),
        # ids outside SQLite's signed 64-bit range are simply not records (no OverflowError)
        (("screen", "start", "c", "--include", "99999999999999999999999", "--exclude", exc[0]),
         "record id(s) 99999999999999999999999 are not records of workspace"),
        (("screen", "start", "c", "--include", inc[0], "--exclude", "-99999999999999999999999,9223372036854775808"),
         "record id(s) -99999999999999999999999, 9223372036854775808 are not records of workspace"),
        (("screen", "label", "99999999999999999999999", "include"), "record 99999999999999999999999 is not a record of workspace"),
        (("screen", "label", "9223372036854775808", "include"), "record 9223372036854775808 is not a record of workspace"),
        (("recommend", "--from", "99999999999999999999999"), "record id(s) 99999999999999999999999 are not records"),
    ]
    for args, message in cases:
        r = _run(*args, "-w", ws)
        assert r.exit_code == 2, (args, r.output)
        assert r.output.startswith("error: ") and message in r.output, (args, r.output)
        assert "Traceback" not in r.output
    _run("screen", "start", "b", "--include", inc[0], "--exclude", exc[0], "-w", ws)
    r = _run("screen", "status", "-w", ws)
    assert r.exit_code == 2 and "2 screening sessions here (a, b): name one with --session NAME" in r.output


def test_recommend_prints_reasons(wsdir):
    ws, inc, exc = wsdir
    r = _run("recommend", "--from", inc[0], "-k", 3, "-w", ws, "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert len(got["items"]) == 3 and all(i["record_id"] in inc for i in got["items"])
    assert all(any(w.startswith("shares MeSH Aspirin") for w in i["reasons"]) for i in got["items"])
    r = _run("recommend", "--from", f"{inc[0]},{inc[1]}", "-k", 2, "-w", ws)
    assert r.exit_code == 0 and "TF-IDF cosine" in r.output and "note: no knowledge-graph signal" in r.output


def test_screen_next_shows_a_title_with_escape_sequences_escaped(tmp_path):
    """A record title holding ESC sequences, U+202E and a zero-width space (an RIS export's
    ``TI  - RIS title <ESC>[35mmagenta``) is printed with them as visible escapes, and ``--json`` gives
    it back unchanged."""
    from screening_helpers import workspace_records

    from serendip.cli.display import needs_escape
    from serendip.workbench import Workspace

    hostile = " RIS title \x1b[35mmagenta\x1b[0m \u202eesrever\u200bend"
    rows = workspace_records()
    src = tmp_path / "records.jsonl"
    src.write_text("".join(json.dumps({**{k: v for k, v in r.items() if k != "_inc"}, "title": r["title"] + hostile,
                                       "abstract": "Abstract \x1b]0;pwned\x07 text"}) + "\n" for r in rows),
                   encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as w:
        w.ingest([src], fmt="jsonl")
        by_pmid = {rec.pmid: rid for rid, rec in w.records()}
    inc = [by_pmid[r["pmid"]] for r in rows if r["_inc"]]
    exc = [by_pmid[r["pmid"]] for r in rows if not r["_inc"]]
    ws = tmp_path / "ws"
    assert _run("screen", "start", "rev", "--include", inc[0], "--exclude", f"{exc[0]},{exc[1]}", "-w", ws).exit_code == 0
    r = _run("screen", "next", "-w", ws, "--json")
    assert not any(needs_escape(c) for c in r.stdout.replace("\n", ""))
    title = json.loads(r.stdout)["title"]
    assert title.endswith(hostile)
    r = _run("screen", "next", "-w", ws)
    assert r.exit_code == 0, r.output
    assert not any(needs_escape(c) for c in r.stdout.replace("\n", ""))
    lines = r.stdout.splitlines()
    assert lines[1] == f"title: {title[:-len(hostile)]} RIS title \\x1b[35mmagenta\\x1b[0m \\u202eesrever\\u200bend"
    assert lines[2] == "abstract: Abstract \\x1b]0;pwned\\x07 text"
