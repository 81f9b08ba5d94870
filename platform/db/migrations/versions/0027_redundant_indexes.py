"""drop five indexes whose column already leads a unique constraint's index on the same table

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 00:10:00

A lookup by `profile_languages.profile_id` (and the four others) is served by the unique constraint's
index, which begins with that column; the separate index only cost every insert one more index to write
(an import of 100,000 people writes 200,000 language rows).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): each served by the unique constraint that begins with it
REDUNDANT = (
    ("profile_languages", "profile_id"),
    ("contact_grants", "profile_id"),
    ("campaign_matches", "campaign_id"),
    ("pledges", "opportunity_id"),
    ("consultation_responses", "consultation_id"),
)


def upgrade() -> None:
    for table, column in REDUNDANT:
        op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade() -> None:
    for table, column in REDUNDANT:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
