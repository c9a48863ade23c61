"""The ``openai`` answer backend: any OpenAI-compatible chat-completions endpoint (llama.cpp server,
``python -m llama_cpp.server``, Ollama, vLLM, OpenAI).

It sends ``POST {base_url}/chat/completions`` with the prompt of
:func:`serendip.evidence.llm_chat.chat_messages` (OpenAI API reference, "Create chat completion":
https://platform.openai.com/docs/api-reference/chat/create) and returns the reply text, whose
citations :func:`serendip.evidence.answer.ask` checks in code. Standard library only
(``urllib.request``, ``json``); loopback servers are reached directly, never through an
``http_proxy``.

Options (``-o NAME=VALUE``):

- ``base_url`` (required, or the environment variable ``SERENDIP_OPENAI_BASE_URL``): the API root,
  e.g. ``http://127.0.0.1:8080/v1`` (llama.cpp), ``http://127.0.0.1:11434/v1`` (Ollama).
- ``model``: default the first id listed by ``GET {base_url}/models``; required where none is listed.
- ``api_key`` (or ``OPENAI_API_KEY``): sent as ``Authorization: Bearer``; never printed.
- ``timeout`` (seconds per request, default 60), ``max_tokens`` (default 512), ``temperature``
  (default 0).

Every failure is one :class:`~serendip.errors.BackendError` line naming the URL (unreachable,
timeout, HTTP status with the start of the body, malformed JSON, no ``choices[0].message.content``);
a bad option is a :class:`~serendip.errors.ConfigError`. A failed call changes nothing in the
workspace: the backend only reads the passages it is given.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from serendip.errors import BackendError, ConfigError
from serendip.evidence.generators import GENERATORS, GeneratorSpec, SuppliedPassage
from serendip.evidence.llm_chat import chat_messages, number_option, quote, reply_text

BASE_URL_ENV = "SERENDIP_OPENAI_BASE_URL"
API_KEY_ENV = "OPENAI_API_KEY"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class BadReply(BackendError):
    """The server answered, but with an HTTP error status or malformed JSON."""


class OpenAIChatGenerator:
    """Answers from an OpenAI-compatible chat-completions server.

    Parameters
    ----------
    base_url : str
        ``http://`` or ``https://`` API root (a trailing ``/`` is ignored).
    model : str, optional
        Model name; default the first id of ``GET {base_url}/models``.
    api_key : str, optional
    timeout : float, default 60
        Seconds per request (> 0).
    max_tokens : int, default 512
    temperature : float, default 0

    Raises
    ------
    ConfigError
        A bad base_url; no model given and the server lists none.
    BackendError
        The server cannot be reached while looking up the model.
    """

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, max_tokens: int = 512, temperature: float = 0.0):
        try:
            parts = urllib.parse.urlsplit(base_url or "")
            parts.port  # noqa: B018  (raises ValueError for a port outside 0-65535)
        except ValueError as exc:
            raise ConfigError(f"base_url {base_url!r} is not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base_url must be an http:// or https:// URL such as http://127.0.0.1:8080/v1, "
                              f"got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key or None
        self.timeout, self.max_tokens, self.temperature = timeout, max_tokens, temperature
        proxies = {} if parts.hostname in _LOOPBACK else None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
        self.model = model or self._first_model()

    def __repr__(self) -> str:  # no api_key
        return f"OpenAIChatGenerator(base_url={self.base_url!r}, model={self.model!r})"

    def generate(self, question: str, passages: Sequence[SuppliedPassage]) -> str:
        """The reply text to ``question`` over ``passages`` (citations ``[n]`` unchecked).

        Raises
        ------
        BackendError
            One line naming ``{base_url}/chat/completions``.
        """
        url = f"{self.base_url}/chat/completions"
        body = {"model": self.model, "messages": chat_messages(question, passages),
                "max_tokens": self.max_tokens, "temperature": self.temperature, "stream": False}
        return reply_text(self._request(url, body), url)

    def _first_model(self) -> str:
        url = f"{self.base_url}/models"
        try:
            payload = self._request(url)
        except BadReply as exc:
            raise ConfigError(f"no model given and the server does not list one ({exc}): "
                              f"pass -o model=NAME") from None
        try:
            return str(payload["data"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise ConfigError(f"no model given and GET {url} lists none ({quote(json.dumps(payload))}): "
                              f"pass -o model=NAME") from None

    def _request(self, url: str, body: dict | None = None) -> Any:
        """GET ``url`` (``body`` None) or POST ``body`` as JSON; the decoded JSON reply."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        method = "GET" if data is None else "POST"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise BadReply(f"{method} {url} failed: HTTP {exc.code} {exc.reason}: {_body(exc)}") from None
        except urllib.error.URLError as exc:
            raise self._unreachable(url, exc.reason) from None
        except (OSError, http.client.HTTPException) as exc:  # a timeout or a dropped connection while reading
            raise self._unreachable(url, exc) from None
        try:
            return json.loads(raw)
        except ValueError as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise BadReply(f"{url} replied with malformed JSON ({why}): "
                               f"{quote(raw.decode('utf-8', errors='replace'))}") from None

    def _unreachable(self, url: str, reason: Any) -> BackendError:
        if isinstance(reason, TimeoutError):
            return BackendError(f"{url} did not answer within {self.timeout:g} s (raise -o timeout=SECONDS)")
        if isinstance(reason, ConnectionRefusedError):
            why = "connection refused (is the server running? check -o base_url)"
        elif isinstance(reason, socket.gaierror):
            why = f"unknown host {urllib.parse.urlsplit(url).hostname!r} ({reason.strerror})"
        elif isinstance(reason, OSError) and reason.strerror:
            why = reason.strerror.lower()
        else:
            why = str(reason) or type(reason).__name__
        return BackendError(f"cannot reach {url}: {why}")


def _body(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read().decode("utf-8", errors="replace")
    except OSError:
        return "(the body could not be read)"
    return quote(text) if text.strip() else "(empty body)"


def load_openai(options: Mapping[str, Any]) -> OpenAIChatGenerator:
    """``load`` of the ``openai`` backend (options: see the module docstring)."""
    base_url = options.get("base_url") or os.environ.get(BASE_URL_ENV)
    if not base_url:
        raise ConfigError(f"the openai answer backend needs the server's URL: -o base_url=http://HOST:PORT/v1 "
                          f"or the environment variable {BASE_URL_ENV}")
    return OpenAIChatGenerator(
        str(base_url), model=options.get("model") or None,
        api_key=options.get("api_key") or os.environ.get(API_KEY_ENV),
        timeout=number_option(options, "timeout", 60.0, minimum=0.0, above=True),
        max_tokens=number_option(options, "max_tokens", 512, integer=True, minimum=1),
        temperature=number_option(options, "temperature", 0.0, minimum=0.0))


GENERATORS.register("openai")(GeneratorSpec(
    "openai", load_openai, "any OpenAI-compatible chat-completions server (llama.cpp, Ollama, vLLM): "
    "-o base_url=http://HOST:PORT/v1", ("base_url", "model", "api_key", "timeout", "max_tokens", "temperature")))
