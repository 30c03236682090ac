"""Keyed audit trail, sealed evaluations, TRUNCATE refused on PostgreSQL.

* ``audit_events.mac``: HMAC-SHA256 of each event's hash under the audit key (kept outside the
  database). Events written before this revision keep their SHA-256 chain and have no MAC; the
  first keyed event links to the last of them, so its MAC pins the whole older chain (the
  switch). ``regmed init`` seals an upgraded registry at once by appending a ``seal`` event.
* ``audit_keys``: the check value of the audit key (never the key) and the first event it
  authenticates, so that a different key is refused.
* ``evaluations.sha256``: the SHA-256 of the stored evaluation document.
* PostgreSQL: a ``BEFORE TRUNCATE`` statement trigger on ``audit_events`` (row triggers do not
  fire on TRUNCATE).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_triggers(create: bool) -> None:
    # batch_alter_table recreates the table on SQLite, which drops its triggers
    for what in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{what.lower()}")
        if create:
            op.execute(
                f"CREATE TRIGGER audit_events_no_{what.lower()} BEFORE {what} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
            )


def upgrade() -> None:
    """Upgrade schema."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_triggers(create=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_keys")),
        sa.UniqueConstraint("check_value", name=op.f("uq_audit_keys_check_value")),
    )
    if dialect == "sqlite":
        _sqlite_triggers(create=True)
    elif dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    """Downgrade schema."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    op.drop_table("audit_keys")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("sha256")
    if dialect == "sqlite":
        _sqlite_triggers(create=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("mac")
    if dialect == "sqlite":
        _sqlite_triggers(create=True)
