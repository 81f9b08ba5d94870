"""taxonomy

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:27:27.249318
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "taxonomy_concepts",
        sa.Column("uri", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("preferred_label", sa.String(length=300), nullable=False),
        sa.Column("alt_labels", sa.JSON(), nullable=False),
        sa.Column("hidden_labels", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("isco_group", sa.String(length=8), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uri", name=op.f("pk_taxonomy_concepts")),
    )
    with op.batch_alter_table("taxonomy_concepts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_taxonomy_concepts_kind"), ["kind"], unique=False)

    op.create_table(
        "taxonomy_relations",
        sa.Column("occupation_uri", sa.String(length=300), nullable=False),
        sa.Column("skill_uri", sa.String(length=300), nullable=False),
        sa.Column("relation_type", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["occupation_uri"],
            ["taxonomy_concepts.uri"],
            name=op.f("fk_taxonomy_relations_occupation_uri_taxonomy_concepts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_uri"],
            ["taxonomy_concepts.uri"],
            name=op.f("fk_taxonomy_relations_skill_uri_taxonomy_concepts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occupation_uri", "skill_uri", name=op.f("pk_taxonomy_relations")),
    )
    with op.batch_alter_table("taxonomy_relations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_taxonomy_relations_skill_uri"), ["skill_uri"], unique=False)

    with op.batch_alter_table("post_skills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taxonomy_confidence", sa.Float(), nullable=True))

    with op.batch_alter_table("profile_skills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taxonomy_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profile_skills", schema=None) as batch_op:
        batch_op.drop_column("taxonomy_confidence")

    with op.batch_alter_table("post_skills", schema=None) as batch_op:
        batch_op.drop_column("taxonomy_confidence")

    with op.batch_alter_table("taxonomy_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxonomy_relations_skill_uri"))

    op.drop_table("taxonomy_relations")
    with op.batch_alter_table("taxonomy_concepts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxonomy_concepts_kind"))

    op.drop_table("taxonomy_concepts")
