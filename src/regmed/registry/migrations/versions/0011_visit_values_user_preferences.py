"""Values of visit forms per patient × visit × variable (the study dictionary's instrument–
event mapping), and each user's language and date style.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "visit_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit", sa.String(length=64), nullable=False),
        sa.Column("variable", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("value_text", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_visit_values_patient_id_patients"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_values")),
        sa.UniqueConstraint("patient_id", "visit", "variable",
                            name=op.f("uq_visit_values_patient_id_visit_variable")),
    )
    op.create_index(op.f("ix_visit_values_patient_id"), "visit_values", ["patient_id"],
                    unique=False)
    # plain ALTER TABLE … ADD COLUMN on both backends (no table rebuild on SQLite)
    op.add_column("users", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("users", sa.Column("date_style", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("users", "date_style")
    op.drop_column("users", "language")
    op.drop_index(op.f("ix_visit_values_patient_id"), table_name="visit_values")
    op.drop_table("visit_values")
