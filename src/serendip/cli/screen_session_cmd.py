"""``serendip screen start | next | label | status | export | keywords`` (screening sessions over a workspace's
records, wrapping :mod:`serendip.screening.session` and :mod:`serendip.screening.export`) and
``serendip recommend`` (wrapping :func:`serendip.screening.recommend.recommend`)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from serendip.cli.common import (
    RegistryHelpCommand,
    WorkspaceOpt,
    cells,
    console,
    err_console,
    handle_errors,
    lazy_progress,
    open_workspace,
)
from serendip.cli.display import count, json_line, visible

SessionOpt = typer.Option(None, "--session", "-s", help="Session name (default: the workspace's only session).")


def _ids(values: list[str] | None, option: str) -> list[int]:
    """Record ids from repeated options, each possibly comma-separated (``--include 3,4 --include 9``)."""
    from serendip.errors import ConfigError

    out = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                try:
                    out.append(int(part))
                except ValueError:
                    raise ConfigError(f"{option} takes record ids (whole numbers, e.g. 12 or 12,15), got "
                                      f"{part!r}") from None
    return out


def _session(ws, name: str | None):
    from serendip.errors import ConfigError
    from serendip.screening.session import list_sessions, open_session

    if name is not None:
        return open_session(ws, name)
    names = list_sessions(ws)
    if len(names) != 1:
        raise ConfigError("no screening session in this workspace: start one with `serendip screen start NAME`"
                          if not names else f"{len(names)} screening sessions here ({', '.join(names)}): name one "
                          "with --session NAME")
    return open_session(ws, names[0])


def _say(text: str) -> None:
    console.print(visible(text), markup=False, highlight=False, soft_wrap=True)


def _estimates(est: dict) -> str:
    return "; ".join(f"{rule}: recall ≥ {100 * c.recall_estimate:.1f} %" if rule == "hypergeometric" else
                     f"{rule}: recall ≈ {100 * c.recall_estimate:.1f} %" for rule, c in est.items())


def start_cmd(name: str = typer.Argument(..., help="Session name (unique in the workspace)."),
              include: Optional[list[str]] = typer.Option(None, "--include", help="Prior include: record id(s), "
                                                          "repeatable or comma-separated."),
              exclude: Optional[list[str]] = typer.Option(None, "--exclude", help="Prior exclude: record id(s), "
                                                          "repeatable or comma-separated."),
              query: Optional[str] = typer.Option(None, "--query", help="Screen a search's top hits instead of "
                                                  "every record."),
              top: Optional[int] = typer.Option(None, "--top", help="With --query: how many hits to screen."),
              mode: Optional[str] = typer.Option(None, "--mode", help="With --query: retrieval mode."),
              screen_model: str = typer.Option("tfidf-mesh-svm", "--model",
                                                help="Screening model (TF-IDF + MeSH + linear SVM by default)."),
              strategy: str = typer.Option("max", "--strategy", help="Query strategy."),
              balance: Optional[str] = typer.Option(None, "--balance", help="Balancer (default: the model's own)."),
              seed: int = typer.Option(0, "--seed", min=0, help="Seed of the model and the query strategy."),
              embedding_model: Optional[Path] = typer.Option(None, "--embedding-model", help="With a model that "
                                                             "reads sentence embeddings (minilm-logreg, fused-*): a "
                                                             "sentence-transformers folder or a `serendip pretrain` "
                                                             "checkpoint, kept with the session (default: the bundled "
                                                             "all-MiniLM-L6-v2)."),
              workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Start a screening session over the workspace's records (or a search's top hits) from prior includes
    and excludes (record ids: the `record` column of `serendip search`, not PMIDs; at least one of each)."""
    from serendip.screening.session import start_session

    with handle_errors():
        ws = open_workspace(workspace)
        s = start_session(ws, name, _ids(include, "--include"), _ids(exclude, "--exclude"), model=screen_model,
                          strategy=strategy, balance=balance, seed=seed, query=query, top=top, mode=mode,
                          embedding_model=embedding_model)
        st = s.status()
        emb = f" on {st.embedding_model}" if st.embedding_model else ""
        _say(f"session {name!r} started: {count(st.total, 'record')}, {st.counts['include']} prior include(s), "
             f"{st.counts['exclude']} prior exclude(s); model {screen_model}{emb}, strategy {strategy}, seed {seed}. "
             f"Next: serendip screen next" + ("" if len(_all(ws)) == 1 else f" --session {name}"))


def _all(ws) -> list[str]:
    from serendip.screening.session import list_sessions

    return list_sessions(ws)


