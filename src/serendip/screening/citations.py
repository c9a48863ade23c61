"""The citation signal of :func:`serendip.screening.recommend.recommend`: records linked to the seeds by
the workspace's reference lists.

Reference lists come from PubMed XML (``extra["cited_pmids"]``: the PMIDs a record cites,
:func:`serendip.literature.readers._pubmed_fields.cited_pmids`; PubMed gives them where PMC deposited
the article's references). Between a candidate ``c`` and a seed ``s``, three links are counted, each
scored in [0, 1]:

* direct citation: ``c`` cites ``s`` or ``s`` cites ``c`` (score 1; reasons ``"cites 123"``,
  ``"cited by 123"``);
* bibliographic coupling (Kessler 1963, American Documentation 14:10): the works both cite,
  ``|R(c) & R(s)| / sqrt(|R(c)| |R(s)|)`` with ``R`` the cited PMIDs (Salton's cosine normalisation;
  reason ``"shares 5 references with 123"``);
* co-citation (Small 1973, JASIS 24:265): the workspace records that cite both,
  ``|C(c) & C(s)| / sqrt(|C(c)| |C(s)|)`` with ``C`` the workspace records citing a record (reason
  ``"co-cited with 123 by 2 records"``).

A candidate's score is the largest over its links and the seeds; its reasons name every link found
(the strongest first, at most 3). Only records of the workspace can be co-cited or cited directly; a
coupling reference may be any PMID.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

__all__ = ["citation_scores"]


def _links(ids: list[int], info: dict[int, dict]
           ) -> tuple[dict[int, set[str]], dict[str, list[int]], dict[int, set[int]]]:
    """(record -> the PMIDs it cites, PMID -> the workspace records with it, record -> the workspace
    records citing it)."""
    refs = {r: set(info[r].get("refs") or ()) for r in ids}
    by_pmid: dict[str, list[int]] = defaultdict(list)
    for r in ids:
        if info[r].get("pmid"):
            by_pmid[info[r]["pmid"]].append(r)
    cited_by: dict[int, set[int]] = defaultdict(set)
    for r, cited in refs.items():
        for p in cited:
            for target in by_pmid.get(p, ()):
                if target != r:
                    cited_by[target].add(r)
    return refs, by_pmid, cited_by


def citation_scores(ids: list[int], info: dict[int, dict], seeds: list[int]
                    ) -> dict[int, tuple[float, list[str]]] | None:
    """candidate record id -> (score in [0, 1], reasons), for every record linked to a seed (see the
    module docstring); None when no seed cites anything or is cited by a workspace record.

    ``info[r]`` holds ``pmid`` (str or None) and ``refs`` (the PMIDs record ``r`` cites; may be empty)."""
    refs, by_pmid, cited_by = _links(ids, info)
    if not any(refs[s] or cited_by.get(s) for s in seeds):
        return None
    citing_ref: dict[str, list[int]] = defaultdict(list)
    for r in ids:
        for p in refs[r]:
            citing_ref[p].append(r)
    found: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for s in seeds:
        for c in cited_by.get(s, ()):
            found[c].append((1.0, f"cites {s}"))
        for c in {c for p in refs[s] for c in by_pmid.get(p, ())} - {s}:
            found[c].append((1.0, f"cited by {s}"))
        shared = Counter(c for p in refs[s] for c in citing_ref[p] if c != s)
        for c, n in shared.items():
            found[c].append((n / math.sqrt(len(refs[c]) * len(refs[s])),
                             f"shares {n} reference{'s' if n > 1 else ''} with {s}"))
        co = Counter(c for citer in cited_by.get(s, ())
                     for c in {c for p in refs[citer] for c in by_pmid.get(p, ())} - {s})
        for c, n in co.items():
            found[c].append((n / math.sqrt(len(cited_by[c]) * len(cited_by[s])),
                             f"co-cited with {s} by {n} record{'s' if n > 1 else ''}"))
    out = {}
    for c, links in found.items():
        if c in seeds:
            continue
        links.sort(key=lambda t: (-t[0], t[1]))
        out[c] = (min(links[0][0], 1.0), [why for _, why in links[:3]])
    return out
