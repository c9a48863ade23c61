"""tombstones of PMIDs withdrawn by PubMed (``deleted_citations``) and the count of PubMed copies an
ingest skipped because of them (``ingest_reports.withdrawn``)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

A ``<DeleteCitation>`` used to delete the stored records only; an older baseline file ingested after
the update brought them back, so the result depended on the order of the files. Each withdrawn PMID
is now kept in ``deleted_citations`` (with the file and line that withdrew it), and a PubMed copy of
it read later is skipped and counted. Workspaces upgraded to this revision have no tombstones for the
deletions they applied before it (their PMIDs were not kept).
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deleted_citations",
        sa.Column("pmid", sa.String(32), primary_key=True),
        sa.Column("file", sa.Text),
        sa.Column("line", sa.Integer),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("ingest_reports") as batch:
        batch.add_column(sa.Column("withdrawn", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("ingest_reports") as batch:
        batch.drop_column("withdrawn")
    op.drop_table("deleted_citations")
