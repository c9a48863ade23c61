"""C12 - BibTeX entry with a missing comma between fields: skip it with a located error, keep the rest.

Right values: ``shared/cases/C12_bibtex-malformed-entry-skip/CASE.md``.
"""
from __future__ import annotations

import pytest

from serendip.literature.readers import get_reader
from serendip.literature.record import ParseIssue, Record


@pytest.fixture()
def result(cases_dir):
    path = cases_dir / "C12_bibtex-malformed-entry-skip" / "wos_export.bib"
    out = list(get_reader("auto", path).read(path))
    return ([o for o in out if isinstance(o, Record)], [o for o in out if isinstance(o, ParseIssue)])


def test_two_records_stored(result):
    records, _ = result
    assert [(r.source_key, r.title, r.year, r.doi) for r in records] == [
        ("ISI:000000000000001", "Radiation safety training in an invented hospital", 2018,
         "10.5555/ihp.2018.001"),
        ("ISI:000000000000003", "Dose records in invented clinics", 2019, "10.5555/ihp.2019.003"),
    ]


def test_exactly_one_located_error(result):
    _, issues = result
    assert len(issues) == 1
    issue = issues[0]
    assert issue.file.endswith("wos_export.bib")
    assert issue.record == "ISI:000000000000002" and issue.line == 9  # the entry's start line
    assert "(line 12)" in issue.reason  # the line of the unexpected field
    assert 'missing "," between fields' in issue.reason
    assert 'unexpected field "Journal"' in issue.reason
    assert "wos_export.bib" in str(issue) and "line 9" in str(issue)


def test_no_merged_junk_stored(result):
    records, _ = result
    assert all("Journal =" not in (r.title or "") for r in records)
    assert all("Journal =" not in v for r in records for v in map(str, r.extra.values()))
