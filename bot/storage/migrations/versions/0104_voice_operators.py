"""operators take calls from the console: an operator's phone, a call's time in the queue

Revision ID: 0104_voice_operators
Revises: 0107_activity_days
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0104_voice_operators"
down_revision = "0107_activity_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.Text(), nullable=True))  # encrypted
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dequeued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("queue_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("taken_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("operator_call_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("take_queue_sid", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            "fk_calls_taken_by_id", "operators", ["taken_by_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_calls_waiting", ["queued_at", "dequeued_at"])
        batch_op.create_index("ix_calls_operator_call_sid", ["operator_call_sid"])


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_operator_call_sid")
        batch_op.drop_index("ix_calls_waiting")
        batch_op.drop_constraint("fk_calls_taken_by_id", type_="foreignkey")
        for column in (
            "take_queue_sid",
            "operator_call_sid",
            "taken_at",
            "taken_by_id",
            "queue_sid",
            "dequeued_at",
            "queued_at",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("phone")
