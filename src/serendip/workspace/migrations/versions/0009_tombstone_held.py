"""whether a withdrawn PMID was held by the workspace (``deleted_citations.held``)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

A ``<DeleteCitation>`` keeps a tombstone for every PMID it lists, held or not (a PubMed copy read later
is skipped either way). Re-applying the same update file reported every tombstoned PMID as "already
deleted", also those the workspace never held (reported "not found" the first time). ``held`` records
which were held: True, a stored record had the PMID; False, none had. Tombstones made before this
revision keep NULL (not known; reported as already deleted, as before).
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deleted_citations") as batch:
        batch.add_column(sa.Column("held", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("deleted_citations") as batch:
        batch.drop_column("held")
