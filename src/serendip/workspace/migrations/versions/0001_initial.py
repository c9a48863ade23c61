"""records and ingest reports

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paths", sa.JSON, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("ingested", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("errors", sa.JSON, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pmid", sa.String(32)),
        sa.Column("doi", sa.String(255)),
        sa.Column("pmcid", sa.String(32)),
        sa.Column("source_id", sa.String(300)),
        sa.Column("title_key", sa.String(255)),
        sa.Column("year", sa.Integer),
        sa.Column("title", sa.Text),
        sa.Column("abstract", sa.Text),
        sa.Column("journal", sa.Text),
        sa.Column("source_file", sa.Text),
        sa.Column("source_format", sa.String(32)),
        sa.Column("ingest_id", sa.Integer, sa.ForeignKey("ingest_reports.id")),
        sa.Column("data", sa.JSON, nullable=False),
    )
    for col in ("pmid", "doi", "source_id", "title_key", "ingest_id"):
        op.create_index(f"ix_records_{col}", "records", [col])


def downgrade() -> None:
    op.drop_table("records")
    op.drop_table("ingest_reports")
