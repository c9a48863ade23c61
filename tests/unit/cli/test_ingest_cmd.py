"""``serendip ingest``: exit 1 when an input fails whole (named, the rest kept), a per-file summary,
warnings for empty files, exit 2 for usage errors."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()
RIS = "TY  - JOUR\nTI  - Zinc lozenges and the common cold\nPY  - 2011\nER  - \n"


@pytest.fixture()
def ws(tmp_path):
    path = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    return path


def _files(tmp_path):
    good = tmp_path / "a.ris"
    good.write_text(RIS)
    bad = tmp_path / "b.csv"
    bad.write_text("name,year\nA,2011\n")
    after = tmp_path / "c.jsonl"
    after.write_text(json.dumps({"id": "c1", "title": "Vitamin D and falls"}) + "\n")
    return good, bad, after


def test_failed_input_exits_1_names_it_and_keeps_the_rest(ws, tmp_path):
    good, bad, after = _files(tmp_path)
    r = runner.invoke(app, ["ingest", str(good), str(bad), str(after), "-w", str(ws)])
    assert r.exit_code == 1, r.output
    assert "failed: " in r.output and "b.csv: no title or abstract column" in r.output
    assert "1 of 3 input file(s) failed whole" in r.output
    assert "ingested 2, duplicates 0, records skipped 0, files failed 1" in r.output
    for col in ("file", "format", "read", "ingested", "duplicates", "skipped", "status"):
        assert col in r.output
    assert "FAILED" in r.output and "Traceback" not in r.output
    from serendip.workbench import Workspace
    with Workspace.open(ws) as w:
        assert sorted(rec.title for _, rec in w.records()) == ["Vitamin D and falls",
                                                               "Zinc lozenges and the common cold"]


def test_all_good_exits_0_with_a_summary_line_per_file(ws, tmp_path, monkeypatch):
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["ingest", "a.ris", "c.jsonl", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if "a.ris" in ln or "c.jsonl" in ln]
    assert [ln.replace("│", " ").split() for ln in lines] == [["a.ris", "ris", "1", "1", "0", "0", "ok"],
                                                              ["c.jsonl", "jsonl", "1", "1", "0", "0", "ok"]]


def test_json_report_lists_files_and_exits_1(ws, tmp_path):
    good, bad, _ = _files(tmp_path)
    r = runner.invoke(app, ["ingest", str(good), str(bad), "-w", str(ws), "--json"])
    assert r.exit_code == 1
    report = json.loads(r.stdout[r.stdout.index("{"):])
    assert report["failed_files"] == [str(bad)]
    assert [(f["format"], f["read"], f["ingested"]) for f in report["files"]] == [("ris", 1, 1), ("csv", 0, 0)]


def test_explicit_format_finding_nothing_exits_1(ws, tmp_path):
    _, _, after = _files(tmp_path)
    r = runner.invoke(app, ["ingest", str(after), "--format", "ris", "-w", str(ws)])
    assert r.exit_code == 1
    assert "format 'ris' (given with --format) found no record" in r.output


def test_empty_file_warns_and_exits_0(ws, tmp_path):
    empty = tmp_path / "empty.ris"
    empty.write_text("")
    r = runner.invoke(app, ["ingest", str(empty), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "warning:" in r.output and "empty file" in r.output


def test_usage_errors_still_exit_2(ws, tmp_path):
    good, _, _ = _files(tmp_path)
    assert runner.invoke(app, ["ingest", str(good), "--format", "docx", "-w", str(ws)]).exit_code == 2
    assert runner.invoke(app, ["ingest", str(tmp_path / "missing.ris"), "-w", str(ws)]).exit_code == 2
    assert runner.invoke(app, ["ingest", str(good), "--map", "nope", "-w", str(ws)]).exit_code == 2


def test_summary_splits_files_failed_and_records_skipped(ws, tmp_path, monkeypatch):
    _files(tmp_path)
    (tmp_path / "d.jsonl").write_text('{"id": "d1", "title": "Coffee and liver fibrosis"}\n{not json\n')
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["ingest", "a.ris", "b.csv", "d.jsonl", "-w", str(ws)])
    assert r.exit_code == 1, r.output
    assert "ingested 2, duplicates 0, records skipped 1, files failed 1" in r.output
    row = next(ln for ln in r.output.splitlines() if "d.jsonl" in ln and "│" in ln)
    assert row.replace("│", " ").split()[-2:] == ["1", "ok"]  # skipped 1, the file itself ok
    listed = runner.invoke(app, ["reports", "-w", str(ws)], env={"COLUMNS": "200"})
    assert "1 file, 1 record skipped" in listed.output, listed.output


def test_empty_folder_warns(ws, tmp_path):
    good, _, _ = _files(tmp_path)
    (tmp_path / "nothing").mkdir()
    r = runner.invoke(app, ["ingest", str(tmp_path / "nothing"), str(good), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "warning:" in r.output and f"no files in {tmp_path / 'nothing'}" in r.output


def test_empty_encoding_is_a_usage_error_before_any_progress_bar(ws, tmp_path):
    good, _, _ = _files(tmp_path)
    r = runner.invoke(app, ["ingest", str(good), "--encoding", "", "-w", str(ws)])
    assert r.exit_code == 2 and "--encoding" in r.output and "━" not in r.output, r.output
    for args in (["--format", "docx"], ["--encoding", "no-such-codec"]):
        r = runner.invoke(app, ["ingest", str(good), *args, "-w", str(ws)])
        assert r.exit_code == 2 and "error:" in r.output and "━" not in r.output, r.output
    r = runner.invoke(app, ["ingest", str(tmp_path / "missing.ris"), "-w", str(ws)])
    assert r.exit_code == 2 and "━" not in r.output


def test_pubmed_deletions_in_the_per_file_summary(ws, tmp_path):
    from literature_helpers import RIS as ZINC_RIS
    from literature_helpers import pubmed_file

    baseline = pubmed_file(tmp_path / "baseline.xml", ["31000001", "31000002"])
    (tmp_path / "zinc.ris").write_text(ZINC_RIS)
    update = pubmed_file(tmp_path / "update.xml", ["31000004"], ["31000001", "31000002", "39999999"])
    assert runner.invoke(app, ["ingest", str(baseline), str(tmp_path / "zinc.ris"), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["ingest", str(update), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "update.xml: PubMed deletions: deleted 1, kept 1 (other files hold it), not in the workspace 1" in \
        r.output.replace("\n", " ")
    assert "kept: " in r.output and "PMID 31000002" in r.output and "zinc.ris" in r.output
    again = runner.invoke(app, ["ingest", str(update), "-w", str(ws)])  # the same update file re-applied
    assert again.exit_code == 0, again.output
    assert "deleted 0, kept 1 (other files hold it), not in the workspace 1, already deleted 1" in \
        again.output.replace("\n", " ")


def test_a_withdrawn_copy_is_said_with_the_file_that_deleted_it(ws, tmp_path):
    from literature_helpers import pubmed_file

    update = pubmed_file(tmp_path / "update.xml", ["31000004"], ["31000001"])
    baseline = pubmed_file(tmp_path / "baseline.xml", ["31000001", "31000002"])
    assert runner.invoke(app, ["ingest", str(update), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["ingest", str(baseline), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert f"{baseline}: 1 PubMed record skipped: deleted by DeleteCitation in {update}" in r.output
    report = json.loads(runner.invoke(app, ["ingest", str(baseline), "-w", str(ws), "--json"]).stdout)
    assert report["withdrawn"] == ["31000001"] and report["files"][0]["withdrawn_by"] == {
        f"DeleteCitation in {update}": 1}
    assert "PMID 31000001: skipped: deleted by DeleteCitation in" in report["withdrawn_lines"][0]


def _binaries(tmp_path):
    """A PNG, an .xlsx (a ZIP), random bytes holding a NUL, and a gzip'ed PNG, as researchers hand them in."""
    import gzip
    import random

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    data = {"figure.png": png, "refs.xlsx": b"PK\x03\x04\x14\x00\x06\x00" + bytes(200),
            "noise.bin": random.Random(0).randbytes(3000),  # its first NUL at byte 323
            "figure.png.gz": gzip.compress(png)}
    for name, payload in data.items():
        (tmp_path / name).write_bytes(payload)
    return [tmp_path / name for name in data]


