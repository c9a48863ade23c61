"""What the generative answer backends (``openai``, ``local``) share: the chat prompt, reading the reply,
and reading numeric options.

The prompt (:func:`chat_messages`) is two chat messages in the OpenAI chat-completions format
(``{"role": ..., "content": ...}``): a **system** message telling the model to answer only from the
numbered passages, to cite every sentence as ``[n]``, and to reply exactly
:data:`~serendip.evidence.generators.NO_EVIDENCE` when the passages do not answer; and a **user**
message holding the question and the passages numbered as supplied. Nothing the model writes is
trusted: :func:`serendip.evidence.answer.ask` parses the reply and checks every citation in code
(:mod:`serendip.evidence.citations`).

:func:`reply_text` reads ``choices[0].message.content`` from a chat-completion object, the shape both
an OpenAI-compatible server and ``llama_cpp.Llama.create_chat_completion`` return
(https://platform.openai.com/docs/api-reference/chat/object).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from serendip.errors import BackendError, ConfigError
from serendip.evidence.generators import NO_EVIDENCE, SuppliedPassage

#: the system message of every generative backend
SYSTEM_PROMPT = (
    "You answer a question using only the numbered passages you are given, never other knowledge. "
    "Write a few short sentences. End every sentence with the number of the passage it comes from in "
    "square brackets, for example [1] or [2][3]; cite only numbers that are given. "
    f"If the passages do not answer the question, reply exactly: {NO_EVIDENCE}"
)
#: characters of a body or reply quoted in an error message
QUOTE_CHARS = 200


def chat_messages(question: str, passages: Sequence[SuppliedPassage]) -> list[dict[str, str]]:
    """The chat prompt for ``question`` over ``passages``.

    Parameters
    ----------
    question : str
    passages : sequence of SuppliedPassage
        Written one a line as ``[number] text`` (white space inside a passage written as one space).

    Returns
    -------
    list of dict
        ``[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": ...}]``.
    """
    numbered = "\n".join(f"[{p.number}] {' '.join(p.text.split())}" for p in passages)
    user = f"Question: {question.strip()}\n\nPassages:\n{numbered}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line (white space runs as one space), its first ``limit`` characters, saying how
    long it was when cut: for error messages."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return repr(flat)
    return f"{flat[:limit]!r}... (first {limit} of {len(flat):,} characters)"


def reply_text(payload: Any, where: str) -> str:
    """``payload["choices"][0]["message"]["content"]`` of a chat-completion object.

    Parameters
    ----------
    payload : object
        The decoded JSON reply.
    where : str
        Who replied (a URL, a model file), named in the error.

    Raises
    ------
    BackendError
        The reply has no string at that place (one line: where, and the start of the reply).
    """
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str):
        raise BackendError(f"{where} replied without choices[0].message.content: "
                           f"{quote(json.dumps(payload, ensure_ascii=False))}")
    return content


def number_option(options: Mapping[str, Any], name: str, default: float | int | None, *,
                  integer: bool = False, minimum: float = 0.0, above: bool = False) -> Any:
    """Option ``name`` of ``options`` (a string from ``-o NAME=VALUE`` or a number) as int or float.

    Parameters
    ----------
    default : number or None
        When the option is absent (None stays None).
    integer : bool
        Read an int (``"1.5"`` is refused, not rounded).
    minimum : float
        Least allowed value; ``above`` makes it exclusive.

    Raises
    ------
    ConfigError
        Not a number, or out of range (one line naming the option and the value).
    """
    value = options.get(name, default)
    if value is None:
        return None
    kind = "an integer" if integer else "a number"
    try:
        if isinstance(value, bool) or (integer and isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        out = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option {name} must be {kind}, got {value!r}") from None
    if out < minimum or (above and out == minimum):
        bound = f"above {minimum:g}" if above else f"at least {minimum:g}"
        raise ConfigError(f"option {name} must be {bound}, got {value!r}")
    return out
