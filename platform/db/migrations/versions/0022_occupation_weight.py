"""the weight of occupation links among applied score weights

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Weights applied before occupation links existed keep ranking as they did: weight 0.
    with op.batch_alter_table("scoring_weights", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occupation", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("scoring_weights", schema=None) as batch_op:
        batch_op.drop_column("occupation")