@pytest.mark.parametrize("fmt", ["auto", "pubmed", "jsonl", "ris", "beir"])
def test_binary_inputs_are_named_not_text_whatever_the_format(ws, tmp_path, fmt):
    """A binary file is 'not a text file' (with the byte of its binary content, counted un-gzipped for a
    gzip file), never told to try --encoding, whatever --format says; the run goes on and exits 1."""
    files = _binaries(tmp_path)
    r = runner.invoke(app, ["ingest", *map(str, files), "--format", fmt, "-w", str(ws)])
    assert r.exit_code == 1, r.output
    failed = [ln for ln in r.output.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == len(files), r.output
    for path, line in zip(files, failed):
        assert line.startswith(f"failed: {path}: not a text file") and "--encoding" not in line, line
    png, xlsx, noise, png_gz = failed
    assert "a PNG image" in png and "a ZIP archive (an .xlsx" in xlsx
    assert "(binary content: a NUL byte at byte 323)" in noise
    assert "not a text file once un-gzipped: a PNG image" in png_gz


def test_empty_encoding_message_is_a_whole_sentence(ws, tmp_path):
    good, _, _ = _files(tmp_path)
    r = runner.invoke(app, ["ingest", str(good), "--encoding", "", "-w", str(ws)])
    message = " ".join(r.output.split())
    assert r.exit_code == 2 and message == (
        "error: --encoding is empty: give a text encoding such as cp1252 or latin-1, or leave the option "
        "out to detect each file's encoding."), r.output


def test_progress_ends_before_the_report_when_not_a_terminal(ws, tmp_path):
    """Output redirected: the plain 'ingest: N records done' line comes first, then the table and summary."""
    good, _, after = _files(tmp_path)
    r = runner.invoke(app, ["ingest", str(good), str(after), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    done = r.output.index("ingest: 2 records done in ")
    assert done < r.output.index("┃ file") < r.output.index("ingested 2, duplicates 0")
    assert r.output.count("ingest: ") == 1


def test_progress_bar_is_finished_and_stopped_before_the_report_on_a_terminal(ws, tmp_path, monkeypatch):
    """On a terminal the bar is completed (N/N) and stopped before the per-file table: no bar is drawn
    after it (stdout and stderr share one terminal here, as for a user)."""
    import io
    import re

    from rich.console import Console

    from serendip.cli import common, literature_cmd

    screen = io.StringIO()
    err = Console(file=screen, force_terminal=True, width=120, color_system=None)
    out = Console(file=screen, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(common, "err_console", err)
    monkeypatch.setattr(literature_cmd, "err_console", err)
    monkeypatch.setattr(literature_cmd, "console", out)
    good, _, after = _files(tmp_path)
    r = runner.invoke(app, ["ingest", str(good), str(after), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    table = text.index("┃ file")
    assert "2/2" in text[:table], text  # the last frame of the bar shows it complete
    assert re.search(r"(?m)^ingest ", text[table:]) is None, text  # nothing of the bar after the table
