"""CID relations in ``kg build``: the relations run and threshold of a build, the probability per evidence row

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

``kg build --relations RUN_DIR`` adds ``cid`` edges (the relation classifier's) beside the co-occurrence
ones (:mod:`serendip.kg.build_relations`). ``kg_builds.relations`` keeps the classifier's run folder
(NULL: a build without relations) and ``kg_builds.relation_threshold`` the probability at or above which
a candidate became an edge, so a later build can refuse another run or threshold without ``--rebuild``.
``kg_evidence.score`` keeps the classifier's probability of the pair in that evidence row's record
(NULL for co-occurrence evidence), so an edge's score (the highest over its records) can be recomputed
when records are removed. Rows written before this revision keep NULL.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kg_builds") as batch:
        batch.add_column(sa.Column("relations", sa.Text))
        batch.add_column(sa.Column("relation_threshold", sa.Float))
    with op.batch_alter_table("kg_evidence") as batch:
        batch.add_column(sa.Column("score", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("kg_evidence") as batch:
        batch.drop_column("score")
    with op.batch_alter_table("kg_builds") as batch:
        batch.drop_column("relation_threshold")
        batch.drop_column("relations")
