"""The dataset registry (catalog.toml) and file resolution: mirror, cache, download (never for real)."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pooch
import pytest

from serendip import datasets
from serendip.datasets import DataFile, Dataset
from serendip.errors import ConfigError, DataError, DatasetNotFound

MANIFEST_NAMES = [
    "scifact", "scifact-claims", "medline-sample", "medline-formats", "cohen-2006", "bc5cdr",
    "gue/prom_core_all", "gue/tf0", "gue/prom_core_tata", "gue/prom_300_tata", "gue/mouse0",
    "gue/mouse2", "gue/mouse3", "gue/mouse4", "genomes", "fasta-samples", "esol", "lipophilicity",
    "bbbp", "moses", "chem-samples",
]


class NetworkUsed(AssertionError):
    """Raised by the guard if any test reaches pooch's downloader without patching it."""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No mirror, an empty cache under tmp_path, and no way to reach the network."""
    monkeypatch.delenv("SERENDIP_DATA_MIRROR", raising=False)
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))

    def guard(*args, **kwargs):
        raise NetworkUsed(f"pooch.retrieve called without a patch: {args} {kwargs}")

    monkeypatch.setattr(pooch, "retrieve", guard)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _toy(url: str | None = None, content: bytes = b"hello\n") -> Dataset:
    return Dataset(
        name="toy", description="a toy dataset", homepage="https://example.org/toy", licence="CC0-1.0",
        files=(DataFile(path="toy/a.txt", sha256=_sha(content), url=url),
               DataFile(path="toy/sub/b.txt", sha256=_sha(b"b\n"))),
    )


