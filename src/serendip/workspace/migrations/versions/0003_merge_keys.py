"""merge keys on records (first author, first page) and merge counts on ingest reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

``records.first_author`` / ``records.first_page`` let duplicate detection tell two works with the same
title and year apart without loading every candidate's JSON; they stay NULL ("unknown", which never
blocks a match) on rows stored before this revision. ``ingest_reports.merged`` counts incoming
records that filled fields of a stored one and ``ingest_reports.conflicts`` lists the conflicting
values kept as alternatives.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("first_author", sa.String(64)))
        batch.add_column(sa.Column("first_page", sa.String(32)))
    with op.batch_alter_table("ingest_reports") as batch:
        batch.add_column(sa.Column("merged", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("conflicts", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("ingest_reports") as batch:
        batch.drop_column("conflicts")
        batch.drop_column("merged")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("first_page")
        batch.drop_column("first_author")
