"""change counter and record revisions (index freshness after merges and deletions); deletion and
skip counts on ingest reports; Web of Science source ids without the layout's name

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

``workspace_counters`` holds named counters; its row ``changes`` counts the records changed in place
(fields filled by a merge) or deleted (a PubMed ``DeleteCitation``) since the workspace was made.
``records.revision`` is the counter's value when the row was last changed in place (NULL: as
inserted). An index remembers the counter it saw, so it knows it is stale after such a change and
which records to embed again. ``ingest_reports.deleted`` counts the records an ingest deleted and
``ingest_reports.skipped`` the bad records it skipped (``failed`` keeps counting files failed whole
plus records skipped; NULL on rows written before this revision).

Source ids of Web of Science records were ``wos:WOS:000…`` or ``wos-tab:WOS:000…`` depending on the
export's layout; both become the accession number as Web of Science prints it (``WOS:000…``), so the
two layouts of one record are one work.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = op.create_table(
        "workspace_counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "changes", "value": 0}])
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("revision", sa.Integer))
    with op.batch_alter_table("ingest_reports") as batch:
        batch.add_column(sa.Column("deleted", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("skipped", sa.Integer))
    for prefix in ("wos:", "wos-tab:"):
        op.execute(sa.text(
            "UPDATE records SET source_id = substr(source_id, :n) WHERE substr(source_id, 1, :m) = :prefix"
        ).bindparams(n=len(prefix) + 1, m=len(prefix), prefix=prefix))


def downgrade() -> None:
    op.execute(sa.text("UPDATE records SET source_id = source_format || ':' || source_id "
                       "WHERE source_format IN ('wos', 'wos-tab') AND substr(source_id, 1, 4) = 'WOS:'"))
    with op.batch_alter_table("ingest_reports") as batch:
        batch.drop_column("skipped")
        batch.drop_column("deleted")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("revision")
    op.drop_table("workspace_counters")
