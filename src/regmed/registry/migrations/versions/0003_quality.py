"""Category specifications: quality_attributes.spec_category, lot_results.value_text, and
lot_results.value nullable (a category test such as sterility has no number).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("quality_attributes") as batch:
        batch.add_column(sa.Column("spec_category", sa.String(length=255), nullable=True))
    with op.batch_alter_table("lot_results") as batch:
        batch.add_column(sa.Column("value_text", sa.String(length=255), nullable=True))
        batch.alter_column("value", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    """Downgrade schema (fails if a lot result has no numeric value)."""
    with op.batch_alter_table("lot_results") as batch:
        batch.alter_column("value", existing_type=sa.Float(), nullable=False)
        batch.drop_column("value_text")
    with op.batch_alter_table("quality_attributes") as batch:
        batch.drop_column("spec_category")
