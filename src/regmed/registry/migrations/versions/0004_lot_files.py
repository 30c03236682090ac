"""Lot files: data files of a lot (single-cell .h5ad) with their SHA-256.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "lot_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], ondelete="RESTRICT", name=op.f("fk_lot_files_lot_id_lots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_files")),
        sa.UniqueConstraint(
            "lot_id", "kind", "path", name=op.f("uq_lot_files_lot_id_kind_path")
        ),
    )
    op.create_index(op.f("ix_lot_files_lot_id"), "lot_files", ["lot_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_lot_files_lot_id"), "lot_files")
    op.drop_table("lot_files")
