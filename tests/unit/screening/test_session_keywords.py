"""A session's highlighting keywords (SQLite and PostgreSQL): stored, found in the record ``next`` shows,
kept across reopening, kinds switched and terms removed case-insensitively, bad input refused with
nothing changed; ``serendip screen keywords`` and ``screen next`` on the command line."""
from __future__ import annotations

import json

import pytest
from screening_helpers import make_workspace
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.errors import ConfigError, DataError
from serendip.screening.session import open_session, start_session


def test_keywords_are_stored_found_in_the_next_record_and_kept_on_reopening(sws):
    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], [exc[0]])
    assert s.keywords() == {} and s.next().highlights == []
    assert s.add_keywords(["Aspirin", "random*", "heart"]) == {"Aspirin": "include", "random*": "include",
                                                               "heart": "include"}
    assert s.add_keywords(["zebrafish", "HEART"], "exclude") == {"Aspirin": "include", "random*": "include",
                                                                 "heart": "exclude", "zebrafish": "exclude"}
    rec = open_session(ws, "review").next()  # another process, another day
    assert rec.record_id in inc and rec.highlights
    for h in rec.highlights:
        text = rec.title if h.field == "title" else rec.abstract
        assert text[h.start:h.end].lower().startswith(h.term.rstrip("*").lower())
        assert h.kind == {"aspirin": "include", "random*": "include", "heart": "exclude"}[h.term.lower()]
    assert [h.field for h in rec.highlights] == sorted((h.field for h in rec.highlights), key=["title", "abstract"].index)
    assert rec.to_dict()["highlights"][0] == rec.highlights[0].to_dict()
    assert s.remove_keywords(["aspirin", "ZEBRAFISH"]) == {"random*": "include", "heart": "exclude"}


def test_bad_keyword_input_changes_nothing(sws):
    ws, inc, exc = sws
    s = start_session(ws, "review", [inc[0]], [exc[0]])
    s.add_keywords(["aspirin"])
    with pytest.raises(DataError, match=r"keyword\(s\) 'mice' not in this session \(its keywords: 'aspirin'\); "
                                        "nothing removed"):
        s.remove_keywords(["aspirin", "mice"])
    with pytest.raises(ConfigError, match="kind must be one of include, exclude"):
        s.add_keywords(["gene"], "maybe")
    with pytest.raises(ConfigError, match="only end a word"):
        s.add_keywords(["gene", "ran*dom"])
    with pytest.raises(ConfigError, match="at least one keyword"):
        s.add_keywords([])
    assert s.keywords() == {"aspirin": "include"}
    other = start_session(ws, "other", [inc[0]], [exc[0]])
    assert other.keywords() == {}  # keywords belong to one session


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_screen_keywords_and_next_on_the_command_line(tmp_path):
    ws, inc, exc = make_workspace(tmp_path / "ws")
    ws.close()
    folder = tmp_path / "ws"
    assert _run("screen", "start", "rev", "--include", inc[0], "--exclude", exc[0], "-w", folder).exit_code == 0
    r = _run("screen", "keywords", "-w", folder)
    assert r.exit_code == 0 and "no keywords" in r.output
    # every include title holds two of these words (screening_helpers.INCLUDE_WORDS)
    r = _run("screen", "keywords", "aspirin", "trial", "heart", "infarction", "random*", "-w", folder)
    assert r.exit_code == 0 and "include: aspirin, trial, heart, infarction, random*" in r.output
    r = _run("screen", "keywords", "zebrafish", "--exclude", "-w", folder)
    assert "include: aspirin, trial, heart, infarction, random*" in r.output and "exclude: zebrafish" in r.output
    assert json.loads(_run("screen", "keywords", "--json", "-w", folder).stdout) == {
        "aspirin": "include", "trial": "include", "heart": "include", "infarction": "include",
        "random*": "include", "zebrafish": "exclude"}
    nxt = json.loads(_run("screen", "next", "--json", "-w", folder).stdout)
    assert nxt["record_id"] in inc
    title_terms = [h["term"] for h in nxt["highlights"] if h["field"] == "title"]
    assert len(title_terms) == 2 and all(h["kind"] == "include" for h in nxt["highlights"])
    r = _run("screen", "next", "-w", folder)
    assert f"title: {nxt['title']}" in r.output and "keywords found: include: " in r.output
    r = _run("screen", "keywords", "mice", "--remove", "-w", folder)
    assert r.exit_code == 2 and "error:" in r.output and "'mice' not in this session" in r.output
    r = _run("screen", "keywords", "--remove", "-w", folder)
    assert r.exit_code == 2 and "--remove needs the keyword(s)" in r.output
    r = _run("screen", "keywords", "aspirin", "--remove", "-w", folder)
    assert r.exit_code == 0 and "aspirin" not in r.output and "exclude: zebrafish" in r.output
    r = _run("screen", "keywords", "aspirin", "--remove", "--exclude", "-w", folder)
    assert r.exit_code == 2 and "do not go together" in r.output


def test_screen_next_colours_the_keywords_by_kind(monkeypatch):
    from rich.console import Console

    from serendip.cli import screen_session_cmd

    out = Console(record=True, force_terminal=True, color_system="standard", width=200)
    monkeypatch.setattr(screen_session_cmd, "console", out)
    from serendip.screening.highlight import find_highlights

    title = "Aspirin in zebrafish\x1b[31m \u202easpirin\u202c x1b"
    keywords = {"aspirin": "include", "zebrafish": "exclude", "x1b": "exclude"}
    screen_session_cmd._say_marked("title: ", title, find_highlights(title, keywords, "title"))
    spans = [(seg.text, str(seg.style)) for seg in out._record_buffer if seg.style and seg.style.color]
    # the keywords of the stored text, as --json gives them: the one between bidi controls too, and x1b
    # as a word only, never inside the escape \x1b
    assert spans == [("Aspirin", "bold green"), ("zebrafish", "bold red"), ("aspirin", "bold green"),
                     ("x1b", "bold red")]
    assert "\\x1b[31m \\u202easpirin\\u202c x1b" in out.export_text()  # controls shown escaped, not run