def _write(root: Path, rel: str, data: bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


# ------------------------------------------------------------------------------------------ catalog


def test_catalog_has_every_manifest_name():
    assert sorted(datasets.names()) == sorted(MANIFEST_NAMES)
    assert [d.name for d in datasets.list_datasets()] == sorted(MANIFEST_NAMES)


def test_catalog_entries_are_complete():
    for ds in datasets.list_datasets():
        assert ds.description and ds.licence and ds.citation and ds.counts, ds.name
        assert ds.homepage.startswith("https://"), ds.name
        assert ds.provenance and ds.provenance.endswith("/SOURCE.md"), ds.name
        for f in ds.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.path
            if f.url is not None:  # direct URLs must be pinned to a commit: the bytes cannot move
                assert re.match(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/", f.url), f.url
    total = sum(len(d.files) for d in datasets.list_datasets())
    assert total == 70


def test_unknown_name_lists_choices():
    with pytest.raises(ConfigError) as err:
        datasets.get("scifakt")
    msg = str(err.value)
    assert "scifakt" in msg
    for name in ("scifact", "gue/tf0", "chem-samples"):
        assert name in msg
    with pytest.raises(ConfigError):
        datasets.resolve("nope")


def test_get_is_case_insensitive_and_file_lookup():
    ds = datasets.get("SciFact")
    assert ds.name == "scifact"
    assert ds.file("test.tsv").path == "scifact/qrels/test.tsv"
    assert ds.file("scifact/queries.jsonl").url is not None
    with pytest.raises(ConfigError, match="scifact/corpus.jsonl.gz"):
        ds.file("nothing.txt")


@pytest.mark.parametrize(
    "file_entry, problem",
    [
        ('path = "../x.txt"\nsha256 = "' + "a" * 64 + '"', "path"),
        ('path = "x.txt"\nsha256 = "abc"', "sha256"),
        ('path = "x.txt"\nsha256 = "' + "a" * 64 + '"\nurl = "ftp://x"', "url"),
        ('path = "x.txt"\nsha256 = "' + "a" * 64 + '"\nsize = 3', "size"),
    ],
)
def test_load_catalog_rejects_bad_entries(tmp_path, file_entry, problem):
    toml = ('[[dataset]]\nname = "bad"\ndescription = "d"\nhomepage = "https://e.org"\nlicence = "x"\n'
            "[[dataset.files]]\n" + file_entry + "\n")
    path = tmp_path / "catalog.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=problem) as err:
        datasets.load_catalog(path)
    assert "'bad'" in str(err.value)


def test_load_catalog_rejects_duplicates_and_bad_toml(tmp_path):
    entry = ('[[dataset]]\nname = "dup"\ndescription = "d"\nhomepage = "https://e.org"\nlicence = "x"\n'
             '[[dataset.files]]\npath = "x.txt"\nsha256 = "' + "a" * 64 + '"\n')
    path = tmp_path / "catalog.toml"
    path.write_text(entry + entry)
    with pytest.raises(ConfigError, match="twice"):
        datasets.load_catalog(path)
    path.write_text("[[dataset]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        datasets.load_catalog(path)


# --------------------------------------------------------------------------------- places and env


def test_cache_dir_from_env_and_platform_default(monkeypatch, tmp_path):
    assert datasets.cache_dir() == tmp_path / "cache" / "datasets"
    monkeypatch.delenv("SERENDIP_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.cache_dir().parts[-2:] == ("serendip", "datasets")


def test_mirror_env_not_a_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(tmp_path / "no-such-folder"))
    with pytest.raises(ConfigError, match="SERENDIP_DATA_MIRROR"):
        datasets.resolve("esol")


# ------------------------------------------------------------------------------- missing / download


def test_missing_without_url_names_dataset_file_and_official_url():
    with pytest.raises(DatasetNotFound) as err:
        datasets.resolve("cohen-2006")
    msg = str(err.value)
    assert "'cohen-2006'" in msg
    assert "cohen/records.jsonl.gz" in msg
    assert "https://dmice.ohsu.edu/cohenaa/systematic-drug-class-review-data.html" in msg
    assert "SERENDIP_DATA_MIRROR" in msg
    assert "1 more file of this dataset is missing" in msg
    assert datasets.status("cohen-2006") == "missing"


def test_offline_download_failure_names_url(monkeypatch, tmp_path):
    calls = []

    def offline(url, known_hash=None, fname=None, path=None, **kwargs):
        calls.append((url, known_hash, fname, Path(path)))
        raise ConnectionError("Failed to resolve host (offline)")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(DatasetNotFound) as err:
        datasets.resolve("esol")
    f = datasets.get("esol").files[0]
    msg = str(err.value)
    assert "'esol'" in msg and f.path in msg and f.url in msg
    assert "SERENDIP_DATA_MIRROR" in msg and "offline" in msg
    assert calls == [(f.url, f"sha256:{f.sha256}", "delaney.csv", tmp_path / "cache" / "datasets" / "moleculenet")]


def test_download_failure_gives_the_root_cause_and_marks_a_cut(monkeypatch, tmp_path):
    def offline(url, **kwargs):
        try:
            raise OSError("[Errno -3] Temporary failure in name resolution")
        except OSError as exc:
            raise ConnectionError("HTTPSConnectionPool(host='x', port=443): " + "retries " * 80) from exc

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(DatasetNotFound) as err:
        datasets.resolve("esol")
    msg = str(err.value)
    assert "failed (OSError: [Errno -3] Temporary failure in name resolution (raised as ConnectionError))" in msg

    def long_failure(url, **kwargs):
        raise RuntimeError("z" * 1000)

    monkeypatch.setattr(pooch, "retrieve", long_failure)
    with pytest.raises(DatasetNotFound) as err:
        datasets.resolve("esol")
    assert "z ... [cut])" in str(err.value) and "z" * 1000 not in str(err.value)


def test_download_goes_into_cache_then_cache_hit(monkeypatch, tmp_path):
    cache = tmp_path / "cache" / "datasets"
    _write(cache, "toy/sub/b.txt", b"b\n")  # the file without a URL is already cached
    calls = []

    def fake_retrieve(url, known_hash=None, fname=None, path=None, **kwargs):
        calls.append(url)
        assert known_hash == "sha256:" + _sha(b"hello\n")
        return str(_write(Path(path), fname, b"hello\n"))

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    toy = _toy(url="https://example.invalid/a.txt")
    assert datasets.status(toy) == "missing"
    got = datasets.fetch(toy)
    assert got["toy/a.txt"] == (cache / "toy/a.txt", "download")
    assert got["toy/sub/b.txt"] == (cache / "toy/sub/b.txt", "cache")
    assert calls == ["https://example.invalid/a.txt"]
    # second time: a cache hit, no download
    assert datasets.resolve(toy) == {"toy/a.txt": cache / "toy/a.txt", "toy/sub/b.txt": cache / "toy/sub/b.txt"}
    assert calls == ["https://example.invalid/a.txt"]
    assert datasets.status(toy) == "cache"


def test_download_hash_mismatch_is_data_error(monkeypatch):
    def bad(*args, **kwargs):
        raise ValueError("SHA256 hash of downloaded file (x) does not match the known hash")

    monkeypatch.setattr(pooch, "retrieve", bad)
    with pytest.raises(DataError, match="does not match its registered sha256"):
        datasets.resolve(_toy(url="https://example.invalid/a.txt"))


# ------------------------------------------------------------------------------ mirror and cache


def test_fake_mirror_resolves_and_tampered_file_is_data_error(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    _write(mirror, "toy/a.txt", b"hello\n")
    _write(mirror, "toy/sub/b.txt", b"b\n")
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(mirror))
    toy = _toy()
    assert datasets.resolve(toy) == {"toy/a.txt": mirror / "toy/a.txt", "toy/sub/b.txt": mirror / "toy/sub/b.txt"}
    assert datasets.status(toy) == "mirror"

    tampered = _write(mirror, "toy/a.txt", b"hellO, tampered\n")
    with pytest.raises(DataError) as err:
        datasets.resolve(toy)
    msg = str(err.value)
    assert str(tampered) in msg and _sha(b"hello\n") in msg and _sha(b"hellO, tampered\n") in msg
    # verify=False trusts the file as it is
    assert datasets.resolve(toy, verify=False)["toy/a.txt"] == tampered


def test_tampered_cache_file_is_data_error(tmp_path):
    cache = tmp_path / "cache" / "datasets"
    _write(cache, "toy/a.txt", b"not hello\n")
    _write(cache, "toy/sub/b.txt", b"b\n")
    with pytest.raises(DataError, match="delete it"):
        datasets.resolve(_toy())


def test_each_file_is_hashed_once_per_process(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    _write(mirror, "toy/a.txt", b"hello\n")
    _write(mirror, "toy/sub/b.txt", b"b\n")
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(mirror))
    toy = _toy()
    real = hashlib.sha256
    count = []

    def counting(*args):
        count.append(1)
        return real(*args)

    monkeypatch.setattr(hashlib, "sha256", counting)  # the module store.py hashes with
    for _ in range(3):
        datasets.resolve(toy)
    assert len(count) == 2


def test_mirror_first_then_cache(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    cache = tmp_path / "cache" / "datasets"
    _write(mirror, "toy/a.txt", b"hello\n")
    _write(cache, "toy/a.txt", b"hello\n")
    _write(cache, "toy/sub/b.txt", b"b\n")
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(mirror))
    got = datasets.fetch(_toy())
    assert got["toy/a.txt"].origin == "mirror"
    assert got["toy/sub/b.txt"].origin == "cache"
    assert datasets.status(_toy()) == "cache"


# ------------------------------------------------------------------------------ the real mirror


def _manifest_names(mirror: Path) -> set[str]:
    text = (mirror / "MANIFEST.md").read_text(encoding="utf-8")
    names = set()
    for line in text.splitlines():
        m = re.match(r"\|\s*`([^`]+)`", line)
        if not m:
            continue
        if m.group(1) == "gue/…":  # the row of extra GUE tasks lists their folders
            names.update(f"gue/{t}" for t in re.findall(r"`([a-z0-9_]+)`", line.split("|")[2]))
        else:
            names.add(m.group(1))
    return names


@pytest.mark.data
def test_catalog_matches_manifest(mirror):
    assert _manifest_names(mirror) == set(datasets.names())


@pytest.mark.data
def test_every_mirror_file_is_registered(mirror):
    on_disk = {p.relative_to(mirror).as_posix() for p in mirror.rglob("*") if p.is_file() and p.suffix != ".md"}
    registered = {f.path for d in datasets.list_datasets() for f in d.files}
    assert on_disk == registered


@pytest.mark.data
def test_resolve_from_mirror_checks_every_sha256(monkeypatch, mirror):
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(mirror))
    for ds in datasets.list_datasets():
        paths = datasets.resolve(ds.name)  # verify=True: every file hashed against catalog.toml
        assert list(paths) == [f.path for f in ds.files]
        for rel, p in paths.items():
            assert p == mirror / rel and p.is_file()
        assert datasets.status(ds.name) == "mirror"


@pytest.mark.data
def test_cache_hit_works_without_mirror(mirror, tmp_path):
    cache = tmp_path / "cache" / "datasets"
    ds = datasets.get("medline-formats")
    for f in ds.files:
        (cache / f.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / f.path, cache / f.path)
    assert datasets.status(ds.name) == "cache"
    got = datasets.fetch(ds.name)  # pooch.retrieve is the guard: any download attempt fails the test
    assert {rel: loc.origin for rel, loc in got.items()} == {f.path: "cache" for f in ds.files}
    assert datasets.resolve(ds.name)["medline/sample.ris"] == cache / "medline/sample.ris"
