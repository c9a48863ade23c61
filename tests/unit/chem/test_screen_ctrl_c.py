"""A real ``serendip chem screen`` process stops on Ctrl-C (SIGINT to the process, as a terminal sends
it) at any moment of the screening, within seconds, with exit status 130 and the checkpoint named.

Before, the BLAS worker threads that NumPy starts at import did not block SIGINT; the kernel handed the
Ctrl-C to one of them (the main thread blocks it during the screen), whose handler at that moment was
often RDKit's (it only sets a flag), and the run went on to the end."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chem_helpers import mw_model_folder

#: runs the CLI with Python's own SIGINT handler even where the test runner was started with SIGINT
#: ignored (a background job of a non-interactive shell), which a child would otherwise inherit
_CLI = ("import signal, runpy; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('serendip.cli.app', run_name='__main__')")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return mw_model_folder(tmp_path_factory.mktemp("ctrl-c-model"))


def _library(path: Path, n: int) -> Path:
    """``n`` lines of salts and charged molecules (each goes through RDKit's Uncharger and fragment
    chooser, whose substructure searches install RDKit's SIGINT handler) and plain chains."""
    forms = ("C{}[NH3+].[Cl-]", "CC(=O)[O-].[Na+].{}", "c1ccccc1C{}", "O=C(O)C{}N", "C{}C[N+](C)(C)C")
    with path.open("w") as fh:
        for k in range(n):
            fh.write(forms[k % len(forms)].format("C" * (1 + k % 17)) + f"\tm{k}\n")
    return path


@pytest.mark.parametrize("after_s", [0.0, 0.4, 1.1])
def test_ctrl_c_stops_a_real_screen_process(model, tmp_path, after_s):
    lib, out = _library(tmp_path / "lib.smi", 200_000), tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", _CLI, "chem", "screen", str(model), str(lib), "--out", str(out),
                             "--chunk-size", "500"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.json").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(after_s)
        assert proc.poll() is None, proc.stderr.read()[-2000:]  # still screening: 200,000 lines take minutes
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = " ".join(proc.stderr.read().split())
    assert rc == 130, err[-2000:]
    assert "stopped: Ctrl-C;" in err and "lines screened and checkpointed in" in err
