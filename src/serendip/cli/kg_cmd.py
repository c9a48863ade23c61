"""``serendip kg build | paths | export | import``: the knowledge graph of a workspace's records (wraps
:mod:`serendip.kg.build`, :mod:`serendip.kg.query` and :mod:`serendip.kg.exchange`); ``show | neighbors |
discover`` are added from :mod:`serendip.cli.kg_query_cmd`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from serendip.cli.common import (
    REGISTRY_CHOICES,
    RegistryHelpCommand,
    SerendipTyper,
    WorkspaceOpt,
    console,
    err_console,
    handle_errors,
    labelled,
    open_workspace,
    rate_progress,
    terminate_as_exit,
)
from serendip.cli.display import count, json_line, visible

app = SerendipTyper(no_args_is_help=True, help="The knowledge graph of the workspace's records: entities, "
                    "mentions and co-occurrence edges with their evidence sentences.")


def taggers_help() -> str:
    """The registered kg taggers with their one-line descriptions, read now (not at import)."""
    from serendip.kg.taggers import TAGGERS

    return "; ".join(f"{name}: {(fn.__doc__ or '').strip().splitlines()[0].rstrip('.')}"
                     for name, fn in TAGGERS.canonical_items())


REGISTRY_CHOICES.setdefault("tagger", taggers_help)


#: Where ``kg build``'s relation threshold came from (:attr:`serendip.kg.build.BuildReport.threshold_source`)
_SOURCES = {"given": "--relation-threshold", "stacker": "the run's stacker", "run": "saved with the run",
            "default": "the default"}


def _say(text: str) -> None:
    """One line of output, as written (no markup), controls and bidi characters of record text shown
    as escapes (:func:`serendip.cli.display.visible`)."""
    console.print(visible(text), markup=False, highlight=False, soft_wrap=True)


class _Bar:
    """The ``steps`` callback of :func:`serendip.kg.build.build`: a progress bar in docs/s."""

    def __init__(self) -> None:
        self.progress = None

    def __call__(self, name: str, total: int | None):
        self.close()
        self.progress = rate_progress("docs")
        self.progress.start()
        task = self.progress.add_task(name, total=total)
        progress = self.progress
        return lambda n: progress.advance(task, n)

    def close(self, interrupted: bool = False) -> None:
        if self.progress is not None:
            self.progress.interrupted = interrupted
            self.progress.stop()
            self.progress = None


@app.command("build", cls=RegistryHelpCommand)
def build_cmd(tagger: str = typer.Option("dictionary", "--tagger", help="Entity tagger: a registered name, a "
                                         "fine-tuned token run folder (RUN_DIR), or NAME:RUN_DIR for one that "
                                         "needs a run (model+dictionary:RUN_DIR)."),
              limit: Optional[int] = typer.Option(None, "--limit", min=0, help="Read at most N of the records not "
                                                  "read yet (the rest wait for the next build)."),
              batch: int = typer.Option(64, "--batch", min=1, help="Records tagged and written together."),
              rebuild: bool = typer.Option(False, "--rebuild", help="Remove the graph and build it again (needed "
                                           "to change the tagger)."),
              training: Optional[list[Path]] = typer.Option(None, "--training", help="PubTator file the dictionary "
                                                            "and the MeSH normaliser are fitted on (repeatable; "
                                                            "default: BC5CDR train + dev from the data mirror)."),
              relations: Optional[Path] = typer.Option(None, "--relations", help="CID classifier run folder "
                                                       "(RUN_DIR): add chemical-induced disease (cid) edges too."),
              relation_threshold: Optional[float] = typer.Option(None, "--relation-threshold", min=0.0, max=1.0,
                                                                 help="Probability at or above which a CID candidate "
                                                                 "is an edge (default: the threshold saved with the "
                                                                 "run, else 0.5)."),
              no_stacker: bool = typer.Option(False, "--no-relation-stacker", help="Score with the CID "
                                              "classifier alone, not with the run's second stage "
                                              "(cid_stacker.json, used by default when the run has one)."),
              json_out: bool = typer.Option(False, "--json", help="Print the build report as JSON."),
              workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Tag the records not read yet (title + abstract), normalise the mentions to MeSH ids and add
    co-occurrence edges (sentence- and abstract-level counts, NPMI) with their evidence sentences;
    with --relations, also the CID classifier's cid edges (score: the highest probability over the
    records, evidence: each record's sentence).

    Running it again reads only records ingested (or changed) since; it prints the records read and
    the graph's entity, mention and edge counts."""
    from serendip.kg.build import build

    with handle_errors(), terminate_as_exit():  # SIGTERM: the build is marked failed, its batch rolled back
        ws = open_workspace(workspace)
        bar = _Bar()
        try:
            rep = build(ws, tagger, batch=batch, limit=limit, rebuild=rebuild, training=training or None, steps=bar,
                        relations=relations, relation_threshold=relation_threshold, relation_stacker=not no_stacker)
        except KeyboardInterrupt:
            bar.close(interrupted=True)
            _stopped(ws.engine, "Ctrl-C", 130)
        except SystemExit as stop:  # SIGTERM (terminate_as_exit)
            bar.close(interrupted=True)
            _stopped(ws.engine, "terminated", stop.code if isinstance(stop.code, int) else 1)
        finally:
            bar.close()
        if json_out:
            print(json_line(rep.to_dict()))
            return
        c = rep.counts
        since = (f"{rep.records_changed:,} changed and {rep.records_deleted:,} deleted since the last build, "
                 f"their old rows removed; " if rep.records_removed else "")
        rate = (f", {rep.docs_per_s:,.1f} docs/s overall (loading the tagger included; the bar's rate is tagging "
                f"alone)" if rep.records_read else "")  # no rate of nothing (e.g. another build read them first)
        _say(f"kg build: {count(rep.records_read, 'record')} read ({since}{rep.mentions_added:,} "
             f"mentions added) in {rep.seconds:.1f} s{rate}, tagger {rep.tagger}"
             + (f"; sentences of {rep.passages_reused:,} from the passage index" if rep.passages_reused else ""))
        _say(f"graph: {count(c['entities'], 'entity', 'entities')}, {count(c['mentions'], 'mention')}, {count(c['edges'], 'edge')} "
             f"({c['evidence']:,} evidence rows) over {count(c['records'], 'record')}")
        if rep.relations:
            source = _SOURCES.get(rep.threshold_source or "", "?")
            _say(f"relations: {rep.cid_edges:,} cid edges ({rep.candidates_scored:,} candidates scored in this build, "
                 f"threshold {rep.relation_threshold:g} ({source}), run {rep.relations})")
        if not c["records"] and not rep.records_read and not rep.records_left:
            err_console.print(labelled("[yellow]warning:[/]", "the workspace holds no records to read: run "
                              "`serendip ingest FILE` first, then `serendip kg build`"), highlight=False, soft_wrap=True)
        if rep.records_left:
            _say(f"{count(rep.records_left, 'record')} left unread (--limit): run `serendip kg build` again to read them")
        if rep.unsplit:
            err_console.print(labelled("[yellow]warning:[/]", f"{count(len(rep.unsplit), 'record')} could not be cut into "
                              f"sentences (each field is one sentence): {', '.join(map(str, rep.unsplit[:10]))}"),
                              highlight=False, soft_wrap=True)


