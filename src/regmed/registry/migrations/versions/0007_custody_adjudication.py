"""Chain of custody and independent adjudication.

Products get the receipt limits of their lots (temperature, time out of storage), shipments the
reference of a documented deviation, patients the donor they are (autologous products),
adjudications a coded reason, and adjudication assignments their kind (review or consensus).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_min_temp_c", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("receipt_max_temp_c", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("max_time_out_of_storage_min", sa.Float(), nullable=True))
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deviation_reference", sa.String(length=255),
                                      nullable=True))
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("donor_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_patients_donor_id"), ["donor_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_patients_donor_id_donors"), "donors", ["donor_id"], ["id"],
            ondelete="RESTRICT",
        )
    with op.batch_alter_table("adjudications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=64), nullable=True))
    with op.batch_alter_table("adjudication_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False,
                                      server_default="review"))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("adjudication_assignments", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("adjudications", schema=None) as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_patients_donor_id_donors"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_patients_donor_id"))
        batch_op.drop_column("donor_id")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_column("deviation_reference")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("max_time_out_of_storage_min")
        batch_op.drop_column("receipt_max_temp_c")
        batch_op.drop_column("receipt_min_temp_c")
