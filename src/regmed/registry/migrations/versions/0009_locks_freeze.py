"""Data freezes: a site's or the whole study's data frozen by a data manager (audited,
reversible only by an audited unfreeze; see regmed.registry.freeze).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "data_freezes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("frozen_by", sa.String(length=128), nullable=False),
        sa.Column("frozen_at", sa.String(length=32), nullable=False),
        sa.Column("unfrozen_by", sa.String(length=128), nullable=True),
        sa.Column("unfrozen_at", sa.String(length=32), nullable=True),
        sa.Column("unfreeze_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"],
                                name=op.f("fk_data_freezes_site_id_sites"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_freezes")),
    )
    op.create_index(op.f("ix_data_freezes_site_id"), "data_freezes", ["site_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_data_freezes_site_id"), table_name="data_freezes")
    op.drop_table("data_freezes")