def _stopped(engine, how: str, status: int) -> None:
    """After Ctrl-C (``how``) or SIGTERM in ``kg build``: say how far it got (the build's ``kg_builds``
    row, marked ``failed`` with its records read; none when stopped before it started) and what to run;
    exit ``status`` (130, or 143 for SIGTERM)."""
    from serendip.kg.store import unfinished_build

    with engine.connect() as conn:
        row = unfinished_build(conn)
    n = row.records_read if row is not None else 0
    err_console.print(labelled("[yellow]stopped:[/]", f"{how}; {n:,} record{'' if n == 1 else 's'} read; run "
                               "`serendip kg build` again to finish"), highlight=False, soft_wrap=True)
    raise typer.Exit(status)


def _where(ev: dict) -> str:
    who = (f"PMID {ev['pmid']}" if ev["pmid"] else f"record {ev['record_id']} ({ev['source_id']})" if ev["source_id"]
           else f"record {ev['record_id']}" if ev["record_id"] else "a record not in this workspace")
    if ev["sentence"] is None:
        title = f": {ev['title']}" if ev.get("title") else ""
        return f"{who} (same abstract, different sentences){title}"
    where = "title" if ev["field"] == 0 else f"sentence {ev['sentence']}"
    return f"{who}, {where}: {ev['text']}"


