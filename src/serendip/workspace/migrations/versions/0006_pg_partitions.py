"""records partitioned by hash of id (PostgreSQL, opt-in when a workspace is created)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

A PostgreSQL workspace made with ``serendip init --database URL --partitions N`` keeps ``records`` as a
table ``PARTITION BY HASH (id)`` with ``N`` partitions ``records_p0`` … ``records_p<N-1>``, for 10^7+
records (smaller per-partition indexes, per-partition VACUUM). The number comes from the Alembic config
attribute ``records_partitions`` (set by :func:`serendip.workspace.database.upgrade`); without it this
revision changes nothing, so every other database passes through it untouched.

The table is rebuilt only when it holds no rows, i.e. while a new workspace is being made (its
migrations run from 0001 to head in one transaction): an existing workspace cannot be partitioned in
place. The partitioned table has the columns, primary key, foreign key and indexes of revision 0005
under the same names (each index is defined on the parent, so PostgreSQL builds it on every
partition), hence the code of 0005 reads and writes it unchanged. A later revision that adds a UNIQUE
index on ``records`` must include ``id`` in it (PostgreSQL's rule for partitioned tables).

Downgrade changes nothing: the partitioned table already has the schema of 0005.
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: most partitions accepted (PostgreSQL allows more; each partition is a table with six indexes)
MAX_PARTITIONS = 1024


def upgrade() -> None:
    n = context.config.attributes.get("records_partitions")
    if not n:
        return
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        raise RuntimeError(f"records can be partitioned on PostgreSQL only, not {bind.dialect.name}")
    if not (isinstance(n, int) and 2 <= n <= MAX_PARTITIONS):
        raise RuntimeError(f"records_partitions must be a whole number from 2 to {MAX_PARTITIONS}, not {n!r}")
    if bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM records)")).scalar():
        raise RuntimeError("records holds rows: a workspace's records are partitioned only when it is "
                           "created (make a new workspace with --partitions and ingest into it)")
    op.drop_table("records")  # empty; its indexes and id sequence go with it
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
        sa.Column("first_author", sa.String(64)),
        sa.Column("first_page", sa.String(32)),
        sa.Column("revision", sa.Integer),
        postgresql_partition_by="HASH (id)",
    )
    for col in ("pmid", "doi", "source_id", "title_key", "ingest_id"):
        op.create_index(f"ix_records_{col}", "records", [col])
    for i in range(n):
        op.execute(f"CREATE TABLE records_p{i} PARTITION OF records FOR VALUES WITH (MODULUS {n}, REMAINDER {i})")


def downgrade() -> None:
    pass  # the partitioned table has the schema of 0005 (see the module docstring)
