"""``serendip kg show | neighbors | discover``: questions about one entity of the workspace's knowledge
graph (wraps :mod:`serendip.kg.lookup`, and :func:`serendip.kg.query.paths` for ``discover A --to C``);
added to the ``kg`` group by :func:`register`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from serendip.cli.common import (
    REGISTRY_CHOICES,
    RegistryHelpCommand,
    WorkspaceOpt,
    console,
    handle_errors,
    open_workspace,
)
from serendip.cli.display import count, json_line, visible

ENTITY_HELP = "An entity: MeSH id (D001241), Type:MeSH id, or name."


def scorers_help() -> str:
    """The link scorers kg discover can use (those needing no fitted model), read now."""
    from serendip.kg.linkpred import LINK_SCORERS

    return ", ".join(name for name, s in LINK_SCORERS.canonical_items() if not s.needs_model)


REGISTRY_CHOICES.setdefault("scorer", scorers_help)


def _say(text: str) -> None:
    """One line of output, as written (no markup), controls and bidi characters of record text shown
    as escapes (:func:`serendip.cli.display.visible`)."""
    console.print(visible(text), markup=False, highlight=False, soft_wrap=True)


def _label(node: dict) -> str:
    """``name (MeSH id, type)`` or ``name (unresolved type)`` of an entity dict."""
    return f"{node['name']} ({node['mesh_id']}, {node['type']})" if node["mesh_id"] else \
        f"{node['name']} (unresolved {node['type']})"


def _counts(edge: dict, edge_type: str) -> str:
    from serendip.cli.kg_cmd import edge_counts

    npmi = "-" if edge["npmi"] is None else f"{edge['npmi']:.3f}"
    score = "" if edge_type == "cooccurrence" or edge["score"] is None else f", score {edge['score']:.3f}"
    return f"{edge_counts(edge)}, NPMI {npmi}{score}"


def _print_evidence(edge: dict, indent: str) -> None:
    from serendip.cli.kg_cmd import _where

    for ev in edge["evidence"]:
        _say(f"{indent}{_where(ev)}")
    more = edge["n_evidence"] - len(edge["evidence"])
    if more > 0:
        _say(f"{indent}(+{more:,} more evidence rows)")


def show_cmd(entity: str = typer.Argument(..., metavar="ENTITY", help=ENTITY_HELP),
             forms: int = typer.Option(10, "--forms", min=0, help="Surface forms listed, most used first."),
             examples: int = typer.Option(3, "--examples", min=0, help="Example mentions shown (one per record)."),
             json_out: bool = typer.Option(False, "--json", help="Print the entity as JSON."),
             workspace: Optional[Path] = WorkspaceOpt) -> None:
    """An entity: its name, MeSH id (or unresolved), type, mention and record counts, its surface forms
    with counts, a few example mentions (PMID and sentence) and its number of edges. Records deleted
    since the last `kg build` are left out, with a warning."""
    from serendip.cli.kg_cmd import _warn_deleted, _warn_incomplete, _where
    from serendip.kg.lookup import show_entity

    with handle_errors():
        ws = open_workspace(workspace)
        _warn_incomplete(ws.engine)
        view = show_entity(ws.engine, entity, forms=forms, examples=examples)
        _warn_deleted(view.deleted_records)
        if json_out:
            print(json_line(view.to_dict()))
            return
        e = view.entity
        _say(e.label())
        _say(f"  key {e.key}; {count(e.n_mentions, 'mention')} in {count(e.n_records, 'record')}; edges: "
             + ", ".join(f"{n:,} {t}" for t, n in view.edges.items()))
        forms = [f"{f['text']} ×{f['count']:,}" for f in view.forms]
        if view.n_forms > len(view.forms):
            forms.append(f"+{view.n_forms - len(view.forms):,} more")
        none = ("none (its records were deleted since the last build)" if view.deleted_records else
                "none (an imported graph has no mentions)")
        _say(f"surface forms ({view.n_forms:,}): " + (", ".join(forms) if view.n_forms else none))
        if view.examples:
            _say("examples:")
        for ex in view.examples:
            _say(f"  {_where(ex)}")


def neighbors_cmd(entity: str = typer.Argument(..., metavar="ENTITY", help=ENTITY_HELP),
                  by: Optional[str] = typer.Option(None, "--by", help="Rank by `npmi` (then records), `records` "
                                                   "(then sentences, NPMI) or `score` (a CID edge's probability). "
                                                   "Default: npmi for co-occurrence, score for other edge types."),
                  k: int = typer.Option(10, "-k", min=1, help="Neighbours shown, best first."),
                  types: Optional[list[str]] = typer.Option(None, "--type", help="Only neighbours of this entity "
                                                            "type (Chemical, Disease; repeatable)."),
                  min_records: int = typer.Option(1, "--min-records", min=1, help="Only edges whose entities "
                                                  "share at least N records."),
                  evidence: int = typer.Option(2, "--evidence", min=0, help="Evidence rows shown per edge."),
                  edge_type: str = typer.Option("cooccurrence", "--edge-type", help="A stored edge type "
                                                "(cooccurrence; cid when relation edges are stored)."),
                  json_out: bool = typer.Option(False, "--json", help="Print the neighbours as JSON."),
                  workspace: Optional[Path] = WorkspaceOpt) -> None:
    """The entities that co-occur with ENTITY, ranked, each edge with its record and sentence counts,
    NPMI and evidence sentences with PMIDs. Records deleted since the last `kg build` are left out, with
    a warning."""
    from serendip.cli.kg_cmd import _warn_deleted, _warn_incomplete
    from serendip.kg.lookup import neighbours

    with handle_errors():
        ws = open_workspace(workspace)
        _warn_incomplete(ws.engine)
        res = neighbours(ws.engine, entity, by=by, k=k, types=types, min_records=min_records, evidence=evidence,
                         edge_type=edge_type)
        _warn_deleted(res.deleted_records)
        if json_out:
            print(json_line(res.to_dict()))
            return
        shown = f"; the best {len(res.neighbours):,} by {res.by}" if res.n_neighbours > len(res.neighbours) else \
            f", by {res.by}"
        _say(f"{res.entity.label()}: {res.n_neighbours:,} neighbours ({edge_type}){shown}")
        for i, n in enumerate(res.neighbours, 1):
            _say(f"{i:>3}. {_label(n)}: {_counts(n['edge'], edge_type)}")
            _print_evidence(n["edge"], "       ")


def discover_cmd(entity: str = typer.Argument(..., metavar="A", help=ENTITY_HELP),
                 to: Optional[str] = typer.Option(None, "--to", metavar="C", help="Closed discovery: explain A–C "
                                                  "through the entities B linked to both."),
                 scorer: str = typer.Option("resource-allocation", "--scorer", help="Link scorer ranking the "
                                            "entities C (open discovery)."),
                 k: int = typer.Option(10, "-k", min=1, help="Predictions (open) or paths (--to) shown, best first."),
                 n_paths: int = typer.Option(2, "--paths", min=0, help="Paths A–B–C shown per prediction."),
                 evidence: int = typer.Option(2, "--evidence", min=0, help="Evidence rows shown per edge."),
                 json_out: bool = typer.Option(False, "--json", help="Print the discovery as JSON."),
                 workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Swanson's ABC discovery. Open (A only): the entities C not linked to A but reached through some
    B, ranked by a link scorer, each with its best A–B–C paths (weakest-link NPMI) and their evidence
    sentences. Closed (--to C): the direct A–C edge, if any, and the paths through each B, as `kg paths`
    prints them. Records deleted since the last `kg build` are left out, with a warning."""
    from serendip.cli.kg_cmd import (
        _print_edge,
        _warn_deleted,
        _warn_incomplete,
        print_paths,
    )
    from serendip.kg.lookup import discover
    from serendip.kg.query import paths

    with handle_errors():
        ws = open_workspace(workspace)
        _warn_incomplete(ws.engine)
        if to is not None:
            closed = paths(ws.engine, entity, to, k=k, evidence=evidence)
            _warn_deleted(closed.deleted_records)
            if json_out:
                print(json_line(closed.to_dict()))
            else:
                print_paths(closed)
            return
        res = discover(ws.engine, entity, scorer=scorer, k=k, n_paths=n_paths, evidence=evidence)
        _warn_deleted(res.deleted_records)
        if json_out:
            print(json_line(res.to_dict()))
            return
        _say(f"{res.source.label()}: {count(res.n_candidates, 'entity', 'entities')} two hops away and not linked to it; "
             f"the best {len(res.predictions):,} by {res.scorer}")
        for i, p in enumerate(res.predictions, 1):
            _say(f"{i:>3}. {_label(p)}: score {p['score']:.4g}")
            for path in p["paths"]:
                _say(f"       via {path['nodes'][1]['name']} (weakest NPMI {path['score']:.3f}): "
                     + " – ".join(n["name"] for n in path["nodes"]))
                for edge in path["edges"]:
                    _print_edge(edge, "         ")


def register(app: typer.Typer) -> None:
    """Add ``show``, ``neighbors`` (alias ``neighbours``) and ``discover`` to the ``serendip kg`` group."""
    app.command("show")(show_cmd)
    app.command("neighbors")(neighbors_cmd)
    app.command("neighbours", hidden=True)(neighbors_cmd)
    app.command("discover", cls=RegistryHelpCommand)(discover_cmd)
