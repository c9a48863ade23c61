"""The ingest code stays split into cohesive modules (modules under 400 lines, functions under 80):
reading and storing (``ingest``), the inputs checked up front (``ingest_inputs``), the report and its
database row (``ingest_report``), deletions, batch storing and the per-file report; the names other
code imports from ``serendip.literature.ingest`` still come from there, unchanged."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

LITERATURE = Path(__file__).resolve().parents[3] / "src" / "serendip" / "literature"
MODULES = ["ingest", "ingest_inputs", "ingest_report", "deletions", "batch_store", "file_report"]


@pytest.mark.parametrize("name", MODULES)
def test_ingest_modules_and_their_functions_stay_small(name):
    source = (LITERATURE / f"{name}.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 400, f"{name}.py has {len(source.splitlines())} lines"
    long = {f.name: f.end_lineno - f.lineno + 1 for f in ast.walk(ast.parse(source))
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > 80}
    assert long == {}, f"{name}.py: functions over 80 lines: {long}"


def test_names_imported_from_ingest_are_the_moved_ones():
    from serendip.literature import ingest, ingest_inputs, ingest_report

    assert ingest.IngestReport is ingest_report.IngestReport
    assert (ingest.REPORT_COLUMNS, ingest.report_row) == (ingest_report.REPORT_COLUMNS, ingest_report.report_row)
    assert (ingest.column_mapping, ingest.expand_paths) == (ingest_inputs.column_mapping, ingest_inputs.expand_paths)
    assert set(ingest.__all__) <= set(dir(ingest))
    assert ingest.column_mapping(["title = Headline"]) == {"title": "Headline"}
