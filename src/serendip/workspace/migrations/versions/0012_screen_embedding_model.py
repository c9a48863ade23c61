"""screening sessions remember their embedding model

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

``serendip screen start --embedding-model FOLDER`` stores the folder of the sentence embeddings the
session's model reads (a sentence-transformers folder or a ``serendip pretrain`` checkpoint) and the
sha256 of its weights in two new nullable columns of ``screen_sessions`` (defined in
:mod:`serendip.screening.store`). Existing sessions keep NULL in both: the bundled MiniLM, as before.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screen_sessions") as batch:
        batch.add_column(sa.Column("embedding_model", sa.Text, nullable=True))
        batch.add_column(sa.Column("embedding_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("screen_sessions") as batch:
        batch.drop_column("embedding_sha256")
        batch.drop_column("embedding_model")
