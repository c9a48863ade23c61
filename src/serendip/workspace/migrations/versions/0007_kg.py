"""knowledge graph tables: builds, records read, entities, mentions, edges and their evidence

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

The tables ``serendip kg build`` writes (defined, with what each column holds, in
:mod:`serendip.kg.store`; the storage layer does not import the kg package, so the columns are
spelled out here as in every revision). Nothing is read from or written to the existing tables: a
workspace upgraded to this revision has an empty graph. ``kg_mentions.record_id`` and
``kg_evidence.record_id`` name records without a foreign key (a record deleted by an ingest keeps its
graph rows until the next build removes them; a partitioned ``records`` needs no change).
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kg_builds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tagger", sa.Text, nullable=False),
        sa.Column("normaliser", sa.Text),
        sa.Column("records_read", sa.Integer, nullable=False),
        sa.Column("records_removed", sa.Integer, nullable=False),
        sa.Column("counts", sa.JSON),
    )
    op.create_table(
        "kg_records",
        sa.Column("record_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("build_id", sa.Integer, sa.ForeignKey("kg_builds.id"), nullable=False),
        sa.Column("n_mentions", sa.Integer, nullable=False),
        sa.Column("split", sa.Boolean, nullable=False),
    )
    op.create_table(
        "kg_entities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("mesh_id", sa.String(64)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("n_mentions", sa.Integer, nullable=False),
        sa.Column("n_records", sa.Integer, nullable=False),
    )
    op.create_index("ix_kg_entities_mesh_id", "kg_entities", ["mesh_id"])
    op.create_table(
        "kg_mentions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entity_id", sa.Integer, sa.ForeignKey("kg_entities.id"), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("pmid", sa.String(32)),
        sa.Column("sentence", sa.Integer, nullable=False),
        sa.Column("field", sa.Integer, nullable=False),
        sa.Column("char_start", sa.Integer, nullable=False),
        sa.Column("char_end", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_kg_mentions_entity_id", "kg_mentions", ["entity_id"])
    op.create_index("ix_kg_mentions_record_id", "kg_mentions", ["record_id"])
    op.create_index("ix_kg_mentions_record_entity", "kg_mentions", ["record_id", "entity_id"])
    op.create_table(
        "kg_edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("kg_entities.id"), nullable=False),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("kg_entities.id"), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("sentence_count", sa.Integer, nullable=False),
        sa.Column("abstract_count", sa.Integer, nullable=False),
        sa.Column("npmi", sa.Float),
        sa.Column("score", sa.Float),
        sa.UniqueConstraint("source_id", "target_id", "type", name="uq_kg_edges_pair"),
    )
    op.create_index("ix_kg_edges_target_id", "kg_edges", ["target_id"])
    op.create_table(
        "kg_evidence",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("edge_id", sa.Integer, sa.ForeignKey("kg_edges.id"), nullable=False),
        sa.Column("record_id", sa.Integer),
        sa.Column("pmid", sa.String(32)),
        sa.Column("sentence", sa.Integer),
        sa.Column("field", sa.Integer),
        sa.Column("char_start", sa.Integer),
        sa.Column("char_end", sa.Integer),
        sa.Column("text", sa.Text),
    )
    op.create_index("ix_kg_evidence_edge_id", "kg_evidence", ["edge_id"])
    op.create_index("ix_kg_evidence_record_id", "kg_evidence", ["record_id"])


def downgrade() -> None:
    for table in ("kg_evidence", "kg_edges", "kg_mentions", "kg_entities", "kg_records", "kg_builds"):
        op.drop_table(table)