def next_cmd(session: Optional[str] = SessionOpt, json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
             workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Show the record to screen next (chosen by the session's model and query strategy) with the recall
    the stopping rules estimate so far. With --json: the record with "done": false, or {"done": true, ...}
    with the label counts once every record is labelled."""
    with handle_errors():
        s = _session(open_workspace(workspace), session)
        with lazy_progress("records") as steps:  # a bar only when next() embeds the records (first time)
            s.steps = steps
            rec = s.next()
        if json_out:  # "done" tells a script the session is finished without testing for null
            if rec is None:
                st = s.status()
                print(json_line({"done": True, "session": s.name, "total": st.total, "counts": st.counts}))
            else:
                print(json_line({"done": False, **rec.to_dict()}))
            return
        if rec is None:
            maybe = s.status().counts["maybe"]
            _say(f"session {s.name!r}: every record is labelled" + (
                f"; {maybe} maybe: label them include or exclude (the stopping rules count a maybe as unscreened; "
                f"list them with `serendip screen export labels.csv`)" if maybe else ""))
            return
        _say(f"record {rec.record_id}" + (f"  PMID {rec.pmid}" if rec.pmid else "") + (f"  DOI {rec.doi}" if rec.doi
                                                                                        else ""))
        _say_marked("title: ", rec.title, [h for h in rec.highlights if h.field == "title"])
        _say_marked("abstract: ", rec.abstract, [h for h in rec.highlights if h.field == "abstract"])
        if rec.highlights:
            _say("keywords found: " + _found(rec.highlights))
        for d in rec.duplicates:
            _say(f"possible duplicate of record {d.record_id} (labelled {d.label}): {d.reason}")
        _say(f"score {rec.score:.3f}; {rec.screened} of {rec.total} screened; {_estimates(rec.estimates)}")
        _say(f"label it: serendip screen label {rec.record_id} include|exclude|maybe [--note TEXT]")


#: Rich styles of the keywords ``screen next`` shows (the "keywords found" line says the same without colour)
KEYWORD_STYLES = {"include": "bold green", "exclude": "bold red"}


def _say_marked(prefix: str, text: str | None, highlights) -> None:
    """``prefix`` + the text, each highlight (found in the stored text, as ``--json`` gives them) styled by
    its kind; every piece escaped by :func:`visible` on its own, so an escape never splits a keyword's colour
    or takes one (a keyword ``x1b`` is not coloured inside ``\\x1b``)."""
    line = Text(prefix)
    if not text:
        line.append("(none)")
    else:
        pos = 0
        for h in highlights:
            line.append(visible(text[pos:h.start]))
            line.append(visible(text[h.start:h.end]), style=KEYWORD_STYLES[h.kind])
            pos = h.end
        line.append(visible(text[pos:]))
    console.print(line, highlight=False, soft_wrap=True)


def _found(highlights) -> str:
    """``include: randomi* x2, placebo; exclude: rat``: each keyword found, by kind, with its count."""
    from collections import Counter

    parts = []
    for kind in KEYWORD_STYLES:
        n = Counter(h.term for h in highlights if h.kind == kind)
        if n:
            parts.append(f"{kind}: " + ", ".join(visible(t) + (f" x{c}" if c > 1 else "") for t, c in n.items()))
    return "; ".join(parts)


def keywords_cmd(terms: Optional[list[str]] = typer.Argument(None, help="Keywords or phrases (quote a phrase); "
                                                             "a * ends a word prefix: random*."),
                 exclude_kind: bool = typer.Option(False, "--exclude", help="Add them as exclude keywords (red) "
                                                   "instead of include keywords (green)."),
                 remove: bool = typer.Option(False, "--remove", help="Remove them instead."),
                 json_out: bool = typer.Option(False, "--json", help="Print the keywords as JSON."),
                 session: Optional[str] = SessionOpt, workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Add, remove or list the session's highlighting keywords: `screen next` marks them in each title and
    abstract (case-insensitive, whole words; include keywords green, exclude keywords red). No terms: list."""
    from serendip.errors import ConfigError

    with handle_errors():
        s = _session(open_workspace(workspace), session)
        if remove and exclude_kind:
            raise ConfigError("--remove and --exclude do not go together: remove a keyword by its term alone")
        if (remove or exclude_kind) and not terms:
            raise ConfigError(f"{'--remove' if remove else '--exclude'} needs the keyword(s) to act on")
        if terms:
            kw = s.remove_keywords(terms) if remove else s.add_keywords(terms, "exclude" if exclude_kind else "include")
        else:
            kw = s.keywords()
        if json_out:
            print(json_line(kw))
            return
        if not kw:
            _say(f"session {s.name!r}: no keywords (add some: serendip screen keywords randomized \"double blind\")")
        for kind in KEYWORD_STYLES:
            mine = [t for t, k in kw.items() if k == kind]
            if mine:
                _say(f"{kind}: " + ", ".join(mine))


def label_cmd(record_id: int = typer.Argument(..., help="Record id (as `screen next` shows it)."),
              label: str = typer.Argument(..., help="include, exclude or maybe."),
              note: Optional[str] = typer.Option(None, "--note", help="A note kept with the label."),
              session: Optional[str] = SessionOpt, workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Label a record of the session include, exclude or maybe (a maybe is not used for training); a
    record labelled again keeps both labels in the history, the newest counting."""
    with handle_errors():
        s = _session(open_workspace(workspace), session)
        s.label(record_id, label, note)
        st = s.status()
        _say(f"{s.name}: record {record_id} {label}; {st.counts['include']} include, {st.counts['exclude']} exclude, "
             f"{st.counts['maybe']} maybe, {st.counts['unlabelled']} left")


def status_cmd(session: Optional[str] = SessionOpt, json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
               workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Counts of labels, the recall each stopping rule estimates, and whether the default rule says stop."""
    with handle_errors():
        st = _session(open_workspace(workspace), session).status()
        if json_out:
            print(json_line(st.to_dict()))
            return
        c = st.counts
        gone = (f"; {c['deleted']} deleted from the workspace before they were labelled, not counted"
                if c.get("deleted") else "")
        _say(f"session {st.name!r}: {count(st.total, 'record')}: {c['include']} include, {c['exclude']} exclude, "
             f"{c['maybe']} maybe, {c['unlabelled']} unlabelled ({st.history} labels given{gone})")
        _say(f"  model {st.model}" + (f" on the embeddings of {st.embedding_model} (sha256 {st.embedding_sha256[:12]}…)"
                                      if st.embedding_model else ""))
        for rule, check in st.estimates.items():  # worded as next words them: a bound says so
            _say(f"  {_estimates({rule: check})}, {'says stop' if check.stop else 'keep screening'}")
        _say(f"stop: {'yes' if st.stop else 'no'} ({st.stop_rule})")


def export_cmd(path: Path = typer.Argument(..., help="File to write (.csv or .ris)."),
               fmt: Optional[str] = typer.Option(None, "--format", help="csv or ris (default: from the suffix)."),
               history: bool = typer.Option(False, "--history", help="CSV: one row per label given, relabels included."),
               session: Optional[str] = SessionOpt, workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Write the session's labels (with notes) as CSV or RIS."""
    from serendip.screening.export import export_labels

    with handle_errors():
        s = _session(open_workspace(workspace), session)
        n = export_labels(s, path, fmt, history=history)
        _say(f"{n} labelled record(s) of session {s.name!r} written to {path}")
        lost = sorted(s.deleted_records() & set(s.labels()))
        if lost:
            shown = ", ".join(map(str, lost[:10])) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
            err_console.print(visible(f"warning: {len(lost)} labelled record(s) were deleted from the workspace after they "
                              f"were labelled (record {shown}): their rows keep the label and record id, but the "
                              f"PMID, DOI, title and year are no longer known"), markup=False, highlight=False,
                              soft_wrap=True)


def recommend_cmd(from_ids: list[str] = typer.Option(..., "--from", help="Seed record id(s), repeatable or "
                                                     "comma-separated."),
                  k: int = typer.Option(20, "-k", min=1, help="How many records to recommend."),
                  similarity: str = typer.Option("auto", "--similarity", help="auto (dense index if built, else "
                                                 "TF-IDF), dense or tfidf."),
                  json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
                  workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Records like these: embedding (or TF-IDF) similarity, shared MeSH headings, shared knowledge-graph
    entities and citation links (PubMed reference lists), fused; each with the reasons it was recommended."""
    from serendip.screening.recommend import recommend

    with handle_errors():
        res = recommend(open_workspace(workspace), _ids(from_ids, "--from"), k, similarity=similarity)
        if json_out:
            print(json_line(res.to_dict()))
            return
        table = Table(title=Text(visible(f"like {', '.join(map(str, res.seeds))} ({', '.join(res.signals.values())})")),
                      title_justify="left")
        for col in ("#", "score", "id", "PMID", "title", "why"):
            table.add_column(col)
        for r in res.items:
            table.add_row(*cells(r.rank, f"{r.score:.3f}", r.record_id, r.pmid or "", r.title or "",
                                 "; ".join(r.reasons)))
        console.print(table)
        for note in res.notes:
            _say(f"note: {note}")


def register(root: typer.Typer) -> None:
    """Add the session commands to ``serendip screen`` and ``recommend`` to the root."""
    from serendip.cli.screen_cmd import app

    app.command("start", cls=RegistryHelpCommand)(start_cmd)
    app.command("next")(next_cmd)
    app.command("label")(label_cmd)
    app.command("status")(status_cmd)
    app.command("export")(export_cmd)
    app.command("keywords")(keywords_cmd)
    root.command("recommend")(recommend_cmd)
