"""``serendip ask``: cited answers over the workspace (wraps :func:`serendip.evidence.answer.ask`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from serendip.cli.common import (
    WorkspaceOpt,
    console,
    handle_errors,
    modes_help,
    open_workspace,
)

_GROUPS = (("supports", "Supporting"), ("contradicts", "Contradicting"), ("neutral", "Neutral"),
           (None, "Evidence"))


def _options(pairs: list[str]) -> dict[str, str]:
    from serendip.errors import ConfigError

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--option takes NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def _backends_help() -> str:
    from serendip.evidence.generators import GENERATORS

    names = ", ".join(GENERATORS.keys())
    return f"Answer backend: one of {names}."


def ask_cmd(question: str = typer.Argument(..., help="The question to answer."),
            k: int = typer.Option(10, "-k", help="Records retrieved and read."),
            backend: str = typer.Option("extractive", "--backend", "-b", help=_backends_help()),
            option: list[str] = typer.Option([], "--option", "-o", help="A backend option NAME=VALUE "
                                             "(repeatable), e.g. -o base_url=http://127.0.0.1:8080/v1."),
            mode: Optional[str] = typer.Option(None, "--mode", "-m", help=modes_help()),
            json_out: bool = typer.Option(False, "--json", help="Print sentences, citations and support "
                                          "scores as JSON."),
            workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Answer a question from the workspace's records: every sentence cites a passage and is checked."""
    from serendip.evidence.answer import ask

    with handle_errors():
        ws = open_workspace(workspace)
        answer = ask(ws, question, k=k, backend=backend, options=_options(option), mode=mode)
        if json_out:
            print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
            return
        _print(answer)


def _say(text: str = "", style: str | None = None) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True, style=style)


def _print(answer) -> None:
    if answer.status != "answered":
        best = "" if answer.best_relevance != answer.best_relevance else \
            f" (best passage relevance {answer.best_relevance:.2f})"
        _say(f"no evidence found{best}", style="yellow")
        _rejected(answer)
        return
    for stance, heading in _GROUPS:
        group = [s for s in answer.sentences if s.stance == stance]
        if group:
            _say(f"{heading} ({len(group)})", style="bold")
            for s in group:
                _say(f"  {s.text} " + "".join(f"[{n}]" for n in s.cites))
    _say("Sources", style="bold")
    cited = sorted({n for s in answer.sentences for n in s.cites})
    for p in answer.passages:
        if p.number in cited:
            pmid = f", PMID {p.pmid}" if p.pmid else ""
            _say(f"  [{p.number}] record {p.record_id}{pmid}, {p.field} {p.start}-{p.end}: {p.text}")
    _rejected(answer)


def _rejected(answer) -> None:
    if answer.rejected:
        _say(f"Not shown as grounded ({len(answer.rejected)})", style="bold red")
        for s in answer.rejected:
            _say(f"  {s.text or '(no text)'} -- {s.problem}")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_cmd)
