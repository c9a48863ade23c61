"""``serendip.chem.screen``: a library streamed in chunks, bad lines reported, duplicates counted, filters,
a bounded top-k, MaxMin picks, and a run killed part-way that resumes to the uninterrupted result."""
from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest
from chem_helpers import mw_model_folder

from serendip.chem.screen import ScreenFilters, screen_library
from serendip.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A random forest on Morgan bits predicting molecular weight (Da), trained on 192 small molecules."""
    return mw_model_folder(tmp_path_factory.mktemp("screen-model"))


def _library(path: Path, n: int) -> Path:
    """``n`` lines of ethers, amines, ketones and thioethers C_i X C_j (C_j X C_i is the same molecule: a
    duplicate), a broken line every 50th, a methyl ether repeated every 40th."""
    lines = []
    for k in range(n):
        i, j, x = 1 + k % 23, 1 + (k // 23) % 23, ("O", "N", "C(=O)", "S")[(k // 529) % 4]
        if k % 50 == 49:
            lines.append(f"C1CC{k}\tbroken{k}")
        elif k % 40 == 39:
            lines.append(f"{'C' * i}{x}C\tdup{k}")
        else:
            lines.append(f"{'C' * i}{x}{'C' * j}{'C' * (k // 2116)}\tm{k}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_invalid_blank_salts_and_duplicates_are_reported_with_lines_and_parents(model, tmp_path):
    lib = tmp_path / "lib.csv.gz"
    text = ("name,smiles,pIC50\n"
            "benzoate,c1ccccc1C(=O)[O-].[Na+],5\n"
            "\n"
            "broken,C1CC,4\n"
            "ethanol,CCO,3\n"
            "ethanol again,OCC,3\n"
            "  \n"
            "ammonium salt,C[NH3+].[Cl-],2\n"
            "valence,CN(C)(C)(C)C,1\n")
    lib.write_bytes(gzip.compress(text.encode()))
    rep = screen_library(model, lib, tmp_path / "out", top_k=10, chunk_size=3)
    c = rep.counts
    assert (c["lines"], c["blank"], c["header"], c["records"]) == (9, 2, 1, 6)
    assert (c["invalid"], c["duplicates"], c["unique"], c["kept"]) == (2, 1, 3, 3)
    issues = _read(rep.outputs["issues_csv"])
    assert [(r["line"], r["name"]) for r in issues] == [("4", "broken"), ("9", "valence")]
    assert "unclosed ring" in issues[0]["reason"] and "valence" in issues[1]["reason"].lower()
    dups = _read(rep.outputs["duplicates_csv"])
    assert [(r["line"], r["name"], r["inchikey"]) for r in dups] == [("6", "ethanol again", "LFQSCWFLJHTTHZ-UHFFFAOYSA-N")]
    rows = {r["name"]: r for r in _read(rep.outputs["candidates_csv"])}
    assert rows["benzoate"]["smiles"] == "O=C(O)c1ccccc1" and "removed [Na+]" in rows["benzoate"]["changes"]
    assert rows["ammonium salt"]["smiles"] == "CN" and rows["ammonium salt"]["line"] == "8"
    assert rows["benzoate"]["rank"] == "1"                    # the heaviest ranks first (maximise MW)
    sdf = rep.outputs["candidates_sdf"].read_text()
    assert sdf.count("$$$$") == 3 and ">  <prediction>" in sdf


def test_top_k_is_bounded_and_ranked(model, tmp_path):
    lib = _library(tmp_path / "lib.smi", 300)
    sizes = []

    def watch(p):
        state = json.loads((tmp_path / "out" / "checkpoint.json").read_text())["state"]
        sizes.append(len(state["heap"]))

    rep = screen_library(model, lib, tmp_path / "out", top_k=7, chunk_size=40, progress=watch)
    assert max(sizes) == 7 and len(sizes) == 8
    preds = [r["prediction"] for r in rep.candidates]
    assert len(preds) == 7 and preds == sorted(preds, reverse=True)
    low = screen_library(model, lib, tmp_path / "low", top_k=7, chunk_size=40, maximize=False)
    assert [r["prediction"] for r in low.candidates] == sorted(r["prediction"] for r in low.candidates)
    assert low.candidates[0]["prediction"] < rep.candidates[-1]["prediction"]
    assert rep.counts["passed"] == rep.counts["unique"] == 300 - rep.counts["invalid"] - rep.counts["duplicates"]


def test_filters_count_what_they_leave_out(model, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("O=C1NC(=S)SC1=Cc1ccccc1 rhodanine\n"        # PAINS ene_rhod + Brenk
                   "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC(=O)O fatty\n"  # two rule-of-five violations
                   "CCCCCCCCS thiol\n"                           # Brenk (thiol), no PAINS
                   "c1ccccc1C benzene-methyl\n"
                   "c1ccncc1O pyridinol\n")
    out = tmp_path / "out"
    rep = screen_library(model, lib, out, filters=ScreenFilters(lipinski=True, no_pains=True, no_brenk=True))
    assert {k: v for k, v in rep.filtered.items() if v} == {"lipinski": 1, "no_pains": 1, "no_brenk": 1}
    assert sorted(r["name"] for r in rep.candidates) == ["benzene-methyl", "pyridinol"]
    assert all(r["pains"] == "" and r["brenk"] == "" for r in rep.candidates)
    rep = screen_library(model, lib, out, resume=False, filters=ScreenFilters(min_ad=0.99, min_prediction=50.0))
    assert sorted(r["name"] for r in rep.candidates) == ["benzene-methyl", "pyridinol"]   # training molecules
    assert rep.filtered["min_ad"] + rep.filtered["min_prediction"] == 3
    rep = screen_library(model, lib, out, resume=False, filters=ScreenFilters(min_qed=0.45))
    assert all(r["qed"] >= 0.45 for r in rep.candidates) and rep.filtered["min_qed"] >= 1
    with pytest.raises(ConfigError, match="max_sd needs an ensemble"):
        screen_library(model, lib, out, resume=False, filters=ScreenFilters(max_sd=1.0))
    with pytest.raises(ConfigError, match="min_qed must be in"):
        ScreenFilters(min_qed=2)
    with pytest.raises(DataError, match="holds other files"):
        screen_library(model, lib, lib.parent)


def test_diverse_picks_are_distinct_and_start_from_the_best(model, tmp_path):
    lib = _library(tmp_path / "lib.smi", 200)
    rep = screen_library(model, lib, tmp_path / "out", top_k=40, diverse=6)
    picks = _read(rep.outputs["diverse_csv"])
    assert [p["diverse_pick"] for p in picks] == ["1", "2", "3", "4", "5", "6"]
    assert len({p["inchikey"] for p in picks}) == 6 and picks[0]["rank"] == "1"
    marked = [r for r in _read(rep.outputs["candidates_csv"]) if r["diverse_pick"]]
    assert sorted(r["inchikey"] for r in marked) == sorted(p["inchikey"] for p in picks)


def _outputs(out: Path) -> dict:
    names = ("candidates.csv", "issues.csv", "duplicates.csv", "diverse.csv")
    report = json.loads((out / "report.json").read_text())
    return {"files": {n: (out / n).read_text() for n in names if (out / n).exists()}, "counts": report["counts"],
            "filtered": report["filtered"]}


def test_resume_after_a_failure_equals_the_uninterrupted_run(model, tmp_path):
    lib = _library(tmp_path / "lib.smi", 400)
    opts = {"top_k": 25, "diverse": 5, "filters": ScreenFilters(min_qed=0.3)}
    screen_library(model, lib, tmp_path / "whole", chunk_size=50, **opts)
    calls = []

    def fail_after_third(p):
        calls.append(p["lines"])
        if len(calls) == 3:
            raise KeyboardInterrupt("stopped by the test")

    with pytest.raises(KeyboardInterrupt):
        screen_library(model, lib, tmp_path / "cut", chunk_size=50, progress=fail_after_third, **opts)
    (tmp_path / "cut" / "issues.csv").open("a").write("half a line written after the checkpoint")
    rep = screen_library(model, lib, tmp_path / "cut", chunk_size=70, **opts)   # another chunk size: same result
    assert rep.resumed_at_line == 150
    assert _outputs(tmp_path / "cut") == _outputs(tmp_path / "whole")
    with pytest.raises(ConfigError, match="other settings \\(top_k\\)"):
        screen_library(model, lib, tmp_path / "cut", chunk_size=50, **{**opts, "top_k": 30})


def test_resume_after_sigkill_equals_the_uninterrupted_run(model, tmp_path):
    lib = _library(tmp_path / "lib.smi", 400)
    screen_library(model, lib, tmp_path / "whole", top_k=25, chunk_size=50)
    script = textwrap.dedent(f"""
        import os, signal
        from serendip.chem.screen import screen_library
        def kill(p):
            if p["lines"] >= 200:
                os.kill(os.getpid(), signal.SIGKILL)
        screen_library({str(model)!r}, {str(lib)!r}, {str(tmp_path / 'cut')!r}, top_k=25, chunk_size=50,
                       progress=kill)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    state = json.loads((tmp_path / "cut" / "checkpoint.json").read_text())["state"]
    assert state["counts"]["lines"] == 200 and not state["done"]
    rep = screen_library(model, lib, tmp_path / "cut", top_k=25, chunk_size=50)
    assert rep.resumed_at_line == 200
    assert _outputs(tmp_path / "cut") == _outputs(tmp_path / "whole")