def _warn_deleted(n: int) -> None:
    """The warning line of :func:`serendip.kg.store.deleted_warning` when ``n`` records were deleted."""
    from serendip.kg.store import deleted_warning

    if n:
        err_console.print(labelled("[yellow]warning:[/]", deleted_warning(n)), highlight=False, soft_wrap=True)


def _warn_incomplete(engine) -> None:
    """Before a kg query: the warning line of :func:`serendip.kg.store.unfinished_warning` when the last
    build of ``engine``'s graph did not finish, else that of :func:`serendip.kg.store.unread_warning`
    when records wait to be read (printed first, so it shows even when the query then fails, e.g. on an
    entity whose record is not read yet). Nothing when the graph's tables cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from serendip.kg.store import (
        unfinished_build,
        unfinished_warning,
        unread_records,
        unread_warning,
    )

    try:
        with engine.connect() as conn:
            row = unfinished_build(conn)
            unread = 0 if row is not None else unread_records(conn)
    except SQLAlchemyError:
        return
    if row is not None or unread:
        line = unfinished_warning(row) if row is not None else unread_warning(unread)
        err_console.print(labelled("[yellow]warning:[/]", line), highlight=False, soft_wrap=True)


def edge_counts(edge: dict) -> str:
    """``"1 record, 2 sentences"``: the records and sentences an edge's two entities share."""
    n_rec, n_sent = edge["abstract_count"], edge["sentence_count"]
    return f"{n_rec:,} record{'' if n_rec == 1 else 's'}, {n_sent:,} sentence{'' if n_sent == 1 else 's'}"


def _print_edge(edge: dict, indent: str) -> None:
    npmi = "-" if edge["npmi"] is None else f"{edge['npmi']:.3f}"
    _say(f"{indent}{edge['source_name']} – {edge['target_name']}: {edge_counts(edge)}, NPMI {npmi}")
    for ev in edge["evidence"]:
        _say(f"{indent}  {_where(ev)}")
    more = edge["n_evidence"] - len(edge["evidence"])
    if more > 0:
        _say(f"{indent}  (+{more:,} more evidence rows)")


@app.command("paths")
def paths_cmd(a: str = typer.Argument(..., metavar="A", help="An entity: MeSH id (D001241), Type:MeSH id, or name."),
              b: str = typer.Argument(..., metavar="B", help="Another entity, named the same way."),
              k: int = typer.Option(5, "-k", min=1, help="Two-hop paths shown, best first."),
              evidence: int = typer.Option(3, "--evidence", min=0, help="Evidence rows shown per edge."),
              json_out: bool = typer.Option(False, "--json", help="Print the paths as JSON."),
              workspace: Optional[Path] = WorkspaceOpt) -> None:
    """The direct edge between two entities and their best two-hop paths (weakest-link NPMI), each edge
    with its evidence sentences and PMIDs. Evidence of records deleted since the last `kg build` is left
    out, with a warning (and `deleted_records` in --json)."""
    from serendip.kg.query import paths

    with handle_errors():
        ws = open_workspace(workspace)
        _warn_incomplete(ws.engine)
        res = paths(ws.engine, a, b, k=k, evidence=evidence)
        _warn_deleted(res.deleted_records)
        if json_out:
            print(json_line(res.to_dict()))
            return
        print_paths(res)


def print_paths(res) -> None:
    """Print a :class:`serendip.kg.query.PathsResult`: the direct edge, then each path with its edges."""
    _say(f"{res.source.label()} — {res.target.label()}")
    if res.direct:
        _say("direct:")
        _print_edge(res.direct, "  ")
    else:
        _say("direct: none (the two never occur in one record)")
    if not res.paths:
        _say("no two-hop path (no entity occurs with both)")
    for i, p in enumerate(res.paths, 1):
        _say(f"path {i} (weakest NPMI {p['score']:.3f}): {' – '.join(n['name'] for n in p['nodes'])}")
        for edge in p["edges"]:
            _print_edge(edge, "  ")


