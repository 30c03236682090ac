"""Web tables: adjudication assignments, record locks (e-signatures), data queries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "adjudication_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(length=128), nullable=False),
        sa.Column("assigned_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], ondelete="RESTRICT",
            name=op.f("fk_adjudication_assignments_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="RESTRICT",
            name=op.f("fk_adjudication_assignments_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjudication_assignments")),
        sa.UniqueConstraint(
            "assessment_id", "user_id",
            name=op.f("uq_adjudication_assignments_assessment_id_user_id"),
        ),
    )
    op.create_index(
        op.f("ix_adjudication_assignments_assessment_id"),
        "adjudication_assignments", ["assessment_id"],
    )
    op.create_index(
        op.f("ix_adjudication_assignments_user_id"), "adjudication_assignments", ["user_id"]
    )
    op.create_table(
        "record_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("signed_by", sa.String(length=128), nullable=False),
        sa.Column("meaning", sa.String(length=255), nullable=False),
        sa.Column("signed_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_locks")),
        sa.UniqueConstraint(
            "table_name", "record_id", name=op.f("uq_record_locks_table_name_record_id")
        ),
    )
    op.create_table(
        "data_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("raised_by", sa.String(length=128), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_queries")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("data_queries")
    op.drop_table("record_locks")
    op.drop_index(op.f("ix_adjudication_assignments_user_id"), "adjudication_assignments")
    op.drop_index(op.f("ix_adjudication_assignments_assessment_id"), "adjudication_assignments")
    op.drop_table("adjudication_assignments")
