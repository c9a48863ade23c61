"""screening sessions and their labels

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

The tables ``serendip screen start`` and ``serendip screen label`` write (defined, with what each
column holds, in :mod:`serendip.screening.store`; spelled out here as in every revision). Nothing is
read from or written to the existing tables. ``screen_labels.record_id`` names a record without a
foreign key (a partitioned ``records`` needs no change; a deleted record keeps its labels).
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screen_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("balance", sa.String(64)),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("stop_rules", sa.JSON, nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("record_ids", sa.JSON, nullable=False),
    )
    op.create_table(
        "screen_labels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("screen_sessions.id"), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("prior", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_screen_labels_session_record", "screen_labels", ["session_id", "record_id"])


def downgrade() -> None:
    op.drop_table("screen_labels")
    op.drop_table("screen_sessions")