def export_formats_help() -> str:
    """The registered kg export formats with the first line of their writers' docstrings, read now."""
    from serendip.kg.export_formats import EXPORT_FORMATS

    return "; ".join(f"{name}: {(fn.__doc__ or '').strip().splitlines()[0].rstrip('.')}"
                     for name, fn in EXPORT_FORMATS.canonical_items())


REGISTRY_CHOICES.setdefault("export_format", export_formats_help)


@app.command("export", cls=RegistryHelpCommand)
def export_cmd(file: Path = typer.Argument(..., help="File to write (neo4j-csv: a folder, made when missing)."),
               export_format: str = typer.Option("jsonl", "--format", help="Format written (default jsonl, the "
                                                 "one `kg import` reads)."),
               force: bool = typer.Option(False, "--force", help="Replace an existing file (neo4j-csv: the "
                                          "nodes.csv and relationships.csv already in the folder)."),
               workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Write the graph: entities and edges with their evidence (jsonl, graphml, neo4j-csv), or each
    record's mentions and CID relations (pubtator, bioc). Evidence of records deleted since the last
    `kg build` is left out, with a warning. An existing file (neo4j-csv: nodes.csv or relationships.csv
    in the folder) is replaced only with --force. Exit status 1 when some record was skipped (each is listed)."""
    from serendip.kg.export_formats import export

    with handle_errors():
        ws = open_workspace(workspace)
        _warn_incomplete(ws.engine)
        rep = export(ws.engine, file, export_format, replace=force)
        _warn_deleted(rep.deleted_records)
        n = rep.counts
        if "documents" in n:
            _say(f"exported {count(n['documents'], 'document')} ({count(n['mentions'], 'mention')}, {n['relations']:,} CID "
                 f"relations) to {file} as {rep.format}")
        else:
            _say(f"exported {count(n['entities'], 'entity', 'entities')} and {count(n['edges'], 'edge')} ({n['evidence']:,} evidence rows) "
                 f"to {file}" + ("" if rep.format == "jsonl" else f" as {rep.format}"))
        if rep.left_out.get("changed_records"):
            err_console.print(labelled("[yellow]warning:[/]", f"{count(rep.left_out['changed_records'], 'record')} changed "
                              "since the last `serendip kg build` are left out (their mention offsets no longer "
                              "hold): run `serendip kg build` first"), highlight=False, soft_wrap=True)
        if rep.left_out.get("unresolved_relations"):
            err_console.print(labelled("[yellow]warning:[/]", f"{rep.left_out['unresolved_relations']:,} CID "
                              "relations are left out: their chemical or disease has no MeSH id"),
                              highlight=False, soft_wrap=True)
        for issue in rep.issues:
            err_console.print(labelled("[yellow]skipped:[/]", issue), highlight=False, soft_wrap=True)
    if rep.issues:
        raise typer.Exit(1)


@app.command("import")
def import_cmd(file: Path = typer.Argument(..., help="A file written by `serendip kg export`."),
               replace: bool = typer.Option(False, "--replace", help="Replace the workspace's graph if it has one."),
               workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Read a graph exported from another workspace (evidence linked to this workspace's records by
    PMID or source id). Exit status 1 when some line was skipped (each is listed)."""
    from serendip.kg.exchange import import_graph

    with handle_errors():
        ws = open_workspace(workspace)
        rep = import_graph(ws, file, replace=replace)
        _say(f"imported {count(rep.entities, 'entity', 'entities')} and {count(rep.edges, 'edge')} ({rep.evidence:,} evidence rows, "
             f"{rep.linked:,} linked to records here) from {file}")
        for issue in rep.issues:
            err_console.print(labelled("[yellow]skipped:[/]", issue), highlight=False, soft_wrap=True)
    if rep.issues:
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    from serendip.cli.kg_query_cmd import register as add_queries

    add_queries(app)
    root.add_typer(app, name="kg")
