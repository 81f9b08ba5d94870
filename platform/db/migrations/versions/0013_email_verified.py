"""accounts remember when their email was confirmed; accounts that exist already count as confirmed

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    # Accounts made before confirmation existed keep working: they signed in with these addresses already.
    op.execute("UPDATE accounts SET email_verified_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
