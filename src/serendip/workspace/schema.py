"""Database tables of a workspace (SQLAlchemy 2 Core tables; migrations in ``migrations/``).

The same schema runs on SQLite (the embedded default) and PostgreSQL.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: the range of a record id: SQLite's INTEGER, signed 64-bit (PostgreSQL's column is narrower still)
RECORD_ID_MIN, RECORD_ID_MAX = -(2**63), 2**63 - 1


def possible_record_ids(ids: Iterable[int]) -> list[int]:
    """``ids`` (ints) in order, less those outside [:data:`RECORD_ID_MIN`, :data:`RECORD_ID_MAX`]: no
    record has such an id, and SQLite refuses to bind one (``OverflowError``), so every lookup of
    records by ids a user gave filters them through here and finds those ids missing."""
    return [i for i in ids if RECORD_ID_MIN <= i <= RECORD_ID_MAX]

ingest_reports = Table(
    "ingest_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # running | done | failed (a 'running' row left behind means the ingest was killed)
    Column("status", String(16), nullable=False),
    Column("paths", JSON, nullable=False),
    Column("format", String(32), nullable=False),
    Column("ingested", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("errors", JSON, nullable=False),
    # incoming records that filled fields of a stored one; conflicting values kept as alternatives
    Column("merged", Integer, nullable=False, default=0, server_default="0"),
    Column("conflicts", JSON),
    # records deleted (PubMed DeleteCitation) and bad records skipped (``failed`` also counts the files
    # that failed whole); ``skipped`` is NULL on reports written before migration 0004
    Column("deleted", Integer, nullable=False, default=0, server_default="0"),
    Column("skipped", Integer),
    # PubMed copies skipped because a DeleteCitation withdrew their PMID (NULL before migration 0005)
    Column("withdrawn", Integer),
)

records = Table(
    "records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pmid", String(32), index=True),
    Column("doi", String(255), index=True),
    Column("pmcid", String(32)),
    # identity from an id-keyed source (e.g. "beir:4983", "jsonl:abc"); citation keys are not identities
    Column("source_id", String(300), index=True),
    Column("title_key", String(255), index=True),
    Column("year", Integer),
    Column("title", Text),
    Column("abstract", Text),
    Column("journal", Text),
    Column("source_file", Text),
    Column("source_format", String(32)),
    Column("ingest_id", Integer, ForeignKey("ingest_reports.id"), index=True),
    Column("data", JSON, nullable=False),
    # duplicate-detection evidence beside title + year (NULL: unknown, never blocks a match)
    Column("first_author", String(64)),
    Column("first_page", String(32)),
    # the ``changes`` counter when this row was last changed in place (NULL: as inserted)
    Column("revision", Integer),
)

#: named counters; ``changes`` counts records changed in place or deleted (index freshness)
workspace_counters = Table(
    "workspace_counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    # "<UTC yyyymmdd-HHMMSS>-<6 hex>", also the run folder's name
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False, default="finetune"),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True)),
    # running | done | failed (a 'running' row left behind means the run was killed)
    Column("status", String(16), nullable=False),
    Column("task", String(32)),
    Column("backbone", Text),
    Column("config", JSON, nullable=False),
    Column("metrics", JSON),
    Column("path", Text, nullable=False),
    Column("error", Text),
)

#: PMIDs withdrawn by a PubMed ``<DeleteCitation>`` (tombstones): a PubMed copy of one read later (an
#: older baseline file ingested after the update) is skipped, so the order of files does not matter
deleted_citations = Table(
    "deleted_citations",
    metadata,
    Column("pmid", String(32), primary_key=True),
    Column("file", Text),
    Column("line", Integer),
    Column("deleted_at", DateTime(timezone=True), nullable=False),
    # True: a stored record had the PMID when it was withdrawn; False: none had (a re-applied deletion
    # then reports it "not in the workspace", not "already deleted"); NULL: withdrawn before revision 0009
    Column("held", Boolean),
)
