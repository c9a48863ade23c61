"""What :meth:`serendip.workbench.Workspace.index` did, and how an index stands against the database.

An index is stale when records were ingested after it (ids above the highest it holds) or when
records were changed in place (a merge filled their fields) or deleted (a PubMed ``DeleteCitation``)
after it: the workspace's ``changes`` counter (table ``workspace_counters``, migration 0004) has moved
past the value the index saw, kept in :data:`CHANGES_FILE` beside the index folders.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CHANGES_FILE", "IndexReport", "IndexStatus"]

#: beside the index folders: the workspace's ``changes`` counter when the index was last built,
#: ``{"changes": 12}``; absent (an index built before the counter existed): 0
CHANGES_FILE = "changes.json"


@dataclass(slots=True)
class IndexReport:
    """What :meth:`Workspace.index` did: records indexed; ``dense_added`` vectors embedded by this run,
    ``dense_resumed`` vectors read back from an interrupted run's checkpoint (not embedded again),
    ``dense_total`` vectors in the index (with ``dense=False``: those already there, not updated); records
    with no text; wall time in seconds; ``passages``: the
    passage index update (a :class:`serendip.evidence.passage_index.PassageReport`) when one was asked."""

    records: int
    bm25_docs: int
    dense_added: int
    dense_total: int
    dense_skipped: list[str]
    seconds: float
    dense_resumed: int = 0
    passages: Any = None
    passage_vectors: Any = None


@dataclass(slots=True)
class IndexStatus:
    """How the index stands against the database: ``indexed_up_to`` is the highest record id the BM25
    index holds, ``not_indexed`` the records ingested after it (ids above it) that a search misses,
    ``changed`` the records changed in place (fields filled by a merge) or deleted (PubMed
    ``DeleteCitation``) since the index was built, and ``changes`` the workspace's change counter now."""

    indexed_up_to: int
    not_indexed: int
    changed: int = 0
    changes: int = 0

    @property
    def fresh(self) -> bool:
        return self.not_indexed == 0 and self.changed == 0

    def describe(self) -> str:
        """``"3 record(s) ingested after the last index are not searched; 2 record(s) changed or
        deleted since the last index are searched as they were"``: the parts that apply."""
        parts = []
        if self.not_indexed:
            parts.append(f"{self.not_indexed} record(s) ingested after the last index are not searched")
        if self.changed:
            parts.append(f"{self.changed} record(s) changed or deleted since the last index are searched "
                         "as they were")
        return "; ".join(parts)
