"""Meta-tests over every registered dataset (PyKEEN's habit): each entry has a name, URLs, licence,
citation, sha256 digests of the right form and its files, and resolves from a fake mirror laid out
like the real one. A dataset registered without a case here fails the run."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pooch
import pytest

from serendip import datasets
from serendip.datasets import DataFile


@dataclass(frozen=True)
class DatasetCase:
    """What a reviewer checked for one entry: its number of files and the start of its licence."""

    n_files: int
    licence: str


_GUE = DatasetCase(3, "Apache-2.0")
_MOLECULENET = "MIT (chemprop / DeepChem copies)"
CASES: dict[str, DatasetCase] = {
    "bbbp": DatasetCase(2, _MOLECULENET),
    "bc5cdr": DatasetCase(3, "NCBI public domain notice"),
    "chem-samples": DatasetCase(7, "BSD-3-Clause"),
    "cohen-2006": DatasetCase(2, "labels: custom open licence (OHSU)"),
    "esol": DatasetCase(2, _MOLECULENET),
    "fasta-samples": DatasetCase(11, "BSD-style (Biopython"),
    "genomes": DatasetCase(3, "public (NCBI/GenBank"),
    "gue/mouse0": _GUE, "gue/mouse2": _GUE, "gue/mouse3": _GUE, "gue/mouse4": _GUE,
    "gue/prom_300_tata": _GUE, "gue/prom_core_all": _GUE, "gue/prom_core_tata": _GUE, "gue/tf0": _GUE,
    "lipophilicity": DatasetCase(1, _MOLECULENET),
    "medline-formats": DatasetCase(3, "NLM terms"),
    "medline-sample": DatasetCase(1, "NLM terms and conditions"),
    "moses": DatasetCase(3, "MIT"),
    "scifact": DatasetCase(4, "CC BY-NC 2.0"),
    "scifact-claims": DatasetCase(4, "CC BY-NC 2.0"),
}
NAMES = datasets.names()


def _case(name: str) -> DatasetCase:
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"no test case for dataset {name}: add one to CASES in {__file__}")
    return case


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """No real mirror, an empty cache, and no network."""
    monkeypatch.delenv("SERENDIP_DATA_MIRROR", raising=False)
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))

    def no_network(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args} {kwargs}")

    monkeypatch.setattr(pooch, "retrieve", no_network)


def test_every_case_is_a_registered_dataset():
    assert sorted(set(CASES) - set(NAMES)) == [], "a case for a dataset that is not registered"


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_complete(name):
    case = _case(name)
    ds = datasets.get(name)
    assert ds.name == name and ds.description.strip()
    assert ds.homepage.startswith("https://")
    assert ds.licence.startswith(case.licence)
    assert ds.citation and all(c.strip() for c in ds.citation)
    assert len(ds.files) == case.n_files
    for f in ds.files:
        assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.path
        assert not f.path.startswith("/") and ".." not in f.path.split("/"), f.path
        for url in (f.url, f.source):
            assert url is None or url.startswith("https://"), url


@pytest.mark.parametrize("name", NAMES)
def test_resolves_from_a_fake_mirror(monkeypatch, tmp_path, name):
    """Every file is found in a mirror laid out like the real one, and checked against its sha256."""
    _case(name)
    real = datasets.get(name)
    mirror = tmp_path / "mirror"
    files = []
    for f in real.files:  # stand-in bytes per file, registered with their own sha256
        data = f"stand-in for {f.path}\n".encode()
        (mirror / f.path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / f.path).write_bytes(data)
        files.append(DataFile(path=f.path, sha256=hashlib.sha256(data).hexdigest(), url=f.url))
    fake = real.model_copy(update={"files": tuple(files)})
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(mirror))
    found = datasets.fetch(fake)
    assert sorted(found) == sorted(f.path for f in real.files)
    assert all(loc.origin == "mirror" and loc.path == mirror / rel for rel, loc in found.items())
    assert datasets.status(fake) == "mirror"
