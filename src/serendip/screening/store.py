"""Screening sessions in the workspace database: sessions and every label given in them.

Tables (SQLAlchemy Core, on the workspace's :data:`serendip.workspace.schema.metadata`; created by the
Alembic revision ``0008`` of :mod:`serendip.workspace.migrations`, which spells out the same columns;
``tests/unit/screening/test_session_store.py`` checks that a migrated database and these definitions
agree on SQLite and PostgreSQL).

* ``screen_sessions``: one row per session: its unique ``name``, ``created_at``, the screening
  ``model``, query ``strategy`` and ``balance`` (None: the model's own) names, the ``seed``, the
  ``stop_rules`` (JSON list of :data:`~serendip.screening.stopping.STOPPING_RULES` names), the
  ``scope`` it was started over (JSON: ``{"kind": "all"}`` or ``{"kind": "query", "query", "top",
  "mode"}``) and ``record_ids``, the workspace record ids it screens (JSON list of int, fixed at start);
  since Alembic revision ``0012``, ``embedding_model`` (the resolved folder of the sentence embeddings its
  model reads; NULL: the bundled MiniLM) and ``embedding_sha256`` (the sha256 of that folder's weights when
  the session started, so a changed model is refused instead of silently changing the order).
* ``screen_labels``: one row per label given, never updated or deleted: ``session_id``, ``record_id``,
  ``label`` (``include`` / ``exclude`` / ``maybe``), ``note``, ``prior`` (given when the session was
  started) and ``created_at``. A record's current label is its newest row (highest ``id``); the older
  rows stay as its history. No foreign key to ``records``: a record deleted from the workspace keeps
  its labels (the export shows them).
* ``screen_keywords`` (Alembic revision ``0011``): the session's highlighting keywords
  (:mod:`serendip.screening.highlight`): ``session_id``, ``term`` (as the reviewer typed it, stripped),
  ``kind`` (``include`` / ``exclude``) and ``created_at``; one row per term and session, terms compared
  case-insensitively (:mod:`serendip.screening.keywords`). A setting of the session, not a decision: a
  removed keyword's row is deleted.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from serendip.workspace.schema import metadata

__all__ = ["LABELS", "SCREEN_TABLES", "screen_keywords", "screen_labels", "screen_sessions"]

#: The labels a reviewer gives
LABELS = ("include", "exclude", "maybe")

screen_sessions = Table(
    "screen_sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model", String(64), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("balance", String(64)),
    Column("seed", Integer, nullable=False),
    Column("stop_rules", JSON, nullable=False),
    Column("scope", JSON, nullable=False),
    Column("record_ids", JSON, nullable=False),
    Column("embedding_model", Text),
    Column("embedding_sha256", String(64)),
)

screen_labels = Table(
    "screen_labels", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer, ForeignKey("screen_sessions.id"), nullable=False),
    Column("record_id", Integer, nullable=False),
    Column("label", String(16), nullable=False),
    Column("note", Text),
    Column("prior", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

Index("ix_screen_labels_session_record", screen_labels.c.session_id, screen_labels.c.record_id)

screen_keywords = Table(
    "screen_keywords", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer, ForeignKey("screen_sessions.id"), nullable=False),
    Column("term", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

Index("ix_screen_keywords_session", screen_keywords.c.session_id)

#: Every screening table, children first
SCREEN_TABLES = (screen_keywords, screen_labels, screen_sessions)
