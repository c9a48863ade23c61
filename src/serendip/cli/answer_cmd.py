"""``serendip ask``: cited answers over the workspace (wraps :func:`serendip.evidence.answer.ask`)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from serendip.cli.common import (
    RegistryHelpCommand,
    WorkspaceOpt,
    console,
    handle_errors,
    open_workspace,
)
from serendip.cli.display import count, json_line, visible

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


def ask_cmd(question: str = typer.Argument(..., help="The question to answer."),
            k: int = typer.Option(10, "-k", help="Records retrieved and read."),
            backend: str = typer.Option("extractive", "--backend", "-b", help="Answer backend (default: extractive)."),
            option: list[str] = typer.Option([], "--option", "-o", help="A backend option NAME=VALUE "
                                             "(repeatable), e.g. -o base_url=http://127.0.0.1:8080/v1."),
            mode: Optional[str] = typer.Option(None, "--mode", "-m", help="Retrieval mode (default: the "
                                               "workspace's retrieval.default_mode, hybrid)."),
            json_out: bool = typer.Option(False, "--json", help="Print sentences, citations and support "
                                          "scores as JSON."),
            workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Answer a question from the workspace's records: every sentence cites a passage and is checked."""
    from serendip.evidence.answer import ask

    with handle_errors():
        ws = open_workspace(workspace)
        answer = ask(ws, question, k=k, backend=backend, options=_options(option), mode=mode)
        if json_out:
            print(json_line(answer.to_dict()))
            return
        print_answer(answer)


def _say(text: str = "", style: str | None = None) -> None:
    """One line as written (no markup), record text's controls, bidi and other invisible characters,
    newlines included, shown as escapes (:func:`serendip.cli.display.visible`)."""
    console.print(visible(text), markup=False, highlight=False, soft_wrap=True, style=style)


def print_answer(answer) -> None:
    """Print an :class:`~serendip.evidence.answer.Answer`: grounded sentences by stance, their sources,
    then any sentence not shown as grounded with the reason."""
    if answer.status != "answered":
        best = "" if answer.best_relevance != answer.best_relevance else \
            f" (best passage relevance {answer.best_relevance:.2f})"
        _say(f"{answer.status}{best}", style="yellow")
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


def contradictions_cmd(query: Optional[str] = typer.Option(None, "--query", "-q", help="Look among the "
                                                           "records this query finds (default: all records)."),
                       k: int = typer.Option(50, "-k", help="Records retrieved for --query."),
                       limit: int = typer.Option(2000, "--limit", help="Most records read without --query."),
                       min_score: float = typer.Option(0.5, "--min-score", help="Least P(contradict) of a "
                                                       "pair shown."),
                       max_pairs: int = typer.Option(20, "--max-pairs", help="Most pairs shown."),
                       json_out: bool = typer.Option(False, "--json", help="Print the pairs as JSON."),
                       workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Find pairs of records whose findings on the same claim conflict, with both sentences."""
    from serendip.cli.common import rate_progress
    from serendip.evidence.contradictions import find_contradictions

    with handle_errors():
        ws = open_workspace(workspace)
        tasks: dict[str, int] = {}
        with rate_progress("items") as bar:
            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            report = find_contradictions(ws, query, k=k, limit=limit, min_score=min_score,
                                         max_pairs=max_pairs, progress=progress)
        if json_out:
            print(json_line(report.to_dict()))
            return
        for n, p in enumerate(report.pairs, 1):
            _say(f"{n}. P(contradict) {p.score:.2f} (similarity {p.similarity:.2f})", style="bold")
            for side in (p.a, p.b):
                pmid = f", PMID {side.pmid}" if side.pmid else ""
                _say(f"   record {side.record_id}{pmid}, {side.field} {side.start}-{side.end}: {side.text}")
        shown = f" (the {len(report.pairs)} highest shown: --max-pairs)" if report.found > len(report.pairs) else ""
        _say(f"{report.found} conflicting pair(s){shown} among {count(report.records, 'record')} ({report.sentences:,} "
             f"sentences; {report.scored:,} of {report.candidates:,} same-claim candidate pairs scored)")


def register(app: typer.Typer) -> None:
    app.command("ask", cls=RegistryHelpCommand)(ask_cmd)
    app.command("contradictions")(contradictions_cmd)
