"""An index of the audit trail by record (table, record id, sequence): the last change of each
record — the stale-verdict check of every evaluation, sync points, the dictionary's history —
without scanning every event.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_audit_events_table_name_record_id_seq"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index(NAME, "audit_events", ["table_name", "record_id", "seq"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(NAME, table_name="audit_events")
