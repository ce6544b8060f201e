"""activity days: who wrote on which day, kept as messages arrive (the report counts them)

Revision ID: 0107_activity_days
Revises: 0102_report_indexes
Create Date: 2026-12-05

The table starts empty: the report fills it from the messages the first time it runs (and
again if the operators' time zone changes), see `bot.activity`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0107_activity_days"
down_revision = "0102_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "contact_id",
            sa.Integer(),
            sa.ForeignKey("contacts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("day", "contact_id"),
    )
    op.create_index("ix_activity_days_contact", "activity_days", ["contact_id"])
    op.create_table(
        "report_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(64), nullable=False),
    )
    # a person's newest registration (the report's people; erasing a contact)
    op.create_index("ix_registrations_contact", "registrations", ["contact_id", "id"])
    # the report's count of registrations by place and stage reads only the index
    op.drop_index("ix_registrations_created", table_name="registrations")
    op.create_index(
        "ix_registrations_created_place",
        "registrations",
        ["created_at", "country", "city", "stage"],
    )


def downgrade() -> None:
    op.drop_index("ix_registrations_created_place", table_name="registrations")
    op.create_index("ix_registrations_created", "registrations", ["created_at"])
    op.drop_index("ix_registrations_contact", table_name="registrations")
    op.drop_table("report_state")
    op.drop_index("ix_activity_days_contact", table_name="activity_days")
    op.drop_table("activity_days")
