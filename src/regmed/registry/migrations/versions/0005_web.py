"""Web: failed logins kept in the database (login throttling across worker processes).

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-22 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("failed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_username"), "login_failures", ["username"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_login_failures_username"), table_name="login_failures")
    op.drop_table("login_failures")
