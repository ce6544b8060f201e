"""indexes for the report page: messages, handoffs and registrations by time

Revision ID: 0102_report_indexes
Revises: 0100_alerts
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0102_report_indexes"
down_revision = "0100_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the report reads a date range of inbound messages, of handoffs and of registrations
    op.create_index("ix_messages_direction_created", "messages", ["direction", "created_at"])
    op.create_index("ix_handoffs_created", "handoffs", ["created_at"])
    op.create_index("ix_registrations_created", "registrations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_registrations_created", table_name="registrations")
    op.drop_index("ix_handoffs_created", table_name="handoffs")
    op.drop_index("ix_messages_direction_created", table_name="messages")
