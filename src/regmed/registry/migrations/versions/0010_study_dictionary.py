"""The study dictionary's versions (canonical JSON with its SHA-256; audited imports; see
regmed.registry.study_dictionary).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "study_dictionary_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("json_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("n_variables", sa.Integer(), nullable=False),
        sa.Column("source_file", sa.String(length=512), nullable=True),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_dictionary_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_study_dictionary_versions_version")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("study_dictionary_versions")