def test_memory_stays_flat_as_the_library_grows(model, tmp_path):
    """Python memory at the peak of a 1,600-line screen is within 0.4 MB of a 400-line one: nothing per
    line is kept (the duplicate check keeps 8 bytes + a pending set entry per unique molecule)."""
    from serendip.chem.api import load_model

    loaded = load_model(model)
    small, large = _library(tmp_path / "small.smi", 400), _library(tmp_path / "large.smi", 1600)
    screen_library(loaded, _library(tmp_path / "warm.smi", 100), tmp_path / "warm", top_k=20, chunk_size=100,
                   write_sdf=False)
    peaks = []
    for lib in (small, large):
        tracemalloc.start()
        screen_library(loaded, lib, tmp_path / lib.stem, top_k=20, chunk_size=100, write_sdf=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] - peaks[0] < 400_000, peaks


def test_cli_screen(model, tmp_path):
    from typer.testing import CliRunner

    from serendip.cli.app import app

    lib = _library(tmp_path / "lib.smi", 120)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["chem", "screen", str(model), str(lib), "--out", str(out), "--top", "5",
                                 "--diverse", "2", "--no-pains", "--chunk-size", "30", "--json"])
    assert r.exit_code == 1, r.output                       # two broken lines: exit 1, listed in issues.csv
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["counts"]["kept"] == 5 and got["counts"]["invalid"] == 2 and got["settings"]["top_k"] == 5
    assert len(_read(out / "diverse.csv")) == 2
    r = CliRunner().invoke(app, ["chem", "screen", str(model), str(lib), "--out", str(out), "--top", "6"])
    assert r.exit_code == 2 and "other settings" in r.output
    r = CliRunner().invoke(app, ["chem", "screen", str(model), str(lib), "--out", str(out), "--top", "6",
                                 "--restart", "--min-qed", "0.2"])
    assert r.exit_code == 1 and "6 kept" in r.output and "issues.csv" in r.output


