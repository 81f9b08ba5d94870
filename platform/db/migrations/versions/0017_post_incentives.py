"""posts state their incentives: travel, accommodation, stipend, subsidy programme, insurance

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("incentives", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("subsidy_programme", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("stipend_eur", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("stipend_eur")
        batch_op.drop_column("subsidy_programme")
        batch_op.drop_column("incentives")
