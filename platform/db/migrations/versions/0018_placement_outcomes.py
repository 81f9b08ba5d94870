"""after a placement the host records local staff trained and what was transferred

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_matches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_staff_trained", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("transferred", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("outcome_recorded_at", DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_matches", schema=None) as batch_op:
        batch_op.drop_column("outcome_recorded_at")
        batch_op.drop_column("transferred")
        batch_op.drop_column("local_staff_trained")
