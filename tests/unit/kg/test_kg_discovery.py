"""serendip.kg.discovery: open and closed ABC discovery on a hand-made graph; every path edge carries the
PMIDs of the records where its two entities co-occur."""
from __future__ import annotations

import pytest

from serendip.errors import DataError
from serendip.kg.discovery import (
    best_paths,
    closed_discovery,
    edge_evidence,
    open_discovery,
)
from serendip.kg.graph import EntityRecord, build_graph

# Swanson's example as records: fish oil lowers blood viscosity; Raynaud's goes with high viscosity
RECORDS = [
    EntityRecord("11", 1985, ("Fish Oils", "Blood Viscosity")),
    EntityRecord("12", 1985, ("Fish Oils", "Blood Viscosity", "Platelet Aggregation")),
    EntityRecord("13", 1985, ("Raynaud Disease", "Blood Viscosity")),
    EntityRecord("14", 1985, ("Raynaud Disease", "Platelet Aggregation")),
    EntityRecord("15", 1985, ("Raynaud Disease", "Vasoconstriction")),
    EntityRecord("16", 1985, ("Migraine Disorders", "Vasoconstriction")),
    EntityRecord("17", 1985, ("Migraine Disorders", "Serotonin")),
]


def _pmids_of(a, b):
    return tuple(r.pmid for r in RECORDS if {a, b} <= set(r.entities))


def test_paths_carry_evidence_pmids():
    g = build_graph(RECORDS)
    paths = best_paths(g, "Fish Oils", "Raynaud Disease", k=5)
    assert {p.nodes[1] for p in paths} == {"Blood Viscosity", "Platelet Aggregation"}
    for p in paths:
        assert p.nodes[0] == "Fish Oils" and p.nodes[2] == "Raynaud Disease"
        assert p.score == min(e.npmi for e in p.edges)
        for e in p.edges:
            assert e.pmids == _pmids_of(e.source, e.target) and e.count == len(e.pmids)
    assert [p.score for p in paths] == sorted((p.score for p in paths), reverse=True)
    assert "Fish Oils –[2: 11, 12]– Blood Viscosity –[1: 13]– Raynaud Disease" in [p.describe() for p in paths]
    via = next(p for p in paths if p.nodes[1] == "Blood Viscosity")
    assert via.describe(max_pmids=1).startswith("Fish Oils –[2: 11, +1]– Blood Viscosity")


def test_closed_discovery_explains_an_unlinked_pair():
    g = build_graph(RECORDS)
    found = closed_discovery(g, "Fish Oils", "Raynaud Disease")
    assert not found.linked and found.direct is None and len(found.paths) == 2
    linked = closed_discovery(g, "Raynaud Disease", "Blood Viscosity")
    assert linked.linked and linked.direct.pmids == ("13",)
    assert [p.nodes[1] for p in linked.paths] == ["Platelet Aggregation"]  # Fish Oils is not linked to Raynaud


def test_open_discovery_ranks_two_hop_entities_only():
    g = build_graph(RECORDS)
    preds = open_discovery(g, "Fish Oils", scorer="common-neighbours", k=10)
    # two hops from Fish Oils: Raynaud Disease (through 2 intermediates); Vasoconstriction etc. are farther
    assert [(p.target, p.score) for p in preds] == [("Raynaud Disease", 2.0)]
    assert preds[0].paths and all(e.pmids for p in preds[0].paths for e in p.edges)
    ra = open_discovery(g, "Raynaud Disease", scorer="resource-allocation")
    assert {p.target for p in ra} == {"Fish Oils", "Migraine Disorders"}
    assert all(not g.has_edge("Raynaud Disease", p.target) for p in ra)


def test_unknown_entity_is_named():
    g = build_graph(RECORDS)
    with pytest.raises(DataError, match="'Fish Oil' is not in the graph"):
        open_discovery(g, "Fish Oil")
    with pytest.raises(DataError, match="do not co-occur"):
        edge_evidence(g, "Fish Oils", "Serotonin")
