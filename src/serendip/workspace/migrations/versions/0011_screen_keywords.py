"""screening sessions' highlighting keywords

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

``serendip screen keywords`` stores the reviewer's include and exclude keywords of a session in
``screen_keywords`` (defined, with what each column holds, in :mod:`serendip.screening.store`; spelled out
here as in every revision). Nothing is read from or written to the existing tables.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screen_keywords",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("screen_sessions.id"), nullable=False),
        sa.Column("term", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_screen_keywords_session", "screen_keywords", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_screen_keywords_session", table_name="screen_keywords")
    op.drop_table("screen_keywords")
