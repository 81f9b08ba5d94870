"""outbox ids are never reused

SQLite reuses the largest rowid after it is deleted unless the table says AUTOINCREMENT; consumed outbox
events are deleted, so ids came back and mail keyed on them was dropped as a duplicate. PostgreSQL's
sequence never goes back, so only SQLite's table is rebuilt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "outbox", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("id", autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("outbox", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