def test_a_truncated_gzip_library_is_one_named_error_after_the_lines_it_held(model, tmp_path):
    body = "".join(f"{smi}\tm{i}\n" for i, smi in enumerate(["CCO", "CCN", "CCC", "c1ccccc1O"] * 400))
    whole = gzip.compress(body.encode())
    lib = tmp_path / "lib.smi.gz"
    lib.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"lib\.smi\.gz: the gzip file is truncated or damaged after line \d+"):
        screen_library(model, [lib], tmp_path / "out", top_k=5, chunk_size=100)


@pytest.fixture()
def sigint_raises():
    """Python's own SIGINT handler for the test: a shell that starts a command in the background without
    job control (``make test &`` in a script) starts it with SIGINT ignored, and then no Ctrl-C reaches
    the code these tests exercise."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_after_rdkit_uncharger_still_raises_keyboardinterrupt(sigint_raises):
    """RDKit's substructure search (inside Uncharger) can leave its own SIGINT handler installed, which
    swallowed every later Ctrl-C; python_sigint puts Python's back and holds a Ctrl-C that comes during
    the RDKit call until it returns."""
    from rdkit.Chem.MolStandardize import rdMolStandardize

    from serendip.chem.standardize import Standardizer, parse_smiles, python_sigint

    mol, _ = parse_smiles("C[NH3+].[Cl-]")
    Standardizer()(mol)
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):
            time.sleep(0.01)
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with python_sigint():
            rdMolStandardize.Uncharger().uncharge(mol)
            _ctrl_c()                             # held back: RDKit code must not see it
            time.sleep(0.05)
            reached.append(True)
    assert reached == [True]


def _ctrl_c() -> None:
    """SIGINT to the main thread (a terminal's Ctrl-C goes to the main thread unless it blocks SIGINT)."""
    import threading

    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def _ctrl_c_in_uncharger(monkeypatch, at: int, send=None) -> None:
    """Make the ``at``-th Uncharger call in screening send SIGINT (``send``, default :func:`_ctrl_c`) from
    inside RDKit code."""
    from rdkit.Chem.MolStandardize import rdMolStandardize

    real, calls = rdMolStandardize.Uncharger, []

    class Uncharger:
        def __init__(self):
            self.inner = real()

        def uncharge(self, mol):
            calls.append(1)
            if len(calls) == at:
                (send or _ctrl_c)()
            return self.inner.uncharge(mol)

    monkeypatch.setattr(rdMolStandardize, "Uncharger", Uncharger)


def test_ctrl_c_during_standardisation_stops_the_run_and_it_resumes(model, tmp_path, monkeypatch, sigint_raises):
    from serendip.chem.api import load_model

    loaded, lib = load_model(model), _library(tmp_path / "lib.smi", 60)
    opts = {"top_k": 10, "chunk_size": 20, "write_sdf": False}
    screen_library(loaded, lib, tmp_path / "whole", **opts)
    with monkeypatch.context() as mp:
        _ctrl_c_in_uncharger(mp, at=30)
        with pytest.raises(KeyboardInterrupt):
            screen_library(loaded, lib, tmp_path / "cut", **opts)
    state = json.loads((tmp_path / "cut" / "checkpoint.json").read_text())["state"]
    assert state["counts"]["lines"] == 20 and not state["done"]
    rep = screen_library(loaded, lib, tmp_path / "cut", **opts)
    assert rep.resumed_at_line == 20
    assert _outputs(tmp_path / "cut") == _outputs(tmp_path / "whole")


def test_cli_ctrl_c_says_where_it_stopped_and_exits_130(model, tmp_path, monkeypatch, sigint_raises):
    import threading

    from typer.testing import CliRunner

    from serendip.cli.app import app

    def to_waiter():  # the CLI blocks SIGINT in the other threads and takes it with sigwait in its own
        signal.pthread_kill(next(t.ident for t in threading.enumerate() if t.name == "ctrl-c"), signal.SIGINT)

    lib = _library(tmp_path / "lib.smi", 30)
    _ctrl_c_in_uncharger(monkeypatch, at=5, send=to_waiter)
    r = CliRunner().invoke(app, ["chem", "screen", str(model), str(lib), "--out", str(tmp_path / "out"),
                                 "--chunk-size", "30"])
    assert r.exit_code == 130, r.output
    assert "stopped: Ctrl-C; 0 lines screened and checkpointed in" in " ".join(r.output.split())
    assert "run the same command again" in r.output


def test_a_second_run_on_the_same_out_is_refused_and_a_dead_holder_does_not_block(model, tmp_path):
    from serendip.chem.api import load_model
    from serendip.chem.screen_io import LOCK_NAME, lock_folder

    loaded, lib, out = load_model(model), _library(tmp_path / "lib.smi", 10), tmp_path / "out"
    held = lock_folder(out)                     # another run holding the folder
    try:
        with pytest.raises(DataError, match=f"{out}: another screening run is writing this output folder "
                                            f"\\(process {os.getpid()} holds"):
            screen_library(loaded, lib, out, top_k=5, write_sdf=False)
    finally:
        held.close()
    assert screen_library(loaded, lib, out, top_k=5, write_sdf=False).counts["lines"] == 10
    dead = tmp_path / "dead"
    dead.mkdir()
    lock = str(dead / LOCK_NAME)
    proc = subprocess.run([sys.executable, "-c", f"import fcntl, os, signal; f = open({lock!r}, 'a+'); "
                           f"fcntl.flock(f, fcntl.LOCK_EX); os.kill(os.getpid(), signal.SIGKILL)"], timeout=60)
    assert proc.returncode == -signal.SIGKILL   # killed holding the lock: the kernel released it
    assert screen_library(loaded, lib, dead, top_k=5, write_sdf=False).counts["lines"] == 10


def test_cli_an_empty_library_warns_and_exits_0_as_ingest_does(model, tmp_path):
    from typer.testing import CliRunner

    from serendip.cli.app import app

    for name, body in (("empty.smi", ""), ("blank.csv", "\n\n"), ("header.csv", "smiles,name\n")):
        lib = tmp_path / name
        lib.write_text(body)
        r = CliRunner().invoke(app, ["chem", "screen", str(model), str(lib), "--out", str(tmp_path / f"o-{name}")])
        text = " ".join(r.output.split())
        assert r.exit_code == 0, r.output
        assert f"warning: empty library: {lib} holds no record ({body.count(chr(10))} lines" in text, text
        assert "nothing was screened" in text and "0 records" in text


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_cli_an_unwritable_out_names_the_folder_not_the_lock_file(model, tmp_path):
    from typer.testing import CliRunner

    from serendip.cli.app import app

    lib = _library(tmp_path / "lib.smi", 5)
    r = CliRunner().invoke(app, ["chem", "screen", str(model), str(lib), "--out", "/proc/x"])
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "cannot write the output folder /proc/x" in text, text
    assert ".screen.lock" not in text
