"""the weight of the titles' shared wording among applied score weights

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Weights applied before the lexical channel existed keep ranking as they did: weight 0.
    with op.batch_alter_table("scoring_weights", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lexical", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("scoring_weights", schema=None) as batch_op:
        batch_op.drop_column("lexical")
