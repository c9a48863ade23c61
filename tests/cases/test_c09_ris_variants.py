"""C09 - RIS tag variants (T1/TI, A1/AU, Y1/PY, N2/AB, JF/JO, DOI URL prefix, repeated KW, wrapped line).

Right values: ``shared/cases/C09_ris-tag-variants/CASE.md``.
"""
from __future__ import annotations

import pytest

from serendip.literature.readers import get_reader
from serendip.literature.record import Author, ParseIssue, Record


@pytest.fixture()
def records(cases_dir):
    path = cases_dir / "C09_ris-tag-variants" / "citavi_cinahl.ris"
    out = list(get_reader("auto", path).read(path))
    assert not [o for o in out if isinstance(o, ParseIssue)]
    return [o for o in out if isinstance(o, Record)]


def test_record_count(records):
    assert len(records) == 2


def test_record_1_citavi_tags(records):
    r = records[0]
    assert r.title == "Hearing loss among invented army recruits."  # T1
    assert r.authors == [Author(family="Rautavaara", given="Eelis"),
                         Author(family="Kowalczyk-Berg", given="Ada"),
                         Author(family="Osei", given="Kwabena")]  # A1, order kept
    assert r.year == 2020  # Y1 "2020/11//Nov/Dec2020"
    assert r.abstract == "Audiometry was done in 512 recruits."  # N2
    assert r.keywords == ["hearing loss", "noise", "military personnel"]
    assert r.journal == "Invented Military Medicine"  # JF
    assert r.doi == "10.5555/imm.2020.e2115"  # "https://doi.org/" removed, lower-cased
    assert r.source_line == 1


def test_record_2_standard_tags_and_continuation_line(records):
    r = records[1]
    assert r.title == "Noise exposure in invented workshops"
    assert r.authors == [Author(family="Haddad", given="Samira"),
                         Author(family="Lindqvist", given="Ove")]
    assert r.year == 2019
    assert r.abstract == "A cross-sectional survey. It continued on a second line."
    assert r.keywords == ["occupational noise", "hearing protection"]
    assert r.journal == "Invented Occupational Health"
    assert r.doi == "10.5555/ioh.2019.77"
    assert r.source_line == 20
